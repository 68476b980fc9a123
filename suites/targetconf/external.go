package targetconf

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// External describes a target whose replicas are already running: the
// suite talks to them over HTTP and registers each spec's upstreams (fakes
// in the test process, on loopback) through hooks or the admin API. Specs
// that must start, stop, signal or reconfigure replicas are skipped with
// the reason. The replicas are shared by every spec, so specs run one at a
// time.
//
//	driver: external
//	external:
//	  replicas: [http://127.0.0.1:8080]          # or {id: r1, url: ...}
//	  auth: {tokens: tokens.txt, replicas: [http://127.0.0.1:9080]}
//	  adminToken: s3cret                         # with the admin-api capability
type External struct {
	// Replicas are the running replicas without auth, in order (ids r1,
	// r2, ... unless given). With multi-replica they share one Redis.
	Replicas []ExternalReplica `yaml:"replicas"`
	// Auth are replicas of the same gateway started with auth on, for the
	// specs that need identities (capability auth).
	Auth ExternalAuth `yaml:"auth"`
	// AdminToken is the admin API's bearer token (capability admin-api).
	AdminToken string `yaml:"adminToken"`
}

// ExternalAuth are replicas started with a known tokens file.
type ExternalAuth struct {
	// Tokens is the file of "TOKEN IDENTITY" lines the replicas were
	// started with (relative to the target file). suites/targets/tokens.txt
	// holds every token the specs use.
	Tokens string `yaml:"tokens"`
	// Replicas are the running replicas with auth on.
	Replicas []ExternalReplica `yaml:"replicas"`
	// Identities maps token -> identity: read from Tokens, or set in Go.
	Identities map[string]string `yaml:"-"`
}

// ExternalReplica is one running replica. In YAML, a plain URL string or
// {id, url}.
type ExternalReplica struct {
	ID  string `yaml:"id"`
	URL string `yaml:"url"`
}

// UnmarshalYAML reads a URL string or {id, url}.
func (r *ExternalReplica) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		r.URL = n.Value
		return nil
	}
	type plain ExternalReplica
	var p plain
	if err := decodeStrict(n, &p); err != nil {
		return err
	}
	*r = ExternalReplica(p)
	return nil
}

func decodeStrict(n *yaml.Node, v any) error {
	data, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, explainYAML(err))
	}
	return nil
}

func (t *Target) validateExternal() error {
	e := &t.External
	if t.Driver != DriverExternal {
		if len(e.Replicas) > 0 || len(e.Auth.Replicas) > 0 {
			return fmt.Errorf("target %s: external: replicas are listed but the driver is %s; set driver: external to test running replicas", t.Name, t.Driver)
		}
		return nil
	}
	if len(e.Replicas) == 0 {
		return fmt.Errorf("target %s: the external driver needs external.replicas: the base URLs of the running replicas, e.g. [http://127.0.0.1:8080]", t.Name)
	}
	if err := checkReplicas("external.replicas", e.Replicas); err != nil {
		return fmt.Errorf("target %s: %w", t.Name, err)
	}
	for _, c := range []Capability{Signals, SessionTimeout} {
		if t.Has(c) {
			return fmt.Errorf("target %s: capability %s: the external driver cannot %s replicas it did not start; remove it (its specs are skipped with that reason)", t.Name, c, map[Capability]string{Signals: "signal or kill", SessionTimeout: "set the session timeout of"}[c])
		}
	}
	if t.Has(AdminAPI) && e.AdminToken == "" {
		return fmt.Errorf("target %s: capability %s on the external driver needs external.adminToken (the bearer token the replicas were started with)", t.Name, AdminAPI)
	}
	switch {
	case t.Has(Auth):
		if len(e.Auth.Replicas) == 0 {
			return fmt.Errorf("target %s: capability auth on the external driver needs external.auth.replicas: replicas of the gateway started with auth on (the specs without identities use external.replicas)", t.Name)
		}
		if err := checkReplicas("external.auth.replicas", e.Auth.Replicas); err != nil {
			return fmt.Errorf("target %s: %w", t.Name, err)
		}
		// A static-token gateway knows one identity, auth.token: no file.
		if e.Auth.Identities == nil && t.Auth.Mode != AuthStaticToken {
			if e.Auth.Tokens == "" {
				return fmt.Errorf("target %s: capability auth on the external driver needs external.auth.tokens: the file of TOKEN IDENTITY lines the auth replicas were started with (suites/targets/tokens.txt has every token the specs use)", t.Name)
			}
			path := e.Auth.Tokens
			if !filepath.IsAbs(path) && t.Dir != "" {
				path = filepath.Join(t.Dir, path)
			}
			ids, err := readTokens(path)
			if err != nil {
				return fmt.Errorf("target %s: external.auth.tokens: %w", t.Name, err)
			}
			e.Auth.Identities = ids
		}
	case len(e.Auth.Replicas) > 0:
		return fmt.Errorf("target %s: external.auth.replicas are listed but the target does not declare the auth capability; add auth to capabilities or drop external.auth", t.Name)
	}
	// replicas: the replicas a multi-replica spec uses, default all of them.
	if t.Replicas <= 1 {
		t.Replicas = len(e.Replicas)
	}
	if t.Replicas > len(e.Replicas) {
		return fmt.Errorf("target %s: replicas: %d, but external.replicas lists %d", t.Name, t.Replicas, len(e.Replicas))
	}
	return nil
}

func checkReplicas(field string, rs []ExternalReplica) error {
	seen := map[string]bool{}
	for i := range rs {
		r := &rs[i]
		if r.ID == "" {
			r.ID = fmt.Sprintf("r%d", i+1)
		}
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s[%d]: %q is not a base URL (want http://host:port)", field, i, r.URL)
		}
		if seen[r.ID] {
			return fmt.Errorf("%s[%d]: id %q is used twice", field, i, r.ID)
		}
		seen[r.ID] = true
	}
	return nil
}

// readTokens reads "TOKEN IDENTITY" lines; # starts a comment.
func readTokens(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		switch len(f) {
		case 0:
			continue
		case 2:
			out[f[0]] = f[1]
		default:
			return nil, fmt.Errorf("%s line %d: want TOKEN IDENTITY", path, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no tokens", path)
	}
	return out, nil
}
