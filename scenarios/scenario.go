// Package scenarios is a small declarative format for multi-step session
// scenarios (open sessions, call tools, expect values, delete, re-open) and
// the runner that replays one against any gateway URL, printing a readable
// transcript. The scenarios in this directory are embedded: the conformance
// suite runs each of them as a spec.
package scenarios

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"
)

//go:embed *.yaml
var bundled embed.FS

// DefaultRoute is the route a scenario's sessions open on unless it names
// one: the reference gateway's aggregate route.
const DefaultRoute = "/mcp"

// Scenario is one scenario file.
type Scenario struct {
	// Name identifies the scenario (defaults to the file name).
	Name string `yaml:"name"`
	// Title says what it shows, in a line.
	Title string `yaml:"title"`
	// Requirement is the catalogue ID the scenario demonstrates.
	Requirement string `yaml:"requirement"`
	// Upstreams are the counter upstream ids the gateway must serve.
	Upstreams []string `yaml:"upstreams"`
	// Route is the endpoint path sessions open on (default /mcp).
	Route string `yaml:"route"`
	// Tokens (token -> identity) the gateway is started with, if any.
	Tokens map[string]string `yaml:"tokens"`
	// Steps run in order.
	Steps []Step `yaml:"steps"`
}

// Deletes reports whether the scenario ends a session with DELETE, which
// needs a gateway that mints session ids.
func (sc *Scenario) Deletes() bool {
	for _, st := range sc.Steps {
		if st.Delete != "" {
			return true
		}
	}
	return false
}

// Step is one action. Exactly one of Open, Call and Delete is set.
type Step struct {
	// Open opens a session under this name (again, after a delete).
	Open string `yaml:"open"`
	// Token is the bearer token for Open.
	Token string `yaml:"token"`
	// Route overrides the scenario route for Open.
	Route string `yaml:"route"`
	// Call is the tool to call (on /mcp: <upstream>.<tool>).
	Call string `yaml:"call"`
	// Session names the session for Call.
	Session string `yaml:"session"`
	// Args are the tool arguments.
	Args map[string]any `yaml:"args"`
	// Times repeats the call (default 1).
	Times int `yaml:"times"`
	// Expect is the value the (last) call must return.
	Expect *int `yaml:"expect"`
	// Delete ends the named session with DELETE.
	Delete string `yaml:"delete"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Parse decodes and validates a scenario. name is used when the file has none.
func Parse(data []byte, name string) (*Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	if sc.Name == "" {
		sc.Name = name
	}
	if sc.Route == "" {
		sc.Route = DefaultRoute
	}
	if err := sc.validate(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	return &sc, nil
}

func (sc *Scenario) validate() error {
	if sc.Requirement == "" {
		return fmt.Errorf("requirement: name the catalogue requirement the scenario demonstrates")
	}
	if len(sc.Steps) == 0 {
		return fmt.Errorf("no steps")
	}
	for _, u := range sc.Upstreams {
		if !nameRE.MatchString(u) {
			return fmt.Errorf("upstream id %q: want [A-Za-z0-9_-]{1,64}", u)
		}
	}
	open := map[string]bool{}
	for i, st := range sc.Steps {
		n := 0
		for _, set := range []bool{st.Open != "", st.Call != "", st.Delete != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("step %d: set exactly one of open, call and delete", i+1)
		}
		switch {
		case st.Open != "":
			if !nameRE.MatchString(st.Open) {
				return fmt.Errorf("step %d: session name %q: want [A-Za-z0-9_-]{1,64}", i+1, st.Open)
			}
			if open[st.Open] {
				return fmt.Errorf("step %d: session %s is already open (delete it first)", i+1, st.Open)
			}
			open[st.Open] = true
		case st.Call != "":
			if !open[st.Session] {
				return fmt.Errorf("step %d: call %s: session %q is not open", i+1, st.Call, st.Session)
			}
			if st.Times < 0 {
				return fmt.Errorf("step %d: times must be positive", i+1)
			}
		case st.Delete != "":
			if !open[st.Delete] {
				return fmt.Errorf("step %d: delete: session %q is not open", i+1, st.Delete)
			}
			delete(open, st.Delete)
		}
		if st.Open == "" && (st.Token != "" || st.Route != "") {
			return fmt.Errorf("step %d: token and route go with open", i+1)
		}
		if st.Call == "" && (st.Args != nil || st.Times != 0 || st.Expect != nil || st.Session != "") {
			return fmt.Errorf("step %d: session, args, times and expect go with call", i+1)
		}
	}
	return nil
}

// Load reads a scenario file.
func Load(file string) (*Scenario, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(data, trimExt(path.Base(file)))
}

// Bundled returns the scenarios embedded from this directory, sorted by name.
func Bundled() ([]*Scenario, error) {
	files, err := fs.Glob(bundled, "*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*Scenario
	for _, f := range files {
		data, err := bundled.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sc, err := Parse(data, trimExt(f))
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out, func(o *Scenario) bool { return o.Name == sc.Name }) {
			return nil, fmt.Errorf("two bundled scenarios are named %s", sc.Name)
		}
		out = append(out, sc)
	}
	return out, nil
}

func trimExt(f string) string { return f[:len(f)-len(path.Ext(f))] }
