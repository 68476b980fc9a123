package selftest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/reports"
	"github.com/mcpgw/conformance/suites/catalog"
)

func matrix(c *catalog.Catalog, status map[string]reports.Status) *reports.Matrix {
	m := &reports.Matrix{}
	for _, r := range c.Requirements {
		s, ok := status[r.ID]
		if !ok {
			s = reports.Pass
		}
		m.Rows = append(m.Rows, reports.Row{Requirement: r, Status: s})
	}
	return m
}

func setOwners(m *reports.Matrix, id string, owners ...string) {
	for i := range m.Rows {
		if m.Rows[i].Requirement.ID == id {
			m.Rows[i].Owners = owners
		}
	}
}

// shared-upstream breaks ISO-1 and ISO-2, and VER-1 (ISO-1 at each
// revision), which every matrix here fails too.
func TestCompare(t *testing.T) {
	c := catalog.MustLoad()
	exact := Compare(c, "shared-upstream", matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Fail}), false)
	if !exact.OK() {
		t.Errorf("exactly ISO-1 and ISO-2 failing should be ok: %+v", exact)
	}
	missed := Compare(c, "shared-upstream", matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail}), false)
	if missed.OK() || len(missed.Missing) != 1 || missed.Missing[0] != "ISO-2" {
		t.Errorf("ISO-2 not failing should be reported missing: %+v", missed)
	}
	extra := Compare(c, "shared-upstream", matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Fail, "EVI-6": reports.Warn}), false)
	if extra.OK() || len(extra.Unexpected) != 1 || extra.Unexpected[0] != "EVI-6" {
		t.Errorf("a warning outside the expectations should count: %+v", extra)
	}
	judged := Compare(c, "shared-upstream", matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Error}), false)
	if judged.OK() || len(judged.Missing) != 1 || len(judged.Unexpected) != 1 || judged.Unexpected[0] != "ISO-2" {
		t.Errorf("a requirement that could not be judged has not caught the bug, and is unexpected: %+v", judged)
	}
	withheld := matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Fail, "EVI-4": reports.Error})
	setOwners(withheld, "EVI-4", "ISO-2")
	if w := Compare(c, "shared-upstream", withheld, false); !w.OK() || len(w.Withheld) != 1 || w.Withheld[0] != "EVI-4" {
		t.Errorf("EVI-4 withholding its verdict on ISO-2's precondition, which the bug breaks, should be ok: %+v", w)
	}
	elsewhere := matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Fail, "EVI-4": reports.Error})
	setOwners(elsewhere, "EVI-4", "ISO-3")
	if e := Compare(c, "shared-upstream", elsewhere, false); e.OK() || len(e.Unexpected) != 1 || e.Unexpected[0] != "EVI-4" {
		t.Errorf("a precondition owned by a requirement the bug does not break is unexpected: %+v", e)
	}
	base := Compare(c, Baseline, matrix(c, map[string]reports.Status{"SHD-5": reports.Skip}), false)
	if !base.OK() || len(base.Skipped) != 1 {
		t.Errorf("a clean baseline with a skip should be ok: %+v", base)
	}
}

// A run of some suites judges the bug on the requirements with specs in
// them; without the subset flag the others count as not caught.
func TestCompareSubset(t *testing.T) {
	c := catalog.MustLoad()
	m := matrix(c, map[string]reports.Status{"ISO-1": reports.Fail, "ISO-2": reports.Fail})
	for i := range m.Rows {
		switch m.Rows[i].Requirement.ID {
		case "ISO-1", "ISO-2", "ISO-3":
			m.Rows[i].Specs = []reports.Spec{{Text: m.Rows[i].Requirement.ID}}
		default:
			m.Rows[i].Status = reports.NotRun
		}
	}
	if r := Compare(c, "shared-upstream", m, true); !r.OK() || len(r.Elsewhere) != 1 || r.Elsewhere[0] != "VER-1" {
		t.Errorf("VER-1 has no spec in the isolation suite: it should be set aside, the rest ok: %+v", r)
	}
	if r := Compare(c, "shared-upstream", m, false); r.OK() || len(r.Missing) != 1 || r.Missing[0] != "VER-1" {
		t.Errorf("without subset, VER-1 not failing is not caught: %+v", r)
	}
	for i := range m.Rows {
		if m.Rows[i].Requirement.ID == "ISO-2" {
			m.Rows[i].Status = reports.Pass
		}
	}
	if r := Compare(c, "shared-upstream", m, true); r.OK() || len(r.Missing) != 1 || r.Missing[0] != "ISO-2" {
		t.Errorf("ISO-2 has specs in the run and passes: not caught, whatever the subset: %+v", r)
	}
}

// A mismatch says, in the output itself, what each unexpected failure's
// specs reported: a CI log may be all there is.
func TestPrintTableSaysWhyUnexpectedFailed(t *testing.T) {
	c := catalog.MustLoad()
	m := matrix(c, map[string]reports.Status{"VER-1": reports.Fail, "ISO-1": reports.Fail, "ISO-2": reports.Fail, "ISO-3": reports.Fail})
	for i := range m.Rows {
		if m.Rows[i].Requirement.ID == "ISO-3" {
			m.Rows[i].Specs = []reports.Spec{{Text: "ISO-3 ten calls", Failure: "the upstream saw 2 initializes\n\tfor one session " + strings.Repeat("x", 1000)}}
		}
	}
	r := Compare(c, "shared-upstream", m, false)
	var out strings.Builder
	PrintTable(&out, []Result{r})
	got := out.String()
	if !strings.Contains(got, "shared-upstream: ISO-3 also failed: ISO-3 ten calls: the upstream saw 2 initializes for one session x") {
		t.Errorf("the output should carry ISO-3's failure on one line:\n%s", got)
	}
	if strings.Contains(got, strings.Repeat("x", maxWhy)) {
		t.Errorf("a failure's text should be clipped to %d characters:\n%s", maxWhy, got)
	}
}

// fakeGinkgo is a "ginkgo" that writes report.json into its --output-dir:
// first as the first run reports, and as the rerun reports when called
// with --label-filter. It records its arguments in args.txt.
func fakeGinkgo(t *testing.T, first, rerun string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"first.json": first, "rerun.json": rerun} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/sh
out= which=first
for a in "$@"; do
	case "$a" in
	--output-dir=*) out=${a#--output-dir=} ;;
	--label-filter=*) which=rerun; echo "$a" >> "` + dir + `/args.txt" ;;
	esac
done
cp "` + dir + `/$which.json" "$out/report.json"
`
	bin := filepath.Join(dir, "ginkgo")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// report renders a Ginkgo JSON report holding one spec per requirement id,
// each failing when its id is in failing.
func report(ids []string, failing ...string) string {
	r := types.Report{SuiteDescription: "ISO"}
	for _, id := range ids {
		sr := types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: id + " spec", LeafNodeLabels: []string{id}, State: types.SpecStatePassed}
		if slices.Contains(failing, id) {
			sr.State, sr.Failure = types.SpecStateFailed, types.Failure{Message: id + " went wrong"}
		}
		r.SpecReports = append(r.SpecReports, sr)
	}
	b, err := json.Marshal([]types.Report{r})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// An unexpected failure that passes when re-run is reported flaky and
// does not fail the run; one that fails again is still a mismatch, and an
// expected failure is never re-run away.
func TestRerunUnexpected(t *testing.T) {
	c := catalog.MustLoad()
	ids := []string{"ISO-1", "ISO-2", "ISO-3", "ISO-4"}
	run := func(first, rerun string) Result {
		t.Helper()
		g := fakeGinkgo(t, first, rerun)
		res := Run(context.Background(), c, Options{Ginkgo: g, Suites: []string{"x.test"}, OutDir: t.TempDir(), Bugs: []string{"shared-upstream"}, Subset: true, RerunUnexpected: true})
		if len(res) != 1 {
			t.Fatalf("%d results", len(res))
		}
		return res[0]
	}
	flaky := run(report(ids, "ISO-1", "ISO-2", "ISO-3", "ISO-4"), report([]string{"ISO-3", "ISO-4"}, "ISO-4"))
	if flaky.OK() || !slices.Equal(flaky.Flaky, []string{"ISO-3"}) || !slices.Equal(flaky.Unexpected, []string{"ISO-4"}) {
		t.Errorf("ISO-3 passing on the re-run is flaky; ISO-4 failing again is still unexpected: %+v", flaky)
	}
	healed := run(report(ids, "ISO-1", "ISO-2", "ISO-3"), report([]string{"ISO-3"}))
	if !healed.OK() || !slices.Equal(healed.Flaky, []string{"ISO-3"}) {
		t.Errorf("a run whose only unexpected failure passed on the re-run is ok, and says it was flaky: %+v", healed)
	}
	var out strings.Builder
	PrintTable(&out, []Result{healed})
	if !strings.Contains(out.String(), "FLAKY, failed once and passed when re-run: ISO-3") || !strings.Contains(out.String(), "ISO-3 failed once (passed when re-run): ISO-3 spec: ISO-3 went wrong") {
		t.Errorf("the table should name the flaky requirement and how it failed:\n%s", out.String())
	}
	missed := run(report(ids, "ISO-1", "ISO-3"), report([]string{"ISO-3"}))
	if missed.OK() || len(missed.Flaky) != 0 || !slices.Equal(missed.Missing, []string{"ISO-2"}) {
		t.Errorf("a run that missed its bug is not re-run: %+v", missed)
	}
}
