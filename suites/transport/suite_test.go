package transport

import (
	"testing"

	"github.com/mcpgw/conformance/suites/fixture"
)

func TestTransport(t *testing.T) {
	fixture.RunSuite(t, "TRN: Streamable HTTP transport edges")
}
