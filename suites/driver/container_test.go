package driver

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestContainerDriver starts a Redis, a counter and two gateway replicas as
// containers and checks what the suites rely on: readiness through mapped
// ports, replicas reaching each other by alias, SIGTERM as a bounded stop,
// SIGKILL as a real kill, and cleanup. It needs a Docker engine, so it runs
// only with MCPCONF_DOCKER_TEST=1 (make conformance-containers covers the
// driver in every run).
func TestContainerDriver(t *testing.T) {
	if os.Getenv("MCPCONF_DOCKER_TEST") != "1" {
		t.Skip("set MCPCONF_DOCKER_TEST=1 to run against the Docker engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	var progress io.Writer = io.Discard
	if testing.Verbose() {
		progress = os.Stderr
	}
	c, err := PrepareContainers(ctx, ContainerOptions{Root: root, BinDir: os.Getenv("MCPCONF_DOCKER_TEST_BIN"), Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	s := c.NewScope()
	t.Cleanup(func() { _ = s.Close(context.Background()) })

	up, err := s.StartFake(ctx, FakeCounter, "counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := s.StartRedis(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rs []Replica
	for _, id := range []string{"r1", "r2"} {
		r, err := s.StartReplica(ctx, ReplicaConfig{
			ID: id, Upstreams: []Upstream{{ID: "counter", URL: up.NetworkBase + "/mcp"}},
			Redis: rd.URL, ClusterSecret: "s3cret", AdminToken: "adm", ShutdownTimeout: time.Second,
			Dir: t.TempDir(),
		})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	sessions, err := (&AdminAPI{BaseURL: rs[1].URL(), Token: "adm"}).Sessions(ctx)
	if err != nil || sessions.Replica != "r2" {
		t.Fatalf("admin API of r2 through its mapped port: %+v %v", sessions, err)
	}
	resp, err := http.Get(up.Base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	start := time.Now()
	if err := rs[0].Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	e, err := rs[0].WaitExit(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if took := e.At.Sub(start); e.Code != 0 || took > 3*time.Second {
		t.Errorf("SIGTERM: %s after %s, want exit code 0 within 3 s", e, took)
	}
	if !strings.Contains(rs[0].Log(), "r1") {
		t.Errorf("the replica's log was not captured:\n%s", rs[0].Log())
	}
	if err := rs[1].Kill(); err != nil {
		t.Fatal(err)
	}
	e, err = rs[1].WaitExit(5 * time.Second)
	if err != nil || e.Signal == "" {
		t.Errorf("SIGKILL: %s %v, want death by signal 9", e, err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
