// Command report turns a Ginkgo JSON report into the conformance report:
// out/summary.md (one row per requirement) and out/report.html.
//
//	go run ./reports/cmd/report --in out/report.json --md out/summary.md --html out/report.html \
//	    [--junit out/junit.xml] [--baseline suites/targets/baselines/example.yaml]
//
// With --png it also renders the HTML with headless Chromium into a PNG
// (skipped, with the reason, when no chromium is installed). With --junit
// it rewrites Ginkgo's JUnit report so that a spec that could not judge is
// an <error>, not a <failure>. With --baseline it applies an expected-
// failures baseline (suites/README.md, "Baseline").
//
// Its exit code is the run's verdict, as reports/cmd/verdict's: 0 pass,
// 1 fail, 3 error (could not judge), 2 when it could not read its input.
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
	junit := flag.String("junit", "", "Ginkgo JUnit report to rewrite: could-not-judge specs become <error> (empty: none)")
	baseline := flag.String("baseline", "", "expected-failures baseline, YAML (empty: none)")
	title := flag.String("title", "", "report title (default: \"Conformance report: \" and the target's name)")
	png := flag.String("png", "", "render the HTML report into this PNG with headless Chromium (empty: none)")
	flag.Parse()

	c, err := catalog.Load()
	if err != nil {
		fail(err)
	}
	m, err := reports.Open(c, *in, *baseline)
	if err != nil {
		fail(err)
	}
	m.Title = *title // empty: named after the target the run recorded
	if err := m.WriteFiles(*md, *html); err != nil {
		fail(err)
	}
	if *junit != "" {
		if _, err := reports.MarkJUnitErrors(*junit); err != nil {
			fail(err)
		}
	}
	if *png != "" && *html != "" {
		if chromium, err := reports.FindChromium(); err != nil {
			fmt.Fprintf(os.Stderr, "report: no screenshot: %v\n", err)
		} else if err := reports.Screenshot(context.Background(), chromium, *html, *png, 1400, 2400); err != nil {
			fmt.Fprintf(os.Stderr, "report: screenshot: %v\n", err)
		}
	}
	if err := m.WriteVerdict(os.Stdout); err != nil {
		fail(err)
	}
	os.Exit(reports.ExitCode(m.Verdict()))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(reports.ExitUsage)
}
