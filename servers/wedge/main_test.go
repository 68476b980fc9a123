package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMain lets a test start this program as a real process: the test
// binary re-executes itself with runMainEnv set.
const runMainEnv = "WEDGE_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(runMainEnv); ok {
		os.Args = append([]string{"wedge"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// logWatch is the program's stderr: it hands over the address logged as
// "listening" (slog's JSON handler writes one record per Write).
type logWatch struct {
	once sync.Once
	addr chan string
}

func (w *logWatch) Write(p []byte) (int, error) {
	var rec struct{ Msg, Addr string }
	if json.Unmarshal(p, &rec) == nil && rec.Msg == "listening" {
		w.once.Do(func() { w.addr <- rec.Addr })
	}
	return len(p), nil
}

func TestSIGTERMExitsZeroDespiteWedges(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	w := &logWatch{addr: make(chan string, 1)}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=--listen 127.0.0.1:0 --wedge call,get,delete")
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var base string
	select {
	case addr := <-w.addr:
		base = "http://" + addr
	case err := <-exited:
		t.Fatalf("program exited early: %v", err)
	case <-ctx.Done():
		t.Fatal("no listening log line")
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: base + "/mcp", HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	hung := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "hang"})
		hung <- err
	}()
	select {
	case err := <-hung:
		t.Fatalf("hang returned while wedged: %v", err)
	case <-time.After(300 * time.Millisecond):
	}

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v, want status 0", err)
		}
	case <-ctx.Done():
		t.Fatal("program did not exit after SIGTERM")
	}
	// The slack is for process exit on a loaded 2-core machine (seen: 1 s);
	// a shutdown that waits for the wedged call runs into ctx instead.
	if took := time.Since(start); took > counter.ShutdownGrace+3*time.Second {
		t.Errorf("shutdown took %v, want at most the grace period (%v) plus exit slack", took, counter.ShutdownGrace)
	}
	select {
	case <-hung:
	case <-ctx.Done():
		t.Fatal("hung call not released by the exit")
	}
}

func TestRunRejectsBadWedge(t *testing.T) {
	err := run(t.Context(), []string{"--wedge", "delete,sideways"}, &logWatch{addr: make(chan string, 1)})
	if err == nil || !strings.Contains(err.Error(), "sideways") {
		t.Fatalf("run = %v, want an error naming the bad mode", err)
	}
}
