package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Header names of the Streamable HTTP transport.
const (
	HeaderSession  = "Mcp-Session-Id"
	HeaderProtocol = "MCP-Protocol-Version"
)

// DefaultProtocolVersion is the session-bearing revision Raw and Connect
// initialize with: the newest, unless the run asks for another
// (MCPCONF_REVISION; fixture.Target sets it before any spec talks).
var DefaultProtocolVersion = "2025-11-25"

// Raw is an HTTP client for exact wire checks. The zero value needs Base.
type Raw struct {
	// Base is the gateway's base URL, e.g. http://127.0.0.1:8080.
	Base string
	// Token is sent when set, as Credential says (default a bearer token).
	Token string
	// Credential is how Token is sent.
	Credential Credential
	// ProtocolVersion is sent as MCP-Protocol-Version on non-initialize
	// requests when set (Initialize sets it to the negotiated revision).
	ProtocolVersion string
	// Timeout bounds each request, body included (default 5 s).
	Timeout time.Duration
	// IDs, when set, numbers JSON-RPC requests instead of this client's own
	// counter. Clients of one session through several replicas share one,
	// so that no two in-flight requests of the session carry the same id.
	IDs *atomic.Int64
	// Header is sent on every request (a Cookie, say); a request's own
	// headers win over it.
	Header http.Header
	// Capabilities are the client capabilities Initialize declares
	// (default none, {}).
	Capabilities map[string]any
	// Sessionless: the gateway mints no Mcp-Session-Id at initialize
	// (stateless Streamable HTTP, which the transport allows), so
	// Initialize accepts a response without one.
	Sessionless bool

	ids atomic.Int64
}

// Response is what came back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Elapsed is the time from sending to the response headers.
	Elapsed time.Duration
}

// maxBody bounds how much of a response body is kept.
const maxBody = 4 << 20

// httpClient sends every Raw request. It never follows a redirect: a
// gateway that answers /mcp with a 307 to /mcp/ has not answered, and the
// 3xx (with its Location) is the evidence. Requests are bounded by their
// contexts, as with http.DefaultClient before.
var httpClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Location is where a 3xx response points ("" for any other response).
func (resp *Response) Location() string {
	if resp.Status/100 != 3 {
		return ""
	}
	return resp.Header.Get("Location")
}

// statusText describes the status for an error message: the code, and for
// a redirect where it points.
func (resp *Response) statusText() string {
	if loc := resp.Location(); loc != "" {
		return fmt.Sprintf("status %d (redirect to %s, not followed)", resp.Status, loc)
	}
	return fmt.Sprintf("status %d", resp.Status)
}

func (r *Raw) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return 5 * time.Second
}

func (r *Raw) newRequest(ctx context.Context, method, path string, h http.Header, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, r.Base+path, body)
	if err != nil {
		return nil, err
	}
	r.Credential.set(req.Header, r.Token)
	for k, vs := range r.Header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	for k, vs := range h {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	return req, nil
}

// Do sends one request and reads the whole response body (bounded by the
// timeout and maxBody). Use Headers for streams that may never end.
func (r *Raw) Do(ctx context.Context, method, path string, h http.Header, body []byte) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := r.newRequest(ctx, method, path, h, rd)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Elapsed: time.Since(start)}
	out.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return out, fmt.Errorf("%s %s: status %d, reading body: %w", method, path, resp.StatusCode, err)
	}
	return out, nil
}

// ErrNoHeaders means no response headers arrived within the bound.
var ErrNoHeaders = errors.New("no response headers")

// Headers sends one request and returns as soon as the response headers
// arrive, without waiting for the body (an event stream may never end). It
// reads at most peek bytes of body if they arrive within the remaining time
// of within, then closes the connection. No headers within the bound is
// ErrNoHeaders.
func (r *Raw) Headers(ctx context.Context, method, path string, h http.Header, within time.Duration) (*Response, error) {
	return r.headers(ctx, method, path, h, nil, within)
}

func (r *Raw) headers(parent context.Context, method, path string, h http.Header, body []byte, within time.Duration) (*Response, error) {
	ctx, cancel := context.WithTimeout(parent, within)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := r.newRequest(ctx, method, path, h, rd)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		if parent.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w before the caller gave up (%v)", method, path, ErrNoHeaders, parent.Err())
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w within %s", method, path, ErrNoHeaders, within)
		}
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Elapsed: time.Since(start)}
	// Keep what the body offers before the bound: a 4xx explains itself,
	// an event stream may send nothing. Reading stops at the deadline.
	buf := make([]byte, 4096)
	n, _ := io.ReadAtLeast(resp.Body, buf, 1)
	out.Body = buf[:n]
	cancel()
	resp.Body.Close()
	return out, nil
}

// Message is one JSON-RPC message.
type Message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Message decodes the JSON-RPC response in the body, which is either JSON or
// an event stream whose data lines carry it.
func (resp *Response) Message() (*Message, error) {
	body := bytes.TrimSpace(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for _, line := range strings.Split(string(body), "\n") {
			data, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "data:")
			if !ok {
				continue
			}
			var m Message
			if err := json.Unmarshal([]byte(strings.TrimSpace(data)), &m); err == nil && (m.Result != nil || m.Error != nil) {
				return &m, nil
			}
		}
		return nil, fmt.Errorf("event stream carries no JSON-RPC response: %q", Clip(body, 300))
	}
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("body is not a JSON-RPC message (%v): %q", err, Clip(body, 300))
	}
	return &m, nil
}

// Clip shortens a body for a message or evidence: trimmed, at most n bytes.
func Clip(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}

// NextID returns a fresh JSON-RPC request id.
func (r *Raw) NextID() int64 {
	if r.IDs != nil {
		return r.IDs.Add(1)
	}
	return r.ids.Add(1)
}

// Request builds a JSON-RPC request body with a fresh id.
func (r *Raw) Request(method string, params any) []byte {
	msg := map[string]any{"jsonrpc": "2.0", "id": r.NextID(), "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, _ := json.Marshal(msg)
	return b
}

// Notification builds a JSON-RPC notification body.
func Notification(method string, params any) []byte {
	msg := map[string]any{"jsonrpc": "2.0", "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, _ := json.Marshal(msg)
	return b
}

// Post sends a JSON-RPC body on path with the session id (if any) and the
// headers a Streamable HTTP client sends.
func (r *Raw) Post(ctx context.Context, path, session string, body []byte) (*Response, error) {
	return r.Do(ctx, http.MethodPost, path, r.postHeader(session, body), body)
}

// PostHeaders sends a JSON-RPC body as Post does but returns as Headers
// does: once the response headers (and the first bytes of body) arrive, or
// when ctx ends or within passes, and then it closes the connection. It is
// how a spec gives up on a request: cancel ctx.
func (r *Raw) PostHeaders(ctx context.Context, path, session string, body []byte, within time.Duration) (*Response, error) {
	return r.headers(ctx, http.MethodPost, path, r.postHeader(session, body), body, within)
}

func (r *Raw) postHeader(session string, body []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	if session != "" {
		h.Set(HeaderSession, session)
	}
	if r.ProtocolVersion != "" && !bytes.Contains(body, []byte(`"method":"initialize"`)) {
		h.Set(HeaderProtocol, r.ProtocolVersion)
	}
	return h
}

// Get opens GET path as an event stream with the session id (if any) and
// returns once headers arrive or within has passed.
func (r *Raw) Get(ctx context.Context, path, session string, within time.Duration) (*Response, error) {
	h := http.Header{}
	h.Set("Accept", "text/event-stream")
	if session != "" {
		h.Set(HeaderSession, session)
	}
	if r.ProtocolVersion != "" {
		h.Set(HeaderProtocol, r.ProtocolVersion)
	}
	return r.Headers(ctx, http.MethodGet, path, h, within)
}

// Delete sends DELETE path with the session id (if any).
func (r *Raw) Delete(ctx context.Context, path, session string) (*Response, error) {
	h := http.Header{}
	if session != "" {
		h.Set(HeaderSession, session)
	}
	if r.ProtocolVersion != "" {
		h.Set(HeaderProtocol, r.ProtocolVersion)
	}
	return r.Do(ctx, http.MethodDelete, path, h, nil)
}

// Handshake is the outcome of a hand-made initialize.
type Handshake struct {
	SessionID       string
	ProtocolVersion string
	// Server is the serverInfo the gateway answered with (empty fields
	// when it sent none).
	Server   ServerInfo
	Response *Response
}

// ServerInfo is the name and version a server reports at initialize.
type ServerInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Initialize performs initialize + notifications/initialized by hand on path
// and returns the session id the gateway assigned. It also sets
// r.ProtocolVersion to the negotiated revision.
func (r *Raw) Initialize(ctx context.Context, path string) (*Handshake, error) {
	caps := r.Capabilities
	if caps == nil {
		caps = map[string]any{}
	}
	body := r.Request("initialize", map[string]any{
		"protocolVersion": DefaultProtocolVersion,
		"capabilities":    caps,
		"clientInfo":      map[string]any{"name": "mcpconf-raw", "version": "v1"},
	})
	resp, err := r.Post(ctx, path, "", body)
	if err != nil {
		return nil, fmt.Errorf("initialize on %s: %w", path, err)
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("initialize on %s: %s: %s", path, resp.statusText(), Clip(resp.Body, 300))
	}
	msg, err := resp.Message()
	if err != nil {
		return nil, fmt.Errorf("initialize on %s: %w", path, err)
	}
	if msg.Error != nil {
		return nil, fmt.Errorf("initialize on %s: JSON-RPC error %d: %s", path, msg.Error.Code, msg.Error.Message)
	}
	var res struct {
		ProtocolVersion string     `json:"protocolVersion"`
		ServerInfo      ServerInfo `json:"serverInfo"`
	}
	_ = json.Unmarshal(msg.Result, &res)
	hs := &Handshake{SessionID: resp.Header.Get(HeaderSession), ProtocolVersion: res.ProtocolVersion, Server: res.ServerInfo, Response: resp}
	if hs.SessionID == "" && !r.Sessionless {
		return hs, fmt.Errorf("initialize on %s: no %s header in the response (a gateway that mints none declares sessionIds: false in its target file)", path, HeaderSession)
	}
	r.ProtocolVersion = res.ProtocolVersion
	ack, err := r.Post(ctx, path, hs.SessionID, Notification("notifications/initialized", nil))
	if err != nil {
		return hs, fmt.Errorf("notifications/initialized on %s: %w", path, err)
	}
	if ack.Status/100 != 2 {
		return hs, fmt.Errorf("notifications/initialized on %s: status %d: %s", path, ack.Status, Clip(ack.Body, 300))
	}
	return hs, nil
}

// CallTool sends tools/call by hand and returns the raw response.
func (r *Raw) CallTool(ctx context.Context, path, session, tool string, args map[string]any) (*Response, error) {
	return r.Post(ctx, path, session, r.Request("tools/call", map[string]any{"name": tool, "arguments": args}))
}

// Wire writes a hand-made HTTP/1.1 request to addr (host:port) and reads the
// response, for requests net/http refuses to send (control characters or raw
// bytes in headers). request must be complete, blank line and body included.
func Wire(ctx context.Context, addr string, request []byte, timeout time.Duration) (*Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	start := time.Now()
	if _, err := conn.Write(request); err != nil {
		return nil, fmt.Errorf("write request: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Elapsed: time.Since(start)}
	out.Body, _ = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return out, nil
}

// ToolValue reads a tools/call answer from the counter contract: a 200 whose
// JSON-RPC result carries {"value": N} (see counterValue for where). Anything
// else (a status other than 200, a JSON-RPC error, a tool error) is an error
// that quotes what came back.
func (resp *Response) ToolValue() (int, error) {
	if resp.Status != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", resp.statusText(), Clip(resp.Body, 300))
	}
	msg, err := resp.Message()
	if err != nil {
		return 0, err
	}
	if msg.Error != nil {
		return 0, fmt.Errorf("JSON-RPC error %d: %s", msg.Error.Code, msg.Error.Message)
	}
	var res struct {
		IsError           bool            `json:"isError"`
		StructuredContent json.RawMessage `json:"structuredContent"`
		Content           []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(msg.Result, &res); err != nil {
		return 0, fmt.Errorf("tools/call result: %w: %s", err, Clip(msg.Result, 300))
	}
	var texts []string
	for _, c := range res.Content {
		if c.Type == "text" {
			texts = append(texts, c.Text)
		}
	}
	if res.IsError {
		return 0, fmt.Errorf("tools/call result is a tool error: %s", joinTexts(texts))
	}
	v, ok := counterValue(res.StructuredContent, texts)
	if !ok {
		return 0, fmt.Errorf("tools/call result carries no {\"value\": N}: %s", Clip(msg.Result, 300))
	}
	return v, nil
}

// counterValue reads the counter contract {"value": N} from a tool result:
// its structured content or, failing that, its text content, whose text is
// the JSON {"value": N} or a bare integer. A gateway that forwards only text
// content must still be judged on the value.
func counterValue(structured json.RawMessage, texts []string) (int, bool) {
	var out struct {
		Value *int `json:"value"`
	}
	if len(structured) > 0 {
		if err := json.Unmarshal(structured, &out); err == nil && out.Value != nil {
			return *out.Value, true
		}
	}
	for _, t := range texts {
		t = strings.TrimSpace(t)
		if err := json.Unmarshal([]byte(t), &out); err == nil && out.Value != nil {
			return *out.Value, true
		}
		if n, err := strconv.Atoi(t); err == nil {
			return n, true
		}
	}
	return 0, false
}

// joinTexts quotes a result's text content for an error message.
func joinTexts(texts []string) string {
	if len(texts) == 0 {
		return "(no text content)"
	}
	return Clip([]byte(strings.Join(texts, " ")), 300)
}
