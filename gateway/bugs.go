package gateway

import (
	"fmt"
	"strings"
)

// Bug names one known gateway bug that the reference gateway can reproduce,
// so that anyone can see it happen and the suites can prove they catch it.
// Each switch is read in exactly one place in the code, marked "emulated bug".
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
)

// Bugs lists every bug name the flag knows, in documentation order.
var Bugs = []Bug{BugSharedUpstream, BugNoEvictOnDelete, BugNoEvictOnUpdate, BugHangingGet, BugUnboundedShutdown, BugLocalLookup, BugDeadOwnerHang}

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

// maxParkedPerIdentity bounds the emulated warm pool: even a bug stays bounded.
const maxParkedPerIdentity = 64

// parkUpstreamSessions is the emulated no-evict-on-delete bug: the deleted
// session's upstream sessions stay open in a pool keyed by identity.
func (g *Gateway) parkUpstreamSessions(d *downstream) {
	taken := g.registry.take(func(s *upstreamSession) bool { return s.key.owner == d.id })
	g.parkedMu.Lock()
	pool := append(g.parked[d.identity], taken...)
	var overflow []*upstreamSession
	if len(pool) > maxParkedPerIdentity {
		overflow, pool = pool[:len(pool)-maxParkedPerIdentity], pool[len(pool)-maxParkedPerIdentity:]
	}
	g.parked[d.identity] = pool
	g.parkedMu.Unlock()
	for _, s := range overflow {
		g.registry.closeInBackground(s, causeDelete)
	}
	g.log.Warn("emulated bug: upstream sessions left open after DELETE", "session", d.id, "parked", len(taken))
}

// adoptParked hands parked upstream sessions to the identity's new session.
func (g *Gateway) adoptParked(d *downstream) {
	g.parkedMu.Lock()
	pool := g.parked[d.identity]
	delete(g.parked, d.identity)
	g.parkedMu.Unlock()
	for _, s := range pool {
		if !g.registry.adopt(s, regKey{owner: d.id, upstream: s.key.upstream}, d.id) {
			g.registry.closeInBackground(s, causeDelete)
		}
	}
}

func (g *Gateway) closeParked() {
	g.parkedMu.Lock()
	parked := g.parked
	g.parked = map[string][]*upstreamSession{}
	g.parkedMu.Unlock()
	for _, pool := range parked {
		for _, s := range pool {
			g.registry.closeInBackground(s, causeShutdown)
		}
	}
}
