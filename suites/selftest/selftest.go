// Package selftest proves the suites have teeth: for each bug the reference
// gateway can emulate (--emulate-bug), it runs the conformance suites against
// a gateway with that bug, in strict mode, and checks that exactly the
// requirements the catalogue expects to fail do fail, and all others pass.
package selftest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mcpgw/conformance/reports"
	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/targetconf"
)

// Baseline is the pseudo-bug of the run without any emulated bug.
const Baseline = "(none)"

// Options say what to run.
type Options struct {
	// Ginkgo is the ginkgo CLI.
	Ginkgo string
	// Suites are precompiled suite binaries (*.test).
	Suites []string
	// GatewayBin is the reference gateway binary.
	GatewayBin string
	// OutDir receives one JSON report and one log per run.
	OutDir string
	// Procs is the number of parallel Ginkgo processes per run.
	Procs int
	// Parallel is how many runs go at once (default 1). The suites wait
	// more than they compute (shutdown bounds, eviction deadlines), so two
	// runs at once on 2 cores take little more than one; every bound the
	// specs measure is set well above what a loaded machine needs.
	Parallel int
	// Bugs to check; empty = every catalogue bug that is not deferred.
	Bugs []string
	// WithBaseline also runs without a bug, expecting no failure.
	WithBaseline bool
	// Subset says Suites are some of the suites, not all: a requirement
	// the bug breaks whose specs are all in other suites is set aside
	// (Result.Elsewhere) instead of counted as not caught. Everything that
	// ran is still judged exactly.
	Subset bool
	// RerunUnexpected re-runs, once, the specs of requirements that failed
	// without being expected, in a run that caught its bug everywhere it
	// should. Those that pass the second time are listed as Flaky, shown
	// in the table, and no longer fail the run: a spec that fails only
	// sometimes is the suite's problem to fix, not a bug it caught.
	RerunUnexpected bool
	// Progress receives one line per run as it finishes.
	Progress io.Writer
}

// Result is one run: a bug (or Baseline) and what failed.
type Result struct {
	Bug      string
	Expected []string
	Failed   []string
	// Missing: expected to fail, did not (the bug is not caught there).
	Missing []string
	// Unexpected: failed without being expected.
	Unexpected []string
	// Withheld lists requirements that could not judge because only
	// preconditions owned by expected failures did not hold.
	Withheld []string
	// Skipped lists requirements that were skipped or not run.
	Skipped []string
	// Elsewhere lists expected failures with no spec in a Subset run.
	Elsewhere []string
	// Flaky lists requirements that failed unexpectedly and then passed
	// when their specs were run again (Options.RerunUnexpected); Why still
	// says how they failed the first time.
	Flaky []string
	// Why says, for each unexpected failure, what its failing specs
	// reported: a MISMATCH in a CI log must be diagnosable from the log.
	Why      map[string][]string
	Duration time.Duration
	Report   string
	Log      string
	Err      error
}

// OK reports whether the run failed exactly the expected requirements.
func (r Result) OK() bool { return r.Err == nil && len(r.Missing) == 0 && len(r.Unexpected) == 0 }

// Compare checks a run's matrix against the catalogue's expectations for bug.
// With subset, expected failures that have no spec in the run are set
// aside in Elsewhere.
func Compare(c *catalog.Catalog, bug string, m *reports.Matrix, subset bool) Result {
	res := Result{Bug: bug}
	if bug != Baseline {
		res.Expected = c.ExpectedFailures(bug)
	}
	if subset {
		inRun := map[string]bool{}
		for _, row := range m.Rows {
			inRun[row.Requirement.ID] = len(row.Specs) > 0
		}
		res.Expected = slices.DeleteFunc(res.Expected, func(id string) bool {
			if !inRun[id] {
				res.Elsewhere = append(res.Elsewhere, id)
				return true
			}
			return false
		})
	}
	for _, row := range m.Rows {
		id := row.Requirement.ID
		switch row.Status {
		case reports.Fail, reports.Warn:
			res.Failed = append(res.Failed, id)
			if !slices.Contains(res.Expected, id) {
				res.unexpected(row)
			}
		case reports.Error:
			// Could not judge because a precondition owned by requirements
			// the bug breaks did not hold: the bug was caught where it
			// belongs, and this requirement rightly withheld its verdict.
			// Any other "could not judge" is neither a catch nor a pass.
			if len(row.Owners) > 0 && !slices.ContainsFunc(row.Owners, func(o string) bool { return !slices.Contains(res.Expected, o) }) {
				res.Withheld = append(res.Withheld, id)
				continue
			}
			res.unexpected(row)
		case reports.Skip, reports.NotRun:
			res.Skipped = append(res.Skipped, id)
		}
	}
	for _, id := range res.Expected {
		if !slices.Contains(res.Failed, id) {
			res.Missing = append(res.Missing, id)
		}
	}
	return res
}

// maxWhy bounds the failure text kept per spec: the first lines say what
// went wrong; the log has the rest.
const maxWhy = 400

func (r *Result) unexpected(row reports.Row) {
	id := row.Requirement.ID
	r.Unexpected = append(r.Unexpected, id)
	for _, s := range row.Specs {
		if s.Failure == "" {
			continue
		}
		if r.Why == nil {
			r.Why = map[string][]string{}
		}
		why := strings.Join(strings.Fields(s.Failure), " ")
		if len(why) > maxWhy {
			why = why[:maxWhy] + "..."
		}
		r.Why[id] = append(r.Why[id], s.Text+": "+why)
	}
}

// Run executes every requested run, opts.Parallel at a time, and returns
// the results in the order of the runs.
func Run(ctx context.Context, c *catalog.Catalog, opts Options) []Result {
	bugs := opts.Bugs
	if len(bugs) == 0 {
		for _, b := range c.Bugs {
			if !c.BugDeferred(b.Name) {
				bugs = append(bugs, b.Name)
			}
		}
	}
	if opts.WithBaseline {
		bugs = append([]string{Baseline}, bugs...)
	}
	results := make([]Result, len(bugs))
	slots := make(chan struct{}, max(1, opts.Parallel))
	var progress sync.Mutex
	var wg sync.WaitGroup
	for i, bug := range bugs {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			r := runOne(ctx, c, opts, bug)
			if opts.Progress != nil {
				verdict := "ok"
				if !r.OK() {
					verdict = "MISMATCH"
				} else if len(r.Flaky) > 0 {
					verdict = "ok, FLAKY " + strings.Join(r.Flaky, ",")
				}
				progress.Lock()
				fmt.Fprintf(opts.Progress, "selftest: %-20s %s in %s\n", bug, verdict, r.Duration.Round(time.Second))
				progress.Unlock()
			}
			results[i] = r
		}()
	}
	wg.Wait()
	return results
}

func runOne(ctx context.Context, c *catalog.Catalog, opts Options, bug string) Result {
	start := time.Now()
	name := bug
	if bug == Baseline {
		name = "baseline"
	}
	dir := filepath.Join(opts.OutDir, name)
	m, logPath, err := runGinkgo(ctx, c, opts, bug, dir)
	if err != nil {
		return Result{Bug: bug, Err: err, Log: logPath, Duration: time.Since(start)}
	}
	res := Compare(c, bug, m, opts.Subset)
	if bug != Baseline && len(res.Expected) == 0 {
		res.Err = fmt.Errorf("none of the requirements %s breaks has a spec in these suites", bug)
	}
	for _, s := range m.Suites {
		for _, f := range s.Failures {
			res.Err = fmt.Errorf("suite %s failed outside its specs: %s", s.Description, f)
		}
	}
	res.Report, res.Log = filepath.Join(dir, "report.json"), logPath
	if opts.RerunUnexpected && res.Err == nil && len(res.Missing) == 0 && len(res.Unexpected) > 0 {
		res.rerun(ctx, c, opts, filepath.Join(dir, "rerun"))
	}
	res.Duration = time.Since(start)
	return res
}

// rerun runs the specs of r's unexpected failures once more; those whose
// requirement passes this time move from Unexpected to Flaky.
func (r *Result) rerun(ctx context.Context, c *catalog.Catalog, opts Options, dir string) {
	m, _, err := runGinkgo(ctx, c, opts, r.Bug, dir, "--label-filter="+strings.Join(r.Unexpected, " || "))
	if err != nil {
		return // the first run's verdict stands
	}
	passed := map[string]bool{}
	for _, row := range m.Rows {
		passed[row.Requirement.ID] = row.Status == reports.Pass && len(row.Specs) > 0
	}
	r.Unexpected = slices.DeleteFunc(r.Unexpected, func(id string) bool {
		if passed[id] {
			r.Flaky = append(r.Flaky, id)
			return true
		}
		return false
	})
}

// runGinkgo runs the suites once with bug emulated (none for Baseline) and
// returns the report's matrix and the run's log.
func runGinkgo(ctx context.Context, c *catalog.Catalog, opts Options, bug, dir string, extra ...string) (*reports.Matrix, string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	report := filepath.Join(dir, "report.json")
	logPath := filepath.Join(dir, "ginkgo.log")
	args := []string{
		fmt.Sprintf("--procs=%d", max(1, opts.Procs)), "--timeout=10m", "--keep-going", "--no-color", "--succinct",
		"--output-dir=" + dir, "--json-report=report.json",
	}
	args = append(append(args, extra...), opts.Suites...)
	cmd := exec.CommandContext(ctx, opts.Ginkgo, args...)
	cmd.Env = append(os.Environ(),
		targetconf.EnvGatewayBin+"="+opts.GatewayBin,
		targetconf.EnvStrict+"=1",
		targetconf.EnvEmulateBug+"=",
	)
	if bug != Baseline {
		cmd.Env = append(cmd.Env, targetconf.EnvEmulateBug+"="+bug)
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	runErr := cmd.Run() // failing specs are the point: judge from the report
	runs, err := reports.Load(report)
	if err != nil {
		return nil, logPath, fmt.Errorf("no report from the run (%v): %w; see %s", runErr, err, logPath)
	}
	return reports.Build(c, runs), logPath, nil
}

// PrintTable writes one line per run: the bug, what the catalogue expects,
// what failed, how many requirements were skipped (a bug that needs several
// replicas skips every single-replica spec), and the verdict.
func PrintTable(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "emulated bug\texpected to fail\tfailed\tskipped\ttime\tverdict")
	for _, r := range results {
		verdict := "ok"
		switch {
		case r.Err != nil:
			verdict = "ERROR: " + r.Err.Error()
		case !r.OK():
			var parts []string
			if len(r.Missing) > 0 {
				parts = append(parts, "not caught by "+strings.Join(r.Missing, ","))
			}
			if len(r.Unexpected) > 0 {
				parts = append(parts, "also failed "+strings.Join(r.Unexpected, ","))
			}
			verdict = "MISMATCH: " + strings.Join(parts, "; ") + " (log: " + r.Log + ")"
		}
		if len(r.Withheld) > 0 {
			verdict += " (could not judge, on a precondition the bug breaks: " + strings.Join(r.Withheld, ",") + ")"
		}
		if len(r.Elsewhere) > 0 {
			verdict += " (not in these suites: " + strings.Join(r.Elsewhere, ",") + ")"
		}
		if len(r.Flaky) > 0 {
			verdict += " (FLAKY, failed once and passed when re-run: " + strings.Join(r.Flaky, ",") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.Bug, list(r.Expected), list(r.Failed), len(r.Skipped), r.Duration.Round(time.Second), verdict)
	}
	tw.Flush()
	for _, r := range results {
		for _, id := range r.Unexpected {
			for _, why := range r.Why[id] {
				fmt.Fprintf(w, "%s: %s also failed: %s\n", r.Bug, id, why)
			}
		}
		for _, id := range r.Flaky {
			for _, why := range r.Why[id] {
				fmt.Fprintf(w, "%s: %s failed once (passed when re-run): %s\n", r.Bug, id, why)
			}
		}
	}
}

func list(ids []string) string {
	if len(ids) == 0 {
		return "-"
	}
	return strings.Join(ids, ",")
}
