package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"

	"github.com/onsi/ginkgo/v2/reporters"

	"github.com/mcpgw/conformance/suites/conformance"
)

// JUnitErrorType is the type of the <error> a could-not-judge spec gets.
const JUnitErrorType = "could not judge"

// MarkJUnitErrors rewrites the JUnit report Ginkgo wrote at path so that a
// spec that could not judge (conformance.CouldNotJudge) is an <error>, not a
// <failure>: JUnit's own distinction between "the test found a defect" and
// "the test could not run properly", which CI systems show apart. Ginkgo
// writes such a spec as <failure type="failed">; it is recognised by the
// EntryCouldNotJudge property Ginkgo copies from its report entries. The
// counts of the suites and of the whole report move with it. The file is
// left untouched when no spec needs it; it returns how many were moved.
func MarkJUnitErrors(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var doc reporters.JUnitTestSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		return 0, fmt.Errorf("%s: not a JUnit report: %w", path, err)
	}
	moved := 0
	for i := range doc.TestSuites {
		suite := &doc.TestSuites[i]
		for j := range suite.TestCases {
			tc := &suite.TestCases[j]
			if tc.Failure == nil || !hasProperty(tc.Properties, conformance.EntryCouldNotJudge) {
				continue
			}
			tc.Error = &reporters.JUnitError{Message: tc.Failure.Message, Type: JUnitErrorType, Description: tc.Failure.Description}
			tc.Failure = nil
			suite.Failures--
			suite.Errors++
			moved++
		}
	}
	if moved == 0 {
		return 0, nil
	}
	doc.Failures -= moved
	doc.Errors += moved
	// As Ginkgo writes it (reporters.GenerateJUnitReportWithConfig).
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("  ", "    ")
	if err := enc.Encode(doc); err != nil {
		return 0, err
	}
	return moved, os.WriteFile(path, b.Bytes(), 0o644)
}

func hasProperty(ps *reporters.JUnitProperties, name string) bool {
	if ps == nil {
		return false
	}
	for _, p := range ps.Properties {
		if p.Name == name {
			return true
		}
	}
	return false
}
