package every

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	_ "github.com/mcpgw/conformance/suites/all" // registers every spec
	"github.com/mcpgw/conformance/suites/fixture"
)

func TestEverySuite(t *testing.T) {
	RegisterFailHandler(Fail)
	fixture.Register()
	RunSpecs(t, "Every suite")
}
