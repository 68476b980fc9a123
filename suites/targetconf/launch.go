package targetconf

import (
	"fmt"

	"github.com/mcpgw/conformance/suites/launch"
)

// validateLaunch checks the argument and environment templates of
// gateway.args and gateway.env (see suites/launch) against a sample replica.
func (t *Target) validateLaunch() error {
	if err := launch.Check(t.Gateway.Args, t.Gateway.Env); err != nil {
		return fmt.Errorf("target %s: %w", t.Name, err)
	}
	return nil
}
