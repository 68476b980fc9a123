package transport

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestTransport(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "TRN: Streamable HTTP transport edges")
}

var _ = SynchronizedBeforeSuite(fixture.PrepareGateway, fixture.UseGateway)
