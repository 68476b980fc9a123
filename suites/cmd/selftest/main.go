// Command selftest runs the conformance suites against the reference gateway
// once per emulated bug (and once without) and checks that each bug is
// caught by exactly the requirements the catalogue says it breaks. It prints
// a table and exits 1 on any mismatch.
//
//	go run ./suites/cmd/selftest --ginkgo bin/ginkgo --gateway-bin bin/gateway
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/cmd/internal/suitepkgs"
	"github.com/mcpgw/conformance/suites/selftest"
)

func main() {
	ginkgo := flag.String("ginkgo", "bin/ginkgo", "ginkgo CLI")
	gatewayBin := flag.String("gateway-bin", "bin/gateway", "reference gateway binary")
	out := flag.String("out", "out/selftest", "directory for compiled suites, reports and logs")
	procs := flag.Int("procs", 4, "parallel Ginkgo processes per run")
	parallel := flag.Int("parallel", 1, "runs (bugs) at once")
	bugs := flag.String("bugs", "", "comma list of bugs to check (default: every bug whose requirements have specs)")
	baseline := flag.Bool("baseline", true, "also run without a bug and expect no failure")
	subset := flag.Bool("subset", false, "--suites are some of the suites: judge each bug on the requirements with specs in them (the others are listed as not in these suites)")
	rerun := flag.Bool("rerun-unexpected", true, "re-run once the specs of requirements that failed unexpectedly in a run that caught its bug; those passing then are reported FLAKY, not as a mismatch")
	suitePkgs := flag.String("suites", "",
		"space-separated Ginkgo suite packages to run, or suite binaries already compiled (name.test, as make passes $(SUITE_BINS)); default: every suite suites/all imports")
	flag.Parse()

	c, err := catalog.Load()
	if err != nil {
		fail(err)
	}
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			fail(err)
		}
		return a
	}
	binDir := filepath.Join(abs(*out), "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Compile each suite once; every run reuses the binaries. Each binary
	// gets its own directory: Ginkgo names per-suite report files after it.
	// A suite given as a binary is used as it is: make compiles the suites
	// once for all of its targets.
	pkgs := strings.Fields(*suitePkgs)
	if len(pkgs) == 0 {
		if pkgs, err = suitepkgs.List(goTool()); err != nil {
			fail(err)
		}
	}
	var suites []string
	for _, pkg := range pkgs {
		if strings.HasSuffix(pkg, ".test") {
			if _, err := os.Stat(pkg); err != nil {
				fail(fmt.Errorf("suite binary: %w (make suite-bins compiles them)", err))
			}
			suites = append(suites, abs(pkg))
			continue
		}
		name := filepath.Base(pkg)
		bin := filepath.Join(binDir, name, name+".test")
		cmd := exec.CommandContext(ctx, goTool(), "test", "-c", "-o", bin, pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fail(fmt.Errorf("compile %s: %w", pkg, err))
		}
		suites = append(suites, bin)
	}
	opts := selftest.Options{
		Ginkgo:          abs(*ginkgo),
		Suites:          suites,
		GatewayBin:      abs(*gatewayBin),
		OutDir:          abs(*out),
		Procs:           *procs,
		Parallel:        *parallel,
		WithBaseline:    *baseline,
		Subset:          *subset,
		Progress:        os.Stderr,
		RerunUnexpected: *rerun,
	}
	if *bugs != "" {
		opts.Bugs = strings.Split(*bugs, ",")
	}
	results := selftest.Run(ctx, c, opts)
	fmt.Println()
	selftest.PrintTable(os.Stdout, results)
	for _, b := range c.Bugs {
		if c.BugDeferred(b.Name) {
			fmt.Printf("%-20s deferred: %s (its requirements have no specs yet)\n", b.Name, strings.Join(c.ExpectedFailures(b.Name), ","))
		}
	}
	for _, r := range results {
		if !r.OK() {
			os.Exit(1)
		}
	}
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "selftest:", err)
	os.Exit(2)
}
