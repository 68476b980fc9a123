package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MRTR (SEP-2322) for sessionless callers. A bridged call reaches its
// upstream over a session-bearing upstream session, where go-sdk turns an
// input request into elicitation, which a bridge cannot relay (it has no
// client session to ask, relay.go): the call fails with
// "multi-round-trip: ...". Such a call is
// made again over a 2026-07-28 leg (one plain POST to the upstream), whose
// input_required result goes back to the caller with its requestState
// untouched. MRTR handlers are re-run on every round by design, so the
// repeated first round is within the protocol's model.
//
// The requestState is bound to the caller by the bridge that saw it issued:
// a bridge is per (identity, route, conversation) and any replica forwards
// to the bridge's owner, so the retry completes through any replica while a
// state presented through another identity's bridge reaches no upstream.

// maxMRTRStates bounds the requestStates one bridge keeps waiting for their
// retry; the oldest is forgotten first.
const maxMRTRStates = 64

// maxModernResponse bounds a 2026-07-28 upstream answer the gateway reads.
const maxModernResponse = 4 << 20

// mrtrStates are the requestStates issued through one bridge.
type mrtrStates struct {
	mu    sync.Mutex
	order []string
	set   map[string]bool
}

func (s *mrtrStates) add(state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set == nil {
		s.set = map[string]bool{}
	}
	if s.set[state] {
		return
	}
	if len(s.order) >= maxMRTRStates {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
	s.set[state] = true
	s.order = append(s.order, state)
}

func (s *mrtrStates) has(state string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set[state]
}

func (s *mrtrStates) drop(state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.set[state] {
		return
	}
	delete(s.set, state)
	for i, v := range s.order {
		if v == state {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}

// needsModernLeg reports whether a bridged call failed because its upstream
// asked for input the session-bearing leg cannot carry.
func needsModernLeg(err error) bool {
	return err != nil && strings.Contains(err.Error(), "multi-round-trip:")
}

// mrtrCall serves a sessionless tools/call over the 2026-07-28 leg: a retry
// carrying a requestState, or a call whose bridged attempt needed input.
func (g *Gateway) mrtrCall(ctx context.Context, d *downstream, params *mcp.CallToolParamsRaw) (map[string]any, error) {
	retry := params.RequestState
	if retry != "" && !g.mrtrUnbound && !d.mrtr.has(retry) {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
			Message: "requestState was not issued to this caller (identity and conversation) through this gateway; start the call again without one"}
	}
	u, tool, err := g.toolTarget(d, params.Name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := g.withCallTimeout(ctx)
	defer cancel()
	out, err := g.modernToolCall(ctx, u, tool, params)
	if err != nil {
		return nil, g.callError(ctx, u.ID, err)
	}
	if retry != "" {
		d.mrtr.drop(retry)
	}
	// The upstream's own revision keys (its serverInfo) are not the
	// gateway's to pass on as if they were its own.
	if meta, ok := out["_meta"].(map[string]any); ok {
		for k := range meta {
			if strings.HasPrefix(k, metaPrefixMCP) {
				delete(meta, k)
			}
		}
		if len(meta) == 0 {
			delete(out, "_meta")
		}
	}
	if state, _ := out["requestState"].(string); state != "" && out["resultType"] == "input_required" {
		d.mrtr.add(state)
	}
	return out, nil
}

// modernToolCall posts one 2026-07-28 tools/call to an upstream and returns
// its result, or its JSON-RPC error.
func (g *Gateway) modernToolCall(ctx context.Context, u Upstream, tool string, params *mcp.CallToolParamsRaw) (map[string]any, error) {
	p := map[string]any{"name": tool, "arguments": emptyArguments, "_meta": modernMeta(params.Meta)}
	if len(params.Arguments) > 0 && string(params.Arguments) != "null" {
		p["arguments"] = params.Arguments
	}
	if params.RequestState != "" {
		p["requestState"] = params.RequestState
	}
	if len(params.InputResponses) > 0 {
		p["inputResponses"] = params.InputResponses
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": p})
	if err != nil {
		return nil, err
	}
	resp, release, err := g.modernPost(ctx, u, "tools/call", tool, body)
	if err != nil {
		return nil, err
	}
	defer release()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxModernResponse))
	if err != nil {
		return nil, err
	}
	msg, err := modernResponse(resp.Header.Get("Content-Type"), raw)
	if err != nil {
		return nil, fmt.Errorf("2026-07-28 tools/call answered %d: %v", resp.StatusCode, err)
	}
	if msg.Error != nil {
		return nil, msg.Error
	}
	var out map[string]any
	if err := json.Unmarshal(msg.Result, &out); err != nil {
		return nil, fmt.Errorf("2026-07-28 tools/call result: %v", err)
	}
	return out, nil
}

// modernMeta is the _meta of a 2026-07-28 upstream request: the caller's
// keys plus the revision and (if the caller sent none) no client
// capabilities.
func modernMeta(from map[string]any) map[string]any {
	meta := map[string]any{}
	for k, v := range from {
		meta[k] = v
	}
	meta[metaProtocol] = EraSessionless
	if _, ok := meta[metaPrefixMCP+"clientCapabilities"]; !ok {
		meta[metaPrefixMCP+"clientCapabilities"] = map[string]any{}
	}
	return meta
}

// modernPost posts one 2026-07-28 request to an upstream over the
// upstream's connection pool, with the headers that revision requires
// (name is Mcp-Name, "" for none). release (after closing the body) drops
// the hold on the pool.
func (g *Gateway) modernPost(ctx context.Context, u Upstream, method, name string, body []byte) (*http.Response, func(), error) {
	t, client, err := g.registry.poolFor(u)
	if err != nil {
		return nil, nil, err
	}
	release := func() { g.registry.releaseTransport(t) }
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.URL, bytes.NewReader(body))
	if err != nil {
		release()
		return nil, nil, err
	}
	for k, v := range u.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(headerProtocolVersion, EraSessionless)
	req.Header.Set(headerMethod, method)
	if name != "" {
		req.Header.Set(headerName, name)
	}
	resp, err := client.Do(req)
	if err != nil {
		release()
		return nil, nil, err
	}
	return resp, func() { resp.Body.Close(); release() }, nil
}

type modernMessage struct {
	Result json.RawMessage `json:"result"`
	Error  *jsonrpc.Error  `json:"error"`
}

// modernResponse finds the JSON-RPC response in a JSON body or an event
// stream (go-sdk answers a POST with either).
func modernResponse(contentType string, body []byte) (*modernMessage, error) {
	if strings.HasPrefix(contentType, "text/event-stream") {
		for _, line := range strings.Split(string(body), "\n") {
			data, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "data:")
			if !ok {
				continue
			}
			var m modernMessage
			if json.Unmarshal([]byte(strings.TrimSpace(data)), &m) == nil && (m.Result != nil || m.Error != nil) {
				return &m, nil
			}
		}
		return nil, fmt.Errorf("the event stream carries no JSON-RPC response")
	}
	var m modernMessage
	if err := json.Unmarshal(body, &m); err != nil || (m.Result == nil && m.Error == nil) {
		return nil, fmt.Errorf("the body is not a JSON-RPC response")
	}
	return &m, nil
}
