package reports

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mcpgw/conformance/suites/catalog"
)

// WriteFiles writes the Markdown summary to mdPath and the HTML report to
// htmlPath; an empty path is skipped.
func (m *Matrix) WriteFiles(mdPath, htmlPath string) error {
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{mdPath, m.WriteMarkdown}, {htmlPath, m.WriteHTML}} {
		if out.path == "" {
			continue
		}
		f, err := os.Create(out.path)
		if err != nil {
			return err
		}
		if err := out.write(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", out.path, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// Open builds the matrix of the Ginkgo JSON report at path, with the
// baseline at baselinePath applied ("" for none). Commands that judge a run
// start here.
func Open(c *catalog.Catalog, path, baselinePath string) (*Matrix, error) {
	runs, err := Load(path)
	if err != nil {
		return nil, err
	}
	m := Build(c, runs)
	if baselinePath == "" {
		return m, nil
	}
	b, err := LoadBaseline(baselinePath)
	if err != nil {
		return nil, err
	}
	if err := m.ApplyBaseline(b); err != nil {
		return nil, err
	}
	return m, nil
}

// WriteVerdict writes the run's verdict as one line (title, verdict,
// tally) and, unless it passed, one line per requirement that failed,
// could not be judged, or has a stale baseline, and per suite-level
// failure or error.
func (m *Matrix) WriteVerdict(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s\n", m.ReportTitle(), m.Verdict(), m.TallyLine())
	if m.Verdict() != Pass {
		for _, r := range m.Rows {
			if r.Status == Fail || r.Status == Error || r.Status == StaleBaseline {
				fmt.Fprintf(&b, "  %s %s: %s\n", r.Requirement.ID, r.Status, clip(300, r.Reason))
			}
		}
		for _, s := range m.Suites {
			for _, f := range s.Failures {
				fmt.Fprintf(&b, "  %s: suite failure: %s\n", s.Description, clip(300, f))
			}
			for _, e := range s.Errors {
				fmt.Fprintf(&b, "  %s: suite error: %s\n", s.Description, clip(300, e))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
