package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/reports"
	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/mcpconf"
	"github.com/mcpgw/conformance/suites/targetconf"
)

// runCommand runs every selected spec against the target and exits with
// the verdict.
func runCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcpconf run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", os.Getenv(targetconf.EnvTarget), "target file describing the gateway (YAML; default $"+targetconf.EnvTarget+")")
	baseline := fs.String("baseline", "", "expected-failures baseline (YAML): its failures do not fail the run, and its passes do (stale)")
	out := fs.String("out", "mcpconf-out", "directory for report.json, junit.xml, report.html, summary.md and ginkgo.log")
	labelFilter := fs.String("label-filter", "", "run only the specs whose labels match, e.g. 'ISO || TRN-1' (labels: requirement IDs, groups, levels)")
	timeout := fs.Duration("timeout", time.Hour, "bound on the whole run")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "mcpconf run:", err)
		return reports.ExitUsage
	}
	switch {
	case fs.NArg() != 0:
		return fail(fmt.Errorf("unexpected arguments %q (flags come before them?)", fs.Args()))
	case *target == "":
		return fail(fmt.Errorf("--target is required: the target file describing your gateway (mcpconf check-target checks one)"))
	}
	if *labelFilter != "" {
		if _, err := types.ParseLabelFilter(*labelFilter); err != nil {
			// Ginkgo's error is coloured for a terminal; its parts are not.
			var ge types.GinkgoError
			if errors.As(err, &ge) {
				return fail(fmt.Errorf("--label-filter: %s: %s", ge.Heading, strings.Join(strings.Fields(ge.Message), " ")))
			}
			return fail(fmt.Errorf("--label-filter: %w", err))
		}
	}
	t, err := loadTarget(*target)
	if err != nil {
		return fail(err)
	}
	// Read before the run, which may take long, so a bad baseline fails now.
	var base *reports.Baseline
	if *baseline != "" {
		if base, err = reports.LoadBaseline(*baseline); err != nil {
			return fail(fmt.Errorf("--baseline: %w", err))
		}
	}
	c, err := catalog.Load()
	if err != nil {
		return fail(err)
	}
	dir, err := filepath.Abs(*out)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	cleanup, err := ensureTempDir(dir)
	if err != nil {
		return fail(err)
	}
	defer cleanup()
	logPath := filepath.Join(dir, "ginkgo.log")
	log, err := os.Create(logPath)
	if err != nil {
		return fail(err)
	}
	defer log.Close()

	// Ginkgo's own reporter (the summary of each failure, with its
	// location and captured output) goes to the log; the terminal gets a
	// line per spec and the verdict.
	formatter.ColorableStdOut = log
	p := newProgress(stdout)
	ginkgo.ReportBeforeEach(p.before)
	ginkgo.ReportAfterEach(p.after)
	fmt.Fprintf(stdout, "mcpconf: %s (%s driver), specs one at a time; Ginkgo's log: %s\n", t.Name, t.Driver, logPath)
	if _, err := mcpconf.RunSpecs(verdictT{}, mcpconf.Config{Target: t, LabelFilter: *labelFilter, OutDir: dir},
		func(s *types.SuiteConfig, r *types.ReporterConfig) {
			s.Timeout = *timeout
			r.NoColor = true
			r.SilenceSkips = true
		}); err != nil {
		return fail(err)
	}

	runs, err := reports.Load(filepath.Join(dir, "report.json"))
	if err != nil {
		return fail(fmt.Errorf("the run wrote no report: %w (see %s)", err, logPath))
	}
	m := reports.Build(c, runs)
	if base != nil {
		if err := m.ApplyBaseline(base); err != nil {
			return fail(fmt.Errorf("--baseline: %w", err))
		}
	}
	if err := m.WriteFiles(filepath.Join(dir, "summary.md"), filepath.Join(dir, "report.html")); err != nil {
		return fail(err)
	}
	if _, err := reports.MarkJUnitErrors(filepath.Join(dir, "junit.xml")); err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout)
	if err := m.WriteVerdict(stdout); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "reports: %s\n", filepath.Join(dir, "{report.html,summary.md,junit.xml,report.json}"))
	return reports.ExitCode(m.Verdict())
}

// ensureTempDir keeps the run's scratch files (CA certificates a gateway
// is told to read, replica directories) under the output directory,
// removed afterwards: in an image FROM scratch there is no /tmp, and the
// output directory, mounted at the same path, is what a gateway outside
// the container can read too.
func ensureTempDir(out string) (func(), error) {
	tmp := filepath.Join(out, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, err
	}
	if err := os.Setenv("TMPDIR", tmp); err != nil {
		return nil, err
	}
	return func() { os.RemoveAll(tmp) }, nil
}

// verdictT is the testing.T Ginkgo reports a failing run to. It ignores
// it: the exit code is the verdict of the report, where a failure the
// baseline expects is no failure, and a could-not-judge spec is not one
// either.
type verdictT struct{}

func (verdictT) Fail() {}
