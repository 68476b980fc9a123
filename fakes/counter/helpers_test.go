package counter_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"
)

// noLeaks checks, after every other cleanup, that the test left no goroutines.
func noLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// testCtx bounds every wait in a test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serve starts the fake on a test server; cleanup closes the fake first so
// no request is left blocking the test server's Close.
func serve(t *testing.T) (*counter.Server, *httptest.Server) {
	f := counter.New(counter.Options{})
	ts := httptest.NewServer(f.Handler())
	t.Cleanup(func() {
		f.Close()
		ts.Close()
	})
	return f, ts
}

// headerTransport adds fixed headers to every request, like a gateway would.
type headerTransport struct {
	base   http.RoundTripper
	header http.Header
}

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.header {
		r.Header[k] = v
	}
	return h.base.RoundTrip(r)
}

// conn adjusts a test client.
type conn struct {
	header http.Header // added to every request
	noSSE  bool        // no standalone GET stream
	// modern lets the client negotiate 2026-07-28 (server/discover, no
	// session); otherwise it initializes a 2025-11-25 session.
	modern bool
	opts   *mcp.ClientOptions
}

// connect opens a client session with its own HTTP transport, closed at cleanup.
func connect(ctx context.Context, t *testing.T, url string, c conn) *mcp.ClientSession {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v1"}, c.opts)
	sopts := &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}
	if c.modern {
		sopts = nil
	}
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:             url + "/mcp",
		HTTPClient:           &http.Client{Transport: headerTransport{base: tr, header: c.header}},
		MaxRetries:           -1,
		DisableStandaloneSSE: c.noSSE,
	}, sopts)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// call runs a tool and returns the value from its structured content.
func call(ctx context.Context, cs *mcp.ClientSession, tool string, args any) (int, error) {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return 0, err
	}
	if res.IsError {
		return 0, &toolError{res}
	}
	raw, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return 0, err
	}
	var out counter.Result
	if err := json.Unmarshal(raw, &out); err != nil {
		return 0, err
	}
	return out.Value, nil
}

type toolError struct{ res *mcp.CallToolResult }

func (e *toolError) Error() string {
	raw, _ := json.Marshal(e.res.Content)
	return "tool error: " + string(raw)
}

func mustCall(ctx context.Context, t *testing.T, cs *mcp.ClientSession, tool string, args any) int {
	t.Helper()
	v, err := call(ctx, cs, tool, args)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return v
}
