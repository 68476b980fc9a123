package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Bug names one known gateway bug that the reference gateway can reproduce,
// so that anyone can see it happen and the suites can prove they catch it.
// The core never reads a Bug: New turns Config.Bug into a bugPolicy, whose
// hooks the core asks at each point a bug changes behaviour, and every piece
// of code that exists only for a bug lives in this file.
type Bug string

const (
	BugNone Bug = ""
	// BugSharedUpstream pools upstream sessions by caller identity instead
	// of by downstream session: two chat tabs of one user share upstream
	// state (the "counter bug").
	BugSharedUpstream Bug = "shared-upstream"
	// BugNoEvictOnDelete ends the downstream session on DELETE but parks its
	// upstream sessions in a warm pool that the identity's next session adopts.
	BugNoEvictOnDelete Bug = "no-evict-on-delete"
	// BugNoEvictOnUpdate keeps upstream sessions when an upstream's URL,
	// transport, headers or TLS change.
	BugNoEvictOnUpdate Bug = "no-evict-on-update"
	// BugHangingGet answers a session-less GET with an event stream that
	// never sends anything.
	BugHangingGet Bug = "hanging-get"
	// BugUnboundedShutdown closes upstream sessions one after another on
	// shutdown, awaiting each with no deadline.
	BugUnboundedShutdown Bug = "unbounded-shutdown"
	// BugLocalLookup ignores cross-replica ownership: a replica that does
	// not hold a session answers 404 for it instead of forwarding.
	BugLocalLookup Bug = "local-lookup"
	// BugDeadOwnerHang forwards requests to an owner replica that is dead
	// and waits on it for as long as the client does.
	BugDeadOwnerHang Bug = "dead-owner-hang"
	// BugNoCancelOnDisconnect lets an upstream call run on after its client
	// closed the request: nobody can get the answer any more, yet the
	// upstream is never told.
	BugNoCancelOnDisconnect Bug = "no-cancel-on-disconnect"
	// BugFrozenOwnerHang forwards requests to an owner replica that accepts
	// connections but never answers (stopped, partitioned) and waits for as
	// long as the client does.
	BugFrozenOwnerHang Bug = "frozen-owner-hang"
	// BugDeleteEvictsIdentity makes DELETE of one session evict the
	// upstream sessions of every session of its identity: closing one tab
	// resets the user's other tabs.
	BugDeleteEvictsIdentity Bug = "delete-evicts-identity"
	// BugForwardCredentials relays the caller's Authorization and Cookie
	// headers upstream on /servers/{id}/mcp, handing the user's gateway
	// credentials to a third-party server.
	BugForwardCredentials Bug = "forward-credentials"
	// BugKeepClaimsWhileDraining holds on to a shutting-down replica's
	// session claims, and keeps its listener open, until its sessions are
	// closed: meanwhile the other replicas forward to it and it refuses them.
	BugKeepClaimsWhileDraining Bug = "keep-claims-while-draining"
	// BugSharedBridge bridges every sessionless (2026-07-28) caller onto one
	// pooled upstream session per upstream, whoever they are: the counter
	// bug of the sessionless era.
	BugSharedBridge Bug = "shared-bridge"
	// BugNoHeaderCheck serves 2026-07-28 requests whose Mcp-Method /
	// Mcp-Name headers disagree with the body, so whatever routes by the
	// headers (a load balancer, a WAF) and the upstream act on different
	// requests.
	BugNoHeaderCheck Bug = "no-header-check"
	// BugSharedPrivateCache caches a route's sessionless tools/list in one
	// gateway-wide cache and serves it to every caller, though the upstream
	// marked it cacheScope private (and says it is public).
	BugSharedPrivateCache Bug = "shared-private-cache"
	// BugBroadcastNotifications sends an upstream's server-to-client
	// requests and list/resource notifications to every downstream session
	// holding a session on that upstream, not to the one that owns it.
	BugBroadcastNotifications Bug = "broadcast-notifications"
	// BugUnmappedIDs matches answers to callers by their JSON-RPC id alone,
	// across sessions and id types, as a multiplexer that forwards client
	// ids unmapped over one shared connection does.
	BugUnmappedIDs Bug = "unmapped-ids"
	// BugDropCancel drops a client's notifications/cancelled: the upstream
	// request it names runs on.
	BugDropCancel Bug = "drop-cancel"
	// BugSharedListen opens one upstream subscriptions/listen per upstream
	// and route for every sessionless listener and fans each notification
	// out to all of them (each tagged with its own listen id).
	BugSharedListen Bug = "shared-listen"
	// BugHoldUndeliverable holds a server-to-client request the client
	// cannot take (it lacks the capability, or offers no stream) until the
	// call or the upstream gives up, instead of failing it at once, as a
	// gateway that queues it for a stream that never opens does.
	BugHoldUndeliverable Bug = "hold-undeliverable"
)

// Bugs lists every bug name the flag knows, in documentation order.
var Bugs = []Bug{BugSharedUpstream, BugNoEvictOnDelete, BugNoEvictOnUpdate, BugHangingGet, BugUnboundedShutdown, BugLocalLookup, BugDeadOwnerHang, BugNoCancelOnDisconnect, BugFrozenOwnerHang, BugDeleteEvictsIdentity, BugForwardCredentials, BugKeepClaimsWhileDraining, BugSharedBridge, BugNoHeaderCheck, BugSharedPrivateCache, BugBroadcastNotifications, BugUnmappedIDs, BugDropCancel, BugSharedListen, BugHoldUndeliverable}

// ParseBug turns a --emulate-bug value into a Bug, with a clear error.
func ParseBug(s string) (Bug, error) {
	if s == "" {
		return BugNone, nil
	}
	for _, b := range Bugs {
		if string(b) == s {
			return b, nil
		}
	}
	names := make([]string, len(Bugs))
	for i, b := range Bugs {
		names[i] = string(b)
	}
	return BugNone, fmt.Errorf("unknown --emulate-bug %q (known: %s)", s, strings.Join(names, ", "))
}

// needsCluster reports whether the bug only shows across replicas, so that
// emulating it without --redis would be a silent no-op.
func (b Bug) needsCluster() bool {
	return b == BugLocalLookup || b == BugDeadOwnerHang || b == BugFrozenOwnerHang || b == BugKeepClaimsWhileDraining
}

// bugPolicy answers, for one emulated bug (or none), every question where
// the gateway's behaviour depends on it. Under BugNone every hook gives the
// correct behaviour; each bug changes only its own hooks.
type bugPolicy struct{ bug Bug }

// warnIfEmulating tells the operator loudly that this replica is broken on purpose.
func (p bugPolicy) warnIfEmulating(log *slog.Logger) {
	if p.bug != BugNone {
		log.Warn("EMULATING A KNOWN GATEWAY BUG: do not use this replica for real traffic", "bug", string(p.bug))
	}
}

// poolKey names the upstream session a downstream session's calls use: its
// own, except under shared-upstream, where an identity's sessions share one.
func (p bugPolicy) poolKey(d *downstream, upstream string) regKey {
	if d.bridged && p.bug == BugSharedBridge {
		return regKey{owner: "shared-bridge", upstream: upstream}
	}
	if p.bug == BugSharedUpstream && !d.bridged {
		return regKey{owner: "identity:" + d.identity, upstream: upstream}
	}
	return regKey{owner: d.id, upstream: upstream}
}

// poolsOutliveSessions reports whether an ended session's upstream sessions
// may still serve other sessions of its identity (shared-upstream), so they
// are evicted only when the identity's last session ends.
func (p bugPolicy) poolsOutliveSessions() bool { return p.bug == BugSharedUpstream }

// passThroughServers reports whether /servers/{id}/mcp is served as a byte
// pass-through. The pooling bugs live in the SDK path, so under them the
// per-server route runs there too.
func (p bugPolicy) passThroughServers() bool {
	switch p.bug {
	case BugSharedUpstream, BugNoEvictOnDelete, BugBroadcastNotifications, BugUnmappedIDs:
		return false
	}
	return true
}

// broadcastToUpstreamSessions reports whether an upstream's server-to-client
// requests and list/resource notifications go to every downstream session
// holding a session on that upstream, instead of to its owner alone.
func (p bugPolicy) broadcastToUpstreamSessions() bool { return p.bug == BugBroadcastNotifications }

// matchAnswersByID reports whether a call's answer goes to whichever caller
// waits under the same JSON-RPC id (read as text), whatever its session.
func (p bugPolicy) matchAnswersByID() bool { return p.bug == BugUnmappedIDs }

// holdUndeliverable reports whether a server-to-client request that could
// not be delivered downstream is held until its call or its upstream gives
// up, instead of failing at once.
func (p bugPolicy) holdUndeliverable() bool { return p.bug == BugHoldUndeliverable }

// forwardCancellations reports whether a client's notifications/cancelled
// is acted on (and so reaches the upstream request it names).
func (p bugPolicy) forwardCancellations() bool { return p.bug != BugDropCancel }

// parkOnDelete reports whether DELETE parks the session's upstream sessions
// for the identity's next session to adopt, instead of evicting them.
func (p bugPolicy) parkOnDelete() bool { return p.bug == BugNoEvictOnDelete }

// deleteEvictsIdentity reports whether DELETE evicts the upstream sessions
// of every session of the deleted session's identity, not just its own.
func (p bugPolicy) deleteEvictsIdentity() bool { return p.bug == BugDeleteEvictsIdentity }

// forwardCallerCredentials reports whether the pass-through relays the
// caller's Authorization and Cookie headers upstream.
func (p bugPolicy) forwardCallerCredentials() bool { return p.bug == BugForwardCredentials }

// releaseClaimsAtDrainStart reports whether a shutting-down replica gives up
// its session claims and closes its listener as its drain begins, rather
// than when its sessions are closed.
func (p bugPolicy) releaseClaimsAtDrainStart() bool { return p.bug != BugKeepClaimsWhileDraining }

// evictOnUpstreamChange reports whether a connect-affecting upstream change
// evicts the upstream sessions opened with the old settings.
func (p bugPolicy) evictOnUpstreamChange() bool { return p.bug != BugNoEvictOnUpdate }

// hangSessionlessGET reports whether a session-less GET gets a 200 event
// stream that never sends, instead of 405.
func (p bugPolicy) hangSessionlessGET() bool { return p.bug == BugHangingGet }

// boundShutdownCloses reports whether shutdown closes upstream sessions in
// parallel within its deadline, rather than one after another with none.
func (p bugPolicy) boundShutdownCloses() bool { return p.bug != BugUnboundedShutdown }

// lookUpOtherReplicas reports whether a session this replica does not hold
// is looked up in Redis and forwarded to its owner, rather than answered 404.
func (p bugPolicy) lookUpOtherReplicas() bool { return p.bug != BugLocalLookup }

// waitOnDeadOwner reports whether a request for a session whose owner is
// dead waits on that owner for as long as the client does, instead of
// dropping the claim and answering 404.
func (p bugPolicy) waitOnDeadOwner() bool { return p.bug == BugDeadOwnerHang }

// cancelAbandonedCalls reports whether a call whose client closed its
// request is cancelled upstream (notifications/cancelled), rather than left
// running for nobody.
func (p bugPolicy) cancelAbandonedCalls() bool { return p.bug != BugNoCancelOnDisconnect }

// boundForwardWait reports whether a forward waiting for the owner's answer
// is bounded (the owner's heartbeat is watched; --forward-timeout), rather
// than waiting for as long as the client does.
func (p bugPolicy) boundForwardWait() bool { return p.bug != BugFrozenOwnerHang }

// serveHangingStream is the hanging-get bug: a 200 stream that never sends.
func (g *Gateway) serveHangingStream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
	select {
	case <-r.Context().Done():
	case <-g.stopping:
	}
}

// hangOnDeadOwner is the dead-owner-hang bug: the request waits on a replica
// that will never answer, for as long as the client is willing to.
func (g *Gateway) hangOnDeadOwner(w http.ResponseWriter, r *http.Request, sid, owner string) {
	g.log.Warn("emulated bug: waiting on a dead owner replica", "session", sid, "owner", owner)
	select {
	case <-r.Context().Done():
	case <-g.stopping:
	}
	httpError(w, http.StatusGatewayTimeout, "owner replica "+owner+" did not answer")
}

// shutdownUnbounded is the unbounded-shutdown bug: every upstream session is
// closed in turn and each close awaited with no deadline, then the HTTP
// server's drain too.
func (g *Gateway) shutdownUnbounded(ptSessions []*downstream, httpDone <-chan struct{}) {
	for _, d := range ptSessions {
		g.ptDetach(d, causeShutdown, nil)(context.Background())
	}
	g.closeParked()
	for _, s := range g.registry.takeAllForShutdown() {
		g.registry.closeNow(s, causeShutdown)
	}
	<-httpDone
}

// identityHasSessions tells the shared-upstream bug whether an identity's
// pool is still in use.
func (g *Gateway) identityHasSessions(identity string) bool {
	for _, d := range g.sessions.all() {
		if d.identity == identity {
			return true
		}
	}
	return false
}

// copyCallerCredentials is the forward-credentials bug: the caller's
// credentials go upstream with the request.
func copyCallerCredentials(out, in http.Header) {
	for _, h := range []string{"Authorization", "Cookie"} {
		if v := in.Values(h); len(v) > 0 {
			out[h] = v
		}
	}
}

// leaveAfterDrain is the keep-claims-while-draining bug: only once every
// session is closed does the replica give up its claims and its listener,
// so until then other replicas forward to it and it refuses them.
func (g *Gateway) leaveAfterDrain(claimed []string, listenerMayClose chan struct{}) {
	if g.cluster != nil {
		g.cluster.leave(claimed)
	}
	close(listenerMayClose)
}

// heldByIdentity tells the delete-evicts-identity bug whether an upstream
// session belongs to a live session of identity.
func (g *Gateway) heldByIdentity(s *upstreamSession, identity string) bool {
	d := g.sessions.get(s.key.owner)
	return d != nil && d.identity == identity
}

// maxParkedPerIdentity bounds the emulated warm pool: even a bug stays bounded.
const maxParkedPerIdentity = 64

// parkedSessions is the no-evict-on-delete bug's warm pool: deleted
// sessions' upstream sessions, still open, by identity.
type parkedSessions struct {
	mu         sync.Mutex
	byIdentity map[string][]*upstreamSession
}

// parkUpstreamSessions is the no-evict-on-delete bug: the deleted session's
// upstream sessions stay open in a pool keyed by identity.
func (g *Gateway) parkUpstreamSessions(d *downstream) {
	taken := g.registry.take(func(s *upstreamSession) bool { return s.key.owner == d.id })
	g.parked.mu.Lock()
	pool := append(g.parked.byIdentity[d.identity], taken...)
	var overflow []*upstreamSession
	if len(pool) > maxParkedPerIdentity {
		overflow, pool = pool[:len(pool)-maxParkedPerIdentity], pool[len(pool)-maxParkedPerIdentity:]
	}
	if g.parked.byIdentity == nil {
		g.parked.byIdentity = map[string][]*upstreamSession{}
	}
	g.parked.byIdentity[d.identity] = pool
	g.parked.mu.Unlock()
	for _, s := range overflow {
		g.registry.closeInBackground(s, causeDelete)
	}
	g.log.Warn("emulated bug: upstream sessions left open after DELETE", "session", d.id, "parked", len(taken))
}

// adoptParked hands parked upstream sessions to the identity's new session.
func (g *Gateway) adoptParked(d *downstream) {
	g.parked.mu.Lock()
	pool := g.parked.byIdentity[d.identity]
	delete(g.parked.byIdentity, d.identity)
	g.parked.mu.Unlock()
	for _, s := range pool {
		if !g.registry.adopt(s, regKey{owner: d.id, upstream: s.key.upstream}, d.id) {
			g.registry.closeInBackground(s, causeDelete)
		}
	}
}

// closeParked closes whatever the warm pool holds (nothing unless
// no-evict-on-delete parked sessions).
func (g *Gateway) closeParked() {
	g.parked.mu.Lock()
	parked := g.parked.byIdentity
	g.parked.byIdentity = nil
	g.parked.mu.Unlock()
	for _, pool := range parked {
		for _, s := range pool {
			g.registry.closeInBackground(s, causeShutdown)
		}
	}
}

// broadcastOwners is the broadcast-notifications bug: every downstream
// session that holds a session on upstream.
func (g *Gateway) broadcastOwners(upstream string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range g.registry.snapshot() {
		if s.def.ID == upstream && !seen[s.downstream] {
			seen[s.downstream] = true
			out = append(out, s.downstream)
		}
	}
	return out
}

// dropCancellations is the drop-cancel bug: a POST that carries only
// notifications/cancelled is accepted and thrown away.
func dropCancellations(w http.ResponseWriter, body []byte) bool {
	msgs := envelopes(body)
	if len(msgs) == 0 {
		return false
	}
	for _, m := range msgs {
		if m.Method != "notifications/cancelled" {
			return false
		}
	}
	w.WriteHeader(http.StatusAccepted)
	return true
}

// headerCallID carries a call's JSON-RPC id, as text, from the front to the
// SDK handler; only the unmapped-ids bug sets or reads it.
const headerCallID = "Mcpgw-Call-Id"

// tagCallID is the front's half of the unmapped-ids bug: it notes a lone
// tools/call's id as text, so 1 and "1" read alike.
func tagCallID(r *http.Request, body []byte) {
	r.Header.Del(headerCallID)
	if msgs := envelopes(body); len(msgs) == 1 && msgs[0].Method == "tools/call" {
		r.Header.Set(headerCallID, strings.Trim(string(msgs[0].ID), `"`))
	}
}

// answersByID is the unmapped-ids bug's table: callers waiting for an
// answer, by JSON-RPC id as text, across every session.
type answersByID struct {
	mu      sync.Mutex
	waiting map[string][]chan callAnswer
}

type callAnswer struct {
	res mcp.Result
	err error
}

// exchange runs call and hands its answer to the newest caller waiting
// under the same id, which is not necessarily this one; this caller gets
// whichever answer reaches it. Every answer fills exactly one waiter, so
// nobody waits forever, and ctx bounds the wait anyway.
func (a *answersByID) exchange(ctx context.Context, req mcp.Request, call func() (mcp.Result, error)) (mcp.Result, error) {
	key := ""
	if extra := req.GetExtra(); extra != nil && extra.Header != nil {
		key = extra.Header.Get(headerCallID)
	}
	if key == "" {
		return call()
	}
	mine := make(chan callAnswer, 1)
	a.mu.Lock()
	if a.waiting == nil {
		a.waiting = map[string][]chan callAnswer{}
	}
	a.waiting[key] = append(a.waiting[key], mine)
	a.mu.Unlock()
	res, err := call()
	a.mu.Lock()
	q := a.waiting[key]
	to := q[len(q)-1]
	if len(q) == 1 {
		delete(a.waiting, key)
	} else {
		a.waiting[key] = q[:len(q)-1]
	}
	a.mu.Unlock()
	to <- callAnswer{res, err}
	select {
	case got := <-mine:
		return got.res, got.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
