package reports

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mcpgw/conformance/suites/conformance"
)

//go:embed report.html.tmpl compare.html.tmpl
var templates embed.FS

// maxEvidence bounds the evidence shown per row in the Markdown summary.
const maxEvidence = 4

// WriteMarkdown writes the summary for CI step summaries: verdict, the
// target, then one table per requirement group.
func (m *Matrix) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", m.title())
	fmt.Fprintf(&b, "Verdict: **%s**. %s\n\n", strings.ToUpper(string(m.Verdict())), m.tally())
	b.WriteString("| | |\n|---|---|\n")
	for _, kv := range m.About() {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], mdCell(kv[1], 400))
	}
	b.WriteString("\n")
	for _, s := range m.Suites {
		mark := "passed"
		if !s.Succeeded {
			mark = "FAILED"
		}
		fmt.Fprintf(&b, "- %s: %d specs, %s, %s\n", s.Description, s.Specs, mark, s.RunTime.Round(time.Millisecond))
		for _, f := range s.Failures {
			fmt.Fprintf(&b, "  - suite failure: %s\n", mdCell(f, 300))
		}
		for _, e := range s.Errors {
			fmt.Fprintf(&b, "  - suite error (could not judge): %s\n", mdCell(e, 300))
		}
	}
	if len(m.Unmatched) > 0 {
		fmt.Fprintf(&b, "\nSpecs naming no requirement (a defect): %s\n", strings.Join(m.Unmatched, "; "))
	}
	if t := m.RevisionTable; t != nil {
		b.WriteString("\n## Protocol revisions x requirements\n\n| revision | " + strings.Join(t.Requirements, " | ") + " |\n|---|")
		b.WriteString(strings.Repeat("---|", len(t.Requirements)) + "\n")
		for _, r := range t.Rows {
			b.WriteString("| " + r.Revision + " |")
			for _, c := range r.Cells {
				b.WriteString(" " + statusMark(c) + " |")
			}
			b.WriteString("\n")
		}
	}
	for _, g := range m.Groups() {
		fmt.Fprintf(&b, "\n## %s: %s\n\n%s\n\n", g.Group.ID, g.Group.Title, g.Tally())
		b.WriteString("| ID | level | status | reason | evidence | time |\n|---|---|---|---|---|---|\n")
		for _, r := range g.Rows {
			var ev []string
			for _, e := range r.Evidence {
				if strings.HasPrefix(e.Name, conformance.EntrySetupPrefix) {
					continue // in the HTML report
				}
				if len(ev) == maxEvidence {
					ev = append(ev, "(more in report.html)")
					break
				}
				ev = append(ev, e.Name+": "+e.Value)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.Requirement.ID, levelText(r), statusMark(r.Status),
				mdCell(r.Reason, 300), mdCell(strings.Join(ev, "; "), 400), roundDuration(r.Duration))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// About describes the run for the top of the report, as label/value pairs.
func (m *Matrix) About() [][2]string {
	var out [][2]string
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	if t := m.Target; t != nil {
		add("target", t.Name)
		add("driver", t.Driver)
		add("gateway", t.Gateway)
		add("reports itself as", m.ServerList())
		replicas := "1"
		if slices.Contains(t.Capabilities, "multi-replica") {
			replicas = fmt.Sprintf("1, and %d per multi-replica spec", t.Replicas)
		}
		add("replicas", replicas)
		add("capabilities", orDefault(strings.Join(t.Capabilities, ", "), "none"))
		add("profiles", orDefault(strings.Join(t.Profiles, ", "), "none"))
		add("upstreams", t.Upstreams)
		add("redis", t.Redis)
		if t.Strict {
			add("strict", "yes: SHOULD failures fail")
		}
		add("emulated bug", t.EmulateBug)
	} else {
		add("target", "not recorded by this run")
	}
	if m.Baseline != nil {
		add("baseline", m.Baseline.Describe())
	}
	add("protocol revision", m.RevisionList())
	add("run time", fmt.Sprintf("%s over %d suite(s)", m.RunTime().Round(time.Millisecond), len(m.Suites)))
	add("generated", m.Generated.UTC().Format(time.RFC3339))
	return out
}

func (m *Matrix) tally() string {
	return fmt.Sprintf("%d requirements: %s.", len(m.Rows), tallyRows(m.Rows))
}

// tallyRows counts rows by status, e.g. "3 deferred, 44 pass".
func tallyRows(rows []Row) string {
	counts := map[Status]int{}
	for _, r := range rows {
		counts[r.Status]++
	}
	var keys []string
	for s := range counts {
		keys = append(keys, string(s))
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", counts[Status(k)], k))
	}
	return strings.Join(parts, ", ")
}

func levelText(r Row) string {
	level := string(r.Requirement.Level)
	if r.Requirement.Profile != "" {
		level += " " + r.Requirement.Profile
	}
	return level
}

func statusMark(s Status) string {
	switch s {
	case Pass:
		return "pass"
	case Fail:
		return "**FAIL**"
	case Warn:
		return "*warn*"
	case Error:
		return "**error**"
	case StaleBaseline:
		return "**STALE BASELINE**"
	case ExpectedFailure:
		return "*expected failure*"
	default:
		return string(s)
	}
}

// statusClass is the CSS class of a status.
func statusClass(s Status) string { return strings.ReplaceAll(string(s), " ", "-") }

func roundDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// mdCell makes text safe for one Markdown table cell.
func mdCell(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

var funcs = template.FuncMap{
	"upper":  strings.ToUpper,
	"round":  roundDuration,
	"class":  statusClass,
	"level":  levelText,
	"status": func(s Status) string { return string(s) },
	"inc":    func(n int) int { return n + 1 },
	"clip":   clip,
	// explained: statuses whose reason the comparison shows in the cell.
	"explained": func(s Status) bool {
		return s == Fail || s == Warn || s == Error || s == StaleBaseline || s == ExpectedFailure
	},
}

// WriteHTML writes the full report, self-contained (no scripts, fonts or
// requests): the target on top, then one table per requirement group with
// every requirement's statement, result, reason, evidence, specs and time,
// and the replica logs of failed specs.
func (m *Matrix) WriteHTML(w io.Writer) error {
	t, err := template.New("report.html.tmpl").Funcs(funcs).Funcs(template.FuncMap{
		"verdict": func() string { return string(m.Verdict()) },
		"tally":   m.tally,
		"title":   m.title,
	}).ParseFS(templates, "report.html.tmpl")
	if err != nil {
		return err
	}
	return t.Execute(w, m)
}

// ReportTitle is the report's title: Title, or one naming the target.
func (m *Matrix) ReportTitle() string { return m.title() }

func (m *Matrix) title() string {
	switch {
	case m.Title != "":
		return m.Title
	case m.Target != nil:
		return "Conformance report: " + m.Target.Name
	}
	return "Conformance report"
}

// TallyLine is the totals as one line.
func (m *Matrix) TallyLine() string { return m.tally() }

// clip shortens text to its first line and at most n characters.
func clip(n int, s string) string {
	s = firstLine(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
