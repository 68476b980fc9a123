// Command report turns a Ginkgo JSON report into the conformance report:
// out/summary.md (one row per requirement) and out/report.html.
//
//	go run ./reports/cmd/report --in out/report.json --md out/summary.md --html out/report.html
//
// With --png it also renders the HTML with headless Chromium into a PNG
// (skipped, with the reason, when no chromium is installed).
//
// It exits 1 when the run's verdict is fail, so a pipeline can stop on it.
package main

import (
	"context"
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
	title := flag.String("title", "", "report title (default: \"Conformance report: \" and the target's name)")
	png := flag.String("png", "", "render the HTML report into this PNG with headless Chromium (empty: none)")
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
	m.Title = *title // empty: named after the target the run recorded
	if err := m.WriteFiles(*md, *html); err != nil {
		fail(err)
	}
	if *png != "" && *html != "" {
		if chromium, err := reports.FindChromium(); err != nil {
			fmt.Fprintf(os.Stderr, "report: no screenshot: %v\n", err)
		} else if err := reports.Screenshot(context.Background(), chromium, *html, *png, 1400, 2400); err != nil {
			fmt.Fprintf(os.Stderr, "report: screenshot: %v\n", err)
		}
	}
	fmt.Printf("%s: %s %s\n", m.ReportTitle(), m.Verdict(), m.TallyLine())
	if m.Verdict() == reports.Fail {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(2)
}
