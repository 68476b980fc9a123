package reports

import (
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/catalog"
)

func TestParseBaselineRejectsBadInput(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"no reason":     {"- id: ISO-1\n", "entry 1 (ISO-1) has no reason"},
		"no id":         {"- reason: why\n", "entry 1 has no id"},
		"twice":         {"- {id: ISO-1, reason: a}\n- {id: ISO-1, reason: b}\n", "ISO-1 is listed twice"},
		"unknown field": {"- {id: ISO-1, reason: a, until: 2027}\n", "until"},
		"not a list":    {"ISO-1: because\n", "want a YAML list"},
	} {
		if _, err := ParseBaseline([]byte(tc.yaml), "b.yaml"); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "b.yaml") {
			t.Errorf("%s: error %v, want one naming the file and saying %q", name, err, tc.want)
		}
	}
	if b, err := ParseBaseline(nil, "empty.yaml"); err != nil || len(b.Entries) != 0 {
		t.Errorf("an empty baseline: %+v, %v", b, err)
	}
}

func mustBaseline(t *testing.T, yaml string) *Baseline {
	t.Helper()
	b, err := ParseBaseline([]byte(yaml), "baseline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBaselineTurnsKnownFailuresIntoExpectedOnes(t *testing.T) {
	c := catalog.MustLoad()
	m := Build(c, judgedRun(true, false))
	if err := m.ApplyBaseline(mustBaseline(t, "- {id: EVI-1, reason: ticket 42}\n")); err != nil {
		t.Fatal(err)
	}
	evi1, _ := m.Row("EVI-1")
	if evi1.Status != ExpectedFailure || !strings.Contains(evi1.Reason, "expected failure (baseline: ticket 42)") || !strings.Contains(evi1.Reason, "upstream session still live") {
		t.Errorf("EVI-1: %s %q", evi1.Status, evi1.Reason)
	}
	if v := m.Verdict(); v != Pass || ExitCode(v) != 0 {
		t.Errorf("an expected failure should not fail the run: %s", v)
	}
	md := markdown(t, m)
	for _, want := range []string{"| EVI-1 | MUST | *expected failure* | expected failure (baseline: ticket 42)", "| baseline | baseline.yaml (1 expected failures) |"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	if h := html(t, m); !strings.Contains(h, `<tr class="expected-failure" id="EVI-1">`) {
		t.Error("report.html lacks the expected failure")
	}
}

func TestBaselineThatNowPassesIsStale(t *testing.T) {
	m := Build(catalog.MustLoad(), judgedRun(false, false))
	if err := m.ApplyBaseline(mustBaseline(t, "- {id: EVI-1, reason: ticket 42}\n")); err != nil {
		t.Fatal(err)
	}
	evi1, _ := m.Row("EVI-1")
	if evi1.Status != StaleBaseline || !strings.Contains(evi1.Reason, "stale baseline: remove it") || !strings.Contains(evi1.Reason, "ticket 42") {
		t.Errorf("EVI-1: %s %q", evi1.Status, evi1.Reason)
	}
	if v := m.Verdict(); v != Fail || ExitCode(v) != 1 {
		t.Errorf("a stale baseline should fail the run: %s", v)
	}
	if md := markdown(t, m); !strings.Contains(md, "| EVI-1 | MUST | **STALE BASELINE** | stale baseline: remove it") {
		t.Errorf("summary.md:\n%s", md)
	}
	if h := html(t, m); !strings.Contains(h, `<tr class="stale-baseline" id="EVI-1">`) {
		t.Error("report.html lacks the stale baseline")
	}
}

func TestBaselineOfOneSpec(t *testing.T) {
	c := catalog.MustLoad()
	two := func(second types.SpecState) []types.Report {
		return []types.Report{{SpecReports: types.SpecReports{
			spec("[ISO-1] a", types.SpecStateFailed, []string{"ISO-1"}, "read 8"),
			spec("[ISO-1] b", second, []string{"ISO-1"}, "read 9"),
		}}}
	}
	b := mustBaseline(t, "- {id: \"[ISO-1] a\", reason: known}\n")
	m := Build(c, two(types.SpecStateFailed))
	if err := m.ApplyBaseline(b); err != nil {
		t.Fatal(err)
	}
	if r, _ := m.Row("ISO-1"); r.Status != Fail {
		t.Errorf("a failing spec outside the baseline still fails: %s", r.Status)
	}
	m = Build(c, two(types.SpecStatePassed))
	if err := m.ApplyBaseline(b); err != nil {
		t.Fatal(err)
	}
	if r, _ := m.Row("ISO-1"); r.Status != ExpectedFailure || m.Verdict() != Pass {
		t.Errorf("the only failing spec is baselined: %s %q, verdict %s", r.Status, r.Reason, m.Verdict())
	}
	m = Build(c, []types.Report{{SpecReports: types.SpecReports{spec("[ISO-1] a", types.SpecStatePassed, []string{"ISO-1"}, "")}}})
	if err := m.ApplyBaseline(b); err != nil {
		t.Fatal(err)
	}
	if r, _ := m.Row("ISO-1"); r.Status != StaleBaseline || !strings.Contains(r.Reason, "[ISO-1] a passes now") {
		t.Errorf("a baselined spec that passes: %s %q", r.Status, r.Reason)
	}
}

// A baseline does not hide what the run could not judge, nor what it did
// not run.
func TestBaselineLeavesErrorsAndSkipsAlone(t *testing.T) {
	m := Build(catalog.MustLoad(), judgedRun(false, true))
	if err := m.ApplyBaseline(mustBaseline(t, "- {id: SHD-2, reason: a}\n- {id: SEC-4, reason: b}\n- {id: XPD-1, reason: c}\n")); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]Status{"SHD-2": Error, "SEC-4": Skip, "XPD-1": NotRun} {
		if r, _ := m.Row(id); r.Status != want {
			t.Errorf("%s: %s, want %s", id, r.Status, want)
		}
	}
	if m.Verdict() != Error {
		t.Errorf("verdict %s, want error", m.Verdict())
	}
}

func TestBaselineNamingTheUnknownIsAnError(t *testing.T) {
	m := Build(catalog.MustLoad(), judgedRun(true, false))
	err := m.ApplyBaseline(mustBaseline(t, "- {id: ISO-99, reason: a}\n- {id: EVI-1, reason: b}\n- {id: \"[EVI-1] no such spec\", reason: c}\n"))
	if err == nil || !strings.Contains(err.Error(), `"ISO-99"`) || !strings.Contains(err.Error(), `"[EVI-1] no such spec"`) {
		t.Fatalf("error %v, want one naming both unknown entries", err)
	}
	if r, _ := m.Row("EVI-1"); r.Status != Fail || m.Baseline != nil {
		t.Errorf("a rejected baseline was partly applied: EVI-1 %s", r.Status)
	}
}

func TestExampleBaselineIsValid(t *testing.T) {
	b, err := LoadBaseline("../suites/targets/baselines/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Entries) == 0 {
		t.Fatal("the example baseline lists nothing")
	}
	// Every entry names a requirement: applying it to a run with no specs
	// leaves nothing unknown.
	if err := Build(catalog.MustLoad(), nil).ApplyBaseline(b); err != nil {
		t.Error(err)
	}
}

func markdown(t *testing.T, m *Matrix) string {
	t.Helper()
	var b strings.Builder
	if err := m.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func html(t *testing.T, m *Matrix) string {
	t.Helper()
	var b strings.Builder
	if err := m.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
