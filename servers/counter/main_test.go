package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"
)

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

func TestRunServesAndStops(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	w := &logWatch{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() { done <- run(runCtx, []string{"--listen", "127.0.0.1:0"}, w) }()
	var base string
	select {
	case addr := <-w.addr:
		base = "http://" + addr
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
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "increment"}); err != nil {
		t.Fatal(err)
	}
	st, err := fakes.FetchStats(ctx, base)
	if err != nil || len(st.Live) != 1 || st.Live[0].Value != 1 {
		t.Fatalf("stats = %+v, %v", st, err)
	}

	// The client's standalone stream is still open: shutdown must not wait
	// the whole grace period for it.
	start := time.Now()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("run did not stop")
	}
	if took := time.Since(start); took >= time.Second {
		t.Errorf("shutdown took %v with only an idle stream open", took)
	}
	cs.Close()
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

func TestRunRejectsBadFlags(t *testing.T) {
	if err := run(t.Context(), []string{"--nope"}, &logWatch{addr: make(chan string, 1)}); err == nil {
		t.Fatal("run accepted an unknown flag")
	}
}
