package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
)

// The one-upstream route /servers/{id}/mcp is a pass-through: the client's
// own initialize opens the upstream session, and every later message is
// relayed as bytes with only the session id swapped. No MCP decoding on
// the hot path, and no SDK session held per downstream session. The /mcp
// route, which merges upstreams, keeps the SDK on both sides.

// ptSession is a pass-through downstream session's upstream side.
type ptSession struct {
	mu         sync.Mutex // serializes re-initialization and eviction
	def        Upstream
	upstreamID string // "" once closed: the next request re-initializes
	transport  *upstreamTransport
	initBody   []byte // the client's initialize, replayed after a loss
	version    string // protocol revision the client sends, for re-initialization
	closed     bool   // the downstream session ended: never re-initialize
}

func (p *ptSession) noteVersion(v string) {
	if v == "" {
		return
	}
	p.mu.Lock()
	p.version = v
	p.mu.Unlock()
}

func (p *ptSession) current() (Upstream, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.def, p.upstreamID
}

// passThrough reports whether route is served as a pass-through.
func (g *Gateway) passThrough(route string) bool {
	return route != "" && g.policy.passThroughServers()
}

// relayedRequestHeaders are the only client headers sent upstream: the
// gateway's own credentials and session id never leave it (ISO-7).
var relayedRequestHeaders = []string{"Content-Type", "Accept", "Mcp-Protocol-Version", "Last-Event-Id"}

func upstreamRequest(ctx context.Context, method string, def Upstream, upstreamID string, in http.Header, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, def.URL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for _, h := range relayedRequestHeaders {
		if v := in.Values(h); len(v) > 0 {
			req.Header[h] = v
		}
	}
	if upstreamID != "" {
		req.Header.Set(headerSessionID, upstreamID)
	}
	return req, nil
}

// ptInitialize opens a pass-through session: the client's initialize goes
// upstream, and on success the upstream's session id is mapped to a new
// downstream one.
func (g *Gateway) ptInitialize(w http.ResponseWriter, r *http.Request, route string, body []byte) {
	def, ok := g.upstreams.get(route)
	if !ok {
		httpError(w, http.StatusNotFound, "no upstream server "+route+" on this gateway")
		return
	}
	transport, client, err := g.registry.poolFor(def)
	if err != nil {
		httpError(w, http.StatusBadGateway, fmt.Sprintf("upstream %q: %v", def.ID, err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.ConnectTimeout)
	defer cancel()
	req, err := upstreamRequest(ctx, http.MethodPost, def, "", r.Header, body)
	if err != nil {
		g.registry.releaseTransport(transport)
		httpError(w, http.StatusBadGateway, err.Error())
		return
	}
	if g.policy.forwardCallerCredentials() {
		copyCallerCredentials(req.Header, r.Header)
	}
	resp, err := client.Do(req)
	if err != nil {
		g.registry.releaseTransport(transport)
		httpError(w, http.StatusBadGateway, fmt.Sprintf("upstream %q did not answer initialize: %v", def.ID, err))
		return
	}
	defer resp.Body.Close()
	upstreamID := resp.Header.Get(headerSessionID)
	if resp.StatusCode != http.StatusOK || upstreamID == "" {
		g.registry.releaseTransport(transport)
		copyResponse(w, resp, "")
		return
	}
	ctxD, cancelD := context.WithCancel(g.baseCtx)
	d := &downstream{
		id: randomID(), identity: callerIdentity(r), route: route, created: g.now(), ctx: ctxD, cancel: cancelD,
		pt: &ptSession{def: def, upstreamID: upstreamID, transport: transport, initBody: body, version: r.Header.Get(headerProtocolVersion)},
	}
	g.sessions.add(d)
	g.metrics.downstreamSessions.Inc()
	g.metrics.upstreamSessions.Inc()
	g.metrics.upstreamCreations.WithLabelValues(def.ID).Inc()
	if g.cluster != nil {
		if err := g.cluster.claim(d.id); err != nil {
			g.log.Warn("could not claim the new session in Redis yet", "session", d.id, "err", err)
		}
	}
	g.log.Info("downstream session started", "session", d.id, "identity", d.identity, "route", g.shape.routePath(d.route), "upstream_session", upstreamID)
	copyResponse(w, resp, d.id)
}

// copyResponse writes an upstream response downstream, with the downstream
// session id in place of the upstream's, flushing as bytes arrive so event
// streams flow.
func copyResponse(w http.ResponseWriter, resp *http.Response, downstreamID string) {
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.Header().Del(headerSessionID)
	if downstreamID != "" {
		w.Header().Set(headerSessionID, downstreamID)
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// ptServe relays a request of a pass-through session to its upstream.
// A request carrying calls is bounded by the call timeout.
func (g *Gateway) ptServe(w http.ResponseWriter, r *http.Request, d *downstream, carriesCalls bool) {
	// The client leaving is told apart from the session ending (whose
	// upstream session is closed anyway) by its cause.
	left := errAbandoned
	if !g.policy.cancelAbandonedCalls() {
		left = context.Canceled
	}
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
	defer cancel(nil)
	stopClient := context.AfterFunc(r.Context(), func() { cancel(left) })
	defer stopClient()
	ctx, stop := d.bind(ctx)
	defer stop()
	if carriesCalls {
		var cancelCall context.CancelFunc
		ctx, cancelCall = g.withCallTimeout(ctx)
		defer cancelCall()
	}
	g.ptProxy.ServeHTTP(w, r.WithContext(context.WithValue(ctx, ptKey{}, d)))
}

type ptKey struct{}

// newPassThroughProxy builds the streaming proxy of pass-through sessions.
func (g *Gateway) newPassThroughProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		FlushInterval: -1,
		Transport:     ptTransport{g: g},
		BufferPool:    copyBuffers,
		Rewrite: func(pr *httputil.ProxyRequest) {
			d := pr.In.Context().Value(ptKey{}).(*downstream)
			def, upstreamID := d.pt.current()
			u, _ := url.Parse(def.URL)
			pr.Out.URL, pr.Out.Host = u, u.Host
			pr.Out.Header = http.Header{}
			for _, h := range relayedRequestHeaders {
				if v := pr.In.Header.Values(h); len(v) > 0 {
					pr.Out.Header[h] = v
				}
			}
			if g.policy.forwardCallerCredentials() {
				copyCallerCredentials(pr.Out.Header, pr.In.Header)
			}
			pr.Out.Header.Set(headerSessionID, upstreamID)
		},
		ModifyResponse: func(resp *http.Response) error {
			d := resp.Request.Context().Value(ptKey{}).(*downstream)
			if resp.Header.Get(headerSessionID) != "" {
				resp.Header.Set(headerSessionID, d.id)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.As(err, new(*http.MaxBytesError)) {
				httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", g.cfg.MaxBodyBytes))
				return
			}
			if errors.Is(context.Cause(r.Context()), errCallTimeout) {
				httpError(w, http.StatusGatewayTimeout, fmt.Sprintf("upstream %q did not answer within %v (--call-timeout)", r.Context().Value(ptKey{}).(*downstream).route, g.cfg.CallTimeout))
				return
			}
			if r.Context().Err() != nil {
				return // the client or the session went away
			}
			d := r.Context().Value(ptKey{}).(*downstream)
			g.log.Warn("pass-through request failed", "session", d.id, "upstream", d.route, "err", err)
			httpError(w, http.StatusBadGateway, fmt.Sprintf("upstream %q: %v", d.route, err))
		},
	}
}

// ptTransport sends a pass-through request on the session's pooled client.
// An upstream that lost the session (404), or a session closed by an
// upstream change, is re-initialized with the client's own initialize and
// the request sent once more (ISO-8).
type ptTransport struct{ g *Gateway }

func (t ptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	d := req.Context().Value(ptKey{}).(*downstream)
	var body []byte
	if req.Body != nil { // nil for a GET: the proxy drops empty bodies
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
	}
	var err error
	d.pt.noteVersion(req.Header.Get(headerProtocolVersion))
	upstreamID := req.Header.Get(headerSessionID)
	if upstreamID == "" {
		if upstreamID, err = t.g.ptReinitialize(req.Context(), d, ""); err != nil {
			return nil, err
		}
	}
	resp, err := t.send(req, d, upstreamID, body)
	if err == nil && resp.StatusCode == http.StatusNotFound && req.Method != http.MethodDelete {
		resp.Body.Close()
		t.g.log.Info("upstream lost the session; re-initializing", "session", d.id, "upstream", d.route, "upstream_session", upstreamID)
		if upstreamID, err = t.g.ptReinitialize(req.Context(), d, upstreamID); err != nil {
			return nil, err
		}
		resp, err = t.send(req, d, upstreamID, body)
	}
	return t.g.watchAbandon(req, d, body, resp, err)
}

// watchAbandon reports the calls of a POST upstream as cancelled when the
// client leaves before their answers are through: the upstream would
// otherwise go on working for nobody.
func (g *Gateway) watchAbandon(req *http.Request, d *downstream, body []byte, resp *http.Response, err error) (*http.Response, error) {
	if req.Method != http.MethodPost {
		return resp, err
	}
	abandoned := func() {
		if cutNow(context.Cause(req.Context())) {
			if ids := callIDs(body); len(ids) > 0 {
				g.ptCancelled(d, ids, req.Header.Get(headerProtocolVersion))
			}
		}
	}
	if err != nil {
		abandoned()
		return nil, err
	}
	resp.Body = &abandonWatch{ReadCloser: resp.Body, onClose: func(ended bool) {
		if !ended {
			abandoned()
		}
	}}
	return resp, nil
}

func (t ptTransport) send(req *http.Request, d *downstream, upstreamID string, body []byte) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.RequestURI = "" // a client request must not carry one
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.Header.Set(headerSessionID, upstreamID)
	// The definition may have changed since Rewrite (an upstream update).
	def, _ := d.pt.current()
	u, err := url.Parse(def.URL)
	if err != nil {
		return nil, err
	}
	out.URL, out.Host = u, u.Host
	d.pt.mu.Lock()
	client := d.pt.transport.client
	d.pt.mu.Unlock()
	return client.Do(out)
}

// ptReinitialize opens a new upstream session for d, unless another request
// already replaced lost (the session id that failed).
func (g *Gateway) ptReinitialize(ctx context.Context, d *downstream, lost string) (string, error) {
	p := d.pt
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return "", fmt.Errorf("session %s has ended", d.id)
	}
	if p.upstreamID != "" && p.upstreamID != lost {
		return p.upstreamID, nil // someone else already did it
	}
	if p.upstreamID != "" {
		g.metrics.upstreamSessions.Dec()
		g.metrics.upstreamRebuilds.WithLabelValues(p.def.ID).Inc()
	}
	p.upstreamID = ""
	ctx, cancel := context.WithTimeout(ctx, g.cfg.ConnectTimeout)
	defer cancel()
	hdr := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}}
	req, err := upstreamRequest(ctx, http.MethodPost, p.def, "", hdr, p.initBody)
	if err != nil {
		return "", err
	}
	resp, err := p.transport.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("re-initialize upstream %q: %w", p.def.ID, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	id := resp.Header.Get(headerSessionID)
	if resp.StatusCode != http.StatusOK || id == "" {
		return "", fmt.Errorf("re-initialize upstream %q: %s", p.def.ID, resp.Status)
	}
	if p.version != "" {
		hdr.Set(headerProtocolVersion, p.version)
	}
	if note, err := upstreamRequest(ctx, http.MethodPost, p.def, id, hdr, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err == nil {
		if resp, err := p.transport.client.Do(note); err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
	}
	p.upstreamID = id
	g.metrics.upstreamSessions.Inc()
	g.metrics.upstreamCreations.WithLabelValues(p.def.ID).Inc()
	return id, nil
}

// ptClose ends a pass-through session's upstream session in the background:
// DELETE upstream, bounded like every close. When switchTo is set, the
// session moves to that definition (an upstream change) and re-initializes
// on its next request.
func (g *Gateway) ptClose(d *downstream, cause string, switchTo *Upstream) {
	closeOld := g.ptDetach(d, cause, switchTo)
	g.registry.tasks.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*g.cfg.ShutdownTimeout)
		defer cancel()
		closeOld(ctx)
	})
}

// ptDetach takes the upstream session off d (moving d to switchTo if set)
// and returns the close of the old one, which runs under ctx.
func (g *Gateway) ptDetach(d *downstream, cause string, switchTo *Upstream) func(ctx context.Context) {
	p := d.pt
	p.mu.Lock()
	def, upstreamID, transport := p.def, p.upstreamID, p.transport
	p.upstreamID = ""
	p.closed = switchTo == nil
	if switchTo != nil {
		if tr, _, err := g.registry.poolFor(*switchTo); err == nil {
			p.def, p.transport = *switchTo, tr
		} else {
			g.log.Warn("cannot reach the changed upstream; keeping the old settings", "upstream", switchTo.ID, "err", err)
			g.registry.acquirePool(transport) // the session keeps using it
		}
	}
	p.mu.Unlock()
	return func(ctx context.Context) {
		if upstreamID != "" {
			if req, err := upstreamRequest(ctx, http.MethodDelete, def, upstreamID, nil, nil); err == nil {
				if resp, err := transport.client.Do(req); err == nil {
					resp.Body.Close()
				} else if !errors.Is(err, context.Canceled) {
					g.log.Warn("upstream session close failed", "session", d.id, "upstream", def.ID, "err", err)
				}
			}
			g.metrics.upstreamSessions.Dec()
			g.metrics.upstreamEvictions.WithLabelValues(cause).Inc()
			g.log.Info("upstream session closed", "session", d.id, "upstream", def.ID, "upstream_session", upstreamID, "cause", cause)
		}
		g.registry.releaseTransport(transport)
	}
}
