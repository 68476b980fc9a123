package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// listenStream is a client's subscriptions/listen stream, read in the
// background; next returns its messages in order, each within a deadline.
type listenStream struct {
	Status int
	msgs   chan json.RawMessage
	cancel context.CancelFunc
	done   chan struct{}
}

// openListen POSTs subscriptions/listen with the JSON-RPC id given (a number
// or a string) for the resource URIs; the stream is closed at cleanup.
func openListen(t *testing.T, url, token string, id any, uris ...string) *listenStream {
	t.Helper()
	s := openListenNoCleanup(t, url, token, id, uris...)
	t.Cleanup(s.close)
	return s
}

func openListenNoCleanup(t *testing.T, url, token string, id any, uris ...string) *listenStream {
	t.Helper()
	params := map[string]any{"notifications": map[string]any{"resourceSubscriptions": uris},
		"_meta": map[string]any{metaProtocol: EraSessionless, "io.modelcontextprotocol/clientCapabilities": map[string]any{}}}
	if uris == nil {
		delete(params, "notifications")
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": methodListen, "params": params})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(headerProtocolVersion, EraSessionless)
	req.Header.Set(headerMethod, methodListen)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("listen: %v", err)
	}
	s := &listenStream{Status: resp.StatusCode, msgs: make(chan json.RawMessage, 64), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.msgs)
		defer resp.Body.Close()
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			var raw json.RawMessage
			if json.NewDecoder(resp.Body).Decode(&raw) == nil {
				s.msgs <- raw
			}
			return
		}
		r := bufio.NewReader(resp.Body)
		for {
			data, err := readEvent(r, 1<<20)
			if err != nil {
				return
			}
			if data != nil {
				s.msgs <- data
			}
		}
	}()
	return s
}

func (s *listenStream) close() {
	s.cancel()
	<-s.done
}

// listenMsg is what the tests read of a message on a listen stream.
type listenMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		URI           string `json:"uri"`
		Notifications struct {
			ResourceSubs []string `json:"resourceSubscriptions"`
		} `json:"notifications"`
		Meta map[string]json.RawMessage `json:"_meta"`
	} `json:"params"`
	Result map[string]any `json:"result"`
	Error  *struct {
		Code int `json:"code"`
	} `json:"error"`
}

// next returns the next message, failing the test if none comes within d.
func (s *listenStream) next(t *testing.T, d time.Duration) (listenMsg, bool) {
	t.Helper()
	select {
	case raw, ok := <-s.msgs:
		var m listenMsg
		if ok {
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("listen stream message %s: %v", raw, err)
			}
		}
		return m, ok
	case <-time.After(d):
		t.Fatalf("no message on the listen stream within %s", d)
		return listenMsg{}, false
	}
}

// expectAck reads the acknowledgement, which must come first, name the
// listen's id and agree to uris.
func (s *listenStream) expectAck(t *testing.T, id string, uris ...string) {
	t.Helper()
	if s.Status != http.StatusOK {
		m, _ := s.next(t, 5*time.Second)
		t.Fatalf("listen answered %d: %+v", s.Status, m)
	}
	m, ok := s.next(t, 10*time.Second)
	if !ok || m.Method != notificationAck {
		t.Fatalf("first message %+v (stream open %v), want %s", m, ok, notificationAck)
	}
	if got := string(m.Params.Meta[metaSubscriptionID]); got != id {
		t.Fatalf("ack subscriptionId %s, want %s", got, id)
	}
	if strings.Join(m.Params.Notifications.ResourceSubs, ",") != strings.Join(uris, ",") {
		t.Fatalf("ack agreed %v, want %v", m.Params.Notifications.ResourceSubs, uris)
	}
}

func publish(t *testing.T, url, token, tool, uri string) {
	t.Helper()
	r := modernCall(t, url, token, "tools/call", map[string]any{"name": tool, "arguments": map[string]any{"uri": uri}}, nil)
	if r.Status != 200 || r.Error != nil || r.Result["isError"] == true {
		t.Fatalf("publish %s: %d %+v %v", uri, r.Status, r.Error, r.Result)
	}
}

// collect reads notifications for d and returns "uri subscriptionId" of each.
func (s *listenStream) collect(t *testing.T, d time.Duration, want int) []string {
	t.Helper()
	var got []string
	deadline := time.After(d)
	for {
		select {
		case raw, ok := <-s.msgs:
			if !ok {
				return got
			}
			var m listenMsg
			_ = json.Unmarshal(raw, &m)
			got = append(got, m.Params.URI+" "+string(m.Params.Meta[metaSubscriptionID]))
			if want > 0 && len(got) >= want {
				return got
			}
		case <-deadline:
			return got
		}
	}
}

func TestListenAcksFirstAndNotifiesOnlyItsListener(t *testing.T) {
	for _, route := range []struct{ path, publish string }{{"/mcp", "counter.publish"}, {"/servers/counter/mcp", "publish"}} {
		t.Run(route.path, func(t *testing.T) {
			g, _ := sessionlessGateway(t, BugNone)
			url := g.URL + route.path
			alice := openListen(t, url, "tok-alice", 7, "counter://alice")
			alice.expectAck(t, "7", "counter://alice")
			bob := openListen(t, url, "tok-bob", "7", "counter://bob")
			bob.expectAck(t, `"7"`, "counter://bob")
			publish(t, url, "tok-alice", route.publish, "counter://alice")
			publish(t, url, "tok-bob", route.publish, "counter://bob")
			if got := alice.collect(t, 5*time.Second, 1); strings.Join(got, ";") != "counter://alice 7" {
				t.Fatalf("alice got %v", got)
			}
			if got := bob.collect(t, 5*time.Second, 1); strings.Join(got, ";") != `counter://bob "7"` {
				t.Fatalf("bob got %v", got)
			}
			if got := append(alice.collect(t, 300*time.Millisecond, 0), bob.collect(t, 300*time.Millisecond, 0)...); len(got) != 0 {
				t.Fatalf("more notifications than published: %v", got)
			}
		})
	}
}

// TestEmulatedSharedListenCrossesListeners: under shared-listen each
// listener also gets the other's notification, tagged with its own id.
func TestEmulatedSharedListenCrossesListeners(t *testing.T) {
	g, _ := sessionlessGateway(t, BugSharedListen)
	url := g.URL + "/mcp"
	alice := openListen(t, url, "tok-alice", 7, "counter://alice")
	alice.expectAck(t, "7", "counter://alice")
	bob := openListen(t, url, "tok-bob", "7", "counter://bob")
	bob.expectAck(t, `"7"`, "counter://bob")
	publish(t, url, "tok-bob", "counter.publish", "counter://bob")
	if got := alice.collect(t, 5*time.Second, 1); strings.Join(got, ";") != "counter://bob 7" {
		t.Fatalf("alice got %v, want bob's notification under the bug", got)
	}
}

func TestListenEdges(t *testing.T) {
	_, up := fakeUpstream(t)
	// An upstream that serves no 2026-07-28 listen (answers -32601).
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeRPCErrorID(w, http.StatusOK, json.RawMessage("1"), &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: "no such method"})
	}))
	t.Cleanup(refuse.Close)
	g := startGateway(t, Config{
		Upstreams:             []Upstream{{ID: "counter", URL: up + "/mcp"}, {ID: "old", URL: refuse.URL + "/mcp"}},
		Tokens:                map[string]string{"tok-alice": "alice", "tok-bob": "bob"},
		MaxListensPerIdentity: 1,
	})

	missing := openListen(t, g.URL+"/mcp", "tok-alice", 1)
	if m, _ := missing.next(t, 5*time.Second); missing.Status != http.StatusBadRequest || m.Error == nil || m.Error.Code != -32602 {
		t.Fatalf("listen without notifications: %d %+v", missing.Status, m)
	}

	// The aggregate route's ack is the counter's: the refusing upstream is left out.
	a := openListen(t, g.URL+"/mcp", "tok-alice", 2, "counter://a")
	a.expectAck(t, "2", "counter://a")
	if _, _, body := rawRequest(t, "GET", g.URL+"/metrics", nil, ""); !regexp.MustCompile(`(?m)^mcpgw_listens\{replica="[^"]*"\} 1$`).MatchString(body) {
		t.Errorf("/metrics does not count the open listen as mcpgw_listens 1:\n%s", body)
	}
	over := openListen(t, g.URL+"/mcp", "tok-alice", 3, "counter://b")
	if m, _ := over.next(t, 5*time.Second); over.Status != http.StatusTooManyRequests || m.Error == nil || m.Error.Code != codeTooManyListens {
		t.Fatalf("a second listen past the per-identity limit: %d %+v", over.Status, m)
	}
	// Its own upstream refusing: an empty ack, then the listen's end.
	old := openListen(t, g.URL+"/servers/old/mcp", "tok-bob", "x", "counter://c")
	old.expectAck(t, `"x"`)
	if m, ok := old.next(t, 5*time.Second); !ok || string(m.ID) != `"x"` || m.Result == nil {
		t.Fatalf("after an empty ack: %+v (open %v), want the listen's final result", m, ok)
	}
	if _, ok := old.next(t, 5*time.Second); ok {
		t.Fatal("the stream stays open after the final result")
	}
	// The slot of a closed listen is free again.
	a.close()
	eventually(t, 5*time.Second, "the closed listen's slot is released", func() bool {
		g.listens.mu.Lock()
		defer g.listens.mu.Unlock()
		return g.listens.byIdentity["alice"] == 0
	})
	again := openListen(t, g.URL+"/mcp", "tok-alice", 4, "counter://a")
	again.expectAck(t, "4", "counter://a")
}

// TestListenEndsWithItsUpstreamAndWithShutdown: the upstream going away
// ends the client's stream with a final result; so does shutdown.
func TestListenEndsWithItsUpstreamAndWithShutdown(t *testing.T) {
	c, up := fakeUpstream(t)
	g := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: up + "/mcp"}}})
	s := openListen(t, g.URL+"/mcp", "", 1, "counter://x")
	s.expectAck(t, "1", "counter://x")
	c.Close()
	if m, ok := s.next(t, 5*time.Second); !ok || m.Result == nil {
		t.Fatalf("after the upstream closed: %+v (open %v), want the final result", m, ok)
	}

	_, up2 := fakeUpstream(t)
	g2 := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: up2 + "/mcp"}}})
	s2 := openListen(t, g2.URL+"/mcp", "", 1, "counter://x")
	s2.expectAck(t, "1", "counter://x")
	go g2.Shutdown()
	if m, ok := s2.next(t, 5*time.Second); !ok || m.Result == nil {
		t.Fatalf("after shutdown began: %+v (open %v), want the final result", m, ok)
	}
}

// TestListenEndsWhenItsUpstreamIsRemovedOrChanged: a listen's upstream leg
// goes with the upstream definition it was opened with, as upstream
// sessions do (EVI-5, EVI-7); the client is told the listen ended.
func TestListenEndsWhenItsUpstreamIsRemovedOrChanged(t *testing.T) {
	_, up := fakeUpstream(t)
	_, other := fakeUpstream(t)
	g := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: up + "/mcp"}}})
	s := openListen(t, g.URL+"/mcp", "", 1, "counter://x")
	s.expectAck(t, "1", "counter://x")
	put := func(u Upstream) {
		if err := u.Validate(); err != nil {
			t.Fatal(err)
		}
		g.applyUpstreamPut(u)
	}
	put(Upstream{ID: "counter", URL: up + "/mcp", Name: "cosmetic"})
	if got := s.collect(t, 300*time.Millisecond, 0); len(got) != 0 {
		t.Fatalf("a cosmetic change: %v", got)
	}
	put(Upstream{ID: "counter", URL: other + "/mcp"})
	if m, ok := s.next(t, 5*time.Second); !ok || m.Result == nil {
		t.Fatalf("after the upstream's URL changed: %+v (open %v), want the final result", m, ok)
	}
	s2 := openListen(t, g.URL+"/mcp", "", 2, "counter://x")
	s2.expectAck(t, "2", "counter://x")
	if _, ok := g.applyUpstreamRemove("counter"); !ok {
		t.Fatal("remove: no such upstream")
	}
	if m, ok := s2.next(t, 5*time.Second); !ok || m.Result == nil {
		t.Fatalf("after the upstream was removed: %+v (open %v), want the final result", m, ok)
	}
}

// Callers without a token share an identity, not a listen limit: each
// client address counts on its own.
func TestListenLimitKey(t *testing.T) {
	for _, c := range []struct{ remote, identity, want string }{
		{"10.0.0.1:5000", "alice", "alice"},
		{"10.0.0.1:5000", anonymous, "anonymous@10.0.0.1"},
		{"10.0.0.2:6000", anonymous, "anonymous@10.0.0.2"},
		{"[::1]:7000", anonymous, "anonymous@::1"},
		{"garbage", anonymous, "anonymous@garbage"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
		r.RemoteAddr = c.remote
		if got := listenLimitKey(r, c.identity); got != c.want {
			t.Errorf("listenLimitKey(%q, %q) = %q, want %q", c.remote, c.identity, got, c.want)
		}
	}
}
