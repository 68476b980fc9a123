// Package reports turns Ginkgo JSON reports into the conformance report: the
// requirement matrix (one row per catalogue requirement with its status,
// reason and evidence), written as Markdown and HTML.
package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/conformance"
)

// Status is a requirement's outcome.
type Status string

const (
	Pass     Status = "pass"
	Fail     Status = "fail"
	Warn     Status = "warn"     // a SHOULD not met (non-strict run)
	Skip     Status = "skip"     // the target lacks a capability or profile
	Deferred Status = "deferred" // no spec yet, on purpose
	NotRun   Status = "not run"  // has specs, none of which ran (filtered out)
	// Error: a spec could not judge the requirement (the set-up failed, or
	// a precondition another requirement owns did not hold). It is not a
	// failure of the requirement, and not a pass either.
	Error Status = "error"
	// ExpectedFailure: the requirement failed and the baseline lists it.
	ExpectedFailure Status = "expected failure"
	// StaleBaseline: the baseline lists the requirement but it passed.
	StaleBaseline Status = "stale baseline"
)

// Row is one requirement in the matrix.
type Row struct {
	Requirement catalog.Requirement
	Status      Status
	// Reason explains a fail, warn, skip, error or deferral.
	Reason string
	// Owners are the owners of the preconditions that did not hold when
	// the status is error (requirement IDs, or "setup").
	Owners   []string
	Evidence []Evidence
	Specs    []Spec
	// Duration is the time its specs took together.
	Duration time.Duration
}

// Spec is one spec that proves the row's requirement.
type Spec struct {
	Text string
	// State is Ginkgo's state of the spec, or "error" for a spec that
	// failed because it could not judge.
	State    string
	Duration time.Duration
	Failure  string
	// SkipReason says why a skipped spec did not run ("filtered out" when
	// a label or focus filter left it out).
	SkipReason string
	Location   string
	Logs       []Evidence // replica logs attached on failure
}

// Evidence is one report entry.
type Evidence struct {
	Spec  string
	Name  string
	Value string
}

// Matrix is the whole report.
type Matrix struct {
	Title     string
	Generated time.Time
	Rows      []Row
	// Suites that ran, with their own verdicts.
	Suites []SuiteResult
	// Unmatched lists specs that name no catalogue requirement.
	Unmatched []string
	// Target is the gateway under test as the suites recorded it (nil
	// when the run did not record one).
	Target *conformance.TargetInfo
	// Revisions counts the MCP protocol revisions client sessions
	// negotiated with the gateway, by revision.
	Revisions map[string]int
	// Servers counts what the gateway called itself at initialize
	// (serverInfo name and version), by sessions.
	Servers map[string]int
	// Baseline is the expected-failures baseline applied (nil: none).
	Baseline *Baseline
	// RevisionTable is the revision x requirement view of the specs that
	// replay requirements per protocol revision (nil: none ran).
	RevisionTable *RevisionTable
	// groups are the catalogue's requirement groups, in order.
	groups []catalog.Group
}

// SuiteResult is one Ginkgo suite of the run.
type SuiteResult struct {
	Description string
	Path        string
	Succeeded   bool
	RunTime     time.Duration
	Specs       int
	// Failures are suite-level failures (setup, special reasons).
	Failures []string
	// Errors are set-up nodes that could not judge (conformance.CouldNotJudge
	// outside a spec): the suite's specs did not run, through no fault of
	// the requirements.
	Errors []string
}

// Load reads a Ginkgo JSON report (a list of suite reports).
func Load(path string) ([]types.Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, fmt.Errorf("%s: not a Ginkgo JSON report: %w", path, err)
	}
	return reports, nil
}

// Build makes the matrix from suite reports.
func Build(c *catalog.Catalog, reports []types.Report) *Matrix {
	m := &Matrix{Generated: time.Now(), Revisions: map[string]int{}, Servers: map[string]int{}, groups: c.Groups}
	specsByID := map[string][]types.SpecReport{}
	var revisionSpecs []revisionSpec
	for _, r := range reports {
		sr := SuiteResult{Description: r.SuiteDescription, Path: r.SuitePath, Succeeded: r.SuiteSucceeded, RunTime: r.RunTime}
		if sr.Description == "" {
			sr.Description = r.SuitePath
		}
		sr.Failures = append(sr.Failures, r.SpecialSuiteFailureReasons...)
		for _, s := range r.SpecReports {
			m.readRunEntries(s)
			if s.LeafNodeType != types.NodeTypeIt {
				if s.State.Is(types.SpecStateFailureStates) {
					line := fmt.Sprintf("%s: %s", s.LeafNodeType, s.Failure.Message)
					if _, ok := judgementOf(s); ok {
						sr.Errors = append(sr.Errors, line)
					} else {
						sr.Failures = append(sr.Failures, line)
					}
				}
				continue
			}
			sr.Specs++
			if rs, ok := readRevisionCells(s); ok {
				revisionSpecs = append(revisionSpecs, rs)
			}
			var ids []string
			for _, l := range s.Labels() {
				if _, ok := c.Requirement(l); ok && !slices.Contains(ids, l) {
					ids = append(ids, l)
				}
			}
			if len(ids) == 0 {
				m.Unmatched = append(m.Unmatched, s.FullText())
			}
			for _, id := range ids {
				specsByID[id] = append(specsByID[id], s)
			}
		}
		m.Suites = append(m.Suites, sr)
	}
	for _, req := range c.Requirements {
		m.Rows = append(m.Rows, buildRow(req, specsByID[req.ID]))
	}
	m.RevisionTable = buildRevisionTable(revisionSpecs)
	return m
}

func buildRow(req catalog.Requirement, specs []types.SpecReport) Row {
	row := Row{Requirement: req}
	sort.SliceStable(specs, func(i, j int) bool { return specs[i].LeafNodeText < specs[j].LeafNodeText })
	var failed, errored, warned, passed, skipped, ran []string
	var setup []Evidence // shown after the specs' own evidence
	for _, s := range specs {
		sp := Spec{Text: s.LeafNodeText, State: s.State.String(), Duration: s.RunTime, Location: s.LeafNodeLocation.String()}
		if s.State.Is(types.SpecStateFailureStates) {
			sp.Failure = s.Failure.Message
		}
		judgement, couldNotJudge := judgementOf(s)
		if couldNotJudge && s.State.Is(types.SpecStateFailureStates) {
			sp.State = string(Error)
		}
		row.Duration += s.RunTime
		for _, e := range s.ReportEntries {
			ev := Evidence{Spec: s.LeafNodeText, Name: e.Name, Value: e.StringRepresentation()}
			switch {
			case e.Name == conformance.EntryTarget || e.Name == conformance.EntryRevision || e.Name == conformance.EntryServer || e.Name == conformance.EntryCouldNotJudge || e.Name == conformance.EntryRevisionCell:
				// About the run, not the requirement: see readRunEntries.
			case strings.HasPrefix(e.Name, conformance.EntryLogPrefix):
				sp.Logs = append(sp.Logs, ev)
			case e.Name == conformance.EntryWarning:
				warned = append(warned, ev.Value)
			case strings.HasPrefix(e.Name, conformance.EntrySetupPrefix):
				setup = append(setup, ev)
			default:
				row.Evidence = append(row.Evidence, ev)
			}
		}
		row.Specs = append(row.Specs, sp)
		switch {
		case sp.State == string(Error):
			errored = append(errored, fmt.Sprintf("%s: %s", s.LeafNodeText, firstLine(judgement.String())))
			if !slices.Contains(row.Owners, judgement.Owner) {
				row.Owners = append(row.Owners, judgement.Owner)
			}
			ran = append(ran, s.LeafNodeText)
		case s.State.Is(types.SpecStateFailureStates):
			failed = append(failed, fmt.Sprintf("%s: %s", s.LeafNodeText, firstLine(s.Failure.Message)))
			ran = append(ran, s.LeafNodeText)
		case s.State == types.SpecStateSkipped || s.State == types.SpecStatePending:
			if msg := s.Failure.Message; msg != "" {
				skipped = append(skipped, msg)
			} else {
				skipped = append(skipped, "filtered out")
			}
			row.Specs[len(row.Specs)-1].SkipReason = skipped[len(skipped)-1]
		default:
			passed = append(passed, s.LeafNodeText)
			ran = append(ran, s.LeafNodeText)
		}
	}
	row.Evidence = append(row.Evidence, setup...)
	switch {
	case len(specs) == 0 && req.IsDeferred():
		row.Status, row.Reason = Deferred, req.Deferred
	case len(specs) == 0:
		row.Status, row.Reason = NotRun, "no spec of this requirement was in the run"
	case len(failed) > 0:
		// A failure is a verdict even when a sibling spec could not judge.
		row.Status, row.Reason = Fail, strings.Join(failed, "; ")
	case len(errored) > 0:
		row.Status, row.Reason = Error, strings.Join(errored, "; ")
	case len(warned) > 0:
		row.Status, row.Reason = Warn, strings.Join(warned, "; ")
	case len(passed) > 0:
		row.Status = Pass
		if len(skipped) > 0 {
			row.Reason = "some specs skipped: " + strings.Join(dedupe(skipped), "; ")
		}
	case len(ran) == 0 && allFiltered(skipped):
		row.Status, row.Reason = NotRun, "filtered out of this run"
	default:
		row.Status, row.Reason = Skip, strings.Join(dedupe(skipped), "; ")
	}
	return row
}

func allFiltered(reasons []string) bool {
	for _, r := range reasons {
		if r != "filtered out" {
			return false
		}
	}
	return true
}

func dedupe(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// Counts tallies rows by status.
func (m *Matrix) Counts() map[Status]int {
	out := map[Status]int{}
	for _, r := range m.Rows {
		out[r.Status]++
	}
	return out
}

// Failed returns the IDs of requirements with status fail.
func (m *Matrix) Failed() []string {
	var ids []string
	for _, r := range m.Rows {
		if r.Status == Fail {
			ids = append(ids, r.Requirement.ID)
		}
	}
	return ids
}

// Row returns the row of a requirement.
func (m *Matrix) Row(id string) (Row, bool) {
	for _, r := range m.Rows {
		if r.Requirement.ID == id {
			return r, true
		}
	}
	return Row{}, false
}

// Verdict is the run's overall outcome:
//   - fail when a MUST or a declared PROFILE requirement failed (or a SHOULD
//     under strict mode, which the specs already report as failed), when a
//     baselined requirement passed (a stale baseline), or when a suite failed
//     outside its specs;
//   - error when nothing failed but something could not be judged;
//   - pass otherwise: every requirement passed, warned (SHOULD), was
//     skipped, not run, deferred, or failed as the baseline expects.
func (m *Matrix) Verdict() Status {
	verdict := Pass
	for _, r := range m.Rows {
		switch r.Status {
		case Fail, StaleBaseline:
			return Fail
		case Error:
			verdict = Error
		}
	}
	for _, s := range m.Suites {
		if len(s.Failures) > 0 {
			return Fail
		}
		if len(s.Errors) > 0 {
			verdict = Error
		}
	}
	return verdict
}

// Exit codes of the commands that judge a run (reports/cmd/report,
// reports/cmd/verdict). 2 is kept for a command that could not judge at all
// (bad flags, an unreadable report, a baseline naming unknown IDs).
const (
	ExitPass  = 0
	ExitFail  = 1
	ExitUsage = 2
	ExitError = 3
)

// ExitCode is the exit code of a verdict: 0 pass, 1 fail, 3 error.
func ExitCode(verdict Status) int {
	switch verdict {
	case Pass:
		return ExitPass
	case Error:
		return ExitError
	default:
		return ExitFail
	}
}

// judgementOf reads the mark conformance.CouldNotJudge leaves on a spec.
func judgementOf(s types.SpecReport) (conformance.Judgement, bool) {
	for _, e := range s.ReportEntries {
		if e.Name != conformance.EntryCouldNotJudge {
			continue
		}
		j, err := conformance.DecodeJudgement(e.StringRepresentation())
		if err != nil {
			j = conformance.Judgement{Owner: "unknown", Reason: e.StringRepresentation()}
		}
		return j, true
	}
	return conformance.Judgement{}, false
}

// readRunEntries takes what a spec or setup node recorded about the run:
// the target (once) and the protocol revisions sessions negotiated.
func (m *Matrix) readRunEntries(s types.SpecReport) {
	for _, e := range s.ReportEntries {
		switch e.Name {
		case conformance.EntryTarget:
			if m.Target != nil {
				continue
			}
			if ti, err := conformance.DecodeTargetInfo(e.StringRepresentation()); err == nil {
				m.Target = &ti
			}
		case conformance.EntryRevision:
			m.Revisions[e.StringRepresentation()]++
		case conformance.EntryServer:
			m.Servers[e.StringRepresentation()]++
		}
	}
}

// GroupRows is one requirement group of the report.
type GroupRows struct {
	Group catalog.Group
	Rows  []Row
}

// Tally counts the group's rows by status, e.g. "8 pass, 1 skip".
func (g GroupRows) Tally() string { return tallyRows(g.Rows) }

// Groups returns the rows by requirement group, in catalogue order.
func (m *Matrix) Groups() []GroupRows {
	var out []GroupRows
	for _, g := range m.groups {
		gr := GroupRows{Group: g}
		for _, r := range m.Rows {
			if r.Requirement.Group() == g.ID {
				gr.Rows = append(gr.Rows, r)
			}
		}
		if len(gr.Rows) > 0 {
			out = append(out, gr)
		}
	}
	return out
}

// RevisionList renders the negotiated revisions, most used first, e.g.
// "2025-11-25 (212 sessions)"; "none recorded" when no session was opened.
func (m *Matrix) RevisionList() string { return countList(m.Revisions) }

// ServerList renders what the gateway reported itself as at initialize,
// most sessions first, e.g. "mcpgw-reference v0.3.0 (212 sessions)";
// "none recorded" when it sent no serverInfo.
func (m *Matrix) ServerList() string { return countList(m.Servers) }

func countList(counts map[string]int) string {
	if len(counts) == 0 {
		return "none recorded"
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] > keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		unit := "sessions"
		if counts[k] == 1 {
			unit = "session"
		}
		parts[i] = fmt.Sprintf("%s (%d %s)", k, counts[k], unit)
	}
	return strings.Join(parts, ", ")
}

// RunTime is the suites' run time together (ginkgo runs suites one after
// another, each over its parallel processes).
func (m *Matrix) RunTime() time.Duration {
	var d time.Duration
	for _, s := range m.Suites {
		d += s.RunTime
	}
	return d
}
