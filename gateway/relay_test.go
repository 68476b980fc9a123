package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// connectWith opens a session on endpoint whose client has opts.
func connectWith(t *testing.T, endpoint string, opts *mcp.ClientOptions, roots ...*mcp.Root) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "gateway-test", Version: "0"}, opts)
	c.AddRoots(roots...)
	cs, err := c.Connect(ctxT(t, 10*time.Second), &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: &http.Client{Timeout: 10 * time.Second}, DisableStandaloneSSE: true}, sessionEra)
	if err != nil {
		t.Fatalf("connect %s: %v", endpoint, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// upstreamRequests lists the server-to-client requests the fake's sessions
// sent, as "method outcome answer".
func upstreamRequests(st fakes.Stats) []string {
	var out []string
	for _, s := range st.Live {
		if s.Routing != nil {
			for _, q := range s.Routing.Requests {
				out = append(out, strings.TrimSpace(q.Method+" "+q.Outcome+" "+q.Answer))
			}
		}
	}
	return out
}

// roots/list reaches the owning session's client on both routes, and its
// answer the upstream session that asked.
func TestRootsListIsRelayedToItsOwnClient(t *testing.T) {
	gw, up := counterGateway(t, BugNone)
	for route, tool := range map[string]string{"/mcp": "counter.roots", "/servers/counter/mcp": "roots"} {
		a := connectWith(t, gw.URL+route, nil, &mcp.Root{URI: "file:///a"})
		b := connectWith(t, gw.URL+route, nil, &mcp.Root{URI: "file:///b"})
		for cs, want := range map[*mcp.ClientSession]string{a: "file:///a", b: "file:///b"} {
			res, err := cs.CallTool(ctxT(t, 10*time.Second), callParams(tool))
			if err != nil || res.IsError {
				t.Fatalf("%s %s: %v %+v", route, tool, err, res)
			}
			raw, _ := json.Marshal(res.StructuredContent)
			if !strings.Contains(string(raw), `"answer":"`+want+`"`) {
				t.Errorf("%s: %s answered %s, want %s", route, tool, raw, want)
			}
		}
	}
	if got := upstreamRequests(up.Stats()); len(got) != 4 {
		t.Errorf("upstream requests %q", got)
	}
}

// A client without the roots capability is not asked: the upstream gets
// an error at once.
func TestRootsListWithoutTheCapabilityFailsAtOnce(t *testing.T) {
	gw, up := counterGateway(t, BugNone)
	cs := connectWith(t, gw.URL+"/mcp", &mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}})
	start := time.Now()
	res, err := cs.CallTool(ctxT(t, 10*time.Second), callParams("counter.roots"))
	if err != nil || !res.IsError || time.Since(start) > 2*time.Second {
		t.Fatalf("roots from a client without roots: %v %+v after %v", err, res, time.Since(start))
	}
	if got := upstreamRequests(up.Stats()); len(got) != 1 || got[0] != "roots/list error" {
		t.Errorf("upstream requests %q", got)
	}
}

// A call whose POST accepts no event stream, in a session with no GET
// stream, gets one JSON answer at once, and the upstream's elicitation an
// error; under hold-undeliverable the call hangs.
func TestNoStreamCallFailsItsElicitationAtOnce(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugHoldUndeliverable} {
		t.Run(string(bug), func(t *testing.T) {
			// Short bounds: under the bug the held call lasts until the
			// call times out, and the test's cleanup would wait for it.
			up, upURL := fakeUpstream(t)
			gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: upURL + "/mcp"}}, Bug: bug,
				CallTimeout: 4 * time.Second, ShutdownTimeout: time.Second})
			url := gw.URL + "/mcp"
			caps := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"elicitation":{}},"clientInfo":{"name":"raw","version":"0"}}}`
			_, h, _ := rawRequest(t, http.MethodPost, url, postHeaders, caps)
			sid := h.Get(headerSessionID)
			// The client accepts only JSON from here on, notifications too.
			if status, _, body := rawRequest(t, http.MethodPost, url, with(postHeaders, headerSessionID, sid, "Accept", "application/json"), `{"jsonrpc":"2.0","method":"notifications/initialized"}`); status != http.StatusAccepted {
				t.Fatalf("notifications/initialized accepting only JSON: %d %s", status, body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"counter.ask","arguments":{}}}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.Header.Set(headerSessionID, sid)
			resp, err := http.DefaultClient.Do(req)
			if bug == BugHoldUndeliverable {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("the held elicitation's call was answered within 3s: %d", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("no answer within 3s: %v", err)
			}
			defer resp.Body.Close()
			var msg struct {
				ID     int `json:"id"`
				Result struct {
					IsError bool `json:"isError"`
				} `json:"result"`
			}
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "application/json" || json.NewDecoder(resp.Body).Decode(&msg) != nil {
				t.Fatalf("answer %d %s", resp.StatusCode, ct)
			}
			if msg.ID != 2 || !msg.Result.IsError {
				t.Errorf("answer %+v, want id 2 with a tool error", msg)
			}
			if got := upstreamRequests(up.Stats()); len(got) != 1 || got[0] != "elicitation/create error" {
				t.Errorf("upstream requests %q", got)
			}
		})
	}
}

func TestOffersNoStream(t *testing.T) {
	for accept, want := range map[string]bool{
		"application/json":                    true,
		"application/json;q=0.9":              true,
		"application/json, text/event-stream": false,
		"application/json, */*":               false,
		"text/event-stream":                   false,
		"text/html":                           false,
	} {
		if got := offersNoStream(http.Header{"Accept": {accept}}); got != want {
			t.Errorf("Accept %q: no stream %v, want %v", accept, got, want)
		}
	}
	if offersNoStream(http.Header{}) {
		t.Error("no Accept at all counts as no stream")
	}
}
