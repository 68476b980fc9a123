// Package driver starts and stops what a conformance run needs outside the
// test process: gateway replicas, the embedded Redis, and the upstream
// definitions a gateway is given (its upstreams file and the reference
// admin API).
//
// A Replica is an interface with one implementation per kind: a child
// process (StartReplica, process.go), a container (ContainerScope's
// StartReplica, container_replica.go) and a replica already running that
// the suite attaches to (AttachReplica, attached.go). What a replica is
// started with, the MCPGW_* environment contract of README.md ("Flags"),
// its files and its template data, is built once by BuildLaunch; each kind
// only places it.
//
// It is plain Go with no Ginkgo: suites/fixture wires it into specs
// (DeferCleanup, report entries), and scenarios/cmd uses it directly.
// Every wait here has a deadline.
package driver
