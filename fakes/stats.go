// Package fakes holds what the fake upstream MCP servers share: the /stats
// document they publish, so suites judge a gateway from upstream truth.
//
// The servers themselves live in fakes/counter and fakes/wedge.
package fakes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// How an upstream session ended, as the fake observed it.
const (
	EndDeleted = "deleted" // the client sent DELETE for the session
	EndExpired = "expired" // the fake dropped it (restart, forced loss)
	EndClosed  = "closed"  // the server side closed it for another reason
)

// Stats is the JSON document served at GET /stats.
type Stats struct {
	// Initializes counts initialize requests the fake answered.
	Initializes int `json:"initializes"`
	// Live lists the sessions that are open now, by upstream session id.
	Live []SessionStats `json:"live"`
	// Ended lists the sessions that have ended, with how they ended.
	Ended []SessionStats `json:"ended"`
	// Headers lists the request headers seen, one entry per HTTP request, in
	// arrival order (bounded: the oldest are dropped past MaxHeaderRecords).
	Headers []HeaderRecord `json:"headers"`
	// Handles lists the state handles tool "open" returned (both eras),
	// oldest first.
	Handles []HandleStats `json:"handles"`
	// Modern is what the fake saw of the sessionless 2026-07-28 revision.
	Modern ModernStats `json:"modern"`
}

// HandleStats is one state handle (SEP-2567): the state it names and who
// may reach it.
type HandleStats struct {
	Handle string `json:"handle"`
	// Session is the upstream session that opened it ("" when opened
	// sessionless: then any caller presenting it reaches it).
	Session string `json:"session,omitempty"`
	Value   int    `json:"value"`
	Calls   int    `json:"calls"`
	// Refused counts calls that presented it from another session.
	Refused int `json:"refused,omitempty"`
}

// ModernStats counts what arrived in the 2026-07-28 revision, where there
// is no session to hang stats on.
type ModernStats struct {
	// Requests counts 2026-07-28 requests by JSON-RPC method.
	Requests map[string]int `json:"requests"`
	// Names lists the Mcp-Name header of each 2026-07-28 tools/call, in
	// arrival order (bounded like Headers).
	Names []string `json:"names"`
	// MRTR counts the input_required rounds of tool "confirm": issued
	// (a requestState handed out), completed (the retry carried it and an
	// answer) and refused (a requestState the fake never issued, or
	// issued to another session).
	MRTR MRTRStats `json:"mrtr"`
	// Listens counts subscriptions/listen streams opened, ListensOpen those
	// open now, and Subscribed lists the resource URIs they asked for, in
	// arrival order (bounded like Headers).
	Listens     int      `json:"listens"`
	ListensOpen int      `json:"listensOpen"`
	Subscribed  []string `json:"subscribed"`
	// Notified counts the calls of tool "publish" (in either era), and
	// Published lists their URIs in order (bounded like Headers): each
	// notified the URI's subscribers of both eras.
	Notified  int      `json:"notified"`
	Published []string `json:"published"`
}

// MRTRStats counts multi round-trip requests (see ModernStats.MRTR).
type MRTRStats struct {
	Issued    int `json:"issued"`
	Completed int `json:"completed"`
	Refused   int `json:"refused"`
	// States lists the requestStates issued, oldest first (bounded like
	// Headers), so a test can tell one passed through unchanged.
	States []string `json:"states"`
}

// SessionStats is one upstream session as the fake saw it.
type SessionStats struct {
	ID    string `json:"id"`
	Value int    `json:"value"`
	Calls int    `json:"calls"` // tools/call requests served
	// Blocking counts the calls running now that return only when
	// cancelled (the wedge's tool "block").
	Blocking int `json:"blocking,omitempty"`
	// Cancelled counts the calls of the session whose cancellation the fake
	// observed (notifications/cancelled, or the session closing under them),
	// and LastCancelled is when the latest was.
	Cancelled     int       `json:"cancelled,omitempty"`
	LastCancelled time.Time `json:"lastCancelled,omitzero"`
	Started       time.Time `json:"started"`
	Ended         time.Time `json:"ended,omitzero"`
	EndReason     string    `json:"endReason,omitempty"`
	// ProtocolVersion is the revision negotiated at initialize.
	ProtocolVersion string `json:"protocolVersion,omitempty"`
	// Routing is what the session saw of in-session message routing
	// (routing_stats.go); nil until the session used a routing tool.
	Routing *RoutingStats `json:"routing,omitempty"`
}

// HeaderRecord is the headers of one HTTP request to the fake's /mcp.
type HeaderRecord struct {
	Method  string              `json:"method"`
	Session string              `json:"session,omitempty"` // Mcp-Session-Id sent, if any
	Headers map[string][]string `json:"headers"`
}

// MaxHeaderRecords bounds the header log so a long run cannot grow it forever.
const MaxHeaderRecords = 4096

// Session returns the session with the given id, live or ended.
func (s *Stats) Session(id string) (SessionStats, bool) {
	for _, list := range [][]SessionStats{s.Live, s.Ended} {
		for _, ss := range list {
			if ss.ID == id {
				return ss, true
			}
		}
	}
	return SessionStats{}, false
}

// FetchStats reads GET {baseURL}/stats with the given context (give it a deadline).
func FetchStats(ctx context.Context, baseURL string) (*Stats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/stats", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch stats from %s: %w", baseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch stats from %s: status %s", baseURL, resp.Status)
	}
	var st Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("decode stats from %s: %w", baseURL, err)
	}
	return &st, nil
}
