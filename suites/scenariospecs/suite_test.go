package scenariospecs

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestScenarios(t *testing.T) {
	RegisterFailHandler(Fail)
	fixture.Register() // the specs, for the target of MCPCONF_*
	RunSpecs(t, "Scenarios: every scenario in scenarios/ as a spec")
}
