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

// writeRun writes a Ginkgo JSON report of one gateway where ISO-1 has the
// given state.
func writeRun(t *testing.T, dir, name string, iso1 types.SpecState) string {
	t.Helper()
	ti := conformance.TargetInfo{Name: name, Driver: "external"}
	run := []types.Report{{SuiteDescription: "ISO", SpecReports: types.SpecReports{
		{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStatePassed,
			ReportEntries: []types.ReportEntry{{Name: conformance.EntryTarget, Value: types.WrapEntryValue(ti.Encode())}}},
		{LeafNodeType: types.NodeTypeIt, LeafNodeText: "two sessions", LeafNodeLabels: []string{"ISO-1"}, State: iso1,
			Failure: types.Failure{Message: "read 8, want 5"}},
	}}}
	data, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name, "report.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompareMergesRunsIntoOneMatrix(t *testing.T) {
	dir := t.TempDir()
	good := writeRun(t, dir, "good", types.SpecStatePassed)
	pooled := writeRun(t, dir, "pooled", types.SpecStateFailed)
	md, html := filepath.Join(dir, "compare.md"), filepath.Join(dir, "compare.html")
	var out strings.Builder
	if err := run([]string{"--md", md, "--html", html, good, "pooling gateway=" + pooled}, &out); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"|  | good | pooling gateway |", "| ISO-1 MUST | pass | **FAIL** |", "| verdict | PASS | FAIL |"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("compare.md lacks %q:\n%s", want, text)
		}
	}
	if h, err := os.ReadFile(html); err != nil || !strings.Contains(string(h), "pooling gateway") {
		t.Errorf("compare.html: %v", err)
	}
	if !strings.Contains(out.String(), "comparison of 2 runs") {
		t.Errorf("output: %s", out.String())
	}
	if err := run([]string{"--md", md}, &out); err == nil {
		t.Error("no reports: accepted")
	}
}
