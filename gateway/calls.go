package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The SDK runs a call's handler under the session's context, not under the
// HTTP request that carried it: a client that gives up on a call would leave
// the upstream call running until the session ends. The front therefore
// tags each POST it hands the SDK with a token naming the request's context,
// and the handler binds its upstream call to that context.

// headerCallToken carries the token. The front sets it on every POST it
// hands to the SDK, overwriting whatever a client sent; it never leaves the
// gateway.
const headerCallToken = "Mcpgw-Call"

// errAbandoned is the cancellation cause of a call whose client went away.
var errAbandoned = errors.New("the client gave up on the call")

// errCallTimeout is the cancellation cause of a call past Config.CallTimeout.
var errCallTimeout = errors.New("the upstream call exceeded the gateway's call timeout")

// callContexts maps tokens to the contexts of the HTTP requests in flight.
type callContexts struct {
	next atomic.Uint64
	m    sync.Map // token -> context.Context
}

// track tags r with a token for its context until the returned func runs.
func (c *callContexts) track(r *http.Request) (untrack func()) {
	token := strconv.FormatUint(c.next.Add(1), 36)
	c.m.Store(token, r.Context())
	r.Header.Set(headerCallToken, token)
	return func() { c.m.Delete(token) }
}

// bind returns ctx, also cancelled when the HTTP request that carried req
// ends. A token no longer tracked means that request is over: nobody waits
// for the answer, so the call is cancelled at once.
func (c *callContexts) bind(ctx context.Context, req mcp.Request) (context.Context, func()) {
	extra := req.GetExtra()
	if extra == nil || extra.Header == nil || extra.Header.Get(headerCallToken) == "" {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	v, ok := c.m.Load(extra.Header.Get(headerCallToken))
	if !ok {
		cancel(errAbandoned)
		return ctx, func() {}
	}
	stop := context.AfterFunc(v.(context.Context), func() { cancel(errAbandoned) })
	return ctx, func() { stop(); cancel(nil) }
}

// callIDs returns the raw ids of the calls (requests that expect an answer)
// in a JSON-RPC body, one message or a batch; nothing if it does not parse.
func callIDs(body []byte) []json.RawMessage {
	var ids []json.RawMessage
	for _, m := range envelopes(body) {
		if m.isCall() {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// withCallTimeout bounds one upstream call by Config.CallTimeout.
func (g *Gateway) withCallTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if g.cfg.CallTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, g.cfg.CallTimeout, errCallTimeout)
}

// callError is the client's error for a failed upstream call of ctx: one
// that names the call timeout when that ended it.
func (g *Gateway) callError(ctx context.Context, upstreamID string, err error) error {
	if errors.Is(context.Cause(ctx), errCallTimeout) {
		return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("upstream %q did not answer within %v (--call-timeout)", upstreamID, g.cfg.CallTimeout)}
	}
	return upstreamError(upstreamID, err)
}

// ptCancelled tells a pass-through session's upstream that the calls ids
// were abandoned, as go-sdk does for /mcp, so it stops working on them. It
// runs in the background, bounded by the connect timeout.
func (g *Gateway) ptCancelled(d *downstream, ids []json.RawMessage, version string) {
	def, upstreamID := d.pt.current()
	if upstreamID == "" {
		return // the session ended or is being rebuilt: nothing to cancel
	}
	d.pt.mu.Lock()
	client := d.pt.transport.client
	d.pt.mu.Unlock()
	g.registry.tasks.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), g.cfg.ConnectTimeout)
		defer cancel()
		hdr := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}}
		if version != "" {
			hdr.Set(headerProtocolVersion, version)
		}
		for _, id := range ids {
			body := []byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":` + string(id) + `,"reason":"the client went away"}}`)
			req, err := upstreamRequest(ctx, http.MethodPost, def, upstreamID, hdr, body)
			if err != nil {
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				g.log.Info("could not tell the upstream of an abandoned call", "session", d.id, "upstream", def.ID, "err", err)
				return
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
		}
	})
}

// abandonWatch wraps a pass-through response body: closed before its end
// while the client is gone, its calls are reported abandoned upstream.
type abandonWatch struct {
	io.ReadCloser
	ended   bool
	onClose func(ended bool)
	once    sync.Once
}

func (b *abandonWatch) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.ended = true
	}
	return n, err
}

func (b *abandonWatch) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.onClose(b.ended) })
	return err
}
