package reports

import (
	"slices"
	"sort"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/conformance"
)

// RevisionTable is the revision x requirement view of the specs that
// replay requirements at each protocol revision (VER-1): a row per
// revision, a column per requirement, worst spec first in each cell (a
// revision is replayed once per route).
type RevisionTable struct {
	Requirements []string
	Rows         []RevisionRow
}

// RevisionRow is one revision's cells, in the order of Requirements.
type RevisionRow struct {
	Revision string
	Cells    []Status
}

// NotReached is a revision cell whose spec failed before getting to it.
const NotReached Status = "not reached"

// cellRank orders cell states, worst first: the one a cell shows when its
// specs disagree.
var cellRank = []Status{Fail, Error, NotReached, Pass, Skip}

// revisionSpec is what one spec said about its revision cells.
type revisionSpec struct {
	planned []conformance.RevisionCell // in order
	held    map[conformance.RevisionCell]bool
	state   Status // the spec's own outcome: Pass, Fail, Error or Skip
}

// readRevisionCells collects s's revision cells, if it has any.
func readRevisionCells(s types.SpecReport) (revisionSpec, bool) {
	rs := revisionSpec{held: map[conformance.RevisionCell]bool{}}
	for _, e := range s.ReportEntries {
		if e.Name != conformance.EntryRevisionCell {
			continue
		}
		c, err := conformance.DecodeRevisionCell(e.StringRepresentation())
		if err != nil {
			continue
		}
		if c.Held {
			c.Held = false
			rs.held[c] = true
		} else {
			rs.planned = append(rs.planned, c)
		}
	}
	if len(rs.planned) == 0 {
		return rs, false
	}
	_, couldNotJudge := judgementOf(s)
	switch {
	case s.State.Is(types.SpecStateFailureStates) && couldNotJudge:
		rs.state = Error
	case s.State.Is(types.SpecStateFailureStates):
		rs.state = Fail
	case s.State == types.SpecStateSkipped || s.State == types.SpecStatePending:
		rs.state = Skip
	default:
		rs.state = Pass
	}
	return rs, true
}

// cells gives each planned cell its state: held passes; in a spec that
// did not pass, the first cell not held takes the spec's outcome and the
// rest were not reached; a skipped spec's cells are skipped.
func (rs revisionSpec) cells() map[conformance.RevisionCell]Status {
	out := map[conformance.RevisionCell]Status{}
	first := true
	for _, c := range rs.planned {
		switch {
		case rs.state == Skip:
			out[c] = Skip
		case rs.held[c]:
			out[c] = Pass
		case first && rs.state != Pass:
			out[c], first = rs.state, false
		default:
			out[c] = NotReached
		}
	}
	return out
}

// buildRevisionTable merges every spec's cells; nil when no spec had any.
func buildRevisionTable(specs []revisionSpec) *RevisionTable {
	if len(specs) == 0 {
		return nil
	}
	t := &RevisionTable{}
	merged := map[conformance.RevisionCell]Status{}
	var revisions []string
	for _, rs := range specs {
		for _, c := range rs.planned {
			if !slices.Contains(t.Requirements, c.Requirement) {
				t.Requirements = append(t.Requirements, c.Requirement)
			}
			if !slices.Contains(revisions, c.Revision) {
				revisions = append(revisions, c.Revision)
			}
		}
		for c, st := range rs.cells() {
			if old, ok := merged[c]; !ok || slices.Index(cellRank, st) < slices.Index(cellRank, old) {
				merged[c] = st
			}
		}
	}
	sort.Strings(revisions)
	for _, rev := range revisions {
		row := RevisionRow{Revision: rev}
		for _, id := range t.Requirements {
			st, ok := merged[conformance.RevisionCell{Revision: rev, Requirement: id}]
			if !ok {
				st = NotRun
			}
			row.Cells = append(row.Cells, st)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
