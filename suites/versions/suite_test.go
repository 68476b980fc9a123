package versions

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestVersions(t *testing.T) {
	RegisterFailHandler(Fail)
	fixture.Register() // the specs, for the target of MCPCONF_*
	RunSpecs(t, "VER: protocol revisions")
}
