package eviction

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestEviction(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "EVI: eviction of upstream sessions")
}

var _ = SynchronizedBeforeSuite(fixture.PrepareGateway, fixture.UseGateway)
