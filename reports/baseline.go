package reports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Baseline is a list of expected failures a CI accepts for one gateway
// (suites/README.md, "Baseline"). A baselined requirement that fails is an
// expected failure and does not fail the run; one that passes is a stale
// baseline and fails it, so the list only ever shrinks (the convention of
// the official MCP conformance suite).
type Baseline struct {
	// Source is the file it was read from.
	Source  string
	Entries []BaselineEntry
}

// BaselineEntry is one expected failure.
type BaselineEntry struct {
	// ID is a requirement ID of the catalogue (every spec of it), or the
	// text of one spec as reports show it, e.g. "[SHD-2] SIGTERM with 50
	// wedged upstream sessions still exits within the bound".
	ID string `yaml:"id"`
	// Reason says why the failure is accepted (a ticket, a design choice).
	Reason string `yaml:"reason"`
}

// LoadBaseline reads a baseline file: a YAML list of {id, reason}.
func LoadBaseline(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseBaseline(data, path)
}

// ParseBaseline reads a baseline from data; source names it in errors.
// Every entry needs an id and a reason, and no id may appear twice.
func ParseBaseline(data []byte, source string) (*Baseline, error) {
	b := &Baseline{Source: source}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&b.Entries); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("baseline %s: want a YAML list of {id, reason}: %w", source, err)
	}
	var problems []string
	seen := map[string]bool{}
	for i, e := range b.Entries {
		b.Entries[i].ID = strings.TrimSpace(e.ID)
		e.ID = b.Entries[i].ID
		switch {
		case e.ID == "":
			problems = append(problems, fmt.Sprintf("entry %d has no id", i+1))
		case strings.TrimSpace(e.Reason) == "":
			problems = append(problems, fmt.Sprintf("entry %d (%s) has no reason", i+1, e.ID))
		case seen[e.ID]:
			problems = append(problems, fmt.Sprintf("entry %d: %s is listed twice", i+1, e.ID))
		}
		seen[e.ID] = true
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("baseline %s: %s", source, strings.Join(problems, "; "))
	}
	return b, nil
}

// ApplyBaseline judges the matrix against the baseline and records it in
// m.Baseline:
//   - a baselined requirement (or every failing spec of it baselined) that
//     failed becomes ExpectedFailure, with the baseline's reason;
//   - a baselined requirement, or a baselined spec, that passed becomes
//     StaleBaseline, which fails the verdict;
//   - any other status (error, skip, not run, warn) is left as it is: the
//     run could not tell whether the failure is still there.
//
// An entry that names neither a requirement of the catalogue nor a spec of
// the run is an error naming it, and nothing is applied.
func (m *Matrix) ApplyBaseline(b *Baseline) error {
	byReq := map[string]BaselineEntry{}
	bySpec := map[string]BaselineEntry{}
	var unknown []string
	for _, e := range b.Entries {
		if _, ok := m.Row(e.ID); ok {
			byReq[e.ID] = e
		} else if m.hasSpec(e.ID) {
			bySpec[e.ID] = e
		} else {
			unknown = append(unknown, fmt.Sprintf("%q", e.ID))
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("baseline %s names what is neither a requirement of the catalogue nor a spec of this run: %s", b.Source, strings.Join(unknown, ", "))
	}
	for i := range m.Rows {
		applyToRow(&m.Rows[i], byReq, bySpec)
	}
	m.Baseline = b
	return nil
}

func (m *Matrix) hasSpec(text string) bool {
	for _, r := range m.Rows {
		for _, s := range r.Specs {
			if s.Text == text {
				return true
			}
		}
	}
	return false
}

func applyToRow(r *Row, byReq, bySpec map[string]BaselineEntry) {
	if e, ok := byReq[r.Requirement.ID]; ok {
		switch r.Status {
		case Fail:
			r.Status, r.Reason = ExpectedFailure, fmt.Sprintf("expected failure (baseline: %s): %s", e.Reason, r.Reason)
		case Pass:
			r.Status, r.Reason = StaleBaseline, fmt.Sprintf("stale baseline: remove it (%s passes now; baseline: %s)", r.Requirement.ID, e.Reason)
		}
		return
	}
	var failing, expected, stale []string
	for _, s := range r.Specs {
		e, baselined := bySpec[s.Text]
		switch {
		case failedState(s.State) && baselined:
			expected = append(expected, e.Reason)
			failing = append(failing, s.Text)
		case failedState(s.State):
			failing = append(failing, s.Text)
		case s.State == "passed" && baselined:
			stale = append(stale, fmt.Sprintf("%s passes now (baseline: %s)", s.Text, e.Reason))
		}
	}
	switch {
	case r.Status == Fail && len(failing) > 0 && len(expected) == len(failing) && len(stale) == 0:
		r.Status, r.Reason = ExpectedFailure, fmt.Sprintf("expected failure (baseline: %s): %s", strings.Join(dedupe(expected), "; "), r.Reason)
	case len(stale) > 0 && r.Status == Fail:
		// Still a failure; the stale entry is named so it goes too.
		r.Reason += "; stale baseline: remove it: " + strings.Join(stale, "; ")
	case len(stale) > 0:
		r.Status, r.Reason = StaleBaseline, "stale baseline: remove it: "+strings.Join(stale, "; ")
	}
}

// failedState is a Ginkgo spec state that fails the spec (an "error" spec,
// which could not judge, is not one).
func failedState(state string) bool {
	return slices.Contains([]string{"failed", "timedout", "panicked", "interrupted", "aborted"}, state)
}

// Describe says what the baseline is for the top of a report.
func (b *Baseline) Describe() string {
	return fmt.Sprintf("%s (%d expected failures)", b.Source, len(b.Entries))
}
