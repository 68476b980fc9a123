package eviction

import (
	"testing"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestEviction(t *testing.T) {
	fixture.RunSuite(t, "EVI: eviction of upstream sessions")
}
