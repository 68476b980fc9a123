package selftest

import (
	"strings"
	"testing"

	"github.com/mcpgw/conformance/reports"
	"github.com/mcpgw/conformance/suites/catalog"
)

func matrix(c *catalog.Catalog, status map[string]reports.Status) *reports.Matrix {
	m := &reports.Matrix{}
	for _, r := range c.Requirements {
		s, ok := status[r.ID]
		if !ok {
			s = reports.Pass
		}
		m.Rows = append(m.Rows, reports.Row{Requirement: r, Status: s})
	}
	return m
}

func setOwners(m *reports.Matrix, id string, owners ...string) {
	for i := range m.Rows {
		if m.Rows[i].Requirement.ID == id {
			m.Rows[i].Owners = owners
		}
	}
}

// shared-upstream breaks ISO-1 and ISO-2, and VER-1 (ISO-1 at each
// revision), which every matrix here fails too.
func TestCompare(t *testing.T) {
	c := catalog.MustLoad()
	exact := Compare(c, "shared-upstream", matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Fail}), false)
	if !exact.OK() {
		t.Errorf("exactly ISO-1 and ISO-2 failing should be ok: %+v", exact)
	}
	missed := Compare(c, "shared-upstream", matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail}), false)
	if missed.OK() || len(missed.Missing) != 1 || missed.Missing[0] != "ISO-2" {
		t.Errorf("ISO-2 not failing should be reported missing: %+v", missed)
	}
	extra := Compare(c, "shared-upstream", matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Fail, "EVI-6": reports.Warn}), false)
	if extra.OK() || len(extra.Unexpected) != 1 || extra.Unexpected[0] != "EVI-6" {
		t.Errorf("a warning outside the expectations should count: %+v", extra)
	}
	judged := Compare(c, "shared-upstream", matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Error}), false)
	if judged.OK() || len(judged.Missing) != 1 || len(judged.Unexpected) != 1 || judged.Unexpected[0] != "ISO-2" {
		t.Errorf("a requirement that could not be judged has not caught the bug, and is unexpected: %+v", judged)
	}
	withheld := matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Fail, "EVI-4": reports.Error})
	setOwners(withheld, "EVI-4", "ISO-2")
	if w := Compare(c, "shared-upstream", withheld, false); !w.OK() || len(w.Withheld) != 1 || w.Withheld[0] != "EVI-4" {
		t.Errorf("EVI-4 withholding its verdict on ISO-2's precondition, which the bug breaks, should be ok: %+v", w)
	}
	elsewhere := matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Fail, "EVI-4": reports.Error})
	setOwners(elsewhere, "EVI-4", "ISO-3")
	if e := Compare(c, "shared-upstream", elsewhere, false); e.OK() || len(e.Unexpected) != 1 || e.Unexpected[0] != "EVI-4" {
		t.Errorf("a precondition owned by a requirement the bug does not break is unexpected: %+v", e)
	}
	base := Compare(c, Baseline, matrix(c, map[string]reports.Status{"SHD-5": reports.Skip}), false)
	if !base.OK() || len(base.Skipped) != 1 {
		t.Errorf("a clean baseline with a skip should be ok: %+v", base)
	}
}

// A run of some suites judges the bug on the requirements with specs in
// them; without the subset flag the others count as not caught.
func TestCompareSubset(t *testing.T) {
	c := catalog.MustLoad()
	m := matrix(c, map[string]reports.Status{"ISO-1": reports.Fail, "ISO-2": reports.Fail})
	for i := range m.Rows {
		switch m.Rows[i].Requirement.ID {
		case "ISO-1", "ISO-2", "ISO-3":
			m.Rows[i].Specs = []reports.Spec{{Text: m.Rows[i].Requirement.ID}}
		default:
			m.Rows[i].Status = reports.NotRun
		}
	}
	if r := Compare(c, "shared-upstream", m, true); !r.OK() || len(r.Elsewhere) != 1 || r.Elsewhere[0] != "VER-1" {
		t.Errorf("VER-1 has no spec in the isolation suite: it should be set aside, the rest ok: %+v", r)
	}
	if r := Compare(c, "shared-upstream", m, false); r.OK() || len(r.Missing) != 1 || r.Missing[0] != "VER-1" {
		t.Errorf("without subset, VER-1 not failing is not caught: %+v", r)
	}
	for i := range m.Rows {
		if m.Rows[i].Requirement.ID == "ISO-2" {
			m.Rows[i].Status = reports.Pass
		}
	}
	if r := Compare(c, "shared-upstream", m, true); r.OK() || len(r.Missing) != 1 || r.Missing[0] != "ISO-2" {
		t.Errorf("ISO-2 has specs in the run and passes: not caught, whatever the subset: %+v", r)
	}
}

// A mismatch says, in the output itself, what each unexpected failure's
// specs reported: a CI log may be all there is.
func TestPrintTableSaysWhyUnexpectedFailed(t *testing.T) {
	c := catalog.MustLoad()
	m := matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Fail, "ISO-3": reports.Fail})
	for i := range m.Rows {
		if m.Rows[i].Requirement.ID == "ISO-3" {
			m.Rows[i].Specs = []reports.Spec{{Text: "ISO-3 ten calls", Failure: "the upstream saw 2 initializes\n\tfor one session " + strings.Repeat("x", 1000)}}
		}
	}
	r := Compare(c, "shared-upstream", m, false)
	var out strings.Builder
	PrintTable(&out, []Result{r})
	got := out.String()
	if !strings.Contains(got, "shared-upstream: ISO-3 also failed: ISO-3 ten calls: the upstream saw 2 initializes for one session x") {
		t.Errorf("the output should carry ISO-3's failure on one line:\n%s", got)
	}
	if strings.Contains(got, strings.Repeat("x", maxWhy)) {
		t.Errorf("a failure's text should be clipped to %d characters:\n%s", maxWhy, got)
	}
}
