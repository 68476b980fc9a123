package shutdown

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestShutdown(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "SHD: bounded shutdown")
}

var _ = SynchronizedBeforeSuite(fixture.PrepareGateway, fixture.UseGateway)
