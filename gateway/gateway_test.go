package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func counterGateway(t testing.TB, bug Bug) (*testGateway, interface{ Stats() fakes.Stats }) {
	c, url := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}, Bug: bug})
	return gw, c
}

// The counter bug, both ways: two downstream sessions of one user drive one
// stateful upstream; 5 and 3 increments must read 5 and 3, and the emulated
// identity-keyed pool reads 8 and 8.
func TestTwoSessionsKeepSeparateUpstreamState(t *testing.T) {
	for _, tc := range []struct {
		bug          Bug
		wantA, wantB int
	}{{BugNone, 5, 3}, {BugSharedUpstream, 8, 8}} {
		t.Run(fmt.Sprintf("bug=%q", tc.bug), func(t *testing.T) {
			gw, c := counterGateway(t, tc.bug)
			a, b := connect(t, gw.URL+"/mcp", ""), connect(t, gw.URL+"/mcp", "")
			increment(t, a, "counter.increment", 5)
			increment(t, b, "counter.increment", 3)
			gotA, gotB := callValue(t, a, "counter.get", nil), callValue(t, b, "counter.get", nil)
			if gotA != tc.wantA || gotB != tc.wantB {
				t.Fatalf("A read %d and B read %d, want %d and %d", gotA, gotB, tc.wantA, tc.wantB)
			}
			wantInits := 2
			if tc.bug == BugSharedUpstream {
				wantInits = 1
			}
			if st := c.Stats(); st.Initializes != wantInits {
				t.Fatalf("upstream saw %d initializes, want %d", st.Initializes, wantInits)
			}
		})
	}
}

func TestConcurrentFirstCallsOpenOneUpstreamSession(t *testing.T) {
	gw, c := counterGateway(t, BugNone)
	cs := connect(t, gw.URL+"/mcp", "")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := tryCallValue(ctxT(t, 10*time.Second), cs, "counter.increment", nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	increment(t, cs, "counter.increment", 4)
	if got := callValue(t, cs, "counter.get", nil); got != 12 {
		t.Fatalf("counter reads %d, want 12", got)
	}
	if st := c.Stats(); st.Initializes != 1 || len(st.Live) != 1 {
		t.Fatalf("upstream saw %d initializes and %d live sessions, want 1 and 1", st.Initializes, len(st.Live))
	}
}

func TestToolsArePrefixedOnMCPAndPlainPerServer(t *testing.T) {
	gw, _ := counterGateway(t, BugNone)
	names := func(cs *mcp.ClientSession) []string {
		res, err := cs.ListTools(ctxT(t, 5*time.Second), nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tool := range res.Tools {
			out = append(out, tool.Name)
		}
		return out
	}
	if got := names(connect(t, gw.URL+"/mcp", "")); !slices.Contains(got, "counter.increment") {
		t.Fatalf("/mcp tools %v lack counter.increment", got)
	}
	per := connect(t, gw.URL+"/servers/counter/mcp", "")
	if got := names(per); !slices.Contains(got, "increment") {
		t.Fatalf("/servers/counter/mcp tools %v lack increment", got)
	}
	if got := callValue(t, per, "increment", map[string]any{"by": 2}); got != 2 {
		t.Fatalf("per-server increment read %d, want 2", got)
	}
}

func TestDownstreamSessionIDNeverReachesUpstream(t *testing.T) {
	gw, c := counterGateway(t, BugNone)
	cs := connect(t, gw.URL+"/mcp", "")
	increment(t, cs, "counter.increment", 2)
	st := c.Stats()
	for _, h := range st.Headers {
		for _, vs := range h.Headers {
			for _, v := range vs {
				if strings.Contains(v, cs.ID()) {
					t.Fatalf("upstream saw the downstream session id in %s request headers: %v", h.Method, h.Headers)
				}
			}
		}
	}
	if len(st.Live) != 1 || st.Live[0].ID == cs.ID() {
		t.Fatalf("upstream session id must differ from the downstream one: %+v", st.Live)
	}
}

func TestUpstreamRestartCostsOneRebuild(t *testing.T) {
	c, url := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}})
	cs := connect(t, gw.URL+"/mcp", "")
	increment(t, cs, "counter.increment", 3)
	c.DropSessions()
	if got := callValue(t, cs, "counter.increment", nil); got != 1 {
		t.Fatalf("after the upstream lost its sessions the next call read %d, want 1 on a fresh session", got)
	}
	if st := c.Stats(); st.Initializes != 2 {
		t.Fatalf("upstream saw %d initializes, want 2", st.Initializes)
	}
}

func TestIdleProbeRebuildsALostSession(t *testing.T) {
	c, url := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}, ProbeAfterIdle: time.Nanosecond})
	cs := connect(t, gw.URL+"/mcp", "")
	increment(t, cs, "counter.increment", 2)
	c.DropSessions()
	if got := callValue(t, cs, "counter.get", nil); got != 0 {
		t.Fatalf("read %d after the probe, want 0 from a rebuilt session", got)
	}
}

// A current go-sdk client probes the sessionless 2026-07-28 revision first
// and must fall back to a session-bearing one.
// A gateway serving only the session era makes a current client, which
// probes 2026-07-28 first, fall back to a session.
func TestCurrentSDKClientNegotiatesASessionRevision(t *testing.T) {
	_, up := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: up + "/mcp"}}, Shape: Shape{Eras: []string{EraSession}}})
	c := mcp.NewClient(&mcp.Implementation{Name: "gateway-test", Version: "0"}, nil)
	cs, err := c.Connect(ctxT(t, 10*time.Second), &mcp.StreamableClientTransport{Endpoint: gw.URL + "/mcp", DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	if v := cs.InitializeResult().ProtocolVersion; !slices.Contains(sessionRevisions, v) || cs.ID() == "" {
		t.Fatalf("negotiated %q with session %q, want a session-bearing revision and a session id", v, cs.ID())
	}
}

func TestMetricsCountSessionsAndEvictions(t *testing.T) {
	gw, _ := counterGateway(t, BugNone)
	cs := connect(t, gw.URL+"/mcp", "")
	increment(t, cs, "counter.increment", 1)
	cs.Close()
	eventually(t, 3*time.Second, "eviction counted", func() bool {
		_, _, body := rawRequest(t, "GET", gw.URL+"/metrics", nil, "")
		return strings.Contains(body, `mcpgw_upstream_session_evictions_total{cause="delete"`) &&
			strings.Contains(body, `mcpgw_upstream_session_creations_total{replica=`) &&
			strings.Contains(body, "mcpgw_downstream_sessions{")
	})
}

// An upstream on the older HTTP+SSE transport is reached the same way.
func TestSSEUpstream(t *testing.T) {
	type in struct {
		By int `json:"by"`
	}
	type out struct {
		Value int `json:"value"`
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "sse-upstream", Version: "0"}, nil)
	var mu sync.Mutex
	values := map[*mcp.ServerSession]int{} // SSE sessions may have no id
	mcp.AddTool(srv, &mcp.Tool{Name: "increment"}, func(_ context.Context, req *mcp.CallToolRequest, args in) (*mcp.CallToolResult, out, error) {
		mu.Lock()
		defer mu.Unlock()
		values[req.Session] += max(args.By, 1)
		return nil, out{Value: values[req.Session]}, nil
	})
	ts := httptest.NewServer(mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(ts.Close)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "legacy", URL: ts.URL, Transport: TransportSSE}}})
	a, b := connect(t, gw.URL+"/mcp", ""), connect(t, gw.URL+"/mcp", "")
	increment(t, a, "legacy.increment", 2)
	if got := callValue(t, b, "legacy.increment", map[string]any{"by": 1}); got != 1 {
		t.Fatalf("second session read %d over the SSE upstream, want 1", got)
	}
}
