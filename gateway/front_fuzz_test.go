package gateway

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes/counter"
)

// The fuzz targets drive the gateway's handler in process: no socket on the
// front, so an iteration costs one handler call, and a handler that never
// returns is caught by answerWithin rather than hanging the fuzzer.

const (
	// fuzzAnswerWithin bounds one fuzzed request; a request that takes
	// longer is a hang, not a slow answer.
	fuzzAnswerWithin = 5 * time.Second
	// fuzzMaxBody keeps iterations cheap; the gateway's own limit (413)
	// is exercised by a smaller MaxBodyBytes below.
	fuzzMaxBody = 64 << 10
)

type fuzzFront struct {
	handler http.Handler
	// sessions holds one initialized session id per route ("" is /mcp).
	sessions map[string]string
	err      error
}

var (
	fuzzFrontOnce sync.Once
	fuzzFrontG    fuzzFront
)

// sharedFuzzFront is one gateway (with a counter upstream) per fuzz process:
// building one per iteration would dwarf the request under test. It is
// never shut down; the process exits after the fuzz run.
func sharedFuzzFront(t *testing.T) *fuzzFront {
	fuzzFrontOnce.Do(func() {
		c := counter.New(counter.Options{})
		up := httptest.NewServer(c.Handler())
		g, err := New(Config{
			Upstreams:    []Upstream{{ID: "counter", URL: up.URL + "/mcp"}},
			Logger:       slog.New(slog.DiscardHandler),
			MaxBodyBytes: fuzzMaxBody / 2,
		})
		if err != nil {
			fuzzFrontG.err = err
			return
		}
		fuzzFrontG.handler = g.Handler()
		fuzzFrontG.sessions = map[string]string{}
		for _, route := range []string{"", "counter"} {
			res := fuzzFrontG.post(context.Background(), route, "", []byte(initializeBody))
			sid := res.Header().Get(headerSessionID)
			if res.Code != http.StatusOK || sid == "" {
				fuzzFrontG.err = fmt.Errorf("initialize on %q: status %d, body %s", routePath(route), res.Code, res.Body)
				return
			}
			fuzzFrontG.post(context.Background(), route, sid, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
			fuzzFrontG.sessions[route] = sid
		}
	})
	if fuzzFrontG.err != nil {
		t.Fatal(fuzzFrontG.err)
	}
	return &fuzzFrontG
}

func routePath(route string) string {
	if route == "" {
		return "/mcp"
	}
	return "/servers/" + route + "/mcp"
}

// serve runs one request through the handler and fails the test if it is
// not answered within fuzzAnswerWithin (the request's context ends then too).
func (f *fuzzFront) serve(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), fuzzAnswerWithin)
	defer cancel()
	res := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.handler.ServeHTTP(res, req.WithContext(ctx))
	}()
	select {
	case <-done:
	case <-time.After(fuzzAnswerWithin + time.Second):
		t.Fatalf("%s %s: no answer within %v", req.Method, req.URL, fuzzAnswerWithin)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: answered only when its context ended after %v (status %d)", req.Method, req.URL, fuzzAnswerWithin, res.Code)
	}
	return res
}

// mcpRequest is a POST of body to route, in session sid when sid is set.
func mcpRequest(ctx context.Context, route, sid string, body []byte) *http.Request {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, routePath(route), bytes.NewReader(body))
	for k, v := range postHeaders {
		req.Header.Set(k, v)
	}
	if sid != "" {
		req.Header.Set(headerSessionID, sid)
		req.Header.Set(headerProtocolVersion, "2025-06-18")
	}
	return req
}

// post is for setup, before there is a test to fail.
func (f *fuzzFront) post(ctx context.Context, route, sid string, body []byte) *httptest.ResponseRecorder {
	res := httptest.NewRecorder()
	f.handler.ServeHTTP(res, mcpRequest(ctx, route, sid, body))
	return res
}

// endSessionsOpenedBy ends a session a fuzzed initialize opened, so that a
// long fuzz run does not pile up sessions until they expire.
func (f *fuzzFront) endSessionsOpenedBy(t *testing.T, route string, res *httptest.ResponseRecorder) {
	sid := res.Header().Get(headerSessionID)
	if sid == "" || sid == f.sessions[route] {
		return
	}
	req := httptest.NewRequest(http.MethodDelete, routePath(route), nil)
	req.Header.Set(headerSessionID, sid)
	f.serve(t, req)
}

// canary: the initialized session on route still answers a tool call.
func (f *fuzzFront) canary(t *testing.T, route string, after []byte) {
	t.Helper()
	tool := "counter.get" // /mcp names tools <upstream>.<tool>
	if route != "" {
		tool = "get"
	}
	req := mcpRequest(context.Background(), route, f.sessions[route], []byte(`{"jsonrpc":"2.0","id":"canary","method":"tools/call","params":{"name":"`+tool+`"}}`))
	res := f.serve(t, req)
	if res.Code != http.StatusOK || !strings.Contains(res.Body.String(), `"result"`) {
		t.Fatalf("after %q on %s, the canary call got status %d: %s", clipQ(after), routePath(route), res.Code, clipQ(res.Body.Bytes()))
	}
}

func clipQ(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// FuzzSessionIDHeader: whatever Mcp-Session-Id a client presents, on any
// method, the gateway answers without a 5xx; an id it rejects gets 400 (not
// a valid id) or 404 (no such session) with a message saying so.
func FuzzSessionIDHeader(f *testing.F) {
	for _, sid := range []string{"", "nope", "01HZX3Q5R2W9K7M4N8P6T0V1YA", strings.Repeat("a", maxSessionIDLen), strings.Repeat("a", maxSessionIDLen+1),
		"caf\xc3\xa9", "a b", "tab\there", "nul\x00", "\x7f", "\xff\xfe", "../../admin", "%00", "0", "-1"} {
		for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
			f.Add(sid, m, false)
		}
	}
	f.Add("x", http.MethodPut, true)
	f.Fuzz(func(t *testing.T, sid, method string, serverRoute bool) {
		if len(sid) > 4*maxSessionIDLen {
			t.Skip("far past the size bound; the bound itself is seeded")
		}
		switch method {
		case http.MethodPost, http.MethodGet, http.MethodDelete, http.MethodPut:
		default:
			method = http.MethodPost
		}
		g := sharedFuzzFront(t)
		route := ""
		if serverRoute {
			route = "counter"
		}
		req := httptest.NewRequest(method, routePath(route), strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		for k, v := range postHeaders {
			req.Header.Set(k, v)
		}
		// Set the raw value: the point is what the handler does with bytes
		// net/http's parser would have let through or not.
		req.Header[headerSessionID] = []string{sid}
		res := g.serve(t, req)
		body := strings.TrimSpace(res.Body.String())
		if res.Code >= 500 {
			t.Fatalf("%s with %s %q: status %d: %s", method, headerSessionID, sid, res.Code, body)
		}
		valid := validSessionID(sid) == nil
		switch {
		case sid == "":
			// No session: the session-less rules apply (400/405), tested elsewhere.
		case method == http.MethodPut:
			if res.Code != http.StatusMethodNotAllowed && res.Code != http.StatusBadRequest {
				t.Fatalf("PUT with %q: status %d, want 405 (or 400 for a malformed id)", sid, res.Code)
			}
		case !valid:
			if res.Code != http.StatusBadRequest || !strings.Contains(body, headerSessionID) {
				t.Fatalf("%s with malformed %s %q: status %d %q, want 400 naming the header", method, headerSessionID, sid, res.Code, body)
			}
		default:
			if res.Code != http.StatusNotFound || body == "" {
				t.Fatalf("%s with unknown %s %q: status %d %q, want 404 with a message", method, headerSessionID, sid, res.Code, body)
			}
		}
	})
}

// FuzzValidSessionID: an id is accepted exactly when it is visible ASCII
// (0x21 to 0x7e) and at most maxSessionIDLen bytes, and a refusal says why.
func FuzzValidSessionID(f *testing.F) {
	for _, sid := range []string{"", "abc", "a b", strings.Repeat("z", maxSessionIDLen), strings.Repeat("z", maxSessionIDLen+1), "\x00", "~!", "é"} {
		f.Add(sid)
	}
	f.Fuzz(func(t *testing.T, sid string) {
		want := len(sid) <= maxSessionIDLen
		for i := 0; i < len(sid); i++ {
			if sid[i] < 0x21 || sid[i] > 0x7e {
				want = false
			}
		}
		err := validSessionID(sid)
		if (err == nil) != want {
			t.Fatalf("validSessionID(%q) = %v, want accepted=%v", sid, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), headerSessionID) {
			t.Fatalf("refusal %q does not name %s", err, headerSessionID)
		}
	})
}

// FuzzJSONRPCBody: whatever a client POSTs to an MCP route, with the
// initialized session of that route or without one, the gateway answers
// within a bound and without a 5xx, and the session still serves a tool
// call afterwards.
func FuzzJSONRPCBody(f *testing.F) {
	for _, body := range []string{
		initializeBody,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"counter.increment","arguments":{"by":1}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"increment","arguments":{"by":"one"}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"nope"}}`,
		`{"jsonrpc":"2.0","id":5,"method":"ping"}`,
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`,
		`{"jsonrpc":"2.0","id":6,"result":{}}`,
		`[{"jsonrpc":"2.0","id":7,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]`,
		`[]`,
		`{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":18446744073709551616,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":-9223372036854775809,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1e400,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1.5,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":null,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`,
		`{"jsonrpc":"2.0","id":"` + strings.Repeat("x", 4096) + `","method":"ping"}`,
		`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":` + strings.Repeat(`{"a":`, 2000) + `1` + strings.Repeat(`}`, 2000) + `}`,
		strings.Repeat(`[`, 5000),
		`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"counter.get\xff\xfe"}}`,
		"{\"jsonrpc\":\"2.0\",\"id\":\"\xc0\xaf\",\"method\":\"ping\"}",
		`{"jsonrpc":"1.0","id":10,"method":"ping"}`,
		`{"id":11,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":12,"method":"initialize","params":null}`,
		`{"jsonrpc":"2.0","id":13,"method":"server/discover"}`,
		`{"jsonrpc":"2.0","id":14,"method":"ping","params":{"pad":"` + strings.Repeat("x", fuzzMaxBody*3/4) + `"}}`,
		``, ` `, `null`, `"string"`, `0`, `{`, `}`, "\x00",
	} {
		f.Add([]byte(body), uint8(0))
		f.Add([]byte(body), uint8(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, where uint8) {
		if len(body) > fuzzMaxBody {
			t.Skip("larger than fuzzMaxBody; 413 past MaxBodyBytes is seeded below it")
		}
		g := sharedFuzzFront(t)
		route := ""
		if where&1 != 0 {
			route = "counter"
		}
		sid := ""
		if where&2 != 0 {
			sid = g.sessions[route]
		}
		res := g.serve(t, mcpRequest(context.Background(), route, sid, body))
		if res.Code >= 500 {
			t.Fatalf("POST %s (session %q) %q: status %d: %s", routePath(route), sid, clipQ(body), res.Code, clipQ(res.Body.Bytes()))
		}
		g.endSessionsOpenedBy(t, route, res)
		g.canary(t, route, body)
	})
}
