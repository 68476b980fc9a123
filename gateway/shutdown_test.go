package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/mcpgw/conformance/fakes/wedge"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"
)

// servedGateway runs a gateway through Serve on a real listener, the way the
// binary does, so shutdown includes the HTTP server.
func servedGateway(t *testing.T, cfg Config) (*Gateway, string) {
	t.Helper()
	return servedGatewayLogging(t, cfg, nil)
}

// servedGatewayLogging is servedGateway that also keeps every log record,
// at every level, in logs (when not nil).
func servedGatewayLogging(t *testing.T, cfg Config, logs *recordedLogs) (*Gateway, string) {
	t.Helper()
	cfg.Logger = testLogger(t)
	if logs != nil {
		cfg.Logger = slog.New(slog.NewMultiHandler(cfg.Logger.Handler(), logs))
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(ln) }()
	t.Cleanup(func() {
		g.Shutdown()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return g, "http://" + ln.Addr().String()
}

func wedgeUpstream(t *testing.T, modes ...wedge.Mode) (*wedge.Server, string) {
	t.Helper()
	w := wedge.New(wedge.Options{Modes: modes})
	ts := httptest.NewServer(w.Handler())
	t.Cleanup(func() { w.Close(); ts.CloseClientConnections(); ts.Close() })
	return w, ts.URL + "/mcp"
}

// timeShutdown runs Shutdown and reports whether it finished within bound,
// then waits (up to wait) for it to finish either way.
func timeShutdown(t *testing.T, g *Gateway, bound, wait time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() { g.Shutdown(); close(done) }()
	select {
	case <-done:
		return time.Since(start), true
	case <-time.After(bound):
	}
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatalf("Shutdown still running after %v", bound+wait)
	}
	return time.Since(start), false
}

func TestShutdownIsBoundedWithManyWedgedUpstreams(t *testing.T) {
	const grace = 500 * time.Millisecond
	_, url := wedgeUpstream(t, wedge.Delete)
	g, gwURL := servedGateway(t, Config{Upstreams: []Upstream{{ID: "w", URL: url}}, ShutdownTimeout: grace})
	const sessions = 50
	openSessions(t, gwURL+"/mcp", sessions, "w.increment")
	if took, ok := timeShutdown(t, g, 2*grace+time.Second, 10*time.Second); !ok {
		t.Fatalf("shutdown with %d wedged upstream sessions took %v, bound %v", sessions, took, 2*grace+time.Second)
	}
}

func TestShutdownWarnsOnceForAllCutUpstreamSessions(t *testing.T) {
	const grace, sessions = 300 * time.Millisecond, 5
	_, url := wedgeUpstream(t, wedge.Delete)
	var logs recordedLogs
	g, gwURL := servedGatewayLogging(t, Config{Upstreams: []Upstream{{ID: "w", URL: url}}, ShutdownTimeout: grace}, &logs)
	openSessions(t, gwURL+"/mcp", sessions, "w.increment")
	g.Shutdown()
	var summaries []slog.Record
	for _, r := range logs.all() {
		switch {
		case r.Message == "upstream session did not close within the grace; cutting its connections" && r.Level >= slog.LevelWarn:
			t.Errorf("a per-session warning during shutdown, at %v", r.Level)
		case r.Message == "upstream sessions did not close within the grace; their connections were cut":
			summaries = append(summaries, r)
		}
	}
	if len(summaries) != 1 {
		t.Fatalf("got %d summary warnings of cut upstream sessions, want 1", len(summaries))
	}
	var cut int64
	summaries[0].Attrs(func(a slog.Attr) bool {
		if a.Key == "sessions" {
			cut = a.Value.Int64()
		}
		return true
	})
	// Sessions share their upstream's connection pool, so the first cut can
	// end other sessions' DELETEs before their own grace runs out: those
	// closed in time and are not counted.
	if cut < 1 || cut > sessions {
		t.Fatalf("the summary counts %d cut upstream sessions, want 1 to %d", cut, sessions)
	}
}

func TestEmulatedUnboundedShutdownBreaksTheBound(t *testing.T) {
	const grace = 300 * time.Millisecond
	_, url := wedgeUpstream(t, wedge.Delete)
	g, gwURL := servedGateway(t, Config{Upstreams: []Upstream{{ID: "w", URL: url}}, ShutdownTimeout: grace, Bug: BugUnboundedShutdown})
	increment(t, connect(t, gwURL+"/mcp", ""), "w.increment", 1)
	if took, ok := timeShutdown(t, g, 2*grace+time.Second, 10*time.Second); ok {
		t.Fatalf("the emulated bug should overrun the bound, took %v", took)
	}
}

func TestShutdownCutsAHungToolCall(t *testing.T) {
	const grace = 500 * time.Millisecond
	w, url := wedgeUpstream(t, wedge.Call)
	g, gwURL := servedGateway(t, Config{Upstreams: []Upstream{{ID: "w", URL: url}}, ShutdownTimeout: grace})
	cs := connect(t, gwURL+"/mcp", "")
	callErr := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctxT(t, 30*time.Second), &mcp.CallToolParams{Name: "w.hang"})
		callErr <- err
	}()
	eventually(t, 5*time.Second, "upstream received the hanging call", func() bool {
		st := w.Stats()
		return len(st.Live) == 1 && st.Live[0].Calls == 1
	})
	if took, ok := timeShutdown(t, g, 2*grace+time.Second, 10*time.Second); !ok {
		t.Fatalf("shutdown with a hung call took %v", took)
	}
	select {
	case err := <-callErr:
		if err == nil {
			t.Fatal("the hung call returned success")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the client of the hung call is still waiting after shutdown")
	}
}

func TestShutdownClosesHealthyUpstreamSessionsCleanly(t *testing.T) {
	c, url := fakeUpstream(t)
	g, gwURL := servedGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}, ShutdownTimeout: time.Second})
	for range 3 {
		increment(t, connect(t, gwURL+"/mcp", ""), "counter.increment", 1)
	}
	g.Shutdown()
	st := c.Stats()
	if len(st.Live) != 0 || len(st.Ended) != 3 {
		t.Fatalf("after shutdown: %d live, %d ended upstream sessions, want 0 and 3", len(st.Live), len(st.Ended))
	}
	for _, s := range st.Ended {
		if s.EndReason != "deleted" {
			t.Fatalf("upstream session %s ended %q, want deleted", s.ID, s.EndReason)
		}
	}
}

func TestGatewayLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := counter.New(counter.Options{})
	ts := httptest.NewServer(c.Handler())
	w := wedge.New(wedge.Options{Modes: []wedge.Mode{wedge.Delete, wedge.Initialize}})
	ws := httptest.NewServer(w.Handler())
	g, err := New(Config{
		Upstreams:       []Upstream{{ID: "counter", URL: ts.URL + "/mcp"}, {ID: "w", URL: ws.URL + "/mcp"}},
		ShutdownTimeout: 300 * time.Millisecond, ConnectTimeout: 500 * time.Millisecond, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	served := make(chan error, 1)
	go func() { served <- g.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/mcp"

	a, b := connectNoCleanup(t, url), connectNoCleanup(t, url)
	increment(t, a, "counter.increment", 2)
	increment(t, b, "counter.increment", 1)
	pass := connectNoCleanup(t, strings.TrimSuffix(url, "/mcp")+"/servers/counter/mcp")
	increment(t, pass, "increment", 1)                                           // a pass-through session, left for shutdown
	a.Close()                                                                    // DELETE path
	b.CallTool(ctxT(t, 5*time.Second), &mcp.CallToolParams{Name: "w.increment"}) // wedged initialize: fails after ConnectTimeout
	b.ListTools(ctxT(t, 5*time.Second), nil)                                     // lists around the broken upstream
	listen := openListenNoCleanup(t, url, "", 1, "counter://leak")               // a 2026-07-28 listen, left for shutdown
	listen.expectAck(t, "1", "counter://leak")
	g.Shutdown()
	<-served
	listen.close()
	b.Close()
	pass.Close()
	ts.CloseClientConnections()
	ts.Close()
	c.Close()
	w.Close()
	ws.CloseClientConnections()
	ws.Close()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}

func connectNoCleanup(t *testing.T, endpoint string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "leak-test", Version: "0"}, nil)
	cs, err := c.Connect(ctxT(t, 10*time.Second), &mcp.StreamableClientTransport{Endpoint: endpoint, DisableStandaloneSSE: true}, sessionEra)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// recordedLogs is a slog handler that keeps every record for a test to read.
type recordedLogs struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *recordedLogs) Enabled(context.Context, slog.Level) bool { return true }

func (l *recordedLogs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}

// Attributes added with With are not kept: these tests read record attributes.
func (l *recordedLogs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *recordedLogs) WithGroup(string) slog.Handler      { return l }

func (l *recordedLogs) all() []slog.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]slog.Record(nil), l.records...)
}
