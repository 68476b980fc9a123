package conformance

import (
	"encoding/json"
	"strings"
)

// Report entries that describe the run rather than one requirement. The
// report builder (reports/) takes them out of the evidence and shows them
// at the top of the report.
const (
	// EntryTarget carries the TargetInfo of the run as JSON, once per suite
	// (added by fixture.PrepareGateway).
	EntryTarget = "mcpconf: target"
	// EntryRevision carries the MCP protocol revision a client session
	// negotiated with the gateway (added by fixture.ConnectURL).
	EntryRevision = "mcpconf: protocol revision"
	// EntryServer carries the name and version the gateway reported in
	// initialize (serverInfo), e.g. "mcpgw-reference v0.3.0" (added by
	// fixture.ConnectURL).
	EntryServer = "mcpconf: server"
	// EntrySetupPrefix starts the name of evidence about how a spec was set
	// up (which replicas, how upstreams were registered): reports show it
	// after the spec's own evidence.
	EntrySetupPrefix = "setup: "
)

// ExternalSkipPrefix starts the reason of every skip that comes from the
// external driver itself (replicas the suite did not start), so reports and
// comparisons can tell them from a gateway's missing capabilities.
const ExternalSkipPrefix = "external driver: "

// TargetInfo is what the report says about the gateway under test.
type TargetInfo struct {
	Name         string   `json:"name"`
	Driver       string   `json:"driver"`
	Gateway      string   `json:"gateway,omitempty"` // binary, package, image or replica URLs
	Replicas     int      `json:"replicas"`
	Capabilities []string `json:"capabilities,omitempty"`
	Profiles     []string `json:"profiles,omitempty"`
	Upstreams    string   `json:"upstreams,omitempty"` // how upstreams are registered and changed
	Redis        string   `json:"redis,omitempty"`
	Strict       bool     `json:"strict,omitempty"`
	EmulateBug   string   `json:"emulateBug,omitempty"`
}

// Encode renders the info as an EntryTarget value.
func (ti TargetInfo) Encode() string {
	b, _ := json.Marshal(ti)
	return string(b)
}

// DecodeTargetInfo reads an EntryTarget value.
func DecodeTargetInfo(s string) (TargetInfo, error) {
	var ti TargetInfo
	err := json.NewDecoder(strings.NewReader(s)).Decode(&ti)
	return ti, err
}
