package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/conformance"
)

func spec(text string, state types.SpecState, labels []string, msg string, entries ...types.ReportEntry) types.SpecReport {
	return types.SpecReport{
		LeafNodeType:   types.NodeTypeIt,
		LeafNodeText:   text,
		LeafNodeLabels: labels,
		State:          state,
		Failure:        types.Failure{Message: msg},
		ReportEntries:  entries,
	}
}

func entry(name, value string) types.ReportEntry {
	return types.ReportEntry{Name: name, Value: types.WrapEntryValue(value)}
}

func TestBuildDerivesRowsFromSpecs(t *testing.T) {
	c := catalog.MustLoad()
	run := []types.Report{{
		SuiteDescription: "ISO", SuiteSucceeded: false,
		SpecReports: types.SpecReports{
			spec("a", types.SpecStatePassed, []string{"ISO-1", "ISO", "MUST"}, "", entry("values read", "5 and 3")),
			spec("b", types.SpecStateFailed, []string{"ISO-1", "ISO", "MUST"}, "read 8, want 5", entry(conformance.EntryLogPrefix+"replica r1", "log line")),
			spec("c", types.SpecStatePassed, []string{"TRN-2", "SHOULD"}, "", entry(conformance.EntryWarning, "TRN-2 (SHOULD) not met: got 200")),
			spec("d", types.SpecStateSkipped, []string{"SHD-5"}, "target lacks capability multi-replica"),
			spec("e", types.SpecStateSkipped, []string{"ISO-3"}, ""),
			spec("f", types.SpecStatePassed, []string{"unrelated"}, ""),
		},
	}}
	// Through JSON, as the command reads it.
	data, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// A requirement without specs yet is deferred: mark one so, whatever
	// the catalogue defers today (in a copy: Load's catalogue is shared).
	cc := *c
	cc.Requirements = slices.Clone(c.Requirements)
	c = &cc
	for i := range c.Requirements {
		if c.Requirements[i].ID == "XPD-2" {
			c.Requirements[i].Deferred = "its spec comes later"
		}
	}
	m := Build(c, loaded)

	want := map[string]Status{"ISO-1": Fail, "TRN-2": Warn, "SHD-5": Skip, "ISO-3": NotRun, "ISO-2": NotRun, "XPD-1": NotRun, "XPD-2": Deferred}
	for id, st := range want {
		row, _ := m.Row(id)
		if row.Status != st {
			t.Errorf("%s: status %s (%s), want %s", id, row.Status, row.Reason, st)
		}
	}
	iso1, _ := m.Row("ISO-1")
	if !strings.Contains(iso1.Reason, "read 8, want 5") || len(iso1.Evidence) != 1 || len(iso1.Specs[1].Logs) != 1 {
		t.Errorf("ISO-1 row: reason %q, evidence %v, specs %+v", iso1.Reason, iso1.Evidence, iso1.Specs)
	}
	if len(m.Unmatched) != 1 || m.Verdict() != Fail || len(m.Failed()) != 1 {
		t.Errorf("unmatched %v, verdict %s, failed %v", m.Unmatched, m.Verdict(), m.Failed())
	}

	var md, html bytes.Buffer
	if err := m.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| ISO-1 | MUST | **FAIL** | b: read 8, want 5 | values read: 5 and 3 |", "| TRN-1s | PROFILE strict-405 |", "Verdict: **FAIL**"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md.String())
		}
	}
	if !strings.Contains(html.String(), "log line") || !strings.Contains(html.String(), `class="fail"`) {
		t.Error("report.html lacks the failed spec's replica log or the fail class")
	}
}

func TestMarkdownCellsStayInTheirColumn(t *testing.T) {
	if got := mdCell("a | b\nc", 100); got != `a \| b c` {
		t.Errorf("mdCell = %q", got)
	}
}
