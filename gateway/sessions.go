package gateway

import (
	"context"
	"crypto/rand"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// randomID returns 130 bits of randomness in base32: visible ASCII only, as
// session ids must be (SEC-2).
func randomID() string { return rand.Text() }

// downstream is one MCP session between a client and this gateway.
type downstream struct {
	id       string
	identity string
	route    string // "" for the aggregate route, else the upstream id of the server route
	created  time.Time
	server   *mcp.ServerSession // nil for a pass-through session
	pt       *ptSession         // set for a pass-through session of /servers/{id}/mcp
	// bridged marks a bridge of sessionless callers (sessionless.go): it
	// holds upstream sessions but no client can address it by session id.
	bridged bool
	// mrtr are the requestStates issued through this bridge (mrtr.go).
	mrtr mrtrStates
	// ctx ends when the session does: its upstream calls run under it, because
	// the SDK's ServerSession.Close waits for in-flight handlers and a hung
	// upstream call must not hold a DELETE or a shutdown.
	ctx    context.Context
	cancel context.CancelFunc

	live liveCalls // tools/call in flight on the SDK route (relay.go)

	lastSeen atomic.Int64 // unix nanos of the last request's end
	active   atomic.Int32 // requests in flight: a session is never idle while serving
}

// bind returns ctx, also cancelled when the session ends.
func (d *downstream) bind(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(d.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// begin marks a request start; the returned func marks its end.
func (d *downstream) begin() func() {
	d.active.Add(1)
	return func() {
		d.lastSeen.Store(time.Now().UnixNano())
		d.active.Add(-1)
	}
}

func (d *downstream) idleSince(now time.Time) time.Duration {
	if d.active.Load() > 0 {
		return 0
	}
	return now.Sub(time.Unix(0, d.lastSeen.Load()))
}

// sessionTable is the replica's set of live downstream sessions. It never
// calls out while holding its lock (the registry asks it under its own).
type sessionTable struct {
	mu sync.Mutex
	m  map[string]*downstream
}

func newSessionTable() *sessionTable { return &sessionTable{m: map[string]*downstream{}} }

func (t *sessionTable) add(d *downstream) {
	d.lastSeen.Store(time.Now().UnixNano())
	t.mu.Lock()
	t.m[d.id] = d
	t.mu.Unlock()
}

func (t *sessionTable) get(id string) *downstream {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

func (t *sessionTable) has(id string) bool { return t.get(id) != nil }

// remove deletes and returns the session, or nil if it was already gone, so
// exactly one caller gets to end it.
func (t *sessionTable) remove(id string) *downstream {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.m[id]
	delete(t.m, id)
	return d
}

func (t *sessionTable) all() []*downstream {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Collect(maps.Values(t.m))
}

func (t *sessionTable) ids() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Collect(maps.Keys(t.m))
}

func (t *sessionTable) idle(now time.Time, limit time.Duration) []*downstream {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*downstream
	for _, d := range t.m {
		if d.idleSince(now) > limit {
			out = append(out, d)
		}
	}
	return out
}

func (t *sessionTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
