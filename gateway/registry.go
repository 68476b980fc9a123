package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// upstreamProtocolVersion is what the gateway asks of upstreams: the newest
// session-bearing revision. Asking for it directly skips the client's
// server/discover probe, which would cost every upstream session a round trip.
const upstreamProtocolVersion = "2025-11-25"

// regKey names one upstream session: whose it is and which upstream it reaches.
type regKey struct {
	owner    string // whose pool: a downstream session id (see bugPolicy.poolKey)
	upstream string
}

// upstreamSession is one MCP session the gateway holds with one upstream on
// behalf of one downstream session. The registry owns it: it is opened by a
// registry task and closed by one, never by a request handler, so a client
// that goes away mid-call cannot take the upstream session down with it.
type upstreamSession struct {
	key        regKey
	downstream string // downstream session that caused its creation
	def        Upstream
	connKey    string
	transport  *upstreamTransport
	cancel     context.CancelFunc // ends the session's context: aborts a connect, stops an SSE stream

	ready chan struct{} // closed once cs or err is set
	cs    *mcp.ClientSession
	err   error

	mu       sync.Mutex
	lastUsed time.Time
}

func (s *upstreamSession) sessionID() string {
	select {
	case <-s.ready:
		if s.cs != nil {
			return s.cs.ID()
		}
	default:
	}
	return ""
}

func (s *upstreamSession) touch() {
	s.mu.Lock()
	s.lastUsed = time.Now()
	s.mu.Unlock()
}

func (s *upstreamSession) idleFor() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Since(s.lastUsed)
}

var errShuttingDown = errors.New("gateway is shutting down")

// registry holds exactly one upstream session per regKey.
type registry struct {
	log            *slog.Logger
	metrics        *metrics
	client         *mcp.Client
	connectTimeout time.Duration
	probeAfterIdle time.Duration
	closeGrace     time.Duration
	// alive reports whether a downstream session still exists. It is asked
	// under r.mu, so a session deleted before its eviction can never get a
	// new upstream session behind the eviction's back.
	alive func(downstream string) bool

	// relayProgress relays a progress notification of an upstream session
	// in stream order (relay_progress.go); nil relays none.
	relayProgress func(s *upstreamSession, method string, params json.RawMessage)
	// clients finds the upstream session of a go-sdk client session, for
	// what the upstream sends the gateway (relay.go).
	clients sync.Map // *mcp.ClientSession -> *upstreamSession

	mu         sync.Mutex
	sessions   map[regKey]*upstreamSession
	transports map[string]*upstreamTransport // by connect key
	closed     bool
	tasks      sync.WaitGroup // every goroutine the registry starts
	// shutdownCuts counts the upstream sessions whose connections a
	// shutdown had to cut; shutdown reports it once rather than warning per
	// session, since a wedged upstream may hold thousands of them.
	shutdownCuts atomic.Int64
}

func newRegistry(log *slog.Logger, m *metrics, connectTimeout, probeAfterIdle, closeGrace time.Duration, alive func(string) bool) *registry {
	return &registry{
		log:            log,
		metrics:        m,
		client:         mcp.NewClient(&mcp.Implementation{Name: "mcpgw-reference", Version: Version}, nil),
		connectTimeout: connectTimeout,
		probeAfterIdle: probeAfterIdle,
		closeGrace:     closeGrace,
		alive:          alive,
		sessions:       map[regKey]*upstreamSession{},
		transports:     map[string]*upstreamTransport{},
	}
}

// acquire returns the upstream session for key, opening it on first use.
// Concurrent first uses wait for one creation.
func (r *registry) acquire(ctx context.Context, key regKey, downstream string, def Upstream) (*upstreamSession, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errShuttingDown
	}
	s := r.sessions[key]
	if s == nil {
		if !r.alive(downstream) {
			r.mu.Unlock()
			return nil, fmt.Errorf("downstream session %s has ended", downstream)
		}
		s = r.startLocked(key, downstream, def)
	}
	r.mu.Unlock()

	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if s.err != nil {
		r.forget(s) // the next caller tries again
		return nil, s.err
	}
	return s, nil
}

func (r *registry) startLocked(key regKey, downstream string, def Upstream) *upstreamSession {
	// The context lives as long as the session: some transports (SSE) tie
	// their stream to it. Only an unfinished connect is cut by the timer.
	ctx, cancel := context.WithCancel(context.Background())
	s := &upstreamSession{
		key: key, downstream: downstream, def: def, connKey: def.connectKey(),
		cancel: cancel, ready: make(chan struct{}), lastUsed: time.Now(),
	}
	s.transport = r.transportLocked(s.connKey)
	r.sessions[key] = s
	r.tasks.Go(func() {
		timeout := time.AfterFunc(r.connectTimeout, cancel)
		s.cs, s.err = r.connect(ctx, s)
		if !timeout.Stop() && s.err == nil {
			s.cs.Close()
			s.cs, s.err = nil, fmt.Errorf("open session with upstream %q: no answer within %v", def.ID, r.connectTimeout)
		}
		if s.err != nil {
			cancel()
			r.releaseTransport(s.transport)
			r.log.Warn("upstream session failed to open", "session", downstream, "upstream", def.ID, "url", def.URL, "err", s.err)
		} else {
			r.clients.Store(s.cs, s)
			r.metrics.upstreamCreations.WithLabelValues(def.ID).Inc()
			r.metrics.upstreamSessions.Inc()
			r.log.Info("upstream session opened", "session", downstream, "upstream", def.ID, "upstream_session", s.cs.ID())
		}
		close(s.ready)
	})
	return s
}

// transportLocked returns the shared pool for a connect key, made on first
// use; its client is built when the first session connects.
func (r *registry) transportLocked(key string) *upstreamTransport {
	t := r.transports[key]
	if t == nil {
		t = &upstreamTransport{key: key, conns: newConnTracker()}
		r.transports[key] = t
	}
	t.refs++
	return t
}

// poolFor returns the shared pool for def with a hold taken on it, and its
// client; release the hold with releaseTransport.
func (r *registry) poolFor(def Upstream) (*upstreamTransport, *http.Client, error) {
	r.mu.Lock()
	t := r.transportLocked(def.connectKey())
	r.mu.Unlock()
	c, err := r.clientFor(t, def)
	if err != nil {
		r.releaseTransport(t)
		return nil, nil, err
	}
	return t, c, nil
}

// acquirePool takes one more hold on a pool.
func (r *registry) acquirePool(t *upstreamTransport) {
	r.mu.Lock()
	t.refs++
	r.mu.Unlock()
}

// releaseTransport drops a session's hold on its pool and cuts the pool's
// connections once no session uses it.
func (r *registry) releaseTransport(t *upstreamTransport) {
	r.mu.Lock()
	t.refs--
	last := t.refs == 0
	if last && r.transports[t.key] == t {
		delete(r.transports, t.key)
	}
	r.mu.Unlock()
	if last {
		t.conns.closeAll()
	}
}

// clientFor returns the pool's HTTP client, building it once.
func (r *registry) clientFor(t *upstreamTransport, def Upstream) (*http.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.client == nil {
		c, err := newUpstreamHTTPClient(def, t.conns)
		if err != nil {
			return nil, err
		}
		t.client = c
	}
	return t.client, nil
}

func (r *registry) connect(ctx context.Context, s *upstreamSession) (*mcp.ClientSession, error) {
	httpClient, err := r.clientFor(s.transport, s.def)
	if err != nil {
		return nil, err
	}
	if r.relayProgress != nil {
		httpClient = progressRelayClient(httpClient, func(method string, params json.RawMessage) { r.relayProgress(s, method, params) })
	}
	var transport mcp.Transport
	switch s.def.Transport {
	case TransportSSE:
		transport = &mcp.SSEClientTransport{Endpoint: s.def.URL, HTTPClient: httpClient}
	default:
		// The gateway relays no upstream server-to-client stream yet, so it
		// does not hold a standalone GET open per upstream session. Broken
		// streams are not retried: a lost session is rebuilt instead.
		transport = &mcp.StreamableClientTransport{Endpoint: s.def.URL, HTTPClient: httpClient, DisableStandaloneSSE: true, MaxRetries: -1}
	}
	cs, err := r.client.Connect(ctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: upstreamProtocolVersion})
	if err != nil {
		return nil, fmt.Errorf("open session with upstream %q at %s: %w", s.def.ID, s.def.URL, err)
	}
	return cs, nil
}

// call runs fn on the upstream session for key. An upstream session unused
// for longer than probeAfterIdle is probed first; one the upstream has lost
// (404, connection gone) is rebuilt and fn retried once, so an upstream
// restart costs the client nothing.
func (r *registry) call(ctx context.Context, key regKey, downstream string, def Upstream, fn func(context.Context, *mcp.ClientSession) error) error {
	s, err := r.acquire(ctx, key, downstream, def)
	if err != nil {
		return err
	}
	if s.idleFor() > r.probeAfterIdle && !r.probe(ctx, s) {
		r.replace(s)
		if s, err = r.acquire(ctx, key, downstream, def); err != nil {
			return err
		}
	}
	s.touch()
	err = fn(ctx, s.cs)
	if err != nil && sessionLost(err) && ctx.Err() == nil {
		r.log.Info("upstream session lost; rebuilding", "session", downstream, "upstream", def.ID, "upstream_session", s.cs.ID(), "err", err)
		r.replace(s)
		if s, err = r.acquire(ctx, key, downstream, def); err != nil {
			return err
		}
		s.touch()
		err = fn(ctx, s.cs)
	}
	return err
}

func sessionLost(err error) bool {
	return errors.Is(err, mcp.ErrSessionMissing) || errors.Is(err, mcp.ErrConnectionClosed)
}

// probe checks an idle upstream session still works: ping, falling back to
// tools/list for upstreams that do not implement ping.
func (r *registry) probe(ctx context.Context, s *upstreamSession) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := s.cs.Ping(ctx, nil)
	var rpcErr *jsonrpc.Error
	if errors.As(err, &rpcErr) && rpcErr.Code == jsonrpc.CodeMethodNotFound {
		_, err = s.cs.ListTools(ctx, nil)
	}
	if err != nil {
		r.log.Info("idle upstream session failed its probe", "session", s.downstream, "upstream", s.def.ID, "err", err)
	}
	return err == nil
}

// replace drops a broken upstream session so the next acquire opens a new one.
func (r *registry) replace(s *upstreamSession) {
	if r.forget(s) {
		r.metrics.upstreamRebuilds.WithLabelValues(s.def.ID).Inc()
		r.closeInBackground(s, causeBroken)
	}
}

// forget removes s from the map if it is still the entry for its key.
func (r *registry) forget(s *upstreamSession) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions[s.key] == s {
		delete(r.sessions, s.key)
		return true
	}
	return false
}

// evict removes every upstream session match selects and closes them in the
// background, each within the close bound. It returns how many it evicted.
func (r *registry) evict(cause string, match func(*upstreamSession) bool) int {
	r.mu.Lock()
	var victims []*upstreamSession
	for k, s := range r.sessions {
		if match(s) {
			victims = append(victims, s)
			delete(r.sessions, k)
		}
	}
	r.mu.Unlock()
	for _, s := range victims {
		r.closeInBackground(s, cause)
	}
	return len(victims)
}

// take removes and returns the sessions match selects without closing them
// (used to hand them to another owner).
func (r *registry) take(match func(*upstreamSession) bool) []*upstreamSession {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*upstreamSession
	for k, s := range r.sessions {
		if match(s) {
			out = append(out, s)
			delete(r.sessions, k)
		}
	}
	return out
}

// adopt installs s under a new key, unless that key is taken.
func (r *registry) adopt(s *upstreamSession, key regKey, downstream string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.sessions[key] != nil {
		return false
	}
	s.key, s.downstream = key, downstream
	r.sessions[key] = s
	return true
}

func (r *registry) closeInBackground(s *upstreamSession, cause string) {
	r.tasks.Go(func() { r.closeBounded(s, cause) })
}

// closeBounded ends one upstream session in at most 2 x closeGrace: a
// graceful close (the SDK sends DELETE), then the force phase cuts the
// session's connections, then the close is orphaned with a warning.
func (r *registry) closeBounded(s *upstreamSession, cause string) {
	done := make(chan struct{})
	r.tasks.Go(func() {
		defer close(done)
		r.closeNow(s, cause)
	})
	grace := time.NewTimer(r.closeGrace)
	defer grace.Stop()
	select {
	case <-done:
		return
	case <-grace.C:
	}
	if r.isClosed() {
		// Shutting down: every pool goes anyway, so cutting this session's
		// pool unblocks whatever the upstream is sitting on. Outside a
		// shutdown the pool is shared, and the SDK bounds its own DELETE.
		r.shutdownCuts.Add(1)
		r.log.Info("upstream session did not close within the grace; cutting its connections",
			"session", s.downstream, "upstream", s.def.ID, "upstream_session", s.sessionID(), "grace", r.closeGrace.String())
		s.transport.conns.closeAll()
	}
	grace.Reset(r.closeGrace)
	select {
	case <-done:
	case <-grace.C:
		r.metrics.closeOrphans.Inc()
		r.log.Warn("upstream session close orphaned", "session", s.downstream, "upstream", s.def.ID)
	}
}

// closeNow closes s and waits as long as that takes. Only closeBounded and
// the emulated unbounded shutdown (bugs.go) call it directly.
func (r *registry) closeNow(s *upstreamSession, cause string) {
	s.cancel() // aborts a connect still in progress; a no-op after it
	<-s.ready  // bounded: connect has a timeout and was just cancelled
	if s.cs != nil {
		defer r.clients.Delete(s.cs)
		err := s.cs.Close()
		r.metrics.upstreamSessions.Dec()
		r.metrics.upstreamEvictions.WithLabelValues(cause).Inc()
		r.log.Info("upstream session closed", "session", s.downstream, "upstream", s.def.ID,
			"upstream_session", s.cs.ID(), "cause", cause, "err", err)
		r.releaseTransport(s.transport)
	}
}

func (r *registry) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// takeAllForShutdown refuses new upstream sessions from now on and hands
// over every held one, for the caller to close.
func (r *registry) takeAllForShutdown() []*upstreamSession {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	all := slices.Collect(maps.Values(r.sessions))
	clear(r.sessions)
	return all
}

// shutdown closes every upstream session in parallel, each bounded by
// 2 x closeGrace, and returns when all are done or deadline passes.
func (r *registry) shutdown(deadline time.Time) {
	for _, s := range r.takeAllForShutdown() {
		r.closeInBackground(s, causeShutdown)
	}
	r.waitTasks(deadline)
	if n := r.shutdownCuts.Load(); n > 0 {
		r.log.Warn("upstream sessions did not close within the grace; their connections were cut",
			"sessions", n, "grace", r.closeGrace.String())
	}
}

// waitTasks waits for registry goroutines until deadline.
func (r *registry) waitTasks(deadline time.Time) {
	if !waitUntil(&r.tasks, deadline) {
		r.log.Warn("registry tasks still running at the shutdown deadline; leaving them")
	}
}

// snapshot lists the held upstream sessions, for /admin/sessions.
func (r *registry) snapshot() []*upstreamSession {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Collect(maps.Values(r.sessions))
}

// byClient returns the upstream session of a go-sdk client session, or nil.
func (r *registry) byClient(cs *mcp.ClientSession) *upstreamSession {
	if v, ok := r.clients.Load(cs); ok {
		return v.(*upstreamSession)
	}
	return nil
}
