package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/conformance"
)

func cell(rev, id string, held bool) types.ReportEntry {
	b, _ := json.Marshal(conformance.RevisionCell{Revision: rev, Requirement: id, Held: held})
	return entry(conformance.EntryRevisionCell, string(b))
}

// The revision table: held cells pass, the first cell a failed spec did not
// hold is the failure and the rest were not reached, the worse of two
// routes' specs shows, and the cells are no evidence of the requirement.
func TestRevisionTable(t *testing.T) {
	ver1 := []string{"VER-1", "VER", "MUST"}
	plan := func(rev string) []types.ReportEntry {
		return []types.ReportEntry{cell(rev, "ISO-1", false), cell(rev, "EVI-1", false), cell(rev, "TRN-1", false)}
	}
	held := func(rev string, ids ...string) []types.ReportEntry {
		var es []types.ReportEntry
		for _, id := range ids {
			es = append(es, cell(rev, id, true))
		}
		return es
	}
	run := []types.Report{{SpecReports: types.SpecReports{
		spec("at 2025-06-18 aggregate", types.SpecStatePassed, ver1, "", append(plan("2025-06-18"), held("2025-06-18", "ISO-1", "EVI-1", "TRN-1")...)...),
		spec("at 2025-06-18 server", types.SpecStateFailed, ver1, "upstream session still live", append(plan("2025-06-18"), held("2025-06-18", "ISO-1")...)...),
		spec("at 2025-03-26 aggregate", types.SpecStatePassed, ver1, "", append(plan("2025-03-26"), held("2025-03-26", "ISO-1", "EVI-1", "TRN-1")...)...),
		spec("at 2025-11-25 aggregate", types.SpecStateSkipped, ver1, "not applicable", plan("2025-11-25")...),
	}}}
	m := Build(catalog.MustLoad(), run)
	tb := m.RevisionTable
	if tb == nil || strings.Join(tb.Requirements, ",") != "ISO-1,EVI-1,TRN-1" || len(tb.Rows) != 3 {
		t.Fatalf("table %+v", tb)
	}
	want := map[string][]Status{
		"2025-03-26": {Pass, Pass, Pass},
		"2025-06-18": {Pass, Fail, NotReached},
		"2025-11-25": {Skip, Skip, Skip},
	}
	for _, r := range tb.Rows {
		if got := r.Cells; strings.Join(statuses(got), ",") != strings.Join(statuses(want[r.Revision]), ",") {
			t.Errorf("%s: %v, want %v", r.Revision, got, want[r.Revision])
		}
	}
	row, _ := m.Row("VER-1")
	for _, e := range row.Evidence {
		if e.Name == conformance.EntryRevisionCell {
			t.Errorf("a revision cell is shown as evidence: %+v", e)
		}
	}
	var md bytes.Buffer
	if err := m.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| 2025-06-18 | pass | **FAIL** | not reached |") {
		t.Errorf("markdown lacks the revision row:\n%s", md.String())
	}
	var html bytes.Buffer
	if err := m.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), `<section id="revisions">`) {
		t.Error("HTML lacks the revision table")
	}
}

// A run without revision cells has no table.
func TestNoRevisionTable(t *testing.T) {
	m := Build(catalog.MustLoad(), []types.Report{{SpecReports: types.SpecReports{spec("a", types.SpecStatePassed, []string{"ISO-1"}, "")}}})
	if m.RevisionTable != nil {
		t.Errorf("table %+v", m.RevisionTable)
	}
}

func statuses(ss []Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}
