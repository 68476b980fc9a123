// Package target describes the gateway under test: which driver starts it,
// which binary or command it runs, how many replicas, which capabilities and
// profiles it declares, and the run's switches (strict mode, emulated bug).
//
// One Target is built per test process by Load, from a YAML target file
// (MCPCONF_TARGET) overridden by MCPCONF_* environment variables. With
// neither, the target is the reference gateway run by the process driver.
package targetconf

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Drivers.
const (
	DriverProcess   = "process"   // replicas are child processes of a gateway binary
	DriverContainer = "container" // testcontainers-go
	DriverExternal  = "external"  // replicas already running
)

// Capability names a feature a spec may need; a target that lacks it makes
// the spec skip with the reason.
type Capability string

const (
	// AdminAPI: upstreams can be added, changed and removed at run time
	// (the reference /admin API).
	AdminAPI Capability = "admin-api"
	// Auth: the gateway maps bearer tokens to identities (--auth-tokens).
	Auth Capability = "auth"
	// Signals: the driver can signal and kill replicas and observe their exit.
	Signals Capability = "signals"
	// SessionTimeout: the idle downstream session timeout is configurable.
	SessionTimeout Capability = "session-timeout"
	// MultiReplica: several replicas share ownership through Redis.
	MultiReplica Capability = "multi-replica"
	// ClusterHeaders: replicas forward requests to each other with the
	// reference gateway's headers (Mcpgw-Forwarded-By, Mcpgw-Cluster-Secret;
	// gateway/CONTRACT.md), which SEC-4 forges. Another gateway's
	// replica-to-replica channel, if any, is its own.
	ClusterHeaders Capability = "cluster-headers"
)

// Target is everything the suites know about the gateway under test.
type Target struct {
	// Name labels the target in reports.
	Name string `yaml:"name"`
	// Driver is process, container or external.
	Driver string `yaml:"driver"`
	// Gateway says what to run for the process driver.
	Gateway Gateway `yaml:"gateway"`
	// Replicas is how many replicas multi-replica specs start (>= 2 to be useful).
	Replicas int `yaml:"replicas"`
	// Capabilities the target declares (see the Capability constants).
	Capabilities []Capability `yaml:"capabilities"`
	// Profiles the target declares, e.g. strict-405.
	Profiles []string `yaml:"profiles"`
	// Redis is a Redis URL for multi-replica runs; empty = a new embedded
	// miniredis per spec. Each multi-replica spec flushes its database first
	// and they run one at a time (see fixture.MultiReplica): point it at a
	// throwaway database.
	Redis string `yaml:"redis"`
	// Strict makes SHOULD failures fail the run instead of warning.
	Strict bool `yaml:"strict"`
	// EmulateBug is passed to the reference gateway as --emulate-bug.
	EmulateBug string `yaml:"emulateBug"`
	// ReadyTimeout bounds how long a replica may take to become Ready.
	ReadyTimeout Duration `yaml:"readyTimeout"`
	// Ready is how the suite knows a replica is up (ready.go; default
	// GET /readyz answers 200).
	Ready Probe `yaml:"ready"`
	// Alive is how SEC-3 and SEC-5 know a replica survived bad input
	// (default GET /healthz answers 200).
	Alive Probe `yaml:"alive"`
	// Auth is how the gateway authenticates clients (auth.go).
	Auth AuthConfig `yaml:"auth"`
	// Eras are the downstream protocol eras it serves (state.go; default
	// [session]).
	Eras []string `yaml:"eras"`
	// Revision, when set (MCPCONF_REVISION only), is the session-bearing
	// revision every session of the run asks for instead of the newest:
	// make conformance-revisions runs ISO, EVI and TRN once per revision.
	Revision string `yaml:"-"`
	// SessionIDs false: in the session era the gateway answers initialize
	// without an Mcp-Session-Id (stateless Streamable HTTP, which the
	// transport allows); requirements about downstream sessions are then
	// not applicable (state.go; default true).
	SessionIDs *bool `yaml:"sessionIds"`
	// SharedState is what its replicas share: redis (default) or none.
	SharedState string `yaml:"sharedState"`
	// Messages are the kinds of in-session message it relays (messages.go;
	// absent: all of them).
	Messages []string `yaml:"messages"`
	// Upstreams says how the suite registers, changes and removes upstreams
	// (upstreams file, admin API or hook commands; see upstreams.go).
	Upstreams Upstreams `yaml:"upstreams"`
	// External lists the replicas of an external target (see external.go).
	External External `yaml:"external"`
	// Dir is the directory of the target file ("" when the target was built
	// in Go): hooks run there and relative paths resolve against it.
	Dir string `yaml:"-"`
	// Container is how the container driver runs the target (container.go).
	Container Container `yaml:"container"`
	// Routes are the MCP endpoints it serves (routes.go).
	Routes Routes `yaml:"routes"`
}

// Gateway is how the process driver gets a gateway binary.
type Gateway struct {
	// Bin is a built gateway binary. Empty = build Package from the module.
	Bin string `yaml:"bin"`
	// Package is the main package built when Bin is empty.
	Package string `yaml:"package"`
	// Args are extra arguments for every replica.
	Args []string `yaml:"args"`
	// Env is extra environment for every replica.
	Env map[string]string `yaml:"env"`
	// Image is the gateway image for the container driver (see container.go).
	Image string `yaml:"image"`
}

// Duration is a time.Duration that reads "1s" from YAML.
type Duration time.Duration

// UnmarshalYAML reads a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// Reference returns the default target: the reference gateway of this
// module, built from ./servers/gateway and run by the process driver.
func Reference() *Target {
	return &Target{
		Name:    "reference gateway",
		Driver:  DriverProcess,
		Gateway: Gateway{Package: "./servers/gateway"},
		// Three replicas sharing one Redis for the cross-replica specs:
		// an owner, and two others to route through and to survive it.
		Replicas:     3,
		Capabilities: []Capability{AdminAPI, Auth, Signals, SessionTimeout, MultiReplica, ClusterHeaders},
		Profiles:     []string{"strict-405", EraStateless},
		ReadyTimeout: Duration(15 * time.Second),
		Ready:        DefaultReady,
		Alive:        DefaultAlive,
		Auth:         DefaultAuth,
		Eras:         []string{EraSession, EraStateless},
		SharedState:  SharedRedis,
		Routes:       ReferenceRoutes(),
	}
}

// Has reports whether the target declares a capability.
func (t *Target) Has(c Capability) bool { return slices.Contains(t.Capabilities, c) }

// HasProfile reports whether the target declares a profile.
func (t *Target) HasProfile(p string) bool { return slices.Contains(t.Profiles, p) }

// Environment variables read by Load.
const (
	EnvTarget       = "MCPCONF_TARGET"       // target YAML file
	EnvDriver       = "MCPCONF_DRIVER"       // process | container | external
	EnvGatewayBin   = "MCPCONF_GATEWAY_BIN"  // gateway binary for the process driver
	EnvReplicas     = "MCPCONF_REPLICAS"     // replica count for multi-replica specs
	EnvCapabilities = "MCPCONF_CAPABILITIES" // comma list replacing the declared set ("none": empty)
	EnvProfiles     = "MCPCONF_PROFILES"     // comma list replacing the declared set ("none": empty)
	EnvRedis        = "MCPCONF_REDIS"        // Redis URL instead of embedded miniredis
	EnvStrict       = "MCPCONF_STRICT"       // 1/true: SHOULD failures fail
	EnvEmulateBug   = "MCPCONF_EMULATE_BUG"  // --emulate-bug for the reference gateway
	EnvRevision     = "MCPCONF_REVISION"     // session-bearing revision every session asks for
)

// SessionRevisions are the session-bearing revisions the suites speak,
// oldest first; sessions ask for the newest unless Revision says otherwise.
var SessionRevisions = []string{"2025-03-26", "2025-06-18", "2025-11-25"}

var (
	once   sync.Once
	loaded *Target
	err    error
)

// Current returns the target of this test process, loaded once.
func Current() (*Target, error) {
	once.Do(func() { loaded, err = Load(os.Getenv) })
	return loaded, err
}

// Load builds the target from the target file named by MCPCONF_TARGET (if
// any) and the MCPCONF_* overrides, read through getenv.
func Load(getenv func(string) string) (*Target, error) {
	t := Reference()
	if path := getenv(EnvTarget); path != "" {
		path = resolveTargetPath(path)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvTarget, err)
		}
		if t, err = Parse(data, path); err != nil {
			return nil, err
		}
	}
	if v := getenv(EnvDriver); v != "" {
		t.Driver = v
	}
	if v := getenv(EnvGatewayBin); v != "" {
		t.Gateway.Bin = v
	}
	if v := getenv(EnvReplicas); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s=%q: want a positive integer", EnvReplicas, v)
		}
		t.Replicas = n
	}
	if v := getenv(EnvCapabilities); v != "" {
		t.Capabilities = nil
		for _, c := range splitList(v) {
			t.Capabilities = append(t.Capabilities, Capability(c))
		}
	}
	if v := getenv(EnvProfiles); v != "" {
		t.Profiles = splitList(v)
	}
	if v := getenv(EnvRedis); v != "" {
		t.Redis = v
	}
	if v := getenv(EnvStrict); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: want 1/0 or true/false", EnvStrict, v)
		}
		t.Strict = b
	}
	if v := getenv(EnvEmulateBug); v != "" {
		t.EmulateBug = v
	}
	if v := getenv(EnvRevision); v != "" {
		if !slices.Contains(SessionRevisions, v) {
			return nil, fmt.Errorf("%s=%q: want one of the session-bearing revisions %s", EnvRevision, v, strings.Join(SessionRevisions, ", "))
		}
		t.Revision = v
	}
	if err := t.loadContainer(getenv); err != nil {
		return nil, err
	}
	return t, t.validate()
}

func (t *Target) validate() error {
	switch t.Driver {
	case DriverProcess:
		if t.Gateway.Bin == "" && t.Gateway.Package == "" {
			return fmt.Errorf("target %s: the process driver needs gateway.bin or gateway.package", t.Name)
		}
	case DriverContainer, DriverExternal:
	default:
		return fmt.Errorf("target %s: unknown driver %q (want process, container or external)", t.Name, t.Driver)
	}
	if t.ReadyTimeout <= 0 {
		t.ReadyTimeout = Duration(15 * time.Second)
	}
	if err := t.validateExternal(); err != nil {
		return err
	}
	if err := t.validateUpstreams(); err != nil {
		return err
	}
	if err := t.validateLaunch(); err != nil {
		return err
	}
	if err := checkProbe("ready", &t.Ready, DefaultReady); err != nil {
		return fmt.Errorf("target %s: %w", t.Name, err)
	}
	if err := checkProbe("alive", &t.Alive, DefaultAlive); err != nil {
		return fmt.Errorf("target %s: %w", t.Name, err)
	}
	if err := t.validateAuth(); err != nil {
		return err
	}
	if err := t.validateState(); err != nil {
		return err
	}
	if err := t.validateRoutes(); err != nil {
		return err
	}
	known := []Capability{AdminAPI, Auth, Signals, SessionTimeout, MultiReplica, ClusterHeaders}
	for _, c := range t.Capabilities {
		if !slices.Contains(known, c) {
			return fmt.Errorf("target %s: unknown capability %q (known: %v)", t.Name, c, known)
		}
	}
	if t.Has(MultiReplica) && t.Replicas < 2 {
		return fmt.Errorf("target %s declares %s but runs %d replica(s): set replicas (or %s) to 2 or more", t.Name, MultiReplica, t.Replicas, EnvReplicas)
	}
	return nil
}

// splitList reads a comma list; "none" stands for the empty list.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" && s != "none" {
			out = append(out, s)
		}
	}
	return out
}

// Use makes tg the target of this test process in place of MCPCONF_TARGET
// and the MCPCONF_* variables: the Go entry point (suites/mcpconf) calls it
// for implementers who describe their gateway in code. It validates tg (and
// fills in its defaults) first.
func Use(tg *Target) error {
	if tg.Name == "" {
		tg.Name = "gateway under test"
	}
	if err := tg.validate(); err != nil {
		return err
	}
	once.Do(func() {})
	loaded, err = tg, nil
	return nil
}
