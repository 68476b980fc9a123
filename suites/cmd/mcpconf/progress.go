package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/conformance"
)

// progress prints one line per spec that ran: its outcome, its text (which
// starts with the requirement ID) and its duration,
//
//	PASS  [ISO-1] two sessions get two upstream sessions (1.2s)
//
// and on a terminal also the spec running now, replaced by its line.
type progress struct {
	w        io.Writer
	terminal bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// filteredOut is a spec the label filter left out: not worth a line.
func filteredOut(r types.SpecReport) bool {
	return r.State == types.SpecStateSkipped && r.Failure.Message == ""
}

// before shows the spec about to run; Ginkgo gives a spec that will run the
// state passed until it has run.
func (p *progress) before(r types.SpecReport) {
	if p.terminal && r.State == types.SpecStatePassed {
		fmt.Fprintf(p.w, "RUN   %s", r.LeafNodeText)
	}
}

func (p *progress) after(r types.SpecReport) {
	if filteredOut(r) {
		return
	}
	outcome, color := outcomeOf(r)
	line := fmt.Sprintf("%-5s %s (%s)", outcome, r.LeafNodeText, r.RunTime.Round(100*time.Millisecond))
	if r.State == types.SpecStateSkipped {
		line = fmt.Sprintf("%-5s %s: %s", outcome, r.LeafNodeText, firstLine(r.Failure.Message))
	}
	if p.terminal {
		// \r\033[K clears the RUN line; the colour marks the outcome.
		line = "\r\033[K" + color + outcome + "\033[0m" + line[len(outcome):]
	}
	fmt.Fprintln(p.w, line)
}

// outcomeOf names a spec's outcome as the report will: a failure the spec
// marked as could-not-judge is an ERROR, a SHOULD not met is a WARN.
func outcomeOf(r types.SpecReport) (string, string) {
	const red, yellow, green, grey = "\033[31m", "\033[33m", "\033[32m", "\033[90m"
	has := func(name string) bool {
		for _, e := range r.ReportEntries {
			if e.Name == name {
				return true
			}
		}
		return false
	}
	switch {
	case r.State.Is(types.SpecStateFailureStates) && has(conformance.EntryCouldNotJudge):
		return "ERROR", yellow
	case r.State.Is(types.SpecStateFailureStates):
		return "FAIL", red
	case r.State.Is(types.SpecStateSkipped | types.SpecStatePending):
		return "SKIP", grey
	case has(conformance.EntryWarning):
		return "WARN", yellow
	default:
		return "PASS", green
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
