package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// testLogger keeps test output quiet unless a test fails.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// fakeUpstream runs a counter fake on loopback for the test's lifetime.
func fakeUpstream(t testing.TB) (*counter.Server, string) {
	t.Helper()
	c := counter.New(counter.Options{})
	ts := httptest.NewServer(c.Handler())
	t.Cleanup(func() { ts.Close(); c.Close() })
	return c, ts.URL
}

type testGateway struct {
	*Gateway
	URL string
	ts  *httptest.Server
}

// startGateway runs a gateway on an httptest server; cleanup shuts it down.
func startGateway(t testing.TB, cfg Config) *testGateway {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = time.Second
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		g.Shutdown()
		ts.CloseClientConnections()
		ts.Close()
	})
	return &testGateway{Gateway: g, URL: ts.URL, ts: ts}
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// connect opens a go-sdk client session to endpoint with an optional token.
func connect(t testing.TB, endpoint, token string) *mcp.ClientSession {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	if token != "" {
		hc.Transport = bearer{token: token, base: http.DefaultTransport}
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "gateway-test", Version: "0"}, nil)
	cs, err := c.Connect(ctxT(t, 10*time.Second), &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, DisableStandaloneSSE: true}, sessionEra)
	if err != nil {
		t.Fatalf("connect %s: %v", endpoint, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// sessionEra pins a test client to a session-bearing revision: left to
// itself a go-sdk client negotiates the gateway's sessionless 2026-07-28.
var sessionEra = &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}

type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// callValue calls tool and returns the counter value from its structured content.
func callValue(t testing.TB, cs *mcp.ClientSession, tool string, args map[string]any) int {
	t.Helper()
	v, err := tryCallValue(ctxT(t, 10*time.Second), cs, tool, args)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// tryCallValue is callValue for goroutines other than the test's, which must
// not call t.Fatal: they report the error instead.
func tryCallValue(ctx context.Context, cs *mcp.ClientSession, tool string, args map[string]any) (int, error) {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return 0, fmt.Errorf("call %s: %w", tool, err)
	}
	if res.IsError {
		return 0, fmt.Errorf("call %s: tool error: %+v", tool, res.Content)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var v struct{ Value int }
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("call %s: structured content %s: %w", tool, raw, err)
	}
	return v.Value, nil
}

func increment(t *testing.T, cs *mcp.ClientSession, tool string, n int) {
	t.Helper()
	for range n {
		callValue(t, cs, tool, map[string]any{"by": 1})
	}
}

// rawRequest sends one HTTP request with a deadline and returns status, headers and body.
func rawRequest(t *testing.T, method, url string, headers map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t, 5*time.Second), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

func callParams(name string) *mcp.CallToolParams { return &mcp.CallToolParams{Name: name} }

// openSessions opens n downstream sessions on endpoint, a few at a time, and
// makes one call of tool in each so that each holds an upstream session.
// Setup is not what these tests measure, so it gets a generous deadline, and
// a failure is reported from the test's goroutine with what failed.
func openSessions(t *testing.T, endpoint string, n int, tool string) {
	t.Helper()
	const workers = 8
	ctx := ctxT(t, time.Minute)
	var (
		mu       sync.Mutex
		errs     []error
		sessions []*mcp.ClientSession
		wg       sync.WaitGroup
	)
	t.Cleanup(func() {
		for _, cs := range sessions {
			cs.Close()
		}
	})
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range workers {
		wg.Go(func() {
			for range next {
				cs, err := openAndCall(ctx, endpoint, tool)
				mu.Lock()
				if cs != nil {
					sessions = append(sessions, cs)
				}
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("opening %d sessions on %s: %d failed, first: %v", n, endpoint, len(errs), errs[0])
	}
}

// openAndCall opens one client session and calls tool once in it.
func openAndCall(ctx context.Context, endpoint, tool string) (*mcp.ClientSession, error) {
	c := mcp.NewClient(&mcp.Implementation{Name: "gateway-test", Version: "0"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, DisableStandaloneSSE: true}, sessionEra)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	_, err = tryCallValue(ctx, cs, tool, map[string]any{"by": 1})
	return cs, err
}
