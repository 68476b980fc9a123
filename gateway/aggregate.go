package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mcpgw/conformance/gateway/notifyone"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Version is the reference gateway's version, shown in serverInfo.
const Version = "0.1.0"

// newMCPServer builds the downstream MCP server of one route ("" = /mcp).
// It registers no tools: a receiving middleware answers tools/list and
// tools/call from the caller's own upstream sessions, so every downstream
// session sees exactly what its upstream sessions offer.
func (g *Gateway) newMCPServer(route string) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "mcpgw-reference", Version: Version}, &mcp.ServerOptions{
		// listChanged: an upstream's tools/list_changed is relayed as the
		// gateway's own (relay.go).
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
		GetSessionID: randomID,
	})
	srv.AddSendingMiddleware(notifyone.Middleware)
	srv.AddReceivingMiddleware(g.aggregatingMiddleware(route))
	return srv
}

// aggregatingMiddleware records a downstream session once its initialize is
// answered, and answers tools/list (merged across the route's upstreams) and
// tools/call (routed to one) from that session's own upstream sessions.
func (g *Gateway) aggregatingMiddleware(route string) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			switch method {
			case "initialize":
				res, err := next(ctx, method, req)
				if err == nil {
					g.sessionStarted(route, req)
				}
				return res, err
			case "tools/list", "tools/call":
				d, err := g.callerSession(req)
				if err != nil {
					return nil, err
				}
				ctx, stop := d.bind(ctx)
				defer stop()
				if extra := req.GetExtra(); extra != nil && extra.Header.Get(headerNoStream) != "" {
					ctx = context.WithValue(ctx, noStreamKey{}, true)
				}
				if g.policy.cancelAbandonedCalls() {
					var unbind func()
					ctx, unbind = g.calls.bind(ctx, req)
					defer unbind()
				}
				if method == "tools/list" {
					return g.listTools(ctx, d)
				}
				if g.policy.matchAnswersByID() {
					return g.answers.exchange(ctx, req, func() (mcp.Result, error) {
						return g.callTool(ctx, d, req.GetParams().(*mcp.CallToolParamsRaw))
					})
				}
				return g.callTool(ctx, d, req.GetParams().(*mcp.CallToolParamsRaw))
			}
			return next(ctx, method, req)
		}
	}
}

// sessionStarted records a downstream session once the SDK has answered its
// initialize, with the identity that created it.
func (g *Gateway) sessionStarted(route string, req mcp.Request) {
	ss, ok := req.GetSession().(*mcp.ServerSession)
	if !ok || ss.ID() == "" || g.sessions.has(ss.ID()) {
		return // no id to address it by, or a repeated initialize
	}
	ctx, cancel := context.WithCancel(g.baseCtx)
	d := &downstream{id: ss.ID(), identity: identityOf(req.GetExtra()), route: route, created: g.now(), server: ss, ctx: ctx, cancel: cancel}
	g.sessions.add(d)
	g.metrics.downstreamSessions.Inc()
	if g.cluster != nil {
		// A failed claim does not fail the session: the heartbeat loop
		// claims it once Redis answers again.
		if err := g.cluster.claim(d.id); err != nil {
			g.log.Warn("could not claim the new session in Redis yet", "session", d.id, "err", err)
		}
	}
	g.log.Info("downstream session started", "session", d.id, "identity", d.identity, "route", g.shape.routePath(d.route))
	if g.policy.parkOnDelete() {
		g.adoptParked(d)
	}
}

func (g *Gateway) callerSession(req mcp.Request) (*downstream, error) {
	id := ""
	if s := req.GetSession(); s != nil {
		id = s.ID()
	}
	d := g.sessions.get(id)
	if d == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: fmt.Sprintf("session %q has ended; initialize a new one", id)}
	}
	return d, nil
}

// upstreamsFor lists the upstreams a session's route reaches, by id.
func (g *Gateway) upstreamsFor(d *downstream) []Upstream {
	if d.route != "" {
		if u, ok := g.upstreams.get(d.route); ok {
			return []Upstream{u}
		}
		return nil
	}
	return g.upstreams.list()
}

func (g *Gateway) listTools(ctx context.Context, d *downstream) (*mcp.ListToolsResult, error) {
	ups := g.upstreamsFor(d)
	if d.route != "" && len(ups) == 0 {
		return nil, errUpstreamGone(d.route)
	}
	// The merged list is as private as its most private part: a private
	// upstream list is never widened to public (VER-5).
	res := &mcp.ListToolsResult{Tools: []*mcp.Tool{}}
	res.CacheScope = "public"
	for _, u := range ups {
		var tools []*mcp.Tool
		callCtx, cancel := g.withCallTimeout(ctx)
		err := g.registry.call(callCtx, g.policy.poolKey(d, u.ID), d.id, u, func(ctx context.Context, cs *mcp.ClientSession) error {
			tools = tools[:0]
			params := &mcp.ListToolsParams{}
			for pages := 1; ; pages++ {
				page, err := cs.ListTools(ctx, params)
				if err != nil {
					return err
				}
				tools = append(tools, page.Tools...)
				if page.CacheScope == "private" {
					res.CacheScope = "private"
				}
				if page.NextCursor == "" {
					return nil
				}
				if pages == maxToolPages {
					return fmt.Errorf("tools/list did not end within %d pages", maxToolPages)
				}
				params.Cursor = page.NextCursor
			}
		})
		if err != nil {
			err = g.callError(callCtx, u.ID, err)
		}
		cancel()
		if err != nil {
			if d.route != "" {
				return nil, err
			}
			// One broken upstream must not hide the others' tools.
			g.log.Warn("listing tools of upstream failed; leaving its tools out", "session", d.id, "upstream", u.ID, "err", err)
			continue
		}
		for _, t := range tools {
			if d.route == "" {
				name, ok := g.aggregateToolName(d, u.ID, t.Name)
				if !ok {
					continue
				}
				t.Name = name
			}
			res.Tools = append(res.Tools, t)
		}
	}
	slices.SortStableFunc(res.Tools, func(a, b *mcp.Tool) int { return strings.Compare(a.Name, b.Name) })
	return res, nil
}

// toolTarget resolves the tool a session calls by name to its upstream and
// the upstream's own tool name: on a server route the route's upstream and
// the name as is, on the aggregate route the name's upstream part.
func (g *Gateway) toolTarget(d *downstream, name string) (Upstream, string, error) {
	upstreamID, tool := d.route, name
	if d.route == "" {
		ref, err := g.readToolName(name)
		if err != nil {
			return Upstream{}, "", err
		}
		upstreamID, tool = ref.upstream, ref.tool
	}
	u, ok := g.upstreams.get(upstreamID)
	if !ok {
		return Upstream{}, "", errUpstreamGone(upstreamID)
	}
	return u, tool, nil
}

func (g *Gateway) callTool(ctx context.Context, d *downstream, params *mcp.CallToolParamsRaw) (*mcp.CallToolResult, error) {
	u, tool, err := g.toolTarget(d, params.Name)
	if err != nil {
		return nil, err
	}
	var res *mcp.CallToolResult
	ctx, cancel := g.withCallTimeout(ctx)
	defer cancel()
	defer d.live.start(ctx, u.ID, params.GetProgressToken())()
	err = g.registry.call(ctx, g.policy.poolKey(d, u.ID), d.id, u, func(ctx context.Context, cs *mcp.ClientSession) error {
		// Arguments go upstream as received, never re-encoded. Absent or
		// null ones go as {} (the same thing to MCP): a go-sdk v1.8.0 server
		// panics applying schema defaults to "arguments": null.
		call := &mcp.CallToolParams{Meta: params.Meta, Name: tool, Arguments: emptyArguments}
		if len(params.Arguments) > 0 && string(params.Arguments) != "null" {
			call.Arguments = params.Arguments
		}
		var err error
		res, err = cs.CallTool(ctx, call)
		return err
	})
	if err != nil {
		return nil, g.callError(ctx, u.ID, err)
	}
	return res, nil
}

var emptyArguments = json.RawMessage("{}")

// maxToolPages bounds an upstream's tools/list pagination: a cursor that
// never ends is an upstream bug, not a reason to loop.
const maxToolPages = 100

// aggregateToolName names an upstream's tool on the aggregate route. A name
// that would not read back to this very tool (another upstream's reading
// fits it too) is left out of the listing, with an error logged: calling it
// could only fail or reach the wrong tool.
func (g *Gateway) aggregateToolName(d *downstream, upstream, tool string) (string, bool) {
	name, err := g.shape.toolNames.render(upstream, tool)
	if err != nil {
		g.log.Error("naming a tool with --tool-name failed; leaving it out", "session", d.id, "upstream", upstream, "tool", tool, "err", err)
		return "", false
	}
	matches, _ := g.shape.toolNames.read(name, g.upstreams.has)
	if len(matches) != 1 || matches[0] != (toolRef{upstream: upstream, tool: tool}) {
		g.log.Error("ambiguous tool name under --tool-name: it does not read back to this tool alone; leaving it out",
			"session", d.id, "upstream", upstream, "tool", tool, "name", name, "readings", fmt.Sprint(matches))
		return "", false
	}
	return name, true
}

// readToolName finds which upstream's tool a name on the aggregate route is.
func (g *Gateway) readToolName(name string) (toolRef, error) {
	matches, first := g.shape.toolNames.read(name, g.upstreams.has)
	switch {
	case len(matches) == 1:
		return matches[0], nil
	case len(matches) > 1:
		return toolRef{}, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("ambiguous tool %q: it reads as tool %q of upstream %q and as tool %q of upstream %q (see --tool-name)",
			name, matches[0].tool, matches[0].upstream, matches[1].tool, matches[1].upstream)}
	case first != nil:
		return toolRef{}, errUpstreamGone(first.upstream)
	}
	return toolRef{}, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q: tools on %s are named %s", name, g.shape.aggregate, g.shape.toolNames.pattern)}
}

func errUpstreamGone(id string) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("upstream %q is not configured on this gateway (removed?)", id)}
}

// upstreamError passes an upstream's own JSON-RPC error through untouched and
// wraps anything else in a message that names the upstream.
func upstreamError(id string, err error) error {
	var rpcErr *jsonrpc.Error
	if errors.As(err, &rpcErr) {
		return rpcErr
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("upstream %q: %v", id, err)}
}
