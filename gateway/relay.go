package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mcpgw/conformance/gateway/notifyone"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Routing inside a session on the SDK routes (/mcp, and /servers/{id}/mcp
// under the pooling bugs): what an upstream session sends its client (the
// gateway) goes to the one downstream session that owns it (RTE).
//
//   - elicitation/create, sampling/createMessage and roots/list are asked
//     of that session's client, and the answer goes back to the upstream as
//     the answer to its own request. The SDK on each side keeps its own
//     ids, so ids are remapped per session by construction (RTE-2, RTE-5).
//     A client without the capability gets none: the upstream gets the
//     error at once (RTE-3).
//   - notifications/progress goes to the call whose request carried the
//     token: the token went upstream unchanged in _meta, and it comes back
//     on that call's upstream session, relayed as it is read so that it
//     precedes the call's result (relay_progress.go, RTE-4).
//   - notifications/tools/list_changed and notifications/resources/updated
//     go to that session as the gateway's own (RTE-7).
//
// Each is sent under the context of the downstream call it belongs to, so
// it travels on that call's event stream, before the call's result; with no
// such call in flight, or when the call's client offers no stream (its
// POST does not accept text/event-stream: front_nostream.go), it goes to
// the session's GET stream, and a session that has none gets the error at
// once (RTE-3). Cancellation needs nothing here: the SDK cancels the
// handler of a cancelled call, whose upstream call the SDK then cancels
// under the upstream's own id (RTE-6).

// relayTimeout bounds a server-to-client request relayed outside any call
// (a call's own requests are bounded by --call-timeout).
const relayTimeout = 30 * time.Second

// liveCalls are a downstream session's tools/call in flight on the SDK
// route, so that what an upstream sends about one finds its stream.
type liveCalls struct {
	mu    sync.Mutex
	next  uint64
	calls map[uint64]liveCall
}

type liveCall struct {
	upstream string
	token    any // the call's progressToken, nil if none
	ctx      context.Context
	noStream bool // its client takes no event stream: nothing can travel with it
}

// start records a call to upstream under ctx until the returned func runs.
func (l *liveCalls) start(ctx context.Context, upstream string, token any) (done func()) {
	_, noStream := ctx.Value(noStreamKey{}).(bool)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls == nil {
		l.calls = map[uint64]liveCall{}
	}
	l.next++
	n := l.next
	l.calls[n] = liveCall{upstream: upstream, token: token, ctx: ctx, noStream: noStream}
	return func() {
		l.mu.Lock()
		delete(l.calls, n)
		l.mu.Unlock()
	}
}

// find returns the context of the newest live call to upstream (with the
// given token, when token is not nil), or nil; nil too when that call's
// client offers no stream to send on.
func (l *liveCalls) find(upstream string, token any) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	var best uint64
	var found liveCall
	for n, c := range l.calls {
		if c.upstream != upstream || (token != nil && !sameToken(c.token, token)) || c.ctx.Err() != nil {
			continue
		}
		if n > best {
			best, found = n, c
		}
	}
	if found.ctx == nil || found.noStream {
		return nil
	}
	return found.ctx
}

// sameToken compares progress tokens as JSON values: a number may come back
// decoded as another Go type than it was sent with.
func sameToken(a, b any) bool {
	return fmt.Sprint(a) == fmt.Sprint(b) && isString(a) == isString(b)
}

func isString(v any) bool { _, ok := v.(string); return ok }

// relayClientOptions are the handlers of the gateway's upstream client.
func (g *Gateway) relayClientOptions() *mcp.ClientOptions {
	return &mcp.ClientOptions{
		// Roots are relayed (relayRoots), without listChanged: a client's
		// notifications/roots/list_changed is not relayed upstream.
		Capabilities: &mcp.ClientCapabilities{RootsV2: &mcp.RootCapabilities{}},
		ElicitationHandler: func(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return relayRequest(ctx, g, req.Session, "elicitation/create", func(ctx context.Context, ss *mcp.ServerSession) (*mcp.ElicitResult, error) {
				return ss.Elicit(ctx, req.Params)
			})
		},
		CreateMessageHandler: func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return relayRequest(ctx, g, req.Session, "sampling/createMessage", func(ctx context.Context, ss *mcp.ServerSession) (*mcp.CreateMessageResult, error) {
				return ss.CreateMessage(ctx, req.Params)
			})
		},
		ToolListChangedHandler: func(_ context.Context, req *mcp.ToolListChangedRequest) {
			g.relayNotification(req.Session, "notifications/tools/list_changed", true, func(ctx context.Context, ss *mcp.ServerSession) error {
				return notifyone.ToolListChanged(ctx, ss)
			})
		},
		ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			g.relayNotification(req.Session, "notifications/resources/updated", true, func(ctx context.Context, ss *mcp.ServerSession) error {
				return notifyone.ResourceUpdated(ctx, ss, req.Params.URI)
			})
		},
	}
}

// relayRoots is the gateway's upstream client's middleware that relays
// roots/list (go-sdk's client would answer it from its own, empty, list).
func (g *Gateway) relayRoots(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		cs, ok := req.GetSession().(*mcp.ClientSession)
		if method != "roots/list" || !ok {
			return next(ctx, method, req)
		}
		params, _ := req.GetParams().(*mcp.ListRootsParams)
		res, err := relayRequest(ctx, g, cs, method, func(ctx context.Context, ss *mcp.ServerSession) (*mcp.ListRootsResult, error) {
			if p := ss.InitializeParams(); p == nil || p.Capabilities == nil || p.Capabilities.RootsV2 == nil {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: "the client does not support roots"}
			}
			return ss.ListRoots(ctx, params)
		})
		if err != nil {
			return nil, err // not a typed nil result
		}
		return res, nil
	}
}

// relayInStream relays a notification of an upstream session as its event
// stream is read (relay_progress.go): progress to the call that carried its
// token, list and resource notifications as relayNotification does.
func (g *Gateway) relayInStream(s *upstreamSession, method string, params json.RawMessage) {
	switch method {
	case "notifications/progress":
		var p mcp.ProgressNotificationParams
		if json.Unmarshal(params, &p) == nil {
			g.relayProgress(s, &p)
		}
	case "notifications/tools/list_changed":
		g.relayNotificationOf(s, method, true, func(ctx context.Context, ss *mcp.ServerSession) error {
			return notifyone.ToolListChanged(ctx, ss)
		})
	case "notifications/resources/updated":
		var p mcp.ResourceUpdatedNotificationParams
		if json.Unmarshal(params, &p) == nil {
			g.relayNotificationOf(s, method, true, func(ctx context.Context, ss *mcp.ServerSession) error {
				return notifyone.ResourceUpdated(ctx, ss, p.URI)
			})
		}
	}
}

// relayProgress sends an upstream session's progress notification to the
// call whose request carried its token, on that call's stream.
func (g *Gateway) relayProgress(s *upstreamSession, p *mcp.ProgressNotificationParams) {
	d := g.sessions.get(s.downstream)
	if d == nil || d.server == nil {
		return
	}
	ctx := d.live.find(s.def.ID, p.ProgressToken)
	if ctx == nil {
		return // its call has ended: nobody waits for its progress
	}
	if err := d.server.NotifyProgress(ctx, p); err != nil {
		g.log.Debug("progress not delivered downstream", "session", d.id, "upstream", s.def.ID, "err", err)
	}
}

// relayTarget is a downstream session to relay to, and the context to send
// under (its call's, or a bounded one for its GET stream).
type relayTarget struct {
	d      *downstream
	ctx    context.Context
	cancel context.CancelFunc
}

// relayTargets finds whom an upstream session's message is for: the
// downstream session owning it, or under broadcast-notifications every
// downstream session holding a session on that upstream.
func (g *Gateway) relayTargets(cs *mcp.ClientSession, broadcastable bool) (*upstreamSession, []relayTarget) {
	s := g.registry.byClient(cs)
	if s == nil {
		return nil, nil
	}
	return s, g.relayTargetsOf(s, broadcastable)
}

func (g *Gateway) relayTargetsOf(s *upstreamSession, broadcastable bool) []relayTarget {
	owners := []string{s.downstream}
	if broadcastable && g.policy.broadcastToUpstreamSessions() {
		owners = g.broadcastOwners(s.def.ID)
	}
	var out []relayTarget
	for _, id := range owners {
		d := g.sessions.get(id)
		if d == nil || d.server == nil {
			continue
		}
		t := relayTarget{d: d}
		if ctx := d.live.find(s.def.ID, nil); ctx != nil {
			t.ctx, t.cancel = context.WithCancel(ctx)
		} else {
			t.ctx, t.cancel = context.WithTimeout(d.ctx, relayTimeout)
		}
		out = append(out, t)
	}
	return out
}

// relayRequest asks a server-to-client request of the owning downstream
// session's client and returns its answer to the upstream. Under
// broadcast-notifications every target is asked and the first answer wins.
func relayRequest[R any](ctx context.Context, g *Gateway, cs *mcp.ClientSession, method string, ask func(context.Context, *mcp.ServerSession) (R, error)) (R, error) {
	var zero R
	s, targets := g.relayTargets(cs, true)
	defer func() {
		for _, t := range targets {
			t.cancel()
		}
	}()
	if len(targets) == 0 {
		return zero, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: method + ": the downstream session of this upstream session has ended"}
	}
	type answer struct {
		res R
		err error
	}
	answers := make(chan answer, len(targets))
	for _, t := range targets {
		go func() {
			res, err := ask(t.ctx, t.d.server)
			if err != nil && g.policy.holdUndeliverable() {
				// The bug: wait for a way to deliver that never comes.
				select {
				case <-t.ctx.Done():
				case <-ctx.Done():
				}
			}
			answers <- answer{res, err}
		}()
	}
	var last error
	for range targets {
		a := <-answers
		if a.err == nil {
			return a.res, nil
		}
		last = a.err
	}
	g.log.Info("server-to-client request not answered downstream", "upstream", s.def.ID, "method", method, "err", last)
	var rpcErr *jsonrpc.Error
	if errors.As(last, &rpcErr) {
		return zero, rpcErr
	}
	return zero, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("%s could not reach the client: %v", method, last)}
}

// relayNotification sends an upstream session's notification on to the
// owning downstream session (every holder, under broadcast-notifications,
// for the kinds that bug broadcasts).
func (g *Gateway) relayNotification(cs *mcp.ClientSession, method string, broadcastable bool, send func(context.Context, *mcp.ServerSession) error) {
	if s := g.registry.byClient(cs); s != nil {
		g.relayNotificationOf(s, method, broadcastable, send)
	}
}

func (g *Gateway) relayNotificationOf(s *upstreamSession, method string, broadcastable bool, send func(context.Context, *mcp.ServerSession) error) {
	for _, t := range g.relayTargetsOf(s, broadcastable) {
		err := send(t.ctx, t.d.server)
		t.cancel()
		if err != nil && t.ctx != nil {
			// Its call ended meanwhile: the session's GET stream, if any.
			ctx, cancel := context.WithTimeout(t.d.ctx, relayTimeout)
			err = send(ctx, t.d.server)
			cancel()
		}
		if err != nil {
			g.log.Debug("notification not delivered downstream", "session", t.d.id, "upstream", s.def.ID, "method", method, "err", err)
		}
	}
}
