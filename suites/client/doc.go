// Package client talks to a gateway the way the suites need: Session is a
// go-sdk client session (the normal path a real MCP client takes), and Raw is
// a plain HTTP client for status codes, headers and streams, where the suite
// must see exactly what went over the wire. Every call is bounded by a
// deadline.
package client
