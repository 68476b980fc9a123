package gateway

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// Replica-to-replica requests carry these headers. A request claiming to be
// forwarded without the cluster secret is refused (SEC-4).
const (
	headerForwardedBy   = "Mcpgw-Forwarded-By"
	headerClusterSecret = "Mcpgw-Cluster-Secret"
)

type forwardTarget struct {
	owner string
	base  *url.URL
	watch *ownerWatch // nil when the owner is not watched
}

type forwardTargetKey struct{}

// newOwnerProxy builds the proxy that forwards a request for a session to
// the replica that owns it. Responses stream through (SSE included). Dialing
// is bounded so a dead owner is found out fast; the wait for response
// headers is bounded by the owner's heartbeat (watchOwner) and by
// ForwardTimeout, and a streaming body by the client's own request.
func (g *Gateway) newOwnerProxy() *httputil.ReverseProxy {
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	if g.cfg.ForwardTimeout > 0 && g.policy.boundForwardWait() {
		transport.ResponseHeaderTimeout = g.cfg.ForwardTimeout
	}
	return &httputil.ReverseProxy{
		Transport:     transport,
		BufferPool:    copyBuffers,
		FlushInterval: -1,
		Rewrite: func(pr *httputil.ProxyRequest) {
			t := pr.In.Context().Value(forwardTargetKey{}).(forwardTarget)
			pr.SetURL(t.base)
			pr.Out.Host = t.base.Host
			pr.Out.Header.Set(headerForwardedBy, g.cfg.ReplicaID)
			pr.Out.Header.Set(headerClusterSecret, g.cfg.ClusterSecret)
		},
		ModifyResponse: func(resp *http.Response) error {
			if t := resp.Request.Context().Value(forwardTargetKey{}).(forwardTarget); t.watch != nil {
				t.watch.answer()
			}
			return nil
		},
		ErrorHandler: g.ownerForwardFailed,
	}
}

// forwardToOwner sends the request to owner, the replica holding the session.
func (g *Gateway) forwardToOwner(w http.ResponseWriter, r *http.Request, sid, owner, advertise string) {
	base, err := url.Parse(advertise)
	if err != nil || base.Host == "" {
		g.log.Warn("owner replica advertises an unusable URL", "session", sid, "owner", owner, "url", advertise)
		httpError(w, http.StatusBadGateway, "the replica owning this session advertises an unusable URL")
		return
	}
	g.metrics.forwards.Inc()
	target := forwardTarget{owner: owner, base: base}
	ctx := r.Context()
	if g.policy.boundForwardWait() && !g.policy.waitOnDeadOwner() {
		var stop func()
		ctx, target.watch, stop = g.watchOwner(ctx, owner)
		defer stop()
	}
	ctx = context.WithValue(ctx, forwardTargetKey{}, target)
	ctx = context.WithValue(ctx, sessionIDKey{}, sid)
	g.ownerProxy.ServeHTTP(w, r.WithContext(ctx))
}

type sessionIDKey struct{}

// ownerForwardFailed answers a forward that got no response. An owner that
// refuses connections is dead: its claim goes and the client gets 404 at
// once so it re-initializes. Anything else is a 502 naming the owner.
func (g *Gateway) ownerForwardFailed(w http.ResponseWriter, r *http.Request, err error) {
	t := r.Context().Value(forwardTargetKey{}).(forwardTarget)
	sid, _ := r.Context().Value(sessionIDKey{}).(string)
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		if g.policy.waitOnDeadOwner() {
			g.hangOnDeadOwner(w, r, sid, t.owner)
			return
		}
		g.metrics.forwardFailures.WithLabelValues("owner-unreachable").Inc()
		g.dropDeadClaim(sid, t.owner)
		httpError(w, http.StatusNotFound, "the replica that owned this session is gone; initialize a new session")
		return
	}
	if errors.Is(context.Cause(r.Context()), errOwnerLapsed) {
		g.metrics.forwardFailures.WithLabelValues("owner-lapsed").Inc()
		g.log.Warn("owner replica stopped answering and its heartbeat lapsed; dropping its claim", "session", sid, "owner", t.owner)
		g.dropDeadClaim(sid, t.owner)
		httpError(w, http.StatusNotFound, "the replica that owned this session stopped answering; initialize a new session")
		return
	}
	if r.Context().Err() != nil {
		return // the client went away; nobody to answer
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		g.metrics.forwardFailures.WithLabelValues("owner-timeout").Inc()
		g.log.Warn("owner replica did not answer within the forward timeout", "session", sid, "owner", t.owner, "timeout", g.cfg.ForwardTimeout.String())
		httpError(w, http.StatusGatewayTimeout, fmt.Sprintf("owner replica %s did not answer within %v (--forward-timeout); retry", t.owner, g.cfg.ForwardTimeout))
		return
	}
	g.metrics.forwardFailures.WithLabelValues("owner-failed").Inc()
	g.log.Warn("forward to owner replica failed", "session", sid, "owner", t.owner, "err", err)
	httpError(w, http.StatusBadGateway, "owner replica "+t.owner+" failed: "+err.Error())
}

func (g *Gateway) dropDeadClaim(sid, owner string) {
	if err := g.cluster.release(sid, owner); err == nil {
		g.metrics.ownershipLosses.Inc()
		g.log.Info("dropped the claim of a dead owner replica", "session", sid, "owner", owner)
	}
}

// isForwarded reports whether r came from another replica, and whether its
// cluster secret is right.
func (g *Gateway) isForwarded(r *http.Request) (forwarded, authentic bool) {
	if r.Header.Get(headerForwardedBy) == "" && r.Header.Get(headerClusterSecret) == "" {
		return false, false
	}
	secret := r.Header.Get(headerClusterSecret)
	ok := g.cfg.ClusterSecret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(g.cfg.ClusterSecret)) == 1
	return true, ok
}

// lookupElsewhere handles a session this replica does not hold: forward it
// to its live owner, 404 if nobody (alive) owns it, 503 if Redis cannot say.
func (g *Gateway) lookupElsewhere(w http.ResponseWriter, r *http.Request, sid string) {
	owner, advertise, err := g.cluster.lookup(sid)
	switch {
	case err != nil:
		httpError(w, http.StatusServiceUnavailable, "cannot look up the session's owner replica: "+err.Error()+"; retry shortly")
	case owner == "":
		// No claim is certain only once the owners have had time to
		// re-claim after Redis came back empty.
		if settled, err := g.cluster.directorySettled(); err != nil || !settled {
			w.Header().Set("Retry-After", "1")
			httpError(w, http.StatusServiceUnavailable, "the session directory (Redis) was reset moments ago and owners are re-claiming their sessions; retry shortly")
			return
		}
		httpError(w, http.StatusNotFound, "unknown or ended session; initialize a new one")
	case owner == g.cfg.ReplicaID:
		// A claim of ours for a session we do not hold is stale.
		g.dropDeadClaim(sid, owner)
		httpError(w, http.StatusNotFound, "unknown or ended session; initialize a new one")
	case advertise == "":
		if g.policy.waitOnDeadOwner() {
			g.hangOnDeadOwner(w, r, sid, owner)
			return
		}
		g.metrics.forwardFailures.WithLabelValues("owner-dead").Inc()
		g.dropDeadClaim(sid, owner)
		httpError(w, http.StatusNotFound, "the replica that owned this session is gone; initialize a new session")
	default:
		g.forwardToOwner(w, r, sid, owner, advertise)
	}
}
