// Package launch renders the command line and environment of one gateway
// replica from templates, so that a gateway whose flags differ from the
// reference gateway's can still be started by the suite.
//
// A target file's gateway.args and gateway.env values are Go text/template
// strings evaluated against Data, e.g.
//
//	args: ["--port", "{{.Port}}", "{{if .Redis}}--redis={{.Redis}}{{end}}"]
//	env:  {MYGW_UPSTREAMS: "{{.UpstreamsFile}}", MYGW_GRACE_MS: "{{ms .ShutdownTimeout}}"}
//
// An argument that renders to the empty string is dropped, and so is an
// environment variable, so optional settings need no wrapper script. Strings
// without "{{" are taken as they are.
//
// The package is a leaf: suites/targetconf checks templates when a target file
// is loaded, suites/driver renders them when a replica starts.
package launch

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"text/template"
	"time"
)

// Data is what a template sees for one replica. Zero values mean "the
// gateway's default" (no Redis, no auth, default timeouts).
type Data struct {
	// Listen is the host:port the replica must serve on, e.g. 127.0.0.1:41234.
	Listen string
	// Host and Port are Listen split.
	Host string
	Port int
	// URL is the replica's base URL, http://Listen.
	URL string
	// ReplicaID is the replica's id (r1, r2, ...).
	ReplicaID string
	// UpstreamsFile is a JSON file listing the upstreams
	// (gateway/CONTRACT.md format: [{id, url, transport, headers, tls, name, ...}]).
	UpstreamsFile string
	// Redis is the Redis URL replicas of a cluster share ("" for one replica).
	Redis string
	// AdvertiseURL is the base URL other replicas reach this one at ("" without Redis).
	AdvertiseURL string
	// ClusterSecret is the secret replicas of one cluster share.
	ClusterSecret string
	// ShutdownTimeout is the grace of each close phase (the suite checks the
	// whole shutdown takes at most twice this plus 1 s).
	ShutdownTimeout time.Duration
	// SessionTimeout is the idle downstream session expiry (0: the gateway's default).
	SessionTimeout time.Duration
	// AuthTokensFile holds "TOKEN IDENTITY" lines ("" when auth is off).
	AuthTokensFile string
	// AdminToken is the bearer token of the admin API.
	AdminToken string
	// EmulateBug is the reference gateway's --emulate-bug value.
	EmulateBug string
	// Dir is a directory the replica may write to, removed after the spec.
	Dir string
}

// Fields lists the names a template may use, for error messages.
func Fields() []string {
	t := reflect.TypeOf(Data{})
	out := make([]string, t.NumField())
	for i := range out {
		out[i] = "." + t.Field(i).Name
	}
	return out
}

// Funcs are the functions templates may call besides text/template's own.
var Funcs = template.FuncMap{
	// seconds renders a duration as whole seconds (rounded up), e.g. 2.
	"seconds": func(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) },
	// ms renders a duration as milliseconds, e.g. 1500.
	"ms": func(d time.Duration) int64 { return d.Milliseconds() },
}

// Render evaluates args and env against d. Arguments and variables that
// render empty are dropped.
func Render(args []string, env map[string]string, d Data) ([]string, map[string]string, error) {
	var outArgs []string
	for i, a := range args {
		v, err := renderOne(fmt.Sprintf("gateway.args[%d]", i), a, d)
		if err != nil {
			return nil, nil, err
		}
		if v != "" {
			outArgs = append(outArgs, v)
		}
	}
	outEnv := map[string]string{}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, err := renderOne("gateway.env."+k, env[k], d)
		if err != nil {
			return nil, nil, err
		}
		if v != "" {
			outEnv[k] = v
		}
	}
	return outArgs, outEnv, nil
}

// Check renders args and env against a sample replica, so a target file
// with a misspelt field or a broken template fails when it is loaded, with
// the field that holds it.
func Check(args []string, env map[string]string) error {
	_, _, err := Render(args, env, Sample())
	return err
}

// Sample is a fully populated Data for checking templates.
func Sample() Data {
	return Data{
		Listen: "127.0.0.1:8080", Host: "127.0.0.1", Port: 8080, URL: "http://127.0.0.1:8080",
		ReplicaID: "r1", UpstreamsFile: "/tmp/upstreams.json", Redis: "redis://127.0.0.1:6379/0",
		AdvertiseURL: "http://127.0.0.1:8080", ClusterSecret: "secret",
		ShutdownTimeout: time.Second, SessionTimeout: 2 * time.Second,
		AuthTokensFile: "/tmp/tokens.txt", AdminToken: "admin", EmulateBug: "", Dir: "/tmp",
	}
}

func renderOne(field, text string, d Data) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := template.New(field).Funcs(Funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s %q: %w", field, text, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("%s %q: %w (a template may use %s and the functions seconds, ms)",
			field, text, err, strings.Join(Fields(), ", "))
	}
	return b.String(), nil
}
