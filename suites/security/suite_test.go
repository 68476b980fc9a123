package security

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestSecurity(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "SEC: security and bad input")
}

var _ = SynchronizedBeforeSuite(fixture.PrepareGateway, fixture.UseGateway)
