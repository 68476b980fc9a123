package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// modernReply is a decoded 2026-07-28 JSON-RPC answer.
type modernReply struct {
	Status int
	Header http.Header
	Result map[string]any
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
}

var modernIDs atomic.Int64

// modernCall sends one 2026-07-28 request. hdr overrides the headers a
// correct client sends (an empty value deletes one).
func modernCall(t *testing.T, url, token, method string, params map[string]any, hdr map[string]string) modernReply {
	t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	meta, _ := params["_meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta[metaProtocol] = EraSessionless
	meta["io.modelcontextprotocol/clientCapabilities"] = map[string]any{}
	params["_meta"] = meta
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": modernIDs.Add(1), "method": method, "params": params})
	req, _ := http.NewRequestWithContext(ctxT(t, 10*time.Second), http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(headerProtocolVersion, EraSessionless)
	req.Header.Set(headerMethod, method)
	if name, ok := params["name"].(string); ok {
		req.Header.Set(headerName, name)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	out := modernReply{Status: resp.StatusCode, Header: resp.Header}
	var msg struct {
		Result map[string]any `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&msg)
	out.Result, out.Error = msg.Result, msg.Error
	return out
}

// modernValue calls tool and returns the counter value it reports.
func modernValue(t *testing.T, url, token, tool string, args map[string]any, meta map[string]any) int {
	t.Helper()
	params := map[string]any{"name": tool, "arguments": args}
	if meta != nil {
		params["_meta"] = meta
	}
	r := modernCall(t, url, token, "tools/call", params, nil)
	if r.Status != 200 || r.Error != nil || r.Result["isError"] == true {
		t.Fatalf("%s: status %d error %+v result %v", tool, r.Status, r.Error, r.Result)
	}
	sc, _ := r.Result["structuredContent"].(map[string]any)
	v, _ := sc["value"].(float64)
	return int(v)
}

func sessionlessGateway(t *testing.T, bug Bug) (*testGateway, string) {
	_, up := fakeUpstream(t)
	g := startGateway(t, Config{
		Upstreams: []Upstream{{ID: "counter", URL: up + "/mcp"}},
		Tokens:    map[string]string{"tok-alice": "alice", "tok-bob": "bob"},
		Bug:       bug,
	})
	return g, up
}

func TestSDKClientNegotiatesSessionlessAndIsBridged(t *testing.T) {
	c, up := fakeUpstream(t)
	g := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: up + "/mcp"}}})
	client := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "0"}, nil)
	cs, err := client.Connect(ctxT(t, 10*time.Second), &mcp.StreamableClientTransport{Endpoint: g.URL + "/mcp", DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	if v := cs.InitializeResult().ProtocolVersion; v != EraSessionless || cs.ID() != "" {
		t.Fatalf("negotiated %q with session %q, want %s without one", v, cs.ID(), EraSessionless)
	}
	for range 3 {
		callValue(t, cs, "counter.increment", map[string]any{"by": 1})
	}
	if v := callValue(t, cs, "counter.get", nil); v != 3 {
		t.Fatalf("bridged counter reads %d, want 3", v)
	}
	tools, err := cs.ListTools(ctxT(t, 5*time.Second), nil)
	if err != nil || len(tools.Tools) == 0 || tools.CacheScope != "private" {
		t.Fatalf("tools/list: %v %+v", err, tools)
	}
	st := c.Stats()
	if st.Initializes != 1 || len(st.Live) != 1 || st.Live[0].Value != 3 {
		t.Fatalf("upstream saw %+v, want one session at 3", st)
	}
}

func TestSessionlessIdentitiesNeverShareAnUpstreamSession(t *testing.T) {
	for _, tc := range []struct {
		bug        Bug
		alice, bob int
	}{{BugNone, 5, 3}, {BugSharedBridge, 8, 8}} {
		t.Run(string(tc.bug), func(t *testing.T) {
			g, _ := sessionlessGateway(t, tc.bug)
			url := g.URL + "/mcp"
			for range 5 {
				modernValue(t, url, "tok-alice", "counter.increment", nil, nil)
			}
			for range 3 {
				modernValue(t, url, "tok-bob", "counter.increment", nil, nil)
			}
			a := modernValue(t, url, "tok-alice", "counter.get", nil, nil)
			b := modernValue(t, url, "tok-bob", "counter.get", nil, nil)
			if a != tc.alice || b != tc.bob {
				t.Fatalf("alice %d bob %d, want %d and %d", a, b, tc.alice, tc.bob)
			}
		})
	}
}

func TestConversationHandlesKeepConversationsApart(t *testing.T) {
	g, _ := sessionlessGateway(t, BugNone)
	url := g.URL + "/servers/counter/mcp"
	handle := func(token string) string {
		r := modernCall(t, url, token, "server/discover", nil, nil)
		meta, _ := r.Result["_meta"].(map[string]any)
		h, _ := meta[metaConversation].(string)
		if r.Status != 200 || h == "" || r.Result["cacheScope"] != "private" {
			t.Fatalf("discover: %d %v", r.Status, r.Result)
		}
		return h
	}
	h1, h2 := handle("tok-alice"), handle("tok-alice")
	modernValue(t, url, "tok-alice", "increment", map[string]any{"by": 5}, map[string]any{metaConversation: h1})
	modernValue(t, url, "tok-alice", "increment", map[string]any{"by": 3}, map[string]any{metaConversation: h2})
	if v := modernValue(t, url, "tok-alice", "get", nil, map[string]any{metaConversation: h1}); v != 5 {
		t.Fatalf("conversation 1 reads %d, want 5", v)
	}
	if v := modernValue(t, url, "tok-alice", "get", nil, nil); v != 0 {
		t.Fatalf("the default conversation reads %d, want 0", v)
	}
	for _, forged := range []string{h1 + "x", "nonce.sig", h1[:strings.Index(h1, ".")]} {
		r := modernCall(t, url, "tok-alice", "tools/call", map[string]any{"name": "get", "_meta": map[string]any{metaConversation: forged}}, nil)
		if r.Status != 400 {
			t.Fatalf("forged handle %q: %d", forged, r.Status)
		}
	}
	// Alice's handle is no good to Bob.
	r := modernCall(t, url, "tok-bob", "tools/call", map[string]any{"name": "get", "_meta": map[string]any{metaConversation: h1}}, nil)
	if r.Status != 400 {
		t.Fatalf("bob presenting alice's handle: %d %v", r.Status, r.Result)
	}
}

func TestSessionlessHeadersAreChecked(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugNoHeaderCheck} {
		t.Run(string(bug)+"-", func(t *testing.T) {
			g, _ := sessionlessGateway(t, bug)
			c := g.URL + "/mcp"
			modernValue(t, c, "tok-alice", "counter.increment", nil, nil)
			cases := []map[string]string{
				{headerMethod: "tools/list"},
				{headerMethod: ""},
				{headerName: "counter.get"},
				{headerName: ""},
			}
			for _, hdr := range cases {
				r := modernCall(t, c, "tok-alice", "tools/call", map[string]any{"name": "counter.increment"}, hdr)
				bad := r.Status == 400 && r.Error != nil && r.Error.Code == codeHeaderMismatch
				if bad != (bug == BugNone) {
					t.Fatalf("headers %v: status %d error %+v", hdr, r.Status, r.Error)
				}
			}
			want := 1
			if bug != BugNone {
				want += len(cases)
			}
			if v := modernValue(t, c, "tok-alice", "counter.get", nil, nil); v != want {
				t.Fatalf("counter %d after rejected calls, want %d", v, want)
			}
			// The revision must be in both places, and agree.
			r := modernCall(t, c, "tok-alice", "tools/list", nil, map[string]string{headerProtocolVersion: "2027-01-01"})
			if r.Status != 400 || r.Error == nil || r.Error.Code != codeUnsupportedVersion {
				t.Fatalf("unsupported revision: %d %+v", r.Status, r.Error)
			}
		})
	}
}

func TestSessionlessEdges(t *testing.T) {
	g, _ := sessionlessGateway(t, BugNone)
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		code, hdr, _ := rawRequest(t, m, g.URL+"/mcp", map[string]string{"Authorization": "Bearer tok-alice", headerProtocolVersion: EraSessionless, headerSessionID: "whatever"}, "")
		if code != 405 || hdr.Get("Allow") != "POST" {
			t.Fatalf("%s: %d Allow %q", m, code, hdr.Get("Allow"))
		}
	}
	r := modernCall(t, g.URL+"/mcp", "tok-alice", "tools/list", nil, map[string]string{headerSessionID: "made-up", "Last-Event-ID": "7"})
	if r.Status != 200 || r.Header.Get(headerSessionID) != "" {
		t.Fatalf("tools/list with a stray session id: %d, Mcp-Session-Id %q", r.Status, r.Header.Get(headerSessionID))
	}
	// No credentials: 401 first, as in the session era.
	if r := modernCall(t, g.URL+"/mcp", "", "tools/list", nil, nil); r.Status != 401 {
		t.Fatalf("no token: %d", r.Status)
	}
	// A bridge is not a session anyone can address.
	for _, s := range g.sessions.all() {
		code, _, _ := rawRequest(t, http.MethodPost, g.URL+"/mcp", map[string]string{"Authorization": "Bearer tok-alice", headerSessionID: s.id, "Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
			`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
		if code != 404 {
			t.Fatalf("bridge id %s as a session: %d", s.id, code)
		}
	}
}

func TestPrivateListsAreNotShared(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugSharedPrivateCache} {
		t.Run(string(bug)+"-", func(t *testing.T) {
			g, _ := sessionlessGateway(t, bug)
			whoami := func(token string) (string, any) {
				r := modernCall(t, g.URL+"/mcp", token, "tools/list", nil, nil)
				tools, _ := r.Result["tools"].([]any)
				for _, tl := range tools {
					m := tl.(map[string]any)
					if m["name"] == "counter.whoami" {
						return fmt.Sprint(m["description"]), r.Result["cacheScope"]
					}
				}
				t.Fatalf("no counter.whoami in %v", r.Result)
				return "", nil
			}
			a, scopeA := whoami("tok-alice")
			b, scopeB := whoami("tok-bob")
			shared := a == b || scopeB != "private"
			if shared != (bug != BugNone) {
				t.Fatalf("alice sees %q (%v), bob %q (%v)", a, scopeA, b, scopeB)
			}
		})
	}
}

func TestSessionlessOnlyGatewayRefusesSessions(t *testing.T) {
	_, up := fakeUpstream(t)
	g := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: up + "/mcp"}}, Shape: Shape{Eras: []string{EraSessionless}}})
	code, _, body := rawRequest(t, http.MethodPost, g.URL+"/mcp", map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`)
	if code != 400 || !strings.Contains(body, EraSessionless) {
		t.Fatalf("initialize on a sessionless-only gateway: %d %s", code, body)
	}
	if code, _, _ := rawRequest(t, http.MethodGet, g.URL+"/mcp", nil, ""); code != 405 {
		t.Fatalf("GET: %d", code)
	}
	if v := modernValue(t, g.URL+"/mcp", "", "counter.increment", nil, nil); v != 1 {
		t.Fatalf("increment: %d", v)
	}
	if _, err := New(Config{Shape: Shape{Eras: []string{"2030"}}}); err == nil {
		t.Fatal("an unknown era was accepted")
	}
}

// An idle bridge expires like a session, closing its upstream session, and
// the next request opens a fresh one.
func TestIdleBridgeExpires(t *testing.T) {
	c, up := fakeUpstream(t)
	g := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: up + "/mcp"}}, SessionTimeout: 300 * time.Millisecond})
	modernValue(t, g.URL+"/mcp", "", "counter.increment", map[string]any{"by": 4}, nil)
	eventually(t, 5*time.Second, "the bridge's upstream session ends", func() bool {
		st := c.Stats()
		return len(st.Live) == 0 && len(st.Ended) == 1
	})
	if v := modernValue(t, g.URL+"/mcp", "", "counter.get", nil, nil); v != 0 {
		t.Fatalf("after expiry the bridge reads %d, want a fresh 0", v)
	}
}
