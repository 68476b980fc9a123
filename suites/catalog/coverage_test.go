package catalog_test

import (
	"testing"

	"github.com/mcpgw/conformance/suites/conformance"

	// Every spec package: their specs register when imported, and Preview
	// walks them without running any.
	_ "github.com/mcpgw/conformance/suites/all"
)

// Every catalogue requirement that is not deferred has a spec, and every spec
// names exactly one catalogue requirement.
func TestEveryRequirementHasASpecAndEverySpecARequirement(t *testing.T) {
	specs := conformance.Preview()
	if len(specs) == 0 {
		t.Fatal("no specs registered: are the spec packages imported?")
	}
	for _, defect := range conformance.Coverage(specs) {
		t.Error(defect)
	}
	t.Logf("%d specs checked against the catalogue", len(specs))
}
