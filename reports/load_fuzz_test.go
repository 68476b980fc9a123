package reports

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/catalog"
)

// FuzzLoad: report.json is read back from a run that may have crashed half
// way or come from another tool; whatever it holds, Load refuses it or the
// matrix builds and renders, never a panic.
func FuzzLoad(f *testing.F) {
	valid, err := json.Marshal([]types.Report{{
		SuiteDescription: "ISO", SuitePath: "/x/suites/isolation",
		SpecReports: types.SpecReports{
			spec("a", types.SpecStatePassed, []string{"ISO-1", "ISO", "MUST"}, "", entry("values read", "5 and 3")),
			spec("b", types.SpecStateFailed, []string{"TRN-2", "SHOULD"}, "got 200\nwant 400"),
			spec("c", types.SpecStateSkipped, []string{"SHD-5", "NOPE-1"}, "target lacks capability multi-replica"),
		},
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	for _, doc := range []string{
		"", "[]", "{}", "null", "[null]", "[{}]", `[{"SpecReports":[{}]}]`, `[{"SpecReports":null}]`,
		`[{"SpecReports":[{"LeafNodeLabels":["ISO-1"],"State":"panicked","RunTime":-1}]}]`,
		`[{"SpecReports":[{"State":"nonsense"}]}]`, `[{"RunTime":1e300}]`, `[{"StartTime":"yesterday"}]`,
		`[{"SpecReports":[{"ReportEntries":[{"Name":"x","Value":{"Representation":"\u0000"}}]}]}]`,
		"[\xff]", `[{"SuiteDescription":"` + "\xc0\xaf" + `"}]`,
	} {
		f.Add([]byte(doc))
	}
	c := catalog.MustLoad()
	path := filepath.Join(f.TempDir(), "report.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		runs, err := Load(path)
		if err != nil {
			return
		}
		m := Build(c, runs)
		if err := m.WriteMarkdown(io.Discard); err != nil {
			t.Fatalf("markdown: %v", err)
		}
		if err := m.WriteHTML(io.Discard); err != nil {
			t.Fatalf("html: %v", err)
		}
		m.Verdict()
		m.Failed()
	})
}
