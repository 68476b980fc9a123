package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Gateway is one replica of the reference gateway.
type Gateway struct {
	cfg    Config
	shape  *shape
	policy bugPolicy // asked wherever an emulated bug changes behaviour
	// mrtrUnbound drops MRTR's identity binding (tests only: it proves the
	// VER-6 test fails against a gateway that does not bind requestState).
	mrtrUnbound bool
	log         *slog.Logger
	metrics     *metrics
	upstreams   *upstreamSet
	sessions    *sessionTable
	registry    *registry
	now         func() time.Time

	handlersMu sync.RWMutex
	handlers   map[string]*mcp.StreamableHTTPHandler // by route

	parked  parkedSessions // only no-evict-on-delete parks any
	answers answersByID    // only unmapped-ids matches answers by id

	// baseCtx parents every downstream session's context; shutdown cancels it.
	baseCtx    context.Context
	cancelBase context.CancelFunc
	// closers tracks background closes of downstream SDK sessions.
	closers sync.WaitGroup

	draining     atomic.Bool
	stopping     chan struct{} // closed when shutdown begins
	janitorDone  chan struct{}
	shutdownOnce sync.Once
	server       *http.Server

	cluster    *cluster               // nil for a single replica
	ownerProxy *httputil.ReverseProxy // forwards to the replica owning a session
	ptProxy    *httputil.ReverseProxy // pass-through of /servers/{id}/mcp

	calls callContexts // HTTP requests carrying calls the SDK serves

	bridges *bridging // the sessionless (2026-07-28) side: sessionless.go
	listens listens   // open subscriptions/listen streams (listen.go)
	// sharedListens holds the shared upstream listens of shared-listen.
	sharedListens sharedListens
}

// New builds a replica from cfg. Call Shutdown to release it.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	shape, err := cfg.Shape.check()
	if err != nil {
		return nil, err
	}
	bridges, err := newBridging(cfg.Shape.Eras, cfg.ClusterSecret)
	if err != nil {
		return nil, err
	}
	log := slog.New(redactLogs(cfg.Logger.Handler())).With("replica", cfg.ReplicaID)
	g := &Gateway{
		cfg:         cfg,
		shape:       shape,
		policy:      bugPolicy{bug: cfg.Bug},
		bridges:     bridges,
		log:         log,
		metrics:     newMetrics(cfg.ReplicaID),
		upstreams:   newUpstreamSet(cfg.Upstreams),
		sessions:    newSessionTable(),
		now:         time.Now,
		handlers:    map[string]*mcp.StreamableHTTPHandler{},
		stopping:    make(chan struct{}),
		janitorDone: make(chan struct{}),
	}
	g.baseCtx, g.cancelBase = context.WithCancel(context.Background())
	g.ptProxy = g.newPassThroughProxy()
	g.registry = newRegistry(log, g.metrics, cfg.ConnectTimeout, cfg.ProbeAfterIdle, cfg.ShutdownTimeout, g.alive)
	g.registry.client = mcp.NewClient(&mcp.Implementation{Name: "mcpgw-reference", Version: Version}, g.relayClientOptions())
	g.registry.client.AddReceivingMiddleware(g.relayRoots)
	g.registry.relayProgress = g.relayInStream
	if cfg.RedisURL != "" {
		if err := g.joinCluster(); err != nil {
			return nil, err
		}
	}
	go g.expireIdleSessions()
	g.policy.warnIfEmulating(log)
	return g, nil
}

// joinCluster connects to Redis, applies the cluster's upstream changes over
// the configured ones and starts heartbeats and the event subscription.
func (g *Gateway) joinCluster() error {
	c, err := newCluster(g.cfg.RedisURL, g.cfg.ReplicaID, g.cfg.AdvertiseURL, g.cfg.OwnershipTTL, g.cfg.HeartbeatTTL, g.log, g.metrics)
	if err != nil {
		return err
	}
	c.localIDs = g.sessions.ids
	c.onEvent = g.applyClusterEvent
	g.cluster = c
	g.ownerProxy = g.newOwnerProxy()
	if stored, err := c.storedUpstreams(); err != nil {
		g.log.Warn("starting without the cluster's upstream changes", "err", err)
	} else {
		for id, u := range stored {
			if u == nil {
				g.upstreams.remove(id)
			} else {
				g.upstreams.put(*u)
			}
		}
	}
	c.start()
	g.log.Info("joined the cluster", "advertise", g.cfg.AdvertiseURL, "ownership_ttl", g.cfg.OwnershipTTL.String(), "heartbeat_ttl", g.cfg.HeartbeatTTL.String())
	return nil
}

// alive tells the registry whether a downstream session still exists.
func (g *Gateway) alive(downstream string) bool { return g.sessions.has(downstream) }

// Handler serves every endpoint of the replica.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET "+g.shape.readiness, g.serveReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.registry, promhttp.HandlerOpts{}))
	mcpRoutes := http.NewServeMux()
	if g.shape.aggregate != "" {
		mcpRoutes.HandleFunc(g.shape.aggregate, func(w http.ResponseWriter, r *http.Request) { g.serveMCP(w, r, "") })
	}
	if g.shape.server != "" {
		mcpRoutes.HandleFunc(g.shape.server, func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			if _, ok := g.upstreams.get(id); !ok {
				// 404 wins over 405: no Allow header for a server that does not exist (TRN-5).
				httpError(w, http.StatusNotFound, "no upstream server "+strconv.Quote(id)+" on this gateway")
				return
			}
			g.serveMCP(w, r, id)
		})
	}
	g.shape.register(mux, g.authMiddleware(mcpRoutes))
	mux.Handle("/admin/", g.adminHandler())
	return g.refuseWhileDraining(mux)
}

func (g *Gateway) serveReady(w http.ResponseWriter, r *http.Request) {
	if g.draining.Load() {
		httpError(w, http.StatusServiceUnavailable, "draining")
		return
	}
	w.Write([]byte("ready\n"))
}

// refuseWhileDraining answers 503 to new requests once shutdown began, so a
// client retries elsewhere instead of having its request accepted and dropped.
func (g *Gateway) refuseWhileDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.draining.Load() && r.URL.Path != "/healthz" && r.URL.Path != "/metrics" {
			w.Header().Set("Connection", "close")
			httpError(w, http.StatusServiceUnavailable, "replica "+g.cfg.ReplicaID+" is shutting down; retry on another replica")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sdkHandler returns the SDK handler of a route, made on first use.
func (g *Gateway) sdkHandler(route string) *mcp.StreamableHTTPHandler {
	g.handlersMu.RLock() // every request comes here: read-lock the common case
	h := g.handlers[route]
	g.handlersMu.RUnlock()
	if h != nil {
		return h
	}
	g.handlersMu.Lock()
	defer g.handlersMu.Unlock()
	h = g.handlers[route]
	if h == nil {
		server := g.newMCPServer(route)
		// Event-stream responses: what an upstream sends about a call
		// (progress, elicitation, sampling) travels on that call's own
		// stream, before its result, as the transport says it should.
		h = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{
			MaxRequestBodyBytes: g.cfg.MaxBodyBytes,
		})
		g.handlers[route] = h
	}
	return h
}

// endSession ends a downstream session for cause and evicts its upstream
// sessions. Exactly one caller wins; the others return at once.
func (g *Gateway) endSession(d *downstream, cause string) {
	if g.sessions.remove(d.id) == nil {
		return
	}
	g.metrics.downstreamSessions.Dec()
	g.closeDownstream(d)
	if g.cluster != nil {
		g.closers.Go(func() { g.cluster.release(d.id, g.cfg.ReplicaID) })
	}
	if d.pt != nil {
		g.ptClose(d, cause, nil)
		g.log.Info("downstream session ended", "session", d.id, "cause", cause)
		return
	}
	if cause == causeDelete && g.policy.parkOnDelete() {
		g.parkUpstreamSessions(d)
		return
	}
	owner := g.policy.poolKey(d, "").owner
	match := func(s *upstreamSession) bool { return s.key.owner == owner }
	if g.policy.poolsOutliveSessions() {
		// The identity's pool lives as long as any session of it does.
		match = func(s *upstreamSession) bool {
			return s.key.owner == owner && !g.identityHasSessions(d.identity)
		}
	}
	if cause == causeDelete && g.policy.deleteEvictsIdentity() {
		match = func(s *upstreamSession) bool {
			return s.key.owner == owner || g.heldByIdentity(s, d.identity)
		}
	}
	n := g.registry.evict(cause, match)
	g.log.Info("downstream session ended", "session", d.id, "cause", cause, "upstream_sessions_evicted", n)
}

// closeDownstream cancels the session's calls and closes its SDK session in
// the background: the SDK's Close waits for in-flight handlers, which the
// cancellation ends, but nothing here may wait on it without a deadline.
func (g *Gateway) closeDownstream(d *downstream) {
	d.cancel()
	if d.server != nil {
		g.closers.Go(func() { d.server.Close() })
	}
}

// waitUntil waits for wg until deadline and reports whether it finished.
func waitUntil(wg *sync.WaitGroup, deadline time.Time) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// expireIdleSessions ends downstream sessions idle past SessionTimeout.
func (g *Gateway) expireIdleSessions() {
	defer close(g.janitorDone)
	tick := min(max(g.cfg.SessionTimeout/4, 100*time.Millisecond), 5*time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-g.stopping:
			return
		case now := <-t.C:
			for _, d := range g.sessions.idle(now, g.cfg.SessionTimeout) {
				g.log.Info("downstream session idle past the session timeout", "session", d.id, "timeout", g.cfg.SessionTimeout.String())
				g.endSession(d, causeExpired)
			}
		}
	}
}

// Serve serves the replica on ln until Shutdown.
func (g *Gateway) Serve(ln net.Listener) error {
	g.server = &http.Server{
		Handler:           g.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	g.log.Info("serving", "addr", ln.Addr().String(), "upstreams", len(g.upstreams.list()), "shutdown_timeout", g.cfg.ShutdownTimeout.String())
	if err := g.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops the replica within 2 x ShutdownTimeout plus a small
// constant, whatever upstreams do: new requests are refused, then in one
// grace phase the HTTP server drains while every session closes in
// parallel; then in-flight requests are cut and stuck upstream closes are
// forced, and what still hangs is orphaned with a warning.
func (g *Gateway) Shutdown() {
	g.shutdownOnce.Do(g.shutdown)
}

func (g *Gateway) shutdown() {
	start := g.now()
	grace := g.cfg.ShutdownTimeout
	graceEnd, hardEnd := start.Add(grace), start.Add(2*grace)
	g.draining.Store(true)
	close(g.stopping)
	<-g.janitorDone
	g.log.Info("shutting down", "sessions", g.sessions.len(), "grace", grace.String())
	// The claims and the listener go as the drain begins, so that other
	// replicas answer 404 for this replica's sessions at once (SHD-5)
	// instead of forwarding to a replica that refuses them.
	claimed, listenerMayClose := g.sessions.ids(), make(chan struct{})
	if g.policy.releaseClaimsAtDrainStart() {
		if g.cluster != nil {
			g.cluster.leave(claimed)
		}
		close(listenerMayClose)
	}

	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		<-listenerMayClose
		if g.server == nil {
			return
		}
		ctx, cancel := context.WithDeadline(context.Background(), graceEnd)
		defer cancel()
		if err := g.server.Shutdown(ctx); err != nil {
			g.log.Warn("requests still in flight after the grace; cutting them", "err", err)
			g.server.Close()
		}
	}()

	// Downstream sessions end first so their streams and calls return.
	g.cancelBase()
	var ptSessions []*downstream
	for _, d := range g.sessions.all() {
		if g.sessions.remove(d.id) != nil {
			g.metrics.downstreamSessions.Dec()
			g.closeDownstream(d)
			if d.pt != nil {
				ptSessions = append(ptSessions, d)
			}
		}
	}
	if g.policy.boundShutdownCloses() {
		for _, d := range ptSessions {
			g.ptClose(d, causeShutdown, nil) // in parallel, each bounded
		}
		g.closeParked()
		g.registry.shutdown(hardEnd)
		if !g.policy.releaseClaimsAtDrainStart() {
			g.leaveAfterDrain(claimed, listenerMayClose)
		}
		t := time.NewTimer(time.Until(hardEnd))
		select {
		case <-httpDone:
		case <-t.C:
			g.log.Warn("HTTP server did not stop by the hard deadline")
		}
		t.Stop()
	} else {
		g.shutdownUnbounded(ptSessions, httpDone)
	}
	if !waitUntil(&g.closers, hardEnd) {
		g.log.Warn("downstream sessions still closing at the hard deadline; leaving them")
	}
	if g.cluster != nil {
		g.cluster.close(hardEnd)
		g.ownerProxy.Transport.(*http.Transport).CloseIdleConnections()
	}
	took := g.now().Sub(start)
	g.metrics.shutdownSeconds.Set(took.Seconds())
	g.log.Info("shutdown complete", "took", took.String())
}
