package shutdown

import (
	"testing"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestShutdown(t *testing.T) {
	fixture.RunSuite(t, "SHD: bounded shutdown")
}
