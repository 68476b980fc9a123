// Package notifyone sends one MCP server session a notification that
// go-sdk v1.8.0 only sends server-wide: notifications/tools/list_changed
// goes to every session of a server when its tools change, and
// notifications/resources/updated only to subscribers. A fake upstream
// telling its own session, and a gateway relaying an upstream's
// notification to the one downstream session that owns it, need it per
// session, under the request context it relates to (so it travels on that
// request's stream).
//
// go-sdk has no public per-session notify, but every message a server
// session sends passes its sending middleware: Send sends a progress
// notification carrying a marker in its context, and Middleware, installed
// with Server.AddSendingMiddleware, swaps it for the wanted one.
package notifyone

import (
	"context"
	"errors"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type key struct{}

type pending struct {
	method string
	build  func(*mcp.ServerSession) mcp.Request
	sent   bool
}

// ErrNoMiddleware is Send's error on a server without Middleware.
var ErrNoMiddleware = errors.New("notifyone: the server has no notifyone.Middleware")

// Send sends ss the notification method with params, under ctx.
func Send[P mcp.Params](ctx context.Context, ss *mcp.ServerSession, method string, params P) error {
	p := &pending{method: method, build: func(ss *mcp.ServerSession) mcp.Request {
		return &mcp.ServerRequest[P]{Session: ss, Params: params}
	}}
	err := ss.NotifyProgress(context.WithValue(ctx, key{}, p), &mcp.ProgressNotificationParams{})
	if err == nil && !p.sent {
		return ErrNoMiddleware
	}
	return err
}

// ToolListChanged sends ss notifications/tools/list_changed.
func ToolListChanged(ctx context.Context, ss *mcp.ServerSession) error {
	return Send(ctx, ss, "notifications/tools/list_changed", &mcp.ToolListChangedParams{})
}

// ResourceUpdated sends ss notifications/resources/updated for uri.
func ResourceUpdated(ctx context.Context, ss *mcp.ServerSession, uri string) error {
	return Send(ctx, ss, "notifications/resources/updated", &mcp.ResourceUpdatedNotificationParams{URI: uri})
}

// Middleware is the sending middleware Send needs on the server.
func Middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		p, ok := ctx.Value(key{}).(*pending)
		if !ok || p == nil || method != "notifications/progress" {
			return next(ctx, method, req)
		}
		ss, ok := req.GetSession().(*mcp.ServerSession)
		if !ok {
			return next(ctx, method, req)
		}
		p.sent = true
		return next(context.WithValue(ctx, key{}, (*pending)(nil)), p.method, p.build(ss))
	}
}
