package counter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/mcpgw/conformance/fakes"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The 2026-07-28 revision has no protocol session (SEP-2575, SEP-2567):
// state travels in handles passed as tool arguments. The fake serves it on
// the same /mcp, chosen per request by the MCP-Protocol-Version header, with
// a second go-sdk server behind a Stateless handler (the only way go-sdk
// serves it); every other request keeps the session-bearing path.

// ModernRevision is the sessionless revision the fake serves.
const ModernRevision = "2026-07-28"

// isModern reports whether a request speaks the sessionless revision. The
// header is what go-sdk itself keys on; a request carrying the revision only
// in _meta is left to the session path, whose SDK answers it with -32020.
func isModern(r *http.Request) bool {
	v := r.Header.Get("Mcp-Protocol-Version")
	return len(v) == len(ModernRevision) && v >= ModernRevision
}

// modernState is the part of state (under state.mu) the handle tools, MRTR
// and the 2026-07-28 counts keep.
type modernState struct {
	handles     map[string]*fakes.HandleStats
	order       []string          // handles in issue order
	issued      map[string]string // requestState -> session that got it ("" sessionless)
	requests    map[string]int
	names       []string
	mrtr        fakes.MRTRStats
	listens     int
	listensOpen int
	subscribed  []string
	notified    int
	published   []string
}

func newModernState() modernState {
	return modernState{handles: map[string]*fakes.HandleStats{}, issued: map[string]string{}, requests: map[string]int{}}
}

func (m *modernState) fill(out *fakes.Stats) {
	out.Handles = make([]fakes.HandleStats, 0, len(m.order))
	for _, h := range m.order {
		out.Handles = append(out.Handles, *m.handles[h])
	}
	out.Modern = fakes.ModernStats{
		Requests:    map[string]int{},
		Names:       slices.Clone(m.names),
		MRTR:        m.mrtr,
		Listens:     m.listens,
		ListensOpen: m.listensOpen,
		Subscribed:  append([]string{}, m.subscribed...),
		Notified:    m.notified,
		Published:   append([]string{}, m.published...),
	}
	out.Modern.MRTR.States = append([]string{}, m.mrtr.States...)
	for k, v := range m.requests {
		out.Modern.Requests[k] = v
	}
	if out.Modern.Names == nil {
		out.Modern.Names = []string{}
	}
}

// newModernHandler builds the sessionless server and its handler.
func (s *Server) newModernHandler() http.Handler {
	s.modern = mcp.NewServer(&mcp.Implementation{Name: "counter", Version: "v1"}, &mcp.ServerOptions{
		Logger:       s.log,
		SetCacheable: privateToolList,
		// Resource subscriptions ride on subscriptions/listen; the fake
		// accepts any URI and tells subscribers through tool "publish".
		SubscribeHandler:   func(context.Context, *mcp.SubscribeRequest) error { return nil },
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error { return nil },
	})
	s.modern.AddReceivingMiddleware(s.observeModern)
	s.addCounterTools(s.modern)
	s.addEraTools(s.modern)
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.modern }, &mcp.StreamableHTTPOptions{
		Logger:                       s.log,
		Stateless:                    true,
		DisableLocalhostProtection:   true,
		PropagateRequestCancellation: true,
	})
}

// serveModern records what go-sdk does not show a handler (the Mcp-Name
// header) and hands the request to the sessionless server.
func (s *Server) serveModern(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.Header.Get("Mcp-Method") == "tools/call" {
		s.st.mu.Lock()
		if len(s.st.modern.names) >= fakes.MaxHeaderRecords {
			s.st.modern.names = s.st.modern.names[1:]
		}
		s.st.modern.names = append(s.st.modern.names, r.Header.Get("Mcp-Name"))
		s.st.mu.Unlock()
	}
	// A subscriptions/listen stream lasts until its client leaves: it must
	// end with Close too, which waits for every admitted request.
	r, cancel := s.untilClose(r)
	defer cancel()
	s.modernHandler.ServeHTTP(w, r)
}

// observeModern counts sessionless requests by method and personalises
// tools/list like observe does.
func (s *Server) observeModern(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		s.st.mu.Lock()
		s.st.modern.requests[method]++
		listen, _ := req.GetParams().(*mcp.SubscriptionsListenParams)
		if method == "subscriptions/listen" && listen != nil {
			s.st.modern.listens++
			s.st.modern.listensOpen++
			if listen.Notifications != nil {
				for _, uri := range listen.Notifications.ResourceSubscriptions {
					s.st.modern.subscribed = boundedAppend(s.st.modern.subscribed, uri)
				}
			}
			defer func() {
				s.st.mu.Lock()
				s.st.modern.listensOpen--
				s.st.mu.Unlock()
			}()
		}
		s.st.mu.Unlock()
		if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok && method == "tools/call" && (len(p.Arguments) == 0 || string(p.Arguments) == "null") {
			p.Arguments = []byte("{}")
		}
		res, err := next(ctx, method, req)
		return s.personalise(method, "", res), err
	}
}

// privateToolList marks tools/list private: its "whoami" tool names the
// caller, so a gateway must never serve one caller's list to another (VER-5).
func privateToolList(_ context.Context, req mcp.Request, c *mcp.Cacheable) {
	if _, ok := req.(*mcp.ListToolsRequest); ok {
		c.CacheScope = "private"
	}
}

// personalise rewrites the "whoami" tool of a tools/list result to name the
// caller: its upstream session, or for a sessionless caller a fresh tag per
// listing (there is nothing else to tell two sessionless callers apart by).
func (s *Server) personalise(method, session string, res mcp.Result) mcp.Result {
	lr, ok := res.(*mcp.ListToolsResult)
	if method != "tools/list" || !ok {
		return res
	}
	caller := "session " + session
	if session == "" {
		caller = "listing " + rand.Text()[:10]
	}
	out := *lr
	out.Tools = slices.Clone(lr.Tools)
	for i, t := range out.Tools {
		if t.Name == "whoami" {
			c := *t
			c.Description = "caller " + caller
			out.Tools[i] = &c
		}
	}
	return &out
}

type handleArgs struct {
	Handle string `json:"handle,omitempty" jsonschema:"a handle from open"`
}

// HandleResult is the structured content of tool "open".
type HandleResult struct {
	Handle string `json:"handle" jsonschema:"names the new counter; pass it to increment and get"`
	Value  int    `json:"value"`
}

// ConfirmResult is the structured content of a completed "confirm".
type ConfirmResult struct {
	Confirmed bool `json:"confirmed"`
}

type publishArgs struct {
	URI string `json:"uri" jsonschema:"the resource to announce as updated"`
}

// addEraTools registers the tools that exist in both eras: open, confirm,
// whoami and publish (increment and get take a handle in both).
func (s *Server) addEraTools(srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{Name: "open", Description: "Open a counter and return its handle (SEP-2567); in a session it is bound to that session."},
		func(_ context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, HandleResult, error) {
			h := "h-" + rand.Text()
			s.st.mu.Lock()
			defer s.st.mu.Unlock()
			s.st.modern.handles[h] = &fakes.HandleStats{Handle: h, Session: req.Session.ID()}
			s.st.modern.order = append(s.st.modern.order, h)
			return nil, HandleResult{Handle: h}, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "whoami", Description: "caller (named per tools/list)"},
		func(_ context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "session " + req.Session.ID()}}}, nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "confirm", Description: "Ask the caller to confirm (MRTR: input_required with a requestState), then complete."},
		func(_ context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, ConfirmResult, error) {
			return s.confirm(req)
		})
	// A resource per name, so that subscriptions/listen has something to
	// subscribe to (go-sdk agrees to resource subscriptions only then).
	srv.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: s.template, Name: "counter", MIMEType: "text/plain"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: req.Params.URI}}}, nil
		})
	// publish tells the URI's subscribers of both eras, whichever era it
	// was called in: a gateway bridges a sessionless tools/call onto a
	// session-bearing upstream session, while its listeners are 2026-07-28
	// subscriptions/listen streams of the other server.
	mcp.AddTool(srv, &mcp.Tool{Name: "publish", Description: "Send notifications/resources/updated for uri to its subscribers (both eras)."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in publishArgs) (*mcp.CallToolResult, Result, error) {
			if in.URI == "" {
				return nil, Result{}, fmt.Errorf("publish needs a uri")
			}
			s.st.mu.Lock()
			s.st.modern.notified++
			s.st.modern.published = boundedAppend(s.st.modern.published, in.URI)
			s.st.mu.Unlock()
			params := &mcp.ResourceUpdatedNotificationParams{URI: in.URI}
			return nil, Result{}, errors.Join(s.mcp.ResourceUpdated(ctx, params), s.modern.ResourceUpdated(ctx, params))
		})
}

// confirm is one round of tool "confirm". The first call hands out a
// requestState bound to the caller's session (or to no session when
// sessionless); the retry must carry it and an answer.
func (s *Server) confirm(req *mcp.CallToolRequest) (*mcp.CallToolResult, ConfirmResult, error) {
	sid := req.Session.ID()
	state := req.Params.RequestState
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if state == "" {
		state = "rs-" + rand.Text()
		s.st.modern.issued[state] = sid
		s.st.modern.mrtr.Issued++
		if len(s.st.modern.mrtr.States) >= fakes.MaxHeaderRecords {
			s.st.modern.mrtr.States = s.st.modern.mrtr.States[1:]
		}
		s.st.modern.mrtr.States = append(s.st.modern.mrtr.States, state)
		return &mcp.CallToolResult{
			InputRequests: mcp.InputRequestMap{"confirm": &mcp.ElicitParams{
				Message:         "confirm?",
				RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"ok": map[string]any{"type": "boolean"}}},
			}},
			RequestState: state,
		}, ConfirmResult{}, nil
	}
	owner, ok := s.st.modern.issued[state]
	if !ok || owner != sid || req.Params.InputResponses["confirm"] == nil {
		s.st.modern.mrtr.Refused++
		return nil, ConfirmResult{}, fmt.Errorf("unknown requestState, or no answer to \"confirm\"")
	}
	delete(s.st.modern.issued, state)
	s.st.modern.mrtr.Completed++
	return nil, ConfirmResult{Confirmed: true}, nil
}

// applyHandle changes the counter a handle names. A handle opened in a
// session is reachable from that session only: another caller presenting
// it reaches no state.
func (s *Server) applyHandle(req *mcp.CallToolRequest, handle string, f func(int) int) (*mcp.CallToolResult, Result, error) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	h, ok := s.st.modern.handles[handle]
	if ok && h.Session != "" && h.Session != req.Session.ID() {
		h.Refused++
		ok = false
	}
	if !ok {
		return nil, Result{}, fmt.Errorf("unknown handle %q", handle)
	}
	h.Calls++
	h.Value = f(h.Value)
	return nil, Result{Value: h.Value}, nil
}

// boundedAppend appends v, dropping the oldest past fakes.MaxHeaderRecords.
func boundedAppend(list []string, v string) []string {
	if len(list) >= fakes.MaxHeaderRecords {
		list = list[1:]
	}
	return append(list, v)
}
