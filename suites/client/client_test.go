package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes/counter"
)

// The clients against a counter fake directly: what the suites rely on.
func counterServer(t *testing.T) *httptest.Server {
	t.Helper()
	c := counter.New(counter.Options{})
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); c.Close() })
	return srv
}

func TestSessionCallsReturnStructuredValues(t *testing.T) {
	srv := counterServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx, srv.URL+"/mcp", Options{NoStandaloneSSE: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ID() == "" || s.ProtocolVersion() == "" {
		t.Fatalf("session id %q, revision %q", s.ID(), s.ProtocolVersion())
	}
	for want := 2; want <= 6; want += 2 {
		if v, err := s.Increment(ctx, "", 2); err != nil || v != want {
			t.Fatalf("increment: %d, %v; want %d", v, err, want)
		}
	}
	if v, err := s.Get(ctx, ""); err != nil || v != 6 {
		t.Fatalf("get: %d, %v", v, err)
	}
	if _, err := s.Call(ctx, "nope", nil); err == nil {
		t.Fatal("calling an unknown tool should fail")
	}
}

func TestRawInitializeCallAndDelete(t *testing.T) {
	srv := counterServer(t)
	ctx := context.Background()
	raw := &Raw{Base: srv.URL}
	hs, err := raw.Initialize(ctx, "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	if hs.SessionID == "" || raw.ProtocolVersion != DefaultProtocolVersion {
		t.Fatalf("handshake %+v, revision %q", hs, raw.ProtocolVersion)
	}
	res, err := raw.CallTool(ctx, "/mcp", hs.SessionID, "increment", map[string]any{"by": 3})
	if err != nil || res.Status != 200 {
		t.Fatalf("tools/call: %v %+v", err, res)
	}
	msg, err := res.Message()
	if err != nil || msg.Error != nil || !strings.Contains(string(msg.Result), `"value":3`) {
		t.Fatalf("tools/call answer: %v %+v %s", err, msg, msg.Result)
	}
	get, err := raw.Get(ctx, "/mcp", hs.SessionID, time.Second)
	if err != nil || get.Status != 200 {
		t.Fatalf("GET stream: %v %+v", err, get)
	}
	if del, err := raw.Delete(ctx, "/mcp", hs.SessionID); err != nil || del.Status/100 != 2 {
		t.Fatalf("DELETE: %v %+v", err, del)
	}
	if again, err := raw.CallTool(ctx, "/mcp", hs.SessionID, "get", nil); err != nil || again.Status != 404 {
		t.Fatalf("call after DELETE: %v %+v", err, again)
	}
}

func TestHeadersHasABound(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	_, err := (&Raw{Base: srv.URL}).Get(context.Background(), "/mcp", "", 200*time.Millisecond)
	if !errors.Is(err, ErrNoHeaders) {
		t.Fatalf("want ErrNoHeaders, got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Get took %s with a 200ms bound", d)
	}
}

func TestMessageReadsJSONAndEventStreams(t *testing.T) {
	js := &Response{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"jsonrpc":"2.0","id":1,"result":{"ok":true}}`)}
	sse := &Response{Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: []byte("event: message\r\nid: 1\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":\"boom\"}}\r\n\r\n")}
	if m, err := js.Message(); err != nil || string(m.Result) != `{"ok":true}` {
		t.Errorf("JSON: %v %+v", err, m)
	}
	if m, err := sse.Message(); err != nil || m.Error == nil || m.Error.Message != "boom" {
		t.Errorf("SSE: %v %+v", err, m)
	}
	empty := &Response{Header: http.Header{"Content-Type": {"text/event-stream"}}}
	if _, err := empty.Message(); err == nil {
		t.Error("an empty stream has no message")
	}
}

func TestToolValueReadsTheCounterContract(t *testing.T) {
	ok := &Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"value\":7}"}],"structuredContent":{"value":7}}}`)}
	if v, err := ok.ToolValue(); err != nil || v != 7 {
		t.Errorf("ToolValue: %d, %v; want 7", v, err)
	}
	for name, bad := range map[string]*Response{
		"404":        {Status: 404, Body: []byte("unknown session")},
		"rpc error":  {Status: 200, Body: []byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"nope"}}`)},
		"tool error": {Status: 200, Body: []byte(`{"jsonrpc":"2.0","id":1,"result":{"isError":true,"content":[]}}`)},
	} {
		if _, err := bad.ToolValue(); err == nil {
			t.Errorf("%s: ToolValue should fail", name)
		}
	}
}

func TestStreamStaysOpenUntilTheServerEndsIt(t *testing.T) {
	end := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		select {
		case <-end:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	s, err := (&Raw{Base: srv.URL}).OpenStream(context.Background(), "/mcp", "sid", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Status != 200 || s.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream answered %d %v", s.Status, s.Header)
	}
	select {
	case <-s.Ended():
		t.Fatal("the stream ended while the server held it open")
	case <-time.After(100 * time.Millisecond):
	}
	close(end)
	select {
	case <-s.Ended():
	case <-time.After(2 * time.Second):
		t.Fatal("the stream did not end within 2s of the server ending it")
	}
	if s.EndErr() != nil || s.EndedAt().IsZero() {
		t.Errorf("clean end: err %v at %v", s.EndErr(), s.EndedAt())
	}
}

func TestOpenStreamHasABound(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	if _, err := (&Raw{Base: srv.URL}).OpenStream(context.Background(), "/mcp", "sid", 200*time.Millisecond); !errors.Is(err, ErrNoHeaders) {
		t.Fatalf("want ErrNoHeaders, got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("OpenStream took %s with a 200ms bound", d)
	}
}
