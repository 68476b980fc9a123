package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// The sessionless 2026-07-28 revision on the wire, by hand, for evidence:
// every request carries its revision in the MCP-Protocol-Version header and
// in _meta, and repeats its method (and for tools/call its tool) in the
// Mcp-Method / Mcp-Name headers.

// Wire names of 2026-07-28.
const (
	SessionlessRevision = "2026-07-28"
	HeaderMethod        = "Mcp-Method"
	HeaderName          = "Mcp-Name"
	MetaProtocolVersion = "io.modelcontextprotocol/protocolVersion"
	MetaClientCaps      = "io.modelcontextprotocol/clientCapabilities"
	// MetaConversation is the reference gateway's conversation handle
	// (server/discover hands one out; see its README).
	MetaConversation = "io.mcpgw/conversation"
	// CodeHeaderMismatch is the JSON-RPC error for headers that disagree
	// with the body.
	CodeHeaderMismatch = -32020
	// MethodListen opens a notification stream (SEP-2575); its first
	// message is NotificationAck, and every later one names the listen in
	// _meta[MetaSubscriptionID] (the listen request's JSON-RPC id).
	MethodListen       = "subscriptions/listen"
	NotificationAck    = "notifications/subscriptions/acknowledged"
	MetaSubscriptionID = "io.modelcontextprotocol/subscriptionId"
)

// Modern sends 2026-07-28 requests through a Raw (its base URL, token and
// timeout). The zero Meta sends only the required _meta keys.
type Modern struct {
	*Raw
	// Meta is merged into every request's _meta (a conversation handle).
	Meta map[string]any
}

// ModernRequest is one request; Header overrides the headers a correct
// client sends (an empty value removes one), to send wrong ones on purpose.
type ModernRequest struct {
	Method string
	Params map[string]any
	Header map[string]string
}

// Send posts one 2026-07-28 request on path.
func (m *Modern) Send(ctx context.Context, path string, req ModernRequest) (*Response, error) {
	body, h, err := m.build(m.NextID(), req)
	if err != nil {
		return nil, err
	}
	return m.Do(ctx, http.MethodPost, path, h, body)
}

// Listen opens a subscriptions/listen on path under the JSON-RPC id given
// (a number or a string, sent as it is), asking for notifications (the
// params' "notifications" object; nil sends none), and returns as
// Raw.OpenPost does: once the response headers arrive, within `within`,
// with the event stream read in the background (Stream.Messages). Close
// it (DeferCleanup) when done.
func (m *Modern) Listen(ctx context.Context, path string, id any, notifications map[string]any, within time.Duration) (*Stream, error) {
	params := map[string]any{}
	if notifications != nil {
		params["notifications"] = notifications
	}
	body, h, err := m.build(id, ModernRequest{Method: MethodListen, Params: params})
	if err != nil {
		return nil, err
	}
	return m.openStream(ctx, http.MethodPost, path, h, body, within)
}

// build is the body and headers of one 2026-07-28 request under id.
func (m *Modern) build(id any, req ModernRequest) ([]byte, http.Header, error) {
	params := map[string]any{}
	for k, v := range req.Params {
		params[k] = v
	}
	meta := map[string]any{MetaProtocolVersion: SessionlessRevision, MetaClientCaps: map[string]any{}}
	for k, v := range m.Meta {
		meta[k] = v
	}
	if extra, ok := params["_meta"].(map[string]any); ok {
		for k, v := range extra {
			meta[k] = v
		}
	}
	params["_meta"] = meta
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": req.Method, "params": params})
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	h.Set(HeaderProtocol, SessionlessRevision)
	h.Set(HeaderMethod, req.Method)
	if name, ok := params["name"].(string); ok {
		h.Set(HeaderName, name)
	}
	for k, v := range req.Header {
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
	}
	return body, h, nil
}

// Call calls tool with args and returns its counter value (ToolValue).
func (m *Modern) Call(ctx context.Context, path, tool string, args map[string]any) (int, *Response, error) {
	if args == nil {
		args = map[string]any{}
	}
	resp, err := m.Send(ctx, path, ModernRequest{Method: "tools/call", Params: map[string]any{"name": tool, "arguments": args}})
	if err != nil {
		return 0, nil, err
	}
	v, err := resp.ToolValue()
	return v, resp, err
}

// Result decodes a 200 answer's JSON-RPC result into out; anything else is
// an error quoting what came back.
func (resp *Response) Result(out any) error {
	if resp.Status != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.statusText(), Clip(resp.Body, 300))
	}
	msg, err := resp.Message()
	if err != nil {
		return err
	}
	if msg.Error != nil {
		return fmt.Errorf("JSON-RPC error %d: %s", msg.Error.Code, msg.Error.Message)
	}
	return json.Unmarshal(msg.Result, out)
}
