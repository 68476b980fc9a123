package launch

import (
	"strings"
	"testing"
	"time"
)

func TestRenderDropsEmptyArgumentsAndVariables(t *testing.T) {
	d := Data{Listen: "127.0.0.1:9000", Port: 9000, ReplicaID: "r2", ShutdownTimeout: 1500 * time.Millisecond}
	args, env, err := Render(
		[]string{"serve", "--port", "{{.Port}}", "{{if .Redis}}--redis={{.Redis}}{{end}}", "--grace-ms={{ms .ShutdownTimeout}}", "--grace-s={{seconds .ShutdownTimeout}}"},
		map[string]string{"GW_ID": "{{.ReplicaID}}", "GW_TOKENS": "{{.AuthTokensFile}}", "PLAIN": "x"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(args, " "); got != "serve --port 9000 --grace-ms=1500 --grace-s=2" {
		t.Errorf("args: %q", got)
	}
	if len(env) != 2 || env["GW_ID"] != "r2" || env["PLAIN"] != "x" {
		t.Errorf("env: %v", env)
	}
}

// An argument that must reach the gateway holding {{ (a gateway's own
// template, such as the reference gateway's --tool-name) is written as a
// template string, which renders as it is.
func TestTemplateStringPassesBracesThrough(t *testing.T) {
	args, _, err := Render([]string{`--tool-name={{"{{.Upstream}}__{{.Tool}}"}}`, `--server-route=/{id}/mcp`, "--server-route="}, nil, Sample())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(args, " "); got != "--tool-name={{.Upstream}}__{{.Tool}} --server-route=/{id}/mcp --server-route=" {
		t.Errorf("rendered %q", got)
	}
}
