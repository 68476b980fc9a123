// Package driver starts and stops what a conformance run needs outside the
// test process: gateway replicas (the process driver: child processes that
// follow the MCPGW_* environment contract of README.md, "Flags"), the embedded Redis,
// and the upstream definitions a gateway is given (its upstreams file and the
// reference admin API).
//
// It is plain Go with no Ginkgo: suites/fixture wires it into specs
// (DeferCleanup, report entries), and scenarios/cmd uses it directly.
// Every wait here has a deadline.
package driver
