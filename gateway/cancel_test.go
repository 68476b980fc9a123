package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// blockingUpstream is a counter fake with a tool "block" that returns only
// when its call is cancelled (or the fake closes), and a count of the TCP
// connections the gateway holds open to it.
type blockingUpstream struct {
	url     string
	running atomic.Int32 // "block" calls in progress
	conns   atomic.Int32 // open connections
}

func startBlockingUpstream(t *testing.T) *blockingUpstream {
	t.Helper()
	b := &blockingUpstream{}
	c := counter.NewWithHooks(counter.Options{}, counter.Hooks{Tools: func(c *counter.Server, srv *mcp.Server) {
		mcp.AddTool(srv, &mcp.Tool{Name: "block", Description: "Returns when cancelled."},
			func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, counter.Result, error) {
				b.running.Add(1)
				defer b.running.Add(-1)
				select {
				case <-ctx.Done():
				case <-c.Done():
				}
				return nil, counter.Result{}, fmt.Errorf("block: released")
			})
	}})
	ts := httptest.NewUnstartedServer(c.Handler())
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			b.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			b.conns.Add(-1)
		}
	}
	ts.Start()
	t.Cleanup(func() { c.Close(); ts.CloseClientConnections(); ts.Close() })
	b.url = ts.URL + "/mcp"
	return b
}

// abandonCalls starts n calls of tool in session sid at endpoint, waits for
// the upstream to be running all of them, then gives every one up.
func abandonCalls(t *testing.T, up *blockingUpstream, endpoint, sid, tool string, n int) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.Transport.(*http.Transport).CloseIdleConnections()
	ctx, giveUp := context.WithCancel(context.Background())
	defer giveUp()
	var wg sync.WaitGroup
	before := up.running.Load()
	for i := range n {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, 1000+i, tool)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
		for k, v := range with(postHeaders, headerSessionID, sid) {
			req.Header.Set(k, v)
		}
		wg.Go(func() {
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("call %d answered %d before it was abandoned", i, resp.StatusCode)
			}
		})
	}
	eventually(t, 10*time.Second, "upstream running every call", func() bool { return up.running.Load() == before+int32(n) })
	giveUp()
	wg.Wait()
}

func TestAbandonedCallsAreCancelledUpstream(t *testing.T) {
	for _, route := range []string{"/mcp", "/servers/up/mcp"} {
		t.Run(route, func(t *testing.T) {
			up := startBlockingUpstream(t)
			gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "up", URL: up.url}}})
			tool := "block"
			if route == "/mcp" {
				tool = "up.block"
			}
			cs := connect(t, gw.URL+route, "")
			get := "get"
			if route == "/mcp" {
				get = "up.get"
			}
			callValue(t, cs, get, nil) // the upstream session exists before the baseline
			goroutines, conns := runtime.NumGoroutine(), up.conns.Load()

			const abandoned = 30
			abandonCalls(t, up, gw.URL+route, cs.ID(), tool, abandoned)

			eventually(t, 5*time.Second, "the upstream saw every abandoned call cancelled", func() bool { return up.running.Load() == 0 })
			// The cancellations went out while the calls' connections were
			// busy, so they left idle connections in the upstream's pool,
			// which the pool reuses and expires: those are not held by
			// abandoned calls, and are let go before counting.
			closeIdleUpstreamConns(gw.Gateway)
			eventually(t, 5*time.Second, fmt.Sprintf("upstream connections back near %d", conns), func() bool { return up.conns.Load() <= conns+2 })
			eventually(t, 5*time.Second, fmt.Sprintf("goroutines back near %d", goroutines), func() bool { return runtime.NumGoroutine() <= goroutines+10 })
			// The session still works.
			callValue(t, cs, get, nil)
		})
	}
}

func closeIdleUpstreamConns(g *Gateway) {
	g.registry.mu.Lock()
	defer g.registry.mu.Unlock()
	for _, t := range g.registry.transports {
		if t.client != nil {
			t.client.CloseIdleConnections()
		}
	}
}

func TestACallPastTheCallTimeoutFailsAndIsCancelledUpstream(t *testing.T) {
	for _, route := range []string{"/mcp", "/servers/up/mcp"} {
		t.Run(route, func(t *testing.T) {
			up := startBlockingUpstream(t)
			const callTimeout = 300 * time.Millisecond
			gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "up", URL: up.url}}, CallTimeout: callTimeout})
			tool := "block"
			if route == "/mcp" {
				tool = "up.block"
			}
			cs := connect(t, gw.URL+route, "")
			start := time.Now()
			_, err := cs.CallTool(ctxT(t, 10*time.Second), &mcp.CallToolParams{Name: tool})
			if err == nil {
				t.Fatal("a call past the call timeout succeeded")
			}
			if took := time.Since(start); took > callTimeout+2*time.Second {
				t.Fatalf("the call failed after %v with a call timeout of %v", took, callTimeout)
			}
			if route == "/mcp" && !strings.Contains(err.Error(), "call-timeout") {
				t.Fatalf("the error should name --call-timeout: %v", err)
			}
			eventually(t, 5*time.Second, "the upstream saw the call cancelled", func() bool { return up.running.Load() == 0 })
		})
	}
}
