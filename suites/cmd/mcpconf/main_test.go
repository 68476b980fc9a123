package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/conformance/suites/child"
	"github.com/mcpgw/conformance/suites/driver"
)

// The binaries under test, built once by TestMain into a temporary
// directory, as an implementer's go install and gateway would be.
var mcpconfBin, gatewayBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mcpconf-test-")
	if err == nil {
		err = build(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mcpconfBin, gatewayBin = filepath.Join(dir, "mcpconf"), filepath.Join(dir, "gateway")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	root, err := driver.ModuleRoot(".")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "./suites/cmd/mcpconf", "./servers/gateway")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

// mcpconf runs the binary in dir and returns its exit code and output.
func mcpconf(t *testing.T, bin, dir string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	}
	t.Fatalf("mcpconf %v: %v\n%s", args, err, out.String())
	return 0, ""
}

// startGateway starts the reference gateway by hand, as a user starts
// theirs, and stops it when the test ends.
func startGateway(t *testing.T, bin, adminToken string) string {
	t.Helper()
	addr, err := driver.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p, err := child.Start(child.Options{Path: bin, Name: "gateway", DieWithParent: true,
		Args: []string{"--listen", addr, "--replica-id", "r1", "--admin-token", adminToken, "--shutdown-timeout", "1s"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	url := "http://" + addr
	if err := p.WaitReady(context.Background(), 15*time.Second, child.HTTPStatus(url+"/readyz", http.StatusOK)); err != nil {
		t.Fatalf("gateway: %v\n%s", err, p.Log())
	}
	return url
}

// The installed program end to end: a gateway started outside the suite,
// a target file for the external driver with the shell hooks of
// suites/targets/hooks, and `mcpconf run` judging ISO-1 and writing every
// report.
func TestRunJudgesAnExternalGateway(t *testing.T) {
	bin := mcpconfBin
	url := startGateway(t, gatewayBin, "s3cret")
	root, err := driver.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	hooks := filepath.Join(root, "suites/targets/hooks")
	dir := t.TempDir()
	target := filepath.Join(dir, "my-gateway.yaml")
	writeFile(t, target, fmt.Sprintf(`name: reference gateway (started by hand)
driver: external
external:
  replicas: [%s]
  adminToken: s3cret
profiles: [strict-405]
upstreams:
  register: hooks
  add: %[2]s/add.sh
  change: %[2]s/change.sh
  remove: %[2]s/remove.sh
`, url, hooks))

	code, out := mcpconf(t, bin, dir, "run", "--target", target, "--label-filter", "ISO-1")
	if code != 0 {
		t.Fatalf("mcpconf run: exit %d, want 0\n%s", code, out)
	}
	for _, want := range []string{
		"PASS  [ISO-1] two sessions on one counter read 5 and 3, not 8 and 8",
		"Conformance report: reference gateway (started by hand): pass ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"report.html", "summary.md", "junit.xml", "report.json", "ginkgo.log"} {
		if _, err := os.Stat(filepath.Join(dir, "mcpconf-out", f)); err != nil {
			t.Errorf("report %s: %v", f, err)
		}
	}
	summary, err := os.ReadFile(filepath.Join(dir, "mcpconf-out", "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(summary), "| ISO-1 | MUST | pass |") {
		t.Errorf("summary.md does not pass ISO-1:\n%s", summary)
	}

	// The same gateway, with a baseline expecting ISO-1 to fail: it
	// passed, so the baseline is stale and the run fails.
	baseline := filepath.Join(dir, "baseline.yaml")
	writeFile(t, baseline, "- id: ISO-1\n  reason: expected to fail, but it passes\n")
	if code, out := mcpconf(t, bin, dir, "run", "--target", target, "--label-filter", "ISO-1", "--baseline", baseline, "--out", "stale"); code != 1 || !strings.Contains(out, "ISO-1 stale baseline") {
		t.Errorf("a stale baseline: exit %d, want 1, and ISO-1 named\n%s", code, out)
	}
}

// check-target exits 2 naming the field at fault, and run refuses what
// would need a Go toolchain before running anything.
func TestBadTargetsExitTwoNamingTheField(t *testing.T) {
	bin := mcpconfBin
	dir := t.TempDir()
	for _, c := range []struct{ name, yaml, field string }{
		{"bad replica URL", "driver: external\nexternal:\n  replicas: [localhost:8080]\n", "external.replicas[0]"},
		{"unknown field", "driver: external\nexternal:\n  replicaz: [http://127.0.0.1:1]\n", "replicaz"},
		{"gateway built from source", "driver: process\ngateway:\n  package: ./servers/gateway\n", "gateway.bin"},
		{"container images unnamed", "driver: container\ngateway:\n  image: my/gateway:1\n", "container.counterImage, container.wedgeImage"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".yaml")
			writeFile(t, path, c.yaml)
			for _, args := range [][]string{{"check-target", path}, {"run", "--target", path}} {
				code, out := mcpconf(t, bin, dir, args...)
				if code != 2 || !strings.Contains(out, c.field) {
					t.Errorf("mcpconf %s: exit %d, want 2 naming %s:\n%s", args[0], code, c.field, out)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "mcpconf-out")); err == nil {
		t.Error("run wrote reports for a target it refused")
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
