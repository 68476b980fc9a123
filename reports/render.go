package reports

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var templates embed.FS

// maxEvidence bounds the evidence shown per row in the Markdown summary.
const maxEvidence = 4

// WriteMarkdown writes the summary: totals, then one row per requirement.
func (m *Matrix) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", orDefault(m.Title, "Conformance report"))
	fmt.Fprintf(&b, "Verdict: **%s**. %s\n\n", strings.ToUpper(string(m.Verdict())), m.tally())
	for _, s := range m.Suites {
		mark := "passed"
		if !s.Succeeded {
			mark = "FAILED"
		}
		fmt.Fprintf(&b, "- %s: %d specs, %s, %s\n", s.Description, s.Specs, mark, s.RunTime.Round(time.Millisecond))
		for _, f := range s.Failures {
			fmt.Fprintf(&b, "  - suite failure: %s\n", mdCell(f, 300))
		}
	}
	if len(m.Unmatched) > 0 {
		fmt.Fprintf(&b, "\nSpecs naming no requirement (a defect): %s\n", strings.Join(m.Unmatched, "; "))
	}
	b.WriteString("\n| ID | level | status | reason | evidence |\n|---|---|---|---|---|\n")
	for _, r := range m.Rows {
		level := string(r.Requirement.Level)
		if r.Requirement.Profile != "" {
			level += " " + r.Requirement.Profile
		}
		var ev []string
		for i, e := range r.Evidence {
			if i == maxEvidence {
				ev = append(ev, fmt.Sprintf("(+%d more)", len(r.Evidence)-maxEvidence))
				break
			}
			ev = append(ev, e.Name+": "+e.Value)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.Requirement.ID, level, statusMark(r.Status),
			mdCell(r.Reason, 300), mdCell(strings.Join(ev, "; "), 400))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (m *Matrix) tally() string {
	counts := m.Counts()
	var keys []string
	for s := range counts {
		keys = append(keys, string(s))
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", counts[Status(k)], k))
	}
	return fmt.Sprintf("%d requirements: %s.", len(m.Rows), strings.Join(parts, ", "))
}

func statusMark(s Status) string {
	switch s {
	case Pass:
		return "pass"
	case Fail:
		return "**FAIL**"
	case Warn:
		return "*warn*"
	default:
		return string(s)
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

// WriteHTML writes the full report: the matrix with every piece of evidence,
// spec and failure, and replica logs for failed specs.
func (m *Matrix) WriteHTML(w io.Writer) error {
	t, err := template.New("report.html.tmpl").Funcs(template.FuncMap{
		"upper":   strings.ToUpper,
		"verdict": func() string { return string(m.Verdict()) },
		"tally":   m.tally,
		"round":   func(d time.Duration) string { return d.Round(time.Millisecond).String() },
		"title":   func() string { return orDefault(m.Title, "Conformance report") },
		"stamp":   func() string { return m.Generated.UTC().Format(time.RFC3339) },
	}).ParseFS(templates, "report.html.tmpl")
	if err != nil {
		return err
	}
	return t.Execute(w, m)
}

// TallyLine is the totals as one line.
func (m *Matrix) TallyLine() string { return m.tally() }
