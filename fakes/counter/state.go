package counter

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/mcpgw/conformance/fakes"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// record is one upstream session: its published stats plus the SDK session,
// kept so the fake can close it on drop or Close.
type record struct {
	stats fakes.SessionStats
	ss    *mcp.ServerSession
}

func (r *record) live() bool { return r.stats.EndReason == "" }

// state is everything /stats reports, behind one mutex. Ended sessions are
// kept (they are small) so suites can always look up how a session ended.
type state struct {
	mu          sync.Mutex
	closed      bool // Close has started: no new requests, no new sessions
	initializes int
	sessions    map[string]*record
	headers     []fakes.HeaderRecord
	modern      modernState // handles, MRTR and 2026-07-28 counts (stateless.go)
}

func newState() state {
	return state{sessions: make(map[string]*record), modern: newModernState()}
}

// recordHeaders logs one /mcp request, dropping the oldest past the bound.
func (st *state) recordHeaders(r *http.Request) {
	rec := fakes.HeaderRecord{
		Method:  r.Method,
		Session: r.Header.Get("Mcp-Session-Id"),
		Headers: r.Header.Clone(),
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.headers) >= fakes.MaxHeaderRecords {
		st.headers = st.headers[1:]
	}
	st.headers = append(st.headers, rec)
}

// started records an answered initialize. A session born while Close runs is
// recorded as already closed, so Stats never shows a live session after Close.
func (st *state) started(ss *mcp.ServerSession, protocolVersion string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.initializes++
	if _, ok := st.sessions[ss.ID()]; ok {
		return // a repeated initialize does not restart the session
	}
	now := time.Now()
	rec := &record{ss: ss, stats: fakes.SessionStats{ID: ss.ID(), Started: now, ProtocolVersion: protocolVersion}}
	if st.closed {
		rec.stats.Ended, rec.stats.EndReason = now, fakes.EndClosed
	}
	st.sessions[ss.ID()] = rec
}

// end marks a live session ended; the first reason wins. It returns the SDK
// session to close, or nil when the session was not live.
func (st *state) end(id, reason string) *mcp.ServerSession {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.endLocked(id, reason)
}

func (st *state) endLocked(id, reason string) *mcp.ServerSession {
	rec, ok := st.sessions[id]
	if !ok || !rec.live() {
		return nil
	}
	rec.stats.Ended, rec.stats.EndReason = time.Now(), reason
	return rec.ss
}

// endAllLocked ends every live session and returns their SDK sessions.
func (st *state) endAllLocked(reason string) []*mcp.ServerSession {
	var out []*mcp.ServerSession
	for id := range st.sessions {
		if ss := st.endLocked(id, reason); ss != nil {
			out = append(out, ss)
		}
	}
	return out
}

// ended reports whether the fake has forgotten this session id.
func (st *state) ended(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	rec, ok := st.sessions[id]
	return ok && !rec.live()
}

// live reports whether the session is known and not ended.
func (st *state) live(id string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	rec, ok := st.sessions[id]
	return ok && rec.live()
}

// call counts one tools/call on the session.
func (st *state) call(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if rec, ok := st.sessions[id]; ok {
		rec.stats.Calls++
	}
}

// blocking counts a call in progress that waits for its cancellation, and
// returns what records its end.
func (st *state) blocking(id string) (ended func(cancelled bool)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	rec, ok := st.sessions[id]
	if !ok {
		return func(bool) {}
	}
	rec.stats.Blocking++
	return func(cancelled bool) {
		st.mu.Lock()
		defer st.mu.Unlock()
		rec.stats.Blocking--
		if cancelled {
			rec.stats.Cancelled++
			rec.stats.LastCancelled = time.Now()
		}
	}
}

// update applies f to the session's value and returns the new value.
func (st *state) update(id string, f func(int) int) (int, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	rec, ok := st.sessions[id]
	if !ok {
		return 0, false
	}
	rec.stats.Value = f(rec.stats.Value)
	return rec.stats.Value, true
}

// snapshot is a deep copy of the stats, sessions ordered by Started then ID.
func (st *state) snapshot() fakes.Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := fakes.Stats{
		Initializes: st.initializes,
		Live:        []fakes.SessionStats{},
		Ended:       []fakes.SessionStats{},
		Headers:     make([]fakes.HeaderRecord, len(st.headers)),
	}
	for _, rec := range st.sessions {
		if rec.live() {
			out.Live = append(out.Live, rec.stats)
		} else {
			out.Ended = append(out.Ended, rec.stats)
		}
	}
	byStart := func(a, b fakes.SessionStats) int {
		return cmp.Or(a.Started.Compare(b.Started), cmp.Compare(a.ID, b.ID))
	}
	slices.SortFunc(out.Live, byStart)
	slices.SortFunc(out.Ended, byStart)
	for i, h := range st.headers {
		h.Headers = maps.Clone(h.Headers)
		for k, v := range h.Headers {
			h.Headers[k] = slices.Clone(v)
		}
		out.Headers[i] = h
	}
	st.modern.fill(&out)
	return out
}
