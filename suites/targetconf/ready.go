package targetconf

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Probe is how the suite asks a replica whether it is up: GET Path answers
// Status, or (MCP) an MCP initialize is answered on the first declared
// route. Ready says a replica may be given work; Alive, that it survived
// bad input (SEC-3, SEC-5).
//
//	ready: {path: /readyz, status: 200}
//	alive: {mcp: true}
type Probe struct {
	Path   string `yaml:"path,omitempty"`
	Status int    `yaml:"status,omitempty"`
	MCP    bool   `yaml:"mcp,omitempty"`
}

// The reference gateway's probes: the defaults.
var (
	DefaultReady = Probe{Path: "/readyz", Status: 200}
	DefaultAlive = Probe{Path: "/healthz", Status: 200}
)

// UnmarshalYAML reads a probe over the one already there (Parse puts the
// default first): a field left out keeps the default, and mcp: true drops
// the default path and status unless the file gives them too (validate
// then refuses the mix).
func (p *Probe) UnmarshalYAML(n *yaml.Node) error {
	var in probeYAML
	if err := decodeStrict(n, &in); err != nil {
		return err
	}
	if in.MCP {
		*p = Probe{MCP: true}
	}
	if in.Path != nil {
		p.Path = *in.Path
	}
	if in.Status != nil {
		p.Status = *in.Status
	}
	return nil
}

// probeYAML is a Probe as written, telling a field left out from a zero.
type probeYAML struct {
	Path   *string `yaml:"path"`
	Status *int    `yaml:"status"`
	MCP    bool    `yaml:"mcp"`
}

// String says what the probe asks, for messages and evidence.
func (p Probe) String() string {
	if p.MCP {
		return "an MCP initialize answered"
	}
	return fmt.Sprintf("GET %s answers %d", p.Path, p.Status)
}

// checkProbe fills in def for a probe left zero (a Target built in Go) and
// refuses one that cannot be sent, naming field.
func checkProbe(field string, p *Probe, def Probe) error {
	switch {
	case *p == Probe{}:
		*p = def
		return nil
	case p.MCP && (p.Path != "" || p.Status != 0):
		return fmt.Errorf("%s: mcp: true probes with an MCP initialize on the first route; drop path and status (or mcp)", field)
	case p.MCP:
		return nil
	}
	if len(p.Path) == 0 || p.Path[0] != '/' {
		return fmt.Errorf("%s.path %q: want a path starting with /", field, p.Path)
	}
	if p.Status < 100 || p.Status > 599 {
		return fmt.Errorf("%s.status %d: want an HTTP status (100-599)", field, p.Status)
	}
	return nil
}
