package routing

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestRouting(t *testing.T) {
	RegisterFailHandler(Fail)
	fixture.Register() // the specs, for the target of MCPCONF_*
	RunSpecs(t, "RTE: routing of messages inside a session")
}
