package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/conformance/gateway"
)

func TestTimeoutFlagsHaveDefaultsAndEnvironmentTwins(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.callTimeout != 5*time.Minute || o.bodyTimeout != 10*time.Second || o.forwardTimeout != 5*time.Minute+30*time.Second {
		t.Fatalf("defaults: call %v, body %v, forward %v; want 5m, 10s, 5m30s", o.callTimeout, o.bodyTimeout, o.forwardTimeout)
	}
	t.Setenv("MCPGW_CALL_TIMEOUT", "0")
	t.Setenv("MCPGW_BODY_TIMEOUT", "3s")
	t.Setenv("MCPGW_FORWARD_TIMEOUT", "1m")
	if o, err = parseFlags([]string{"--forward-timeout=2m"}); err != nil {
		t.Fatal(err)
	}
	if o.callTimeout != 0 || o.bodyTimeout != 3*time.Second || o.forwardTimeout != 2*time.Minute {
		t.Fatalf("from the environment: call %v, body %v, forward %v; want 0, 3s and the flag's 2m", o.callTimeout, o.bodyTimeout, o.forwardTimeout)
	}
	if got := noneIfZero(o.callTimeout); got >= 0 {
		t.Fatalf("--call-timeout=0 became %v in the config, want negative (none)", got)
	}
	t.Setenv("MCPGW_BODY_TIMEOUT", "soon")
	if _, err := parseFlags(nil); err == nil {
		t.Fatal("a malformed MCPGW_BODY_TIMEOUT was accepted")
	}
}

func TestShapeFlagsHaveDefaultsAndEnvironmentTwins(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.aggregateRoute != "/mcp" || o.serverRoute != "/servers/{id}/mcp" || o.toolName != "{{.Upstream}}.{{.Tool}}" || o.readiness != "/readyz" {
		t.Fatalf("defaults: %q %q %q %q", o.aggregateRoute, o.serverRoute, o.toolName, o.readiness)
	}
	t.Setenv("MCPGW_AGGREGATE_ROUTE", "")
	t.Setenv("MCPGW_SERVER_ROUTE", "/{id}/mcp")
	t.Setenv("MCPGW_TOOL_NAME", "{{.Upstream}}__{{.Tool}}")
	t.Setenv("MCPGW_READINESS_PATH", "/ready")
	if o, err = parseFlags([]string{"--readiness-path=/up"}); err != nil {
		t.Fatal(err)
	}
	if o.aggregateRoute != "" || o.serverRoute != "/{id}/mcp" || o.toolName != "{{.Upstream}}__{{.Tool}}" || o.readiness != "/up" {
		t.Fatalf("from the environment: %q %q %q %q", o.aggregateRoute, o.serverRoute, o.toolName, o.readiness)
	}
	if routeOrNone("") != gateway.NoRoute || routeOrNone("/mcp") != "/mcp" {
		t.Fatal("an empty route flag must mean no route, in the config")
	}
}

// A bad shape flag stops the gateway before it listens, naming the flag,
// with exit status 2.
func TestBadShapeFlagIsAUsageError(t *testing.T) {
	for _, args := range [][]string{
		{"--listen=127.0.0.1:0", "--tool-name={{.Upstream"},
		{"--listen=127.0.0.1:0", "--aggregate-route=", "--server-route="},
	} {
		err := run(args)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), strings.SplitN(args[1], "=", 2)[0]) {
			t.Errorf("%q: %v (exit %d); want exit 2 naming the flag", args, err, exitCode(err))
		}
	}
	if exitCode(errors.New("listen: address in use")) != 1 {
		t.Error("an error other than a shape flag's must exit 1")
	}
}
