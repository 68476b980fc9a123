package conformance

import (
	"encoding/json"
	"strings"

	"github.com/onsi/ginkgo/v2"
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

// EntryRevisionCell carries one cell of the report's revision x requirement
// table as JSON (a RevisionCell): a spec that replays requirements at one
// protocol revision plans its cells first and marks each as it holds.
const EntryRevisionCell = "mcpconf: revision cell"

// RevisionCell is one requirement at one revision, planned or held.
type RevisionCell struct {
	Revision    string `json:"revision"`
	Requirement string `json:"requirement"`
	Held        bool   `json:"held,omitempty"`
}

// RevisionPlan records, hidden from the evidence, that this spec checks
// requirements ids at revision: a cell the spec plans and never marks held
// is shown failed (the spec failed there) or not reached.
func RevisionPlan(revision string, ids ...string) {
	for _, id := range ids {
		addRevisionCell(RevisionCell{Revision: revision, Requirement: id})
	}
}

// RevisionHeld records that requirement id held at revision in this spec.
func RevisionHeld(revision, id string) {
	addRevisionCell(RevisionCell{Revision: revision, Requirement: id, Held: true})
}

func addRevisionCell(c RevisionCell) {
	b, _ := json.Marshal(c)
	ginkgo.AddReportEntry(EntryRevisionCell, string(b), ginkgo.ReportEntryVisibilityNever)
}

// DecodeRevisionCell reads an EntryRevisionCell value.
func DecodeRevisionCell(s string) (RevisionCell, error) {
	var c RevisionCell
	err := json.Unmarshal([]byte(s), &c)
	return c, err
}
