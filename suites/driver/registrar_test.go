package driver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHookGetsTheUpstreamOnStdinAndTheGatewayInItsEnvironment(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "hook.sh")
	body := "#!/bin/sh\nset -eu\ncat > \"$OUT\"\nprintf '%s|%s|%s|%s|%s' \"$MCPCONF_HOOK\" \"$MCPCONF_UPSTREAM_ID\" \"$MCPCONF_GATEWAY_URL\" \"$MCPCONF_GATEWAY_URLS\" \"$MCPCONF_ADMIN_TOKEN\" > \"$OUT.env\"\necho registered\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "seen")
	h := &HookCommands{ChangeCmd: []string{"sh", "-c", "./hook.sh"}, Dir: dir, Env: map[string]string{"OUT": out}, Timeout: 5 * time.Second}
	gw := GatewayRef{URLs: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, AdminToken: "tok"}
	u := Upstream{ID: "counter", URL: "http://127.0.0.1:9/mcp", Headers: map[string]string{"X-Key": "v2"}}
	detail, err := h.Change(context.Background(), gw, u)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "registered") || !strings.Contains(detail, "hook change counter") {
		t.Errorf("evidence %q should name the hook and carry its output", detail)
	}
	var got Upstream
	data, _ := os.ReadFile(out)
	if err := json.Unmarshal(data, &got); err != nil || got.ID != "counter" || got.Headers["X-Key"] != "v2" {
		t.Errorf("stdin: %s (%v)", data, err)
	}
	env, _ := os.ReadFile(out + ".env")
	if want := "change|counter|http://127.0.0.1:1|http://127.0.0.1:1 http://127.0.0.1:2|tok"; string(env) != want {
		t.Errorf("environment %q, want %q", env, want)
	}
}

func TestFailingHookSaysWhatItPrinted(t *testing.T) {
	h := &HookCommands{AddCmd: []string{"sh", "-c", "echo 'gateway said 409' >&2; exit 3"}}
	_, err := h.Add(context.Background(), GatewayRef{}, Upstream{ID: "c1"})
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "gateway said 409") {
		t.Fatalf("want the exit status and the output, got %v", err)
	}
	if _, err := h.Remove(context.Background(), GatewayRef{}, Upstream{ID: "c1"}); err == nil || !strings.Contains(err.Error(), "upstreams.remove") {
		t.Errorf("a missing hook should name its field, got %v", err)
	}
}

func TestHungHookIsKilledWithItsChildren(t *testing.T) {
	h := &HookCommands{AddCmd: []string{"sh", "-c", "sleep 30 & sleep 30"}, Timeout: 300 * time.Millisecond}
	start := time.Now()
	_, err := h.Add(context.Background(), GatewayRef{}, Upstream{ID: "c1"})
	if err == nil || !strings.Contains(err.Error(), "still running after 300ms") {
		t.Fatalf("want a timeout, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the hook took %s to be killed", d)
	}
}

func TestAdminRegistrarUsesTheAdminAPI(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		w.Write([]byte(`{"evicted": 1, "connectChanged": true}`))
	}))
	defer srv.Close()
	gw := GatewayRef{URLs: []string{srv.URL}, AdminToken: "a"}
	if _, err := (AdminRegistrar{}).Change(context.Background(), gw, Upstream{ID: "c1", URL: "http://x/mcp"}); err != nil {
		t.Fatal(err)
	}
	if _, err := (AdminRegistrar{}).Remove(context.Background(), gw, Upstream{ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ";") != "PUT /admin/upstreams/c1 Bearer a;DELETE /admin/upstreams/c1 Bearer a" {
		t.Errorf("requests: %v", seen)
	}
}

func TestAttachedReplicaIsNotOurs(t *testing.T) {
	r, err := AttachReplica("r1", "http://127.0.0.1:8080/mcp")
	if err != nil {
		t.Fatal(err)
	}
	if r.URL() != "http://127.0.0.1:8080" || r.Addr() != "127.0.0.1:8080" || !r.Running() || r.Log() != "" || r.Container() != "" {
		t.Errorf("attached replica: %+v", r)
	}
	if err := r.Kill(); err == nil || !strings.Contains(err.Error(), "external driver") {
		t.Errorf("Kill of an attached replica: %v", err)
	}
	if pid, err := r.Pid(); pid != 0 || err == nil || !strings.Contains(err.Error(), "external driver") {
		t.Errorf("Pid of an attached replica: %d, %v; want 0 and an error", pid, err)
	}
	if _, err := r.WaitExit(time.Hour); err == nil {
		t.Error("WaitExit of an attached replica must say at once that its exit cannot be seen")
	}
	if _, killed := r.Stop(time.Second); killed || !r.Running() {
		t.Error("Stop must leave an attached replica alone")
	}
	if _, err := AttachReplica("r1", "127.0.0.1:8080"); err == nil {
		t.Error("a URL without scheme was accepted")
	}
}

func TestReplicaArgumentsAreTemplates(t *testing.T) {
	r, err := StartReplica(context.Background(), ReplicaConfig{
		Bin:             os.Args[0],
		Dir:             t.TempDir(),
		ID:              "r7",
		Args:            []string{"--id={{.ReplicaID}}", "--up={{.UpstreamsFile}}", "{{if .Redis}}--redis={{.Redis}}{{end}}", "--grace={{ms .ShutdownTimeout}}"},
		Env:             map[string]string{"DRIVER_FAKE_GATEWAY": "graceful", "GW_PORT": "{{.Port}}"},
		ShutdownTimeout: 1500 * time.Millisecond,
		ReadyTimeout:    5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(3 * time.Second)
	_, port, _ := strings.Cut(r.Addr(), ":")
	for _, want := range []string{"args=--id=r7 --up=", "upstreams.json --grace=1500 gwport=" + port + " redis="} {
		if !strings.Contains(r.Log(), want) {
			t.Errorf("want %q in the replica's view; log:\n%s", want, r.Log())
		}
	}
}
