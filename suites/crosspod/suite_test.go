package crosspod

import (
	"testing"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestCrosspod(t *testing.T) {
	fixture.RunSuite(t, "XPD: cross-replica lookup")
}
