package reports

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/conformance"
)

// couldNotJudge is a spec ended by conformance.CouldNotJudge: failed, with
// the judgement as the failure message and as the marking entry.
func couldNotJudge(text string, labels []string, owner, reason string) types.SpecReport {
	j := conformance.Judgement{Owner: owner, Reason: reason}
	return spec(text, types.SpecStateFailed, labels, j.String(), entry(conformance.EntryCouldNotJudge, j.Encode()))
}

// judgedRun has one spec in each result state; failing says whether EVI-1
// fails (else it passes), judging whether SHD-2 could not judge (else it
// passes).
func judgedRun(failing, judging bool) []types.Report {
	evi1 := spec("[EVI-1] DELETE ends the upstream session", types.SpecStatePassed, []string{"EVI-1"}, "")
	if failing {
		evi1 = spec("[EVI-1] DELETE ends the upstream session", types.SpecStateFailed, []string{"EVI-1"}, "upstream session still live")
	}
	shd2 := spec("[SHD-2] SIGTERM with 50 wedged sessions", types.SpecStatePassed, []string{"SHD-2"}, "")
	if judging {
		shd2 = couldNotJudge("[SHD-2] SIGTERM with 50 wedged sessions", []string{"SHD-2"}, "ISO-1", "3 upstream sessions, want 50")
	}
	return []types.Report{{SuiteDescription: "all", SpecReports: types.SpecReports{
		spec("[ISO-1] two sessions read 5 and 3", types.SpecStatePassed, []string{"ISO-1"}, ""),
		evi1,
		spec("[TRN-2] session-less GET", types.SpecStatePassed, []string{"TRN-2"}, "", entry(conformance.EntryWarning, "TRN-2 (SHOULD) not met: got 200")),
		spec("[SEC-4] admin API", types.SpecStateSkipped, []string{"SEC-4"}, `target "x" lacks capability admin-api`),
		shd2,
	}}}
}

func TestEachResultStateShowsAsSuch(t *testing.T) {
	m := Build(catalog.MustLoad(), judgedRun(true, true))
	for id, want := range map[string]Status{"ISO-1": Pass, "EVI-1": Fail, "TRN-2": Warn, "SEC-4": Skip, "SHD-2": Error} {
		if r, _ := m.Row(id); r.Status != want {
			t.Errorf("%s: %s (%s), want %s", id, r.Status, r.Reason, want)
		}
	}
	shd2, _ := m.Row("SHD-2")
	if len(shd2.Owners) != 1 || shd2.Owners[0] != "ISO-1" || !strings.Contains(shd2.Reason, "owned by ISO-1") || shd2.Specs[0].State != "error" {
		t.Errorf("SHD-2 should name ISO-1 as the owner: %+v", shd2)
	}
	for _, e := range shd2.Evidence {
		if e.Name == conformance.EntryCouldNotJudge {
			t.Error("the could-not-judge mark is shown as evidence")
		}
	}
	md, page := markdown(t, m), html(t, m)
	for _, want := range []string{
		"| ISO-1 | MUST | pass |", "| EVI-1 | MUST | **FAIL** | [EVI-1] DELETE ends the upstream session: upstream session still live",
		"| TRN-2 | SHOULD | *warn* | TRN-2 (SHOULD) not met", "| SEC-4 | MUST | skip |",
		"| SHD-2 | MUST | **error** | [SHD-2] SIGTERM with 50 wedged sessions: could not judge: a precondition owned by ISO-1 did not hold: 3 upstream sessions, want 50",
		"1 error", "1 fail", "1 warn", "1 skip",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	for _, want := range []string{`<tr class="pass" id="ISO-1">`, `<tr class="fail" id="EVI-1">`, `<tr class="warn" id="TRN-2">`,
		`<tr class="skip" id="SEC-4">`, `<tr class="error" id="SHD-2">`, `<span class="badge error">error</span>`, `class="spec-error"`} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	cmp := NewComparison([]Run{{Label: "a", Matrix: m}})
	var cmd, chtml bytes.Buffer
	if err := cmp.WriteMarkdown(&cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmp.WriteHTML(&chtml); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cmd.String(), "| SHD-2 MUST | **error** |") || !strings.Contains(chtml.String(), `class="cell error"`) ||
		!strings.Contains(chtml.String(), "owned by ISO-1") {
		t.Errorf("the comparison does not show SHD-2 as an error with its owner:\n%s", cmd.String())
	}
}

func TestVerdictAndExitCode(t *testing.T) {
	c := catalog.MustLoad()
	for _, tc := range []struct {
		name             string
		failing, judging bool
		want             Status
		code             int
	}{
		{"pass, warn and skip", false, false, Pass, 0},
		{"could not judge", false, true, Error, 3},
		{"a failure outweighs an error", true, true, Fail, 1},
		{"fail", true, false, Fail, 1},
	} {
		m := Build(c, judgedRun(tc.failing, tc.judging))
		if v := m.Verdict(); v != tc.want || ExitCode(v) != tc.code {
			t.Errorf("%s: verdict %s exit %d, want %s exit %d", tc.name, v, ExitCode(v), tc.want, tc.code)
		}
		var out bytes.Buffer
		if err := m.WriteVerdict(&out); err != nil {
			t.Fatal(err)
		}
		if tc.judging && !strings.Contains(out.String(), "SHD-2 error: ") {
			t.Errorf("%s: the verdict does not name SHD-2:\n%s", tc.name, out.String())
		}
		if !tc.failing && !tc.judging && strings.Count(out.String(), "\n") != 1 {
			t.Errorf("a passing verdict is one line:\n%s", out.String())
		}
	}
	// A set-up node that could not judge makes the run an error, not a fail.
	setup := couldNotJudge("", nil, conformance.OwnerSetup, "replica not ready")
	setup.LeafNodeType = types.NodeTypeSynchronizedBeforeSuite
	run := judgedRun(false, false)
	run[0].SpecReports = append(run[0].SpecReports, setup)
	if m := Build(c, run); m.Verdict() != Error || len(m.Suites[0].Errors) != 1 || len(m.Suites[0].Failures) != 0 {
		t.Errorf("set-up error: verdict %s, suite %+v", m.Verdict(), m.Suites[0])
	}
}

// Ginkgo writes a could-not-judge spec as a <failure>; the rewrite makes it
// an <error> and moves the counts, and leaves other failures alone.
func TestJUnitShowsCouldNotJudgeAsError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit.xml")
	run := judgedRun(true, true)[0]
	run.SuiteSucceeded = false
	if err := reporters.GenerateJUnitReport(run, path); err != nil {
		t.Fatal(err)
	}
	n, err := MarkJUnitErrors(path)
	if err != nil || n != 1 {
		t.Fatalf("MarkJUnitErrors: %d, %v; want 1 spec moved", n, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc reporters.JUnitTestSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Failures != 1 || doc.Errors != 1 || doc.TestSuites[0].Failures != 1 || doc.TestSuites[0].Errors != 1 {
		t.Errorf("counts: report %d failures %d errors, suite %d/%d; want 1 and 1", doc.Failures, doc.Errors, doc.TestSuites[0].Failures, doc.TestSuites[0].Errors)
	}
	for _, tc := range doc.TestSuites[0].TestCases {
		switch {
		case strings.Contains(tc.Name, "SHD-2"):
			if tc.Failure != nil || tc.Error == nil || tc.Error.Type != JUnitErrorType || !strings.Contains(tc.Error.Message, "owned by ISO-1") {
				t.Errorf("SHD-2: failure %+v error %+v; want an error naming the owner", tc.Failure, tc.Error)
			}
		case strings.Contains(tc.Name, "EVI-1"):
			if tc.Failure == nil || tc.Error != nil {
				t.Errorf("EVI-1 should stay a failure: %+v %+v", tc.Failure, tc.Error)
			}
		}
	}
	if problems, err := CheckJUnit(path, catalog.MustLoad()); err != nil || len(problems) != 0 {
		t.Errorf("the rewritten report lost its requirement IDs: %v %v", problems, err)
	}
	// Nothing to move: the file is not rewritten.
	before, _ := os.ReadFile(path)
	if n, err := MarkJUnitErrors(path); err != nil || n != 0 {
		t.Errorf("second pass: %d, %v", n, err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a report with nothing to move was rewritten")
	}
}
