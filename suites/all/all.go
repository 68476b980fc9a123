// Package all imports every Ginkgo suite of the conformance run: the one
// list of them. Importing it registers every spec (mcpconf, the catalogue's
// coverage test); suites.mk and the selftest and proveexternal commands read
// its imports with `go list` to know which suites to run. A new suite is
// added here, and all_test.go fails until it is.
package all

import (
	_ "github.com/mcpgw/conformance/suites/crosspod"
	_ "github.com/mcpgw/conformance/suites/eviction"
	_ "github.com/mcpgw/conformance/suites/isolation"
	_ "github.com/mcpgw/conformance/suites/routing"
	_ "github.com/mcpgw/conformance/suites/scenariospecs"
	_ "github.com/mcpgw/conformance/suites/security"
	_ "github.com/mcpgw/conformance/suites/shutdown"
	_ "github.com/mcpgw/conformance/suites/transport"
	_ "github.com/mcpgw/conformance/suites/versions"
)
