// Command verdict judges a conformance run from its Ginkgo JSON report and
// says so in its exit code, for a pipeline step; it writes no files.
//
//	go run ./reports/cmd/verdict --in out/report.json [--baseline baseline.yaml]
//
// Exit codes:
//
//	0  pass: every requirement passed, warned (SHOULD), was skipped or not
//	   applicable, deferred, or failed as the baseline expects
//	1  fail: a requirement failed, a baselined requirement passes (stale
//	   baseline: remove it), or a suite failed outside its specs
//	3  error: nothing failed, but a spec could not judge (the set-up
//	   failed, or a precondition another requirement owns did not hold)
//	2  the command could not judge: bad flags, an unreadable report, a
//	   baseline that names an unknown requirement or spec
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mcpgw/conformance/reports"
	"github.com/mcpgw/conformance/suites/catalog"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verdict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "out/report.json", "Ginkgo JSON report")
	baseline := fs.String("baseline", "", "expected-failures baseline, YAML (empty: none)")
	if err := fs.Parse(args); err != nil {
		return reports.ExitUsage
	}
	c, err := catalog.Load()
	if err != nil {
		fmt.Fprintln(stderr, "verdict:", err)
		return reports.ExitUsage
	}
	m, err := reports.Open(c, *in, *baseline)
	if err != nil {
		fmt.Fprintln(stderr, "verdict:", err)
		return reports.ExitUsage
	}
	if err := m.WriteVerdict(stdout); err != nil {
		fmt.Fprintln(stderr, "verdict:", err)
		return reports.ExitUsage
	}
	return reports.ExitCode(m.Verdict())
}
