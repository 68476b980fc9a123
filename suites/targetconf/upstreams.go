package targetconf

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// How a spec's upstreams reach a fresh gateway (Upstreams.Register).
const (
	// RegisterFile writes them to the upstreams file before the replicas
	// start (MCPGW_UPSTREAMS, or .UpstreamsFile in an argument template).
	// The default for the process and container drivers.
	RegisterFile = "file"
	// RegisterAdminAPI PUTs each one to the reference admin API once the
	// replicas are ready. Needs the admin-api capability.
	RegisterAdminAPI = "admin-api"
	// RegisterHooks runs the add hook for each one once the replicas are
	// ready. The default for the external driver when hooks are given.
	RegisterHooks = "hooks"
)

var registerModes = []string{RegisterFile, RegisterAdminAPI, RegisterHooks}

// Upstreams says how the suite tells the gateway about upstreams: how a
// spec's upstreams reach a fresh gateway (Register), and how specs change
// and remove them at run time: the hook commands when given, else the
// reference admin API when the target declares admin-api, else such specs
// are skipped with the reason.
//
// Hook commands get the upstream as JSON on stdin, in the format of
// gateway/CONTRACT.md ({id, url, transport, headers, tls, name, description,
// tags}), and the environment variables MCPCONF_HOOK (add, change, remove),
// MCPCONF_UPSTREAM_ID, MCPCONF_UPSTREAM_URL, MCPCONF_GATEWAY_URL (the first
// replica), MCPCONF_GATEWAY_URLS (every replica of the spec, space-separated),
// MCPCONF_ADMIN_TOKEN and MCPCONF_HOOK_TIMEOUT. They run in the target
// file's directory; exit status 0 means done.
type Upstreams struct {
	// Register is file, admin-api or hooks (see the Register* constants).
	Register string `yaml:"register"`
	// Add, Change and Remove are hook commands: a string is run with
	// sh -c, a list is an argument vector.
	Add    Command `yaml:"add"`
	Change Command `yaml:"change"`
	Remove Command `yaml:"remove"`
	// Env is extra environment for every hook.
	Env map[string]string `yaml:"env"`
	// Timeout bounds each hook (default 10s).
	Timeout Duration `yaml:"timeout"`
	// InGo says the hooks are Go code given to the Go entry point
	// (suites/mcpconf, Config.Upstreams) instead of commands: every hook
	// is then available.
	InGo bool `yaml:"-"`
}

// Command is a hook command: an argument vector. In YAML, a string is run
// with sh -c and a list is taken as the vector.
type Command []string

// UnmarshalYAML reads a string or a list of strings.
func (c *Command) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if strings.TrimSpace(n.Value) == "" {
			*c = nil
			return nil
		}
		*c = Command{"sh", "-c", n.Value}
		return nil
	case yaml.SequenceNode:
		var argv []string
		if err := n.Decode(&argv); err != nil {
			return fmt.Errorf("line %d: a command list holds strings only: %w", n.Line, err)
		}
		*c = argv
		return nil
	}
	return fmt.Errorf("line %d: a hook command is a string (run with sh -c) or a list of arguments", n.Line)
}

// HasHook reports whether the hook for op (add, change, remove) is given.
func (t *Target) HasHook(op string) bool {
	if t.Upstreams.InGo {
		return op == "add" || op == "change" || op == "remove"
	}
	switch op {
	case "add":
		return len(t.Upstreams.Add) > 0
	case "change":
		return len(t.Upstreams.Change) > 0
	case "remove":
		return len(t.Upstreams.Remove) > 0
	}
	return false
}

// UpstreamChanges says how specs change (op "change") or remove (op
// "remove") an upstream at run time: "hooks", "admin-api", or "" with the
// reason it cannot.
func (t *Target) UpstreamChanges(op string) (via, reason string) {
	switch {
	case t.HasHook(op):
		return RegisterHooks, ""
	case t.Has(AdminAPI):
		return RegisterAdminAPI, ""
	}
	return "", fmt.Sprintf("target %q cannot %s an upstream at run time: it declares no upstreams.%s hook and not the %s capability", t.Name, op, op, AdminAPI)
}

func (t *Target) validateUpstreams() error {
	u := &t.Upstreams
	if u.Register == "" {
		switch {
		case t.Driver != DriverExternal:
			u.Register = RegisterFile
		case t.HasHook("add"):
			u.Register = RegisterHooks
		case t.Has(AdminAPI):
			u.Register = RegisterAdminAPI
		default:
			return fmt.Errorf("target %s: the external driver registers each spec's upstreams on the running replicas and removes them afterwards, so it needs upstreams.add and upstreams.remove (hook commands) or the %s capability with external.adminToken", t.Name, AdminAPI)
		}
	}
	if !slices.Contains(registerModes, u.Register) {
		return fmt.Errorf("target %s: upstreams.register: %q is not allowed (allowed: %s)", t.Name, u.Register, strings.Join(registerModes, ", "))
	}
	if u.Timeout < 0 {
		return fmt.Errorf("target %s: upstreams.timeout: %s is negative (want a duration such as 10s)", t.Name, time.Duration(u.Timeout))
	}
	if u.Timeout == 0 {
		u.Timeout = Duration(10 * time.Second)
	}
	for k := range u.Env {
		if k == "" || strings.ContainsAny(k, "= ") {
			return fmt.Errorf("target %s: upstreams.env: %q is not an environment variable name", t.Name, k)
		}
	}
	switch u.Register {
	case RegisterHooks:
		if !t.HasHook("add") {
			return fmt.Errorf("target %s: upstreams.register is hooks but upstreams.add is empty: give the command that adds an upstream (it gets the upstream as JSON on stdin)", t.Name)
		}
	case RegisterAdminAPI:
		if !t.Has(AdminAPI) {
			return fmt.Errorf("target %s: upstreams.register is admin-api but the target does not declare the %s capability: add it to capabilities, or register through hooks (upstreams.add)", t.Name, AdminAPI)
		}
	case RegisterFile:
		if t.Driver == DriverExternal {
			return fmt.Errorf("target %s: upstreams.register: the external driver cannot write an upstreams file for replicas it did not start: give hook commands (upstreams.add, upstreams.remove) or declare the %s capability with external.adminToken", t.Name, AdminAPI)
		}
	}
	if t.Driver == DriverExternal {
		// The replicas outlive the spec: what a spec registered must go.
		if via, _ := t.UpstreamChanges("remove"); via == "" {
			return fmt.Errorf("target %s: the external driver removes each spec's upstreams when the spec ends, so it needs upstreams.remove (a hook command) or the %s capability", t.Name, AdminAPI)
		}
	}
	// A relative hook program is relative to the target file.
	for _, c := range []Command{u.Add, u.Change, u.Remove} {
		if len(c) > 0 && t.Dir != "" && strings.ContainsRune(c[0], filepath.Separator) && !filepath.IsAbs(c[0]) {
			c[0] = filepath.Join(t.Dir, c[0])
		}
	}
	return nil
}
