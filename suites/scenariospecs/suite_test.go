package scenariospecs

import (
	"testing"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestScenarios(t *testing.T) {
	fixture.RunSuite(t, "Scenarios: every scenario in scenarios/ as a spec")
}
