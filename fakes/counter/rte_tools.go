package counter

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/gateway/notifyone"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The routing tools (RTE): each makes its upstream session send the client
// something a gateway must route to the one downstream session that owns
// it, and /stats (SessionStats.Routing) records what happened. The tool
// logic needs only the session id and the session to send on, so the same
// tools can be registered on a server of another era.

// Bounds of the routing tools: nothing the fake does waits forever.
const (
	// clientRequestTimeout bounds a request to the client (elicitation,
	// sampling, roots/list).
	clientRequestTimeout = 30 * time.Second
	// waitLimit bounds a "wait" nobody cancels.
	waitLimit = 2 * time.Minute
	// maxSlowSteps bounds "slow".
	maxSlowSteps = 100
)

// RoutingResult is the structured content of the routing tools.
type RoutingResult struct {
	Nonce  string `json:"nonce"`
	Action string `json:"action,omitempty"` // ask: accept, decline, cancel
	Answer string `json:"answer,omitempty"` // ask, sample, roots: what the client answered (roots: the URIs, space separated)
	Steps  int    `json:"steps,omitempty"`  // slow: progress notifications sent
	Tag    string `json:"tag,omitempty"`    // wait
}

type slowArgs struct {
	Steps *int `json:"steps,omitempty"`
}

type waitArgs struct {
	Tag string `json:"tag,omitempty"`
}

type notifyArgs struct {
	Kind string `json:"kind,omitempty"`
}

var slowSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"steps": map[string]any{"type": "integer", "default": 3, "minimum": 0, "maximum": maxSlowSteps, "description": "progress notifications to send"},
	},
}

var waitSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"tag": map[string]any{"type": "string", "description": "names this call on /stats"}},
}

var notifySchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"kind": map[string]any{"type": "string", "enum": []string{"tools", "resources"}, "default": "tools"},
	},
}

// askSchema is the form the elicitation asks the user to fill in.
var askSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"answer": map[string]any{"type": "string"}},
}

// routingState is the routing part of /stats, by upstream session id.
type routingState struct {
	mu       sync.Mutex
	sessions map[string]*fakes.RoutingStats
	// waitIDs holds the JSON-RPC id each "wait" arrived under, by session
	// and tag, from the request body, until the tool records its start.
	waitIDs map[[2]string]json.RawMessage
}

func (rs *routingState) with(id string, f func(*fakes.RoutingStats)) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.sessions == nil {
		rs.sessions = map[string]*fakes.RoutingStats{}
	}
	r := rs.sessions[id]
	if r == nil {
		r = &fakes.RoutingStats{Nonce: newNonce()}
		rs.sessions[id] = r
	}
	f(r)
}

func (rs *routingState) nonce(id string) string {
	var n string
	rs.with(id, func(r *fakes.RoutingStats) { n = r.Nonce })
	return n
}

// fill copies every session's routing stats into a snapshot.
func (rs *routingState) fill(st *fakes.Stats) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, list := range [][]fakes.SessionStats{st.Live, st.Ended} {
		for i := range list {
			if r := rs.sessions[list[i].ID]; r != nil {
				list[i].Routing = r.Clone()
			}
		}
	}
}

func newNonce() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// bounded appends v to list, dropping the oldest past MaxRoutingRecords.
func bounded[T any](list []T, v T) []T {
	if len(list) >= fakes.MaxRoutingRecords {
		list = list[1:]
	}
	return append(list, v)
}

// askClient sends the caller's client a request (ask, given the session's
// nonce, returns the client's action and answer) under
// clientRequestTimeout, records it on /stats ("pending" from the moment it
// is sent, so that a request nobody answers shows as one) and makes the
// tool's result of it: a failed request fails the tool.
func (s *Server) askClient(ctx context.Context, req *mcp.CallToolRequest, method string, ask func(ctx context.Context, nonce string) (action, answer string, err error)) (*mcp.CallToolResult, RoutingResult, error) {
	id := req.Session.ID()
	nonce := s.rte.nonce(id)
	ctx, cancel := context.WithTimeout(ctx, clientRequestTimeout)
	defer cancel()
	sent := time.Now()
	pending := fakes.ClientRequestRecord{Method: method, Outcome: "pending", Sent: sent}
	s.rte.with(id, func(r *fakes.RoutingStats) { r.Requests = bounded(r.Requests, pending) })
	action, answer, err := ask(ctx, nonce)
	rec := fakes.ClientRequestRecord{Method: method, Outcome: "answered", Action: action, Answer: answer, Sent: sent, Ended: time.Now()}
	if err != nil {
		rec = fakes.ClientRequestRecord{Method: method, Outcome: "error", Error: err.Error(), Sent: sent, Ended: rec.Ended}
	}
	s.rte.with(id, func(r *fakes.RoutingStats) {
		for i := len(r.Requests) - 1; i >= 0; i-- {
			if r.Requests[i] == pending {
				r.Requests[i] = rec
				return
			}
		}
		r.Requests = bounded(r.Requests, rec) // its pending record was dropped
	})
	out := RoutingResult{Nonce: nonce, Action: action, Answer: answer}
	if err != nil {
		return nil, out, fmt.Errorf("%s failed: %w", method, err)
	}
	return nil, out, nil
}

// addRoutingTools registers ask, sample, roots, slow, wait and notify on srv.
func (s *Server) addRoutingTools(srv *mcp.Server) {
	srv.AddSendingMiddleware(notifyone.Middleware)
	mcp.AddTool(srv, &mcp.Tool{Name: "ask", Description: "Elicit an answer from the user; the message carries this session's nonce."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, RoutingResult, error) {
			return s.askClient(ctx, req, "elicitation/create", func(ctx context.Context, nonce string) (string, string, error) {
				res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "nonce " + nonce, RequestedSchema: askSchema})
				if err != nil {
					return "", "", err
				}
				a, _ := res.Content["answer"].(string)
				return res.Action, a, nil
			})
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "sample", Description: "Ask the client's model for a message; the prompt carries this session's nonce."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, RoutingResult, error) {
			return s.askClient(ctx, req, "sampling/createMessage", func(ctx context.Context, nonce string) (string, string, error) {
				res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
					Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: "nonce " + nonce}}},
					MaxTokens: 16,
				})
				if err != nil {
					return "", "", err
				}
				t, _ := res.Content.(*mcp.TextContent)
				if t == nil {
					return "", "", nil
				}
				return "", t.Text, nil
			})
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "roots", Description: "Ask the client for its roots (roots/list); the answer is their URIs, space separated."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, RoutingResult, error) {
			return s.askClient(ctx, req, "roots/list", func(ctx context.Context, _ string) (string, string, error) {
				res, err := req.Session.ListRoots(ctx, &mcp.ListRootsParams{})
				if err != nil {
					return "", "", err
				}
				uris := make([]string, 0, len(res.Roots))
				for _, r := range res.Roots {
					uris = append(uris, r.URI)
				}
				return "", strings.Join(uris, " "), nil
			})
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "slow", Description: "Report progress {steps} times (when the call has a progressToken), then return.", InputSchema: slowSchema},
		func(ctx context.Context, req *mcp.CallToolRequest, in slowArgs) (*mcp.CallToolResult, RoutingResult, error) {
			id, nonce := req.Session.ID(), s.rte.nonce(req.Session.ID())
			steps := 3
			if in.Steps != nil {
				steps = min(max(*in.Steps, 0), maxSlowSteps)
			}
			token := req.Params.GetProgressToken()
			if token == nil {
				return nil, RoutingResult{Nonce: nonce}, nil
			}
			raw, _ := json.Marshal(token)
			s.rte.with(id, func(r *fakes.RoutingStats) { r.ProgressTokens = bounded(r.ProgressTokens, json.RawMessage(raw)) })
			for i := 1; i <= steps; i++ {
				// Under the call's context: the notification travels on
				// the call's own stream, before its result.
				if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
					ProgressToken: token, Progress: float64(i), Total: float64(steps), Message: "nonce " + nonce,
				}); err != nil {
					return nil, RoutingResult{Nonce: nonce}, fmt.Errorf("progress %d: %w", i, err)
				}
				s.rte.with(id, func(r *fakes.RoutingStats) { r.Progress++ })
			}
			return nil, RoutingResult{Nonce: nonce, Steps: steps}, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "wait", Description: "Return only when cancelled; /stats records the call under its tag.", InputSchema: waitSchema},
		func(ctx context.Context, req *mcp.CallToolRequest, in waitArgs) (*mcp.CallToolResult, RoutingResult, error) {
			id, nonce := req.Session.ID(), s.rte.nonce(req.Session.ID())
			s.rte.with(id, func(r *fakes.RoutingStats) {
				key := [2]string{id, in.Tag}
				r.Waits = bounded(r.Waits, fakes.WaitRecord{Tag: in.Tag, RequestID: s.rte.waitIDs[key], Started: time.Now()})
				delete(s.rte.waitIDs, key)
			})
			ended := s.st.blocking(id)
			limit := time.NewTimer(waitLimit)
			defer limit.Stop()
			var err error
			cancelled := false
			select {
			case <-ctx.Done():
				cancelled, err = true, ctx.Err()
			case <-s.done:
				err = errors.New("wait released: fake closing")
			case <-limit.C:
				err = fmt.Errorf("wait released after %v: nobody cancelled it", waitLimit)
			}
			ended(cancelled)
			s.rte.with(id, func(r *fakes.RoutingStats) {
				for i := len(r.Waits) - 1; i >= 0; i-- {
					if r.Waits[i].Tag == in.Tag && r.Waits[i].Ended.IsZero() {
						r.Waits[i].Ended, r.Waits[i].Cancelled = time.Now(), cancelled
						break
					}
				}
			})
			return nil, RoutingResult{Nonce: nonce, Tag: in.Tag}, err
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "notify", Description: "Send this session notifications/tools/list_changed (kind tools) or notifications/resources/updated (kind resources).", InputSchema: notifySchema},
		func(ctx context.Context, req *mcp.CallToolRequest, in notifyArgs) (*mcp.CallToolResult, RoutingResult, error) {
			id, nonce := req.Session.ID(), s.rte.nonce(req.Session.ID())
			var method string
			var err error
			switch in.Kind {
			case "", "tools":
				method, err = "notifications/tools/list_changed", notifyone.ToolListChanged(ctx, req.Session)
			case "resources":
				method, err = "notifications/resources/updated", notifyone.ResourceUpdated(ctx, req.Session, ResourceURI(nonce))
			default:
				return nil, RoutingResult{Nonce: nonce}, fmt.Errorf("kind %q: want tools or resources", in.Kind)
			}
			if err != nil {
				return nil, RoutingResult{Nonce: nonce}, fmt.Errorf("%s: %w", method, err)
			}
			s.rte.with(id, func(r *fakes.RoutingStats) { r.Notified = bounded(r.Notified, method) })
			return nil, RoutingResult{Nonce: nonce}, nil
		})
}

// ResourceURI is the resource "notify {kind: resources}" says was updated:
// named by the session's nonce, so a client can tell whose it is.
func ResourceURI(nonce string) string { return "counter://session/" + nonce }

// maxRoutingBody bounds the body the fake reads to record routing ids.
const maxRoutingBody = 1 << 20

// noteRoutingRequest records, from a POST body, the JSON-RPC id of every
// call of "wait" and every notifications/cancelled, exactly as sent: the
// ids a gateway used are upstream truth for RTE-6. The body is given back
// to the request unchanged.
func (s *Server) noteRoutingRequest(r *http.Request) {
	if r.Method != http.MethodPost || r.Body == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRoutingBody+1))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	if err != nil || len(body) > maxRoutingBody || !(bytes.Contains(body, []byte(`"wait"`)) || bytes.Contains(body, []byte(`notifications/cancelled`))) {
		return
	}
	session := r.Header.Get("Mcp-Session-Id")
	var msgs []routingEnvelope
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
		_ = json.Unmarshal(t, &msgs)
	} else {
		var m routingEnvelope
		if json.Unmarshal(t, &m) == nil {
			msgs = []routingEnvelope{m}
		}
	}
	now := time.Now()
	for _, m := range msgs {
		switch {
		case m.Method == "tools/call" && m.Params.Name == "wait" && len(m.ID) > 0:
			s.rte.mu.Lock()
			if s.rte.waitIDs == nil {
				s.rte.waitIDs = map[[2]string]json.RawMessage{}
			}
			if len(s.rte.waitIDs) < fakes.MaxRoutingRecords {
				s.rte.waitIDs[[2]string{session, m.Params.Arguments.Tag}] = m.ID
			}
			s.rte.mu.Unlock()
		case m.Method == "notifications/cancelled" && len(m.Params.RequestID) > 0:
			s.rte.with(session, func(r *fakes.RoutingStats) {
				r.Cancellations = bounded(r.Cancellations, fakes.CancelRecord{RequestID: m.Params.RequestID, At: now})
			})
		}
	}
}

type routingEnvelope struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		Name      string          `json:"name"`
		Arguments waitArgs        `json:"arguments"`
		RequestID json.RawMessage `json:"requestId"`
	} `json:"params"`
}
