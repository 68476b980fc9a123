package gateway

import "sync"

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
