package gateway

import (
	"bufio"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`

var postHeaders = map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// rawInitialize opens a session by hand and returns its id.
func rawInitialize(t *testing.T, url string, extra ...string) string {
	t.Helper()
	status, h, body := rawRequest(t, http.MethodPost, url, with(postHeaders, extra...), initializeBody)
	if status != http.StatusOK || h.Get(headerSessionID) == "" {
		t.Fatalf("initialize: status %d, session %q, body %s", status, h.Get(headerSessionID), body)
	}
	return h.Get(headerSessionID)
}

func TestTransportEdges(t *testing.T) {
	gw, _ := counterGateway(t, BugNone)
	mcpURL := gw.URL + "/mcp"
	sid := rawInitialize(t, mcpURL)
	for _, tc := range []struct {
		name, method, url string
		headers           map[string]string
		body              string
		wantStatus        int
		wantAllow         string
	}{
		{"session-less GET is 405 with Allow", http.MethodGet, mcpURL, map[string]string{"Accept": "text/event-stream"}, "", 405, "POST, DELETE"},
		{"session-less DELETE is 400", http.MethodDelete, mcpURL, nil, "", 400, ""},
		{"session-less tools/call is 400", http.MethodPost, mcpURL, postHeaders, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, 400, ""},
		{"unknown session POST is 404", http.MethodPost, mcpURL, with(postHeaders, headerSessionID, "nope"), `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, 404, ""},
		{"unknown session GET is 404", http.MethodGet, mcpURL, map[string]string{headerSessionID: "nope", "Accept": "text/event-stream"}, "", 404, ""},
		{"unknown session DELETE is 404", http.MethodDelete, mcpURL, map[string]string{headerSessionID: "nope"}, "", 404, ""},
		{"unknown server is 404 without Allow", http.MethodGet, gw.URL + "/servers/nope/mcp", nil, "", 404, ""},
		{"unsupported protocol version is 400", http.MethodPost, mcpURL, with(postHeaders, headerSessionID, sid, headerProtocolVersion, "1999-01-01"), `{"jsonrpc":"2.0","id":2,"method":"ping"}`, 400, ""},
		{"garbage protocol version is 400", http.MethodGet, mcpURL, map[string]string{headerSessionID: sid, headerProtocolVersion: "banana", "Accept": "text/event-stream"}, "", 400, ""},
		{"oversized session id is 400", http.MethodPost, mcpURL, with(postHeaders, headerSessionID, strings.Repeat("a", 200)), `{}`, 400, ""},
		{"non-ASCII session id is 400", http.MethodPost, mcpURL, with(postHeaders, headerSessionID, "caf\xc3\xa9"), `{}`, 400, ""},
		{"malformed JSON is 400", http.MethodPost, mcpURL, postHeaders, `{"jsonrpc":`, 400, ""},
		{"malformed JSON in a session is 4xx", http.MethodPost, mcpURL, with(postHeaders, headerSessionID, sid), `{"jsonrpc":`, 400, ""},
		{"oversized body is 413", http.MethodPost, mcpURL, postHeaders, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"x":"` + strings.Repeat("x", 5<<20) + `"}}`, 413, ""},
		{"oversized body in a session is 413", http.MethodPost, mcpURL, with(postHeaders, headerSessionID, sid), `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("x", 5<<20) + `"}}`, 413, ""},
		{"PUT is 405", http.MethodPut, mcpURL, nil, "", 405, "GET, POST, DELETE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := rawRequest(t, tc.method, tc.url, tc.headers, tc.body)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %q)", status, tc.wantStatus, body)
			}
			if got := h.Get("Allow"); got != tc.wantAllow {
				t.Fatalf("Allow %q, want %q", got, tc.wantAllow)
			}
			if status >= 400 && strings.TrimSpace(body) == "" {
				t.Fatal("error without a message")
			}
		})
	}
	// The replica is still up after all that.
	if status, _, _ := rawRequest(t, http.MethodGet, gw.URL+"/healthz", nil, ""); status != 200 {
		t.Fatalf("healthz %d after bad input", status)
	}
}

func TestDeleteEndsTheSessionEverywhere(t *testing.T) {
	gw, c := counterGateway(t, BugNone)
	cs := connect(t, gw.URL+"/mcp", "")
	increment(t, cs, "counter.increment", 4)
	sid := cs.ID()
	if status, _, body := rawRequest(t, http.MethodDelete, gw.URL+"/mcp", map[string]string{headerSessionID: sid}, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	eventually(t, 3*time.Second, "upstream session ended by DELETE", func() bool {
		st := c.Stats()
		return len(st.Live) == 0 && len(st.Ended) == 1 && st.Ended[0].EndReason == "deleted"
	})
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		h := with(postHeaders, headerSessionID, sid)
		if status, _, _ := rawRequest(t, m, gw.URL+"/mcp", h, `{"jsonrpc":"2.0","id":9,"method":"ping"}`); status != 404 {
			t.Fatalf("%s after DELETE: %d, want 404", m, status)
		}
	}
	again := connect(t, gw.URL+"/mcp", "")
	if got := callValue(t, again, "counter.get", nil); got != 0 {
		t.Fatalf("a new session read %d, want 0", got)
	}
}

func TestEmulatedNoEvictOnDeleteLeaksState(t *testing.T) {
	gw, c := counterGateway(t, BugNoEvictOnDelete)
	cs := connect(t, gw.URL+"/mcp", "")
	increment(t, cs, "counter.increment", 4)
	if status, _, _ := rawRequest(t, http.MethodDelete, gw.URL+"/mcp", map[string]string{headerSessionID: cs.ID()}, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d", status)
	}
	again := connect(t, gw.URL+"/mcp", "")
	if got := callValue(t, again, "counter.get", nil); got != 4 {
		t.Fatalf("the emulated bug should hand the old upstream state (4) to the new session, read %d", got)
	}
	if st := c.Stats(); len(st.Ended) != 0 {
		t.Fatalf("the emulated bug should leave the upstream session open: %+v", st.Ended)
	}
}

func TestDeletingOneSessionLeavesAnotherAlone(t *testing.T) {
	gw, c := counterGateway(t, BugNone)
	a, b := connect(t, gw.URL+"/mcp", ""), connect(t, gw.URL+"/mcp", "")
	increment(t, a, "counter.increment", 2)
	increment(t, b, "counter.increment", 3)
	a.Close()
	eventually(t, 3*time.Second, "A's upstream session ended", func() bool { return len(c.Stats().Ended) == 1 })
	if got := callValue(t, b, "counter.get", nil); got != 3 {
		t.Fatalf("B read %d, want 3", got)
	}
}

func TestIdleSessionsExpireWithTheirUpstreamSessions(t *testing.T) {
	c, url := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}, SessionTimeout: 300 * time.Millisecond})
	cs := connect(t, gw.URL+"/mcp", "")
	increment(t, cs, "counter.increment", 1)
	eventually(t, 3*time.Second, "expired session's upstream session ended", func() bool {
		st := c.Stats()
		return len(st.Live) == 0 && len(st.Ended) == 1
	})
	status, _, _ := rawRequest(t, http.MethodPost, gw.URL+"/mcp", with(postHeaders, headerSessionID, cs.ID()), `{"jsonrpc":"2.0","id":9,"method":"ping"}`)
	if status != 404 {
		t.Fatalf("expired session: %d, want 404", status)
	}
}

func TestAuthComesBeforeMethodChecks(t *testing.T) {
	_, url := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}, Tokens: map[string]string{"tok-alice": "alice", "tok-bob": "bob"}})
	if status, _, _ := rawRequest(t, http.MethodGet, gw.URL+"/mcp", nil, ""); status != 401 {
		t.Fatalf("no credentials: %d, want 401", status)
	}
	if status, _, _ := rawRequest(t, http.MethodGet, gw.URL+"/mcp", map[string]string{"Authorization": "Bearer wrong"}, ""); status != 401 {
		t.Fatalf("wrong credentials: %d, want 401", status)
	}
	alice := connect(t, gw.URL+"/mcp", "tok-alice")
	increment(t, alice, "counter.increment", 2)
	status, _, _ := rawRequest(t, http.MethodPost, gw.URL+"/mcp",
		with(postHeaders, headerSessionID, alice.ID(), "Authorization", "Bearer tok-bob"),
		`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"counter.increment","arguments":{"by":100}}}`)
	if status != 403 {
		t.Fatalf("bob using alice's session: %d, want 403", status)
	}
	if got := callValue(t, alice, "counter.get", nil); got != 2 {
		t.Fatalf("alice reads %d after bob's attempt, want 2", got)
	}
}

func TestSessionlessGETAnswersAtOnceOrHangsUnderTheBug(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugHangingGet} {
		t.Run(string(bug), func(t *testing.T) {
			gw, _ := counterGateway(t, bug)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw.URL+"/mcp", nil)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if bug == BugNone {
				if resp.StatusCode != 405 {
					t.Fatalf("status %d, want 405", resp.StatusCode)
				}
				return
			}
			if resp.StatusCode != 200 {
				t.Fatalf("the emulated bug should answer 200, got %d", resp.StatusCode)
			}
			// The stream sends nothing until the deadline cuts it.
			if _, err := bufio.NewReader(resp.Body).ReadByte(); err == nil {
				t.Fatal("the emulated hanging stream sent data")
			}
		})
	}
}

func TestAuthTokensFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(path, []byte("# comment\n\ntok-a alice\ntok-b bob\n"), 0o600)
	got, err := LoadTokens(path)
	if err != nil || got["tok-a"] != "alice" || got["tok-b"] != "bob" || len(got) != 2 {
		t.Fatalf("LoadTokens = %v, %v", got, err)
	}
	os.WriteFile(path, []byte("tok-a alice extra\n"), 0o600)
	if _, err := LoadTokens(path); err == nil || !strings.Contains(err.Error(), ":1") {
		t.Fatalf("want a line-numbered error, got %v", err)
	}
}

func TestParseBug(t *testing.T) {
	if b, err := ParseBug("shared-upstream"); err != nil || b != BugSharedUpstream {
		t.Fatalf("ParseBug = %q, %v", b, err)
	}
	if _, err := ParseBug("nope"); err == nil || !strings.Contains(err.Error(), "known:") {
		t.Fatalf("want an error listing the known bugs, got %v", err)
	}
}

func TestSessionGETStreamAnswersHeadersAtOnce(t *testing.T) {
	for _, route := range []string{"/mcp", "/servers/counter/mcp"} {
		t.Run(route, func(t *testing.T) { testGETStream(t, route) })
	}
}

func testGETStream(t *testing.T, route string) {
	gw, _ := counterGateway(t, BugNone)
	cs := connect(t, gw.URL+route, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw.URL+route, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set(headerSessionID, cs.ID())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET stream gave no headers within 1 s: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
