package security

import (
	"testing"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestSecurity(t *testing.T) {
	fixture.RunSuite(t, "SEC: security and bad input")
}
