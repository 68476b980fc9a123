package reports

import (
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/conformance"
)

// Run is one conformance run of one gateway: a column of the comparison.
type Run struct {
	// Label heads the column: the gateway's name by default.
	Label  string
	Matrix *Matrix
	// Source is the report file it came from (names runs whose labels collide).
	Source string
}

// LoadRun reads a Ginkgo JSON report as a run. An empty label becomes the
// target's name as the run recorded it, or the file's path.
func LoadRun(c *catalog.Catalog, path, label string) (Run, error) {
	reports, err := Load(path)
	if err != nil {
		return Run{}, err
	}
	m := Build(c, reports)
	if label == "" && m.Target != nil {
		label = m.Target.Name
		if m.Target.EmulateBug != "" {
			label += " (emulate-bug " + m.Target.EmulateBug + ")"
		}
	}
	if label == "" {
		label = path
	}
	return Run{Label: label, Matrix: m, Source: path}, nil
}

// Comparison is a gateway x requirement matrix over several runs.
type Comparison struct {
	Title     string
	Generated time.Time
	Runs      []Run
	Rows      []CompareRow
	groups    []catalog.Group
}

// CompareRow is one requirement across the runs.
type CompareRow struct {
	Requirement catalog.Requirement
	// Cells holds the requirement's row in each run, in run order.
	Cells []Row
}

// CompareGroup is one requirement group of the comparison.
type CompareGroup struct {
	Group catalog.Group
	Rows  []CompareRow
}

// NewComparison lines up the runs requirement by requirement. Runs whose
// labels collide get their driver (or position) added.
func NewComparison(runs []Run) *Comparison {
	c := &Comparison{Title: "Conformance comparison", Generated: time.Now(), Runs: runs}
	seen := map[string]int{}
	for _, r := range runs {
		seen[r.Label]++
	}
	for i := range c.Runs {
		if seen[c.Runs[i].Label] > 1 {
			// Where the report came from tells same-named runs apart.
			suffix := fmt.Sprintf("#%d", i+1)
			if src := c.Runs[i].Source; src != "" {
				suffix = filepath.Dir(src)
			} else if t := c.Runs[i].Matrix.Target; t != nil {
				suffix = t.Driver + " " + suffix
			}
			c.Runs[i].Label += " (" + suffix + ")"
		}
	}
	if len(runs) == 0 {
		return c
	}
	c.groups = runs[0].Matrix.groups
	for _, first := range runs[0].Matrix.Rows {
		row := CompareRow{Requirement: first.Requirement}
		for _, r := range runs {
			cell, ok := r.Matrix.Row(first.Requirement.ID)
			if !ok {
				cell = Row{Requirement: first.Requirement, Status: NotRun, Reason: "not in this run's catalogue"}
			}
			row.Cells = append(row.Cells, cell)
		}
		c.Rows = append(c.Rows, row)
	}
	return c
}

// Groups returns the rows by requirement group, in catalogue order.
func (c *Comparison) Groups() []CompareGroup {
	var out []CompareGroup
	for _, g := range c.groups {
		cg := CompareGroup{Group: g}
		for _, r := range c.Rows {
			if r.Requirement.Group() == g.ID {
				cg.Rows = append(cg.Rows, r)
			}
		}
		if len(cg.Rows) > 0 {
			out = append(out, cg)
		}
	}
	return out
}

// about is one line of the header table: a label and one value per run.
type about struct {
	Label  string
	Values []string
}

// About describes each run for the header: verdict, tally, driver,
// revision, run time.
func (c *Comparison) About() []about {
	lines := []about{{Label: "verdict"}, {Label: "requirements"}, {Label: "driver"}, {Label: "gateway"}, {Label: "protocol revision"}, {Label: "run time"}}
	for _, r := range c.Runs {
		m := r.Matrix
		driver, gateway := "not recorded", ""
		if m.Target != nil {
			driver, gateway = m.Target.Driver, m.Target.Gateway
		}
		for i, v := range []string{strings.ToUpper(string(m.Verdict())), tallyRows(m.Rows), driver, gateway, m.RevisionList(), m.RunTime().Round(time.Millisecond).String()} {
			lines[i].Values = append(lines[i].Values, v)
		}
	}
	return lines
}

// WriteMarkdown writes the matrix as one Markdown table per group.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", c.Title)
	header := func(first string) {
		b.WriteString("| " + first + " |")
		for _, r := range c.Runs {
			b.WriteString(" " + mdCell(r.Label, 80) + " |")
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(c.Runs)) + "\n")
	}
	header("")
	for _, a := range c.About() {
		b.WriteString("| " + a.Label + " |")
		for _, v := range a.Values {
			b.WriteString(" " + mdCell(v, 120) + " |")
		}
		b.WriteString("\n")
	}
	for _, g := range c.Groups() {
		fmt.Fprintf(&b, "\n## %s: %s\n\n", g.Group.ID, g.Group.Title)
		header("requirement")
		for _, r := range g.Rows {
			fmt.Fprintf(&b, "| %s %s |", r.Requirement.ID, levelText(Row{Requirement: r.Requirement}))
			for _, cell := range r.Cells {
				b.WriteString(" " + statusMark(cell.Status) + " |")
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHTML writes the matrix as a self-contained page; each cell carries
// its reason (hover, and shown under non-pass results).
func (c *Comparison) WriteHTML(w io.Writer) error {
	t, err := template.New("compare.html.tmpl").Funcs(funcs).ParseFS(templates, "compare.html.tmpl")
	if err != nil {
		return err
	}
	return t.Execute(w, c)
}

// WriteFiles writes the Markdown and HTML matrices ("" skips one).
func (c *Comparison) WriteFiles(mdPath, htmlPath string) error {
	for path, write := range map[string]func(io.Writer) error{mdPath: c.WriteMarkdown, htmlPath: c.WriteHTML} {
		if path == "" {
			continue
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// DiffRow is one requirement of two runs side by side.
type DiffRow struct {
	ID       string
	Process  Status // the first run's status
	External Status // the second run's status
	Note     string
}

// RunDiff is how two runs of the same gateway differ.
type RunDiff struct {
	// Same lists requirements with one status in both runs.
	Same []DiffRow
	// Excluded lists requirements the exclude function set aside (with why).
	Excluded []DiffRow
	// Different lists requirements whose status differs.
	Different []DiffRow
}

// CompareRuns compares two runs requirement by requirement. Requirements
// for which exclude(second run's row) says so are set aside.
func CompareRuns(a, b *Matrix, exclude func(Row) (string, bool)) RunDiff {
	var d RunDiff
	for _, ra := range a.Rows {
		rb, _ := b.Row(ra.Requirement.ID)
		row := DiffRow{ID: ra.Requirement.ID, Process: ra.Status, External: rb.Status}
		if why, ok := exclude(rb); ok {
			row.Note = why
			d.Excluded = append(d.Excluded, row)
			continue
		}
		if ra.Status == rb.Status {
			d.Same = append(d.Same, row)
			continue
		}
		row.Note = firstLine(orDefault(rb.Reason, ra.Reason))
		d.Different = append(d.Different, row)
	}
	return d
}

// ExternalDriverSkip sets aside a requirement the external run skipped
// only for external-driver reasons (replicas the suite did not start).
func ExternalDriverSkip(r Row) (string, bool) {
	if r.Status != Skip || len(r.Specs) == 0 {
		return "", false
	}
	var reasons []string
	for _, s := range r.Specs {
		if !strings.HasPrefix(s.SkipReason, conformance.ExternalSkipPrefix) {
			return "", false
		}
		if !strings.Contains(strings.Join(reasons, "\n"), s.SkipReason) {
			reasons = append(reasons, s.SkipReason)
		}
	}
	return strings.Join(reasons, "; "), true
}

// Markdown renders the diff as a table, first run's label first.
func (d RunDiff) Markdown(first, second string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s vs %s\n\n%d requirements with the same result, %d set aside, %d different.\n\n",
		first, second, len(d.Same), len(d.Excluded), len(d.Different))
	fmt.Fprintf(&b, "| requirement | %s | %s | comparison |\n|---|---|---|---|\n", first, second)
	write := func(rows []DiffRow, verdict string) {
		for _, r := range rows {
			v := verdict
			if r.Note != "" {
				v += ": " + r.Note
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.ID, r.Process, r.External, mdCell(v, 300))
		}
	}
	write(d.Different, "**DIFFERENT**")
	write(d.Same, "same")
	write(d.Excluded, "set aside")
	return b.String()
}

var junitID = regexp.MustCompile(`\[([A-Z]{3}-[0-9]+[a-z]?)\]`)

// CheckJUnit reads a JUnit report written by ginkgo and returns one
// problem per spec whose test name does not carry a requirement ID of the
// catalogue, so that CI systems show which requirement each test proves.
func CheckJUnit(path string, c *catalog.Catalog) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var problems []string
	specs := 0
	for _, s := range doc.Suites {
		for _, tc := range s.Cases {
			if !strings.HasPrefix(tc.Name, "[It]") {
				continue
			}
			specs++
			m := junitID.FindStringSubmatch(tc.Name)
			if m == nil {
				problems = append(problems, fmt.Sprintf("JUnit test %q carries no requirement ID", tc.Name))
				continue
			}
			if _, ok := c.Requirement(m[1]); !ok {
				problems = append(problems, fmt.Sprintf("JUnit test %q names %s, which is not in the catalogue", tc.Name, m[1]))
			}
		}
	}
	if specs == 0 {
		problems = append(problems, path+": no spec test cases")
	}
	return problems, nil
}
