package gateway

import (
	"context"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The sessionless (2026-07-28) bugs' hooks and the code that exists only for
// them; see bugs.go for how emulation works.

// checkSessionlessHeaders reports whether Mcp-Method / Mcp-Name are checked
// against the body (not under no-header-check).
func (p bugPolicy) checkSessionlessHeaders() bool { return p.bug != BugNoHeaderCheck }

// shareListCache reports whether sessionless tools/list results go through
// one cache shared by every caller (shared-private-cache).
func (p bugPolicy) shareListCache() bool { return p.bug == BugSharedPrivateCache }

// sharedLists is shared-private-cache's cache: a route's first sessionless
// listing, served to every later caller with its private scope widened.
type sharedLists struct {
	mu sync.Mutex
	m  map[string]map[string]any // route -> result
}

func (c *sharedLists) get(route string) (map[string]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res, ok := c.m[route]
	return res, ok
}

func (c *sharedLists) put(route string, res map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]map[string]any{}
	}
	if _, ok := c.m[route]; !ok {
		res["cacheScope"] = "public"
		c.m[route] = res
	}
}

// shareListens reports whether sessionless listens share one upstream
// listen per (route, upstream) and get each other's notifications
// (shared-listen).
func (p bugPolicy) shareListens() bool { return p.bug == BugSharedListen }

// sharedListens is shared-listen's pool: one upstream listen per (route,
// upstream), asking for what all its listeners asked for, reopened when a
// listener asks for more; every notification goes to every listener.
type sharedListens struct {
	mu   sync.Mutex
	hubs map[string]*listenHub
}

type listenHub struct {
	want    mcp.NotificationSubscriptions // what leg asked for
	leg     *listenLeg
	members map[*listener]context.CancelFunc // ends the member's subscription
}

func (s *sharedListens) join(g *Gateway, l *listener, route string, u Upstream, want mcp.NotificationSubscriptions) *upstreamListen {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := route + "\x00" + u.ID
	h := s.hubs[key]
	if h == nil {
		h = &listenHub{members: map[*listener]context.CancelFunc{}}
		if s.hubs == nil {
			s.hubs = map[string]*listenHub{}
		}
		s.hubs[key] = h
	}
	if h.leg == nil || !covers(h.want, want) {
		union(&h.want, want)
		old := h.leg
		leg := g.openLeg(g.baseCtx, u, h.want, func(_ <-chan struct{}, msg []byte) { s.fanOut(h, msg) })
		h.leg = leg
		context.AfterFunc(leg.ended, func() { s.legEnded(h, leg) })
		if old != nil {
			old.cancel()
		}
		g.log.Warn("emulated bug: one upstream listen shared by every listener of the route", "upstream", u.ID, "listeners", len(h.members)+1)
	}
	ended, end := context.WithCancel(context.Background())
	h.members[l] = end
	return &upstreamListen{upstream: u.ID, leg: h.leg, want: want, ended: ended, stop: func() { s.leave(key, h, l) }}
}

// fanOut is the bug itself: every listener gets every notification.
func (s *sharedListens) fanOut(h *listenHub, msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range h.members {
		l.tryPush(msg)
	}
}

// legEnded ends every listener of the hub when its current leg ends.
func (s *sharedListens) legEnded(h *listenHub, leg *listenLeg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h.leg != leg {
		return // replaced by a wider one
	}
	h.leg, h.want = nil, mcp.NotificationSubscriptions{}
	for _, end := range h.members {
		end()
	}
}

func (s *sharedListens) leave(key string, h *listenHub, l *listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if end, ok := h.members[l]; ok {
		end()
		delete(h.members, l)
	}
	if len(h.members) == 0 {
		if h.leg != nil {
			h.leg.cancel()
		}
		if s.hubs[key] == h {
			delete(s.hubs, key)
		}
	}
}
