package isolation

import (
	"testing"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestIsolation(t *testing.T) {
	fixture.RunSuite(t, "ISO: isolation of upstream state")
}
