package main

import (
	"testing"
	"time"
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
