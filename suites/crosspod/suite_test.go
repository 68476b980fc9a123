package crosspod

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestCrosspod(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "XPD: cross-replica lookup")
}

var _ = SynchronizedBeforeSuite(fixture.PrepareGateway, fixture.UseGateway)
