// Command mcpconf is the conformance suite as one program: it links every
// requirement group and runs them in its own process against the gateway a
// target file describes, so an implementer needs no clone of this
// repository, no make and no Go toolchain to judge a gateway.
//
//	go install github.com/mcpgw/conformance/suites/cmd/mcpconf@latest
//	mcpconf run --target my-gateway.yaml [--baseline f.yaml] [--out dir] [--label-filter 'ISO || TRN-1']
//	mcpconf check-target my-gateway.yaml
//	mcpconf requirements [--markdown]
//
// run writes report.json and junit.xml (Ginkgo's), report.html, summary.md
// and ginkgo.log to --out, prints a line per spec, and exits with the run's
// verdict, as reports/cmd/verdict does: 0 pass (every requirement passed,
// warned, was skipped or failed as the baseline expects), 1 fail (or a stale
// baseline), 3 error (a spec could not judge), 2 when it could not run at
// all (bad flags, a bad target file or baseline). MCPCONF_* variables
// override the target file as they do for the suites (suites/targetconf).
//
// Specs run one at a time in this process. The target's gateway must be
// running already (driver: external), a built binary (driver: process,
// gateway.bin) or built images (driver: container): mcpconf builds nothing.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mcpgw/conformance/reports"
)

const usage = `mcpconf judges an MCP gateway's session handling against the conformance requirements.

Usage:
  mcpconf run --target my-gateway.yaml [--baseline f.yaml] [--out dir] [--label-filter expr]
  mcpconf check-target my-gateway.yaml
  mcpconf requirements [--markdown]

Run "mcpconf <command> -h" for a command's flags.
Exit codes of run: 0 pass, 1 fail or stale baseline, 3 could not judge, 2 usage or input error.
`

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return reports.ExitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		return runCommand(rest, stdout, stderr)
	case "check-target":
		return checkTargetCommand(rest, stdout, stderr)
	case "requirements":
		return requirementsCommand(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "mcpconf: unknown command %q\n\n%s", cmd, usage)
		return reports.ExitUsage
	}
}
