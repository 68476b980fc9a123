package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/conformance"
)

// writeRun writes a Ginkgo JSON report where ISO-1 passes, EVI-1 has the
// given state and, when judging, SHD-2 could not judge.
func writeRun(t *testing.T, evi1 types.SpecState, judging bool) string {
	t.Helper()
	specs := types.SpecReports{
		{LeafNodeType: types.NodeTypeIt, LeafNodeText: "[ISO-1] two sessions", LeafNodeLabels: []string{"ISO-1"}, State: types.SpecStatePassed},
		{LeafNodeType: types.NodeTypeIt, LeafNodeText: "[EVI-1] DELETE", LeafNodeLabels: []string{"EVI-1"}, State: evi1,
			Failure: types.Failure{Message: "upstream session still live"}},
	}
	if judging {
		j := conformance.Judgement{Owner: "ISO-1", Reason: "3 upstream sessions, want 50"}
		specs = append(specs, types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: "[SHD-2] wedged", LeafNodeLabels: []string{"SHD-2"},
			State: types.SpecStateFailed, Failure: types.Failure{Message: j.String()},
			ReportEntries: []types.ReportEntry{{Name: conformance.EntryCouldNotJudge, Value: types.WrapEntryValue(j.Encode())}}})
	}
	data, err := json.Marshal([]types.Report{{SuiteDescription: "all", SpecReports: specs}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeBaseline(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "baseline.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExitCodeIsTheVerdict(t *testing.T) {
	known := writeBaseline(t, "- {id: EVI-1, reason: ticket 42}\n")
	for _, tc := range []struct {
		name string
		args []string
		code int
		say  string
	}{
		{"pass", []string{"--in", writeRun(t, types.SpecStatePassed, false)}, 0, ": pass "},
		{"fail", []string{"--in", writeRun(t, types.SpecStateFailed, false)}, 1, "EVI-1 fail: "},
		{"error", []string{"--in", writeRun(t, types.SpecStatePassed, true)}, 3, "SHD-2 error: "},
		{"expected failure", []string{"--in", writeRun(t, types.SpecStateFailed, false), "--baseline", known}, 0, "1 expected failure"},
		{"stale baseline", []string{"--in", writeRun(t, types.SpecStatePassed, false), "--baseline", known}, 1, "EVI-1 stale baseline: "},
		{"unknown in the baseline", []string{"--in", writeRun(t, types.SpecStateFailed, false), "--baseline", writeBaseline(t, "- {id: NOPE-1, reason: x}\n")}, 2, "NOPE-1"},
		{"no report", []string{"--in", filepath.Join(t.TempDir(), "missing.json")}, 2, "missing.json"},
	} {
		var out, errs strings.Builder
		if code := run(tc.args, &out, &errs); code != tc.code || !strings.Contains(out.String()+errs.String(), tc.say) {
			t.Errorf("%s: exit %d, want %d; output %q %q, want %q", tc.name, code, tc.code, out.String(), errs.String(), tc.say)
		}
	}
}
