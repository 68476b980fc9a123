package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

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

// toolAnswer is a 200 JSON-RPC answer to tools/call with result as given.
func toolAnswer(result string) *Response {
	return &Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"jsonrpc":"2.0","id":1,"result":` + result + `}`)}
}

func TestToolValueReadsStructuredOrTextContent(t *testing.T) {
	for name, tc := range map[string]struct {
		result string
		want   int
	}{
		"structured and text": {`{"content":[{"type":"text","text":"{\"value\":7}"}],"structuredContent":{"value":7}}`, 7},
		"structured only":     {`{"content":[],"structuredContent":{"value":7}}`, 7},
		"structured wins":     {`{"content":[{"type":"text","text":"8"}],"structuredContent":{"value":7}}`, 7},
		"text JSON only":      {`{"content":[{"type":"text","text":"{\"value\":7}"}]}`, 7},
		"text integer only":   {`{"content":[{"type":"text","text":" 7\n"}]}`, 7},
	} {
		if v, err := toolAnswer(tc.result).ToolValue(); err != nil || v != tc.want {
			t.Errorf("%s: ToolValue = %d, %v; want %d", name, v, err, tc.want)
		}
	}
	for name, tc := range map[string]struct {
		resp  *Response
		quote string // the error must say this
	}{
		"404":          {&Response{Status: 404, Body: []byte("unknown session")}, "unknown session"},
		"rpc error":    {&Response{Status: 200, Body: []byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"nope"}}`)}, "nope"},
		"tool error":   {toolAnswer(`{"isError":true,"content":[{"type":"text","text":"upstream gone"}]}`), "upstream gone"},
		"error value":  {toolAnswer(`{"isError":true,"content":[{"type":"text","text":"5"}],"structuredContent":{"value":5}}`), "tool error"},
		"no value":     {toolAnswer(`{"content":[{"type":"text","text":"five"}]}`), "five"},
		"other object": {toolAnswer(`{"structuredContent":{"count":5}}`), "count"},
	} {
		_, err := tc.resp.ToolValue()
		if err == nil || !strings.Contains(err.Error(), tc.quote) {
			t.Errorf("%s: ToolValue error %v, want one quoting %q", name, err, tc.quote)
		}
	}
}

// textServer serves tools whose results carry the counter value in the
// different forms a gateway may forward.
func textServer(t *testing.T) *httptest.Server {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "forms", Version: "v1"}, nil)
	tool := func(name string, res *mcp.CallToolResult) {
		s.AddTool(&mcp.Tool{Name: name, InputSchema: map[string]any{"type": "object"}},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) { return res, nil })
	}
	text := func(s string) []mcp.Content { return []mcp.Content{&mcp.TextContent{Text: s}} }
	tool("structured", &mcp.CallToolResult{Content: text("{}"), StructuredContent: map[string]any{"value": 7}})
	tool("text-json", &mcp.CallToolResult{Content: text(`{"value":7}`)})
	tool("text-int", &mcp.CallToolResult{Content: text("7")})
	tool("no-value", &mcp.CallToolResult{Content: text("seven")})
	tool("tool-error", &mcp.CallToolResult{IsError: true, Content: text("upstream gone")})
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return srv
}

func TestSessionCallReadsStructuredOrTextContent(t *testing.T) {
	srv := textServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx, srv.URL, Options{NoStandaloneSSE: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tool := range []string{"structured", "text-json", "text-int"} {
		if v, err := s.Call(ctx, tool, nil); err != nil || v != 7 {
			t.Errorf("%s: Call = %d, %v; want 7", tool, v, err)
		}
	}
	if _, err := s.Call(ctx, "no-value", nil); err == nil || !strings.Contains(err.Error(), "seven") {
		t.Errorf("no-value: error %v, want one quoting the text", err)
	}
	var te *ToolError
	if _, err := s.Call(ctx, "tool-error", nil); !errors.As(err, &te) || !strings.Contains(err.Error(), "upstream gone") {
		t.Errorf("tool-error: error %v, want a ToolError quoting the text", err)
	}
}

// A gateway that redirects /mcp to /mcp/ has not answered on /mcp: the raw
// client shows the 307 and where it points, and never reaches /mcp/.
func TestRawDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/mcp/", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/mcp/", func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	raw := &Raw{Base: srv.URL}

	res, err := raw.CallTool(ctx, "/mcp", "sid", "get", nil)
	if err != nil || res.Status != http.StatusTemporaryRedirect || res.Location() != "/mcp/" {
		t.Fatalf("POST: %v, %+v; want the 307 to /mcp/", err, res)
	}
	if _, err := res.ToolValue(); err == nil || !strings.Contains(err.Error(), "redirect to /mcp/") {
		t.Errorf("ToolValue of a 307: %v, want an error naming the redirect", err)
	}
	if _, err := raw.Initialize(ctx, "/mcp"); err == nil || !strings.Contains(err.Error(), "redirect to /mcp/") {
		t.Errorf("Initialize on a 307: %v, want an error naming the redirect", err)
	}
	if get, err := raw.Get(ctx, "/mcp", "sid", time.Second); err != nil || get.Status != http.StatusTemporaryRedirect {
		t.Errorf("GET: %v, %+v; want the 307", err, get)
	}
	s, err := raw.OpenStream(ctx, "/mcp", "sid", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s.Status != http.StatusTemporaryRedirect || s.Header.Get("Location") != "/mcp/" {
		t.Errorf("stream: %d %v; want the 307 to /mcp/", s.Status, s.Header)
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
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

// Both clients send the token in the header and scheme the target says.
func TestCredentialShapes(t *testing.T) {
	c := counter.New(counter.Options{})
	defer c.Close()
	var seen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Authorization") + "|" + r.Header.Get("X-Api-Key"))
		c.Handler().ServeHTTP(w, r)
	}))
	defer func() { srv.CloseClientConnections(); srv.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		cred Credential
		want string
	}{
		{Credential{}, "Bearer tok|"},
		{Credential{Header: "X-Api-Key"}, "|tok"},
		{Credential{Header: "Authorization", Scheme: "Token"}, "Token tok|"},
	} {
		raw := &Raw{Base: srv.URL, Token: "tok", Credential: tc.cred}
		hs, err := raw.Initialize(ctx, "/mcp")
		if err != nil {
			t.Fatal(err)
		}
		if got := seen.Load(); got != tc.want {
			t.Errorf("raw %+v sent %q, want %q", tc.cred, got, tc.want)
		}
		if hs.Server.Name == "" {
			t.Errorf("raw initialize read no serverInfo: %s", hs.Response.Body)
		}
		s, err := Connect(ctx, srv.URL+"/mcp", Options{Token: "tok", Credential: tc.cred, NoStandaloneSSE: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := seen.Load(); got != tc.want {
			t.Errorf("session %+v sent %q, want %q", tc.cred, got, tc.want)
		}
		if s.Server().Name != hs.Server.Name {
			t.Errorf("session serverInfo %+v, raw %+v", s.Server(), hs.Server)
		}
		_ = s.Close()
	}
}
