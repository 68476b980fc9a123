package gateway

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"
)

// Upstream transports the gateway can speak to an upstream server.
const (
	TransportStreamable = "streamable-http"
	TransportSSE        = "sse"
)

// Upstream is one upstream MCP server as configured by the operator.
type Upstream struct {
	ID          string            `json:"id" yaml:"id"`
	URL         string            `json:"url" yaml:"url"`
	Transport   string            `json:"transport,omitempty" yaml:"transport,omitempty"`
	Headers     map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	TLS         *TLSConfig        `json:"tls,omitempty" yaml:"tls,omitempty"`
	Name        string            `json:"name,omitempty" yaml:"name,omitempty"`
	Description string            `json:"description,omitempty" yaml:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty" yaml:"tags,omitempty"`
}

// TLSConfig is the TLS material used to reach an upstream.
type TLSConfig struct {
	CAFile             string `json:"ca_file,omitempty" yaml:"ca_file,omitempty"`
	CertFile           string `json:"cert_file,omitempty" yaml:"cert_file,omitempty"`
	KeyFile            string `json:"key_file,omitempty" yaml:"key_file,omitempty"`
	ServerName         string `json:"server_name,omitempty" yaml:"server_name,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty" yaml:"insecure_skip_verify,omitempty"`
}

var upstreamIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks an upstream definition and fills defaults.
func (u *Upstream) Validate() error {
	if !upstreamIDPattern.MatchString(u.ID) {
		return fmt.Errorf("upstream id %q: must match %s (it prefixes tool names as <id>.<tool>)", u.ID, upstreamIDPattern)
	}
	parsed, err := url.Parse(u.URL)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return fmt.Errorf("upstream %q: url %q must be an absolute http(s) URL", u.ID, u.URL)
	}
	switch u.Transport {
	case "":
		u.Transport = TransportStreamable
	case TransportStreamable, TransportSSE:
	default:
		return fmt.Errorf("upstream %q: transport %q is not one of %s, %s", u.ID, u.Transport, TransportStreamable, TransportSSE)
	}
	if u.TLS != nil {
		if (u.TLS.CertFile == "") != (u.TLS.KeyFile == "") {
			return fmt.Errorf("upstream %q: tls cert_file and key_file go together", u.ID)
		}
	}
	return nil
}

// connectKey digests every field that changes how the gateway connects
// (URL, transport, headers, TLS material). Two definitions with the same key
// can share upstream sessions; a different key means old sessions must go.
// Cosmetic fields (name, description, tags) are left out on purpose.
func (u *Upstream) connectKey() string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode([]any{u.URL, u.Transport, sortedHeaders(u.Headers), u.TLS})
	if u.TLS != nil {
		// TLS files can change in place: their bytes are part of the key.
		for _, f := range []string{u.TLS.CAFile, u.TLS.CertFile, u.TLS.KeyFile} {
			if f == "" {
				continue
			}
			b, _ := os.ReadFile(f)
			h.Write(b)
		}
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func sortedHeaders(m map[string]string) [][2]string {
	out := make([][2]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, [2]string{k, m[k]})
	}
	return out
}

// tlsClientConfig builds the tls.Config for the upstream, or nil for defaults.
func (u *Upstream) tlsClientConfig() (*tls.Config, error) {
	if u.TLS == nil {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: u.TLS.ServerName, InsecureSkipVerify: u.TLS.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if u.TLS.CAFile != "" {
		pem, err := os.ReadFile(u.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("upstream %q: read ca_file: %w", u.ID, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("upstream %q: ca_file %s holds no PEM certificate", u.ID, u.TLS.CAFile)
		}
		cfg.RootCAs = pool
	}
	if u.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(u.TLS.CertFile, u.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("upstream %q: load client certificate: %w", u.ID, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// LoadUpstreams reads a YAML or JSON file holding a list of upstreams.
func LoadUpstreams(path string) ([]Upstream, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read upstreams file: %w", err)
	}
	return ParseUpstreams(data)
}

// ParseUpstreams parses a YAML or JSON list of upstreams and validates it.
func ParseUpstreams(data []byte) ([]Upstream, error) {
	var list []Upstream
	dec := yaml.NewDecoder(bytes.NewReader(data)) // YAML is a superset of JSON
	dec.KnownFields(true)
	// An empty file decodes to io.EOF: it means "no upstreams yet".
	if err := dec.Decode(&list); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse upstreams (want a list of {id, url, transport, headers, name, description}): %w", err)
	}
	seen := map[string]bool{}
	for i := range list {
		if err := list[i].Validate(); err != nil {
			return nil, fmt.Errorf("upstreams[%d]: %w", i, err)
		}
		if seen[list[i].ID] {
			return nil, fmt.Errorf("upstreams[%d]: duplicate id %q", i, list[i].ID)
		}
		seen[list[i].ID] = true
	}
	return list, nil
}
