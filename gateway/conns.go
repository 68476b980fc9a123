package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connTracker remembers every TCP connection one upstream session opened, so
// that the force phase of a close can cut them: that unblocks any SDK call
// still waiting on a wedged upstream, and its goroutine ends instead of leaking.
type connTracker struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

var errTrackerClosed = errors.New("upstream session is closing")

func newConnTracker() *connTracker {
	return &connTracker{conns: map[net.Conn]struct{}{}}
}

func (t *connTracker) dialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.closed {
			c.Close()
			return nil, errTrackerClosed
		}
		t.conns[c] = struct{}{}
		return &trackedConn{Conn: c, tracker: t}, nil
	}
}

// closeAll cuts every connection and refuses new ones.
func (t *connTracker) closeAll() {
	t.mu.Lock()
	t.closed = true
	conns := t.conns
	t.conns = map[net.Conn]struct{}{}
	t.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	tracker *connTracker
	once    sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.tracker.mu.Lock()
		delete(c.tracker.conns, c.Conn)
		c.tracker.mu.Unlock()
	})
	return c.Conn.Close()
}

// headerRoundTripper adds the operator's configured headers (e.g. upstream
// credentials) to every upstream request. Nothing from the downstream request
// is copied: the downstream Mcp-Session-Id never leaves the gateway.
type headerRoundTripper struct {
	base    http.RoundTripper
	headers map[string]string
}

func (h headerRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(h.headers) > 0 {
		req = req.Clone(req.Context())
		for k, v := range h.headers {
			req.Header.Set(k, v)
		}
	}
	return h.base.RoundTrip(req)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool.
func (h headerRoundTripper) CloseIdleConnections() { closeIdle(h.base) }

func closeIdle(rt http.RoundTripper) {
	if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// lingerRoundTripper lets a POST's response body finish after its caller
// stopped waiting, for a bounded while, so that its connection goes back to
// the pool. The SDK returns a call's result as soon as the result's event
// arrives and reads the rest of the stream in the background; the gateway
// then ends the call's context, and without this the transport would cut
// the connection over the few bytes still in flight, costing a new
// connection for the next call. Before the response headers arrive, ending
// the context aborts the request at once, as usual, and so does a call that
// is abandoned or past its deadline (cutNow): no result is coming for it.
type lingerRoundTripper struct {
	base   http.RoundTripper
	linger time.Duration
}

// bodyLinger bounds how long a response body is read after its caller left.
const bodyLinger = time.Second

func (l lingerRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost {
		return l.base.RoundTrip(req)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(req.Context()))
	var answered atomic.Bool
	stop := context.AfterFunc(req.Context(), func() {
		if answered.Load() && !cutNow(context.Cause(req.Context())) {
			time.AfterFunc(l.linger, cancel)
			return
		}
		cancel()
	})
	resp, err := l.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	answered.Store(true)
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { stop(); cancel() }}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the pool.
func (l lingerRoundTripper) CloseIdleConnections() { closeIdle(l.base) }

// cutNow reports whether a call ended for a cause that leaves no response
// worth finishing.
func cutNow(cause error) bool {
	return errors.Is(cause, errAbandoned) || errors.Is(cause, errCallTimeout)
}

// releasingBody releases its request's context once closed.
type releasingBody struct {
	io.ReadCloser
	release func()
	once    sync.Once
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// upstreamTransport is the connection pool of one upstream definition,
// shared by every session opened with that definition: held sessions cost
// no idle connection each. It goes when its last session does.
type upstreamTransport struct {
	key    string
	client *http.Client
	conns  *connTracker
	refs   int // guarded by registry.mu
}

// newUpstreamHTTPClient builds the HTTP client of one upstream definition. Every
// phase that can wait has a bound; the body of a tool call's response has
// none, because tool calls may legitimately run long (the request context
// bounds them instead).
func newUpstreamHTTPClient(def Upstream, tracker *connTracker) (*http.Client, error) {
	tlsCfg, err := def.tlsClientConfig()
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		DialContext:           tracker.dialContext(&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}),
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   5 * time.Second,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: headerRoundTripper{base: lingerRoundTripper{base: tr, linger: bodyLinger}, headers: def.Headers}}, nil
}

// copyBuffers lends the reverse proxies their copy buffers. Without a pool
// every proxied request allocates a fresh 32 KiB buffer, the largest piece of
// garbage on the pass-through and forwarding paths. A buffer stays lent for
// as long as a response streams, so an open GET stream holds one: 8 KiB fits
// most MCP messages in one read without making idle streams costly.
var copyBuffers = &bufferPool{size: 8 << 10}

type bufferPool struct {
	size int
	pool sync.Pool
}

func (p *bufferPool) Get() []byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, p.size)
}

func (p *bufferPool) Put(b []byte) {
	if cap(b) == p.size {
		b = b[:p.size]
		p.pool.Put(&b)
	}
}
