package gateway

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes/wedge"
)

func TestPassThroughKeepsSessionsApart(t *testing.T) {
	c, url := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp", Headers: map[string]string{"X-Upstream-Key": "k"}}},
		Tokens: map[string]string{"tok-alice": "alice"}})
	a := connect(t, gw.URL+"/servers/counter/mcp", "tok-alice")
	b := connect(t, gw.URL+"/servers/counter/mcp", "tok-alice")
	increment(t, a, "increment", 5)
	increment(t, b, "increment", 3)
	if ga, gb := callValue(t, a, "get", nil), callValue(t, b, "get", nil); ga != 5 || gb != 3 {
		t.Fatalf("read %d and %d, want 5 and 3", ga, gb)
	}
	st := c.Stats()
	if st.Initializes != 2 || len(st.Live) != 2 {
		t.Fatalf("upstream saw %d initializes and %d live sessions, want 2 and 2", st.Initializes, len(st.Live))
	}
	for _, h := range st.Headers {
		if h.Headers["Authorization"] != nil {
			t.Fatalf("the gateway's bearer token reached the upstream: %v", h.Headers)
		}
		if got := h.Headers["X-Upstream-Key"]; len(got) != 1 || got[0] != "k" {
			t.Fatalf("configured upstream header missing: %v", h.Headers)
		}
		for _, sid := range []string{a.ID(), b.ID()} {
			if h.Session == sid {
				t.Fatalf("a downstream session id reached the upstream")
			}
		}
	}
	for _, s := range st.Live {
		if s.ID == a.ID() || s.ID == b.ID() {
			t.Fatal("an upstream session id was shown downstream")
		}
	}
}

func TestPassThroughRebuildsALostUpstreamSession(t *testing.T) {
	c, url := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}})
	cs := connect(t, gw.URL+"/servers/counter/mcp", "")
	increment(t, cs, "increment", 3)
	c.DropSessions()
	var wg sync.WaitGroup
	for range 4 { // concurrent requests after the loss re-initialize once
		wg.Go(func() {
			if _, err := tryCallValue(ctxT(t, 10*time.Second), cs, "increment", nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := callValue(t, cs, "get", nil); got != 4 {
		t.Fatalf("after the upstream restart read %d, want 4 on one fresh session", got)
	}
	if st := c.Stats(); st.Initializes != 2 {
		t.Fatalf("upstream saw %d initializes, want 2", st.Initializes)
	}
}

func TestPassThroughDeleteAndUpstreamChange(t *testing.T) {
	oldC, oldURL := fakeUpstream(t)
	newC, newURL := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: oldURL + "/mcp"}}, AdminToken: adminToken})
	kept := connect(t, gw.URL+"/servers/counter/mcp", "")
	gone := connect(t, gw.URL+"/servers/counter/mcp", "")
	increment(t, kept, "increment", 2)
	increment(t, gone, "increment", 1)
	if status, _, _ := rawRequest(t, http.MethodDelete, gw.URL+"/servers/counter/mcp", map[string]string{headerSessionID: gone.ID()}, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d", status)
	}
	eventually(t, 3*time.Second, "deleted session ended upstream", func() bool {
		st := oldC.Stats()
		return len(st.Ended) == 1 && st.Ended[0].EndReason == "deleted"
	})
	status, _, _ := rawRequest(t, http.MethodPost, gw.URL+"/servers/counter/mcp", with(postHeaders, headerSessionID, gone.ID()), `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	if status != http.StatusNotFound {
		t.Fatalf("after DELETE: %d, want 404", status)
	}
	if r := adminPut(t, gw, Upstream{ID: "counter", URL: newURL + "/mcp"}); r.Evicted != 1 {
		t.Fatalf("URL change evicted %d, want 1", r.Evicted)
	}
	eventually(t, 3*time.Second, "old upstream session ended", func() bool { return len(oldC.Stats().Ended) == 2 })
	if got := callValue(t, kept, "get", nil); got != 0 {
		t.Fatalf("after the URL change read %d, want 0 from the new upstream", got)
	}
	if st := newC.Stats(); st.Initializes != 1 {
		t.Fatalf("new upstream saw %d initializes, want 1", st.Initializes)
	}
}

func TestPassThroughShutdownIsBounded(t *testing.T) {
	const grace = 500 * time.Millisecond
	_, url := wedgeUpstream(t, wedge.Delete)
	g, gwURL := servedGateway(t, Config{Upstreams: []Upstream{{ID: "w", URL: url}}, ShutdownTimeout: grace})
	openSessions(t, gwURL+"/servers/w/mcp", 20, "increment")
	if took, ok := timeShutdown(t, g, 2*grace+time.Second, 10*time.Second); !ok {
		t.Fatalf("shutdown with 20 wedged pass-through sessions took %v", took)
	}
}

func TestPassThroughOversizedBodyIs413(t *testing.T) {
	_, url := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}, MaxBodyBytes: 1024})
	cs := connect(t, gw.URL+"/servers/counter/mcp", "")
	body := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("x", 2048) + `"}}`
	if status, _, _ := rawRequest(t, http.MethodPost, gw.URL+"/servers/counter/mcp", with(postHeaders, headerSessionID, cs.ID()), body); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d, want 413", status)
	}
}
