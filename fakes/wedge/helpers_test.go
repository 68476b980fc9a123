package wedge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes/wedge"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"
)

// stuckFor is how long a wedged operation must stay unanswered to count as wedged.
const stuckFor = 300 * time.Millisecond

// noLeaks checks, after every other cleanup, that the test left no goroutines.
func noLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serve starts a wedge; cleanup closes the fake before the test server,
// whose Close would otherwise wait on wedged requests.
func serve(t *testing.T, modes ...wedge.Mode) (*wedge.Server, *httptest.Server) {
	f := wedge.New(wedge.Options{Modes: modes})
	ts := httptest.NewServer(f.Handler())
	t.Cleanup(func() {
		f.Close()
		ts.Close()
	})
	return f, ts
}

func newTransport(t *testing.T, url string) *mcp.StreamableClientTransport {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1}
}

func newClient() *mcp.Client {
	return mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v1"}, nil)
}

func connect(ctx context.Context, t *testing.T, url string) *mcp.ClientSession {
	t.Helper()
	cs, err := newClient().Connect(ctx, newTransport(t, url), &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// async runs f in a goroutine and returns a channel with its error.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// stuck asserts that the operation does not finish within stuckFor.
func stuck(t *testing.T, what string, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s finished while wedged (err %v)", what, err)
	case <-time.After(stuckFor):
	}
}

// finishes asserts that the operation finishes before the test deadline.
func finishes(ctx context.Context, t *testing.T, what string, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		t.Fatalf("%s still blocked: %v", what, ctx.Err())
		return nil
	}
}
