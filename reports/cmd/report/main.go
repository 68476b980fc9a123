// Command report turns a Ginkgo JSON report into the conformance report:
// out/summary.md (one row per requirement) and out/report.html.
//
//	go run ./reports/cmd/report --in out/report.json --md out/summary.md --html out/report.html
//
// It exits 1 when the run's verdict is fail, so a pipeline can stop on it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mcpgw/conformance/reports"
	"github.com/mcpgw/conformance/suites/catalog"
)

func main() {
	in := flag.String("in", "out/report.json", "Ginkgo JSON report")
	md := flag.String("md", "out/summary.md", "Markdown summary to write (empty: none)")
	html := flag.String("html", "out/report.html", "HTML report to write (empty: none)")
	title := flag.String("title", "Conformance report: reference gateway", "report title")
	flag.Parse()

	c, err := catalog.Load()
	if err != nil {
		fail(err)
	}
	runs, err := reports.Load(*in)
	if err != nil {
		fail(err)
	}
	m := reports.Build(c, runs)
	m.Title = *title
	for path, write := range map[string]func(*os.File) error{
		*md:   func(f *os.File) error { return m.WriteMarkdown(f) },
		*html: func(f *os.File) error { return m.WriteHTML(f) },
	} {
		if path == "" {
			continue
		}
		f, err := os.Create(path)
		if err != nil {
			fail(err)
		}
		if err := write(f); err != nil {
			fail(fmt.Errorf("write %s: %w", path, err))
		}
		if err := f.Close(); err != nil {
			fail(err)
		}
	}
	fmt.Printf("%s: %s %s\n", *title, m.Verdict(), m.TallyLine())
	if m.Verdict() == reports.Fail {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(2)
}
