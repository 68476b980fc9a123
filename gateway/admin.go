package gateway

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// adminHandler serves /admin/*, behind the admin bearer token (SEC-4).
func (g *Gateway) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/upstreams", g.adminListUpstreams)
	mux.HandleFunc("PUT /admin/upstreams/{id}", g.adminPutUpstream)
	mux.HandleFunc("DELETE /admin/upstreams/{id}", g.adminDeleteUpstream)
	mux.HandleFunc("GET /admin/sessions", g.adminSessions)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.cfg.AdminToken == "" {
			httpError(w, http.StatusNotFound, "the admin API is off; start the gateway with --admin-token to turn it on")
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(g.cfg.AdminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mcpgw-admin"`)
			httpError(w, http.StatusUnauthorized, "admin API needs Authorization: Bearer <admin token>")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (g *Gateway) adminListUpstreams(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, g.upstreams.list())
}

type putUpstreamResponse struct {
	Upstream       Upstream `json:"upstream"`
	Evicted        int      `json:"evicted"`
	ConnectChanged bool     `json:"connectChanged"`
}

func (g *Gateway) adminPutUpstream(w http.ResponseWriter, r *http.Request) {
	var u Upstream
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&u); err != nil {
		httpError(w, http.StatusBadRequest, "upstream body: "+err.Error())
		return
	}
	id := r.PathValue("id")
	if u.ID != "" && u.ID != id {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("body id %q does not match path id %q", u.ID, id))
		return
	}
	u.ID = id
	if err := u.Validate(); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := u.tlsClientConfig(); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	existed, resp := g.applyUpstreamPut(u)
	g.broadcast(clusterEvent{Op: "put", ID: u.ID, Upstream: &u})
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
	}
	writeJSON(w, status, resp)
}

// applyUpstreamPut stores u and evicts what a connect-affecting change made stale.
func (g *Gateway) applyUpstreamPut(u Upstream) (existed bool, resp putUpstreamResponse) {
	old, existed := g.upstreams.put(u)
	resp.Upstream = u
	if existed {
		resp.ConnectChanged = old.connectKey() != u.connectKey()
		resp.Evicted = g.upstreamChanged(u, resp.ConnectChanged)
	}
	g.log.Info("upstream configured", "upstream", u.ID, "url", u.URL, "created", !existed, "connect_changed", resp.ConnectChanged, "evicted", resp.Evicted)
	return existed, resp
}

// broadcast tells the other replicas about an upstream change, so each
// evicts its own stale sessions (XPD-4). Without a cluster it does nothing.
func (g *Gateway) broadcast(ev clusterEvent) {
	if g.cluster == nil {
		return
	}
	if err := g.cluster.publish(ev); err != nil {
		g.log.Error("upstream change applied here but not broadcast: other replicas keep their sessions until they restart", "upstream", ev.ID, "err", err)
	}
}

// applyClusterEvent applies another replica's upstream change here.
func (g *Gateway) applyClusterEvent(ev clusterEvent) {
	switch {
	case ev.Op == "put" && ev.Upstream != nil && ev.Upstream.Validate() == nil:
		g.applyUpstreamPut(*ev.Upstream)
	case ev.Op == "remove":
		g.applyUpstreamRemove(ev.ID)
	default:
		g.log.Warn("ignoring an unknown cluster event", "op", ev.Op, "origin", ev.Origin)
	}
}

// upstreamChanged evicts the sessions a connect-affecting change made stale
// (EVI-5); a cosmetic change keeps them (EVI-6).
func (g *Gateway) upstreamChanged(u Upstream, connectChanged bool) int {
	if !connectChanged {
		return 0
	}
	if !g.policy.evictOnUpstreamChange() {
		return 0
	}
	key := u.connectKey()
	n := g.registry.evict(causeUpdate, func(s *upstreamSession) bool {
		return s.key.upstream == u.ID && s.connKey != key
	})
	for _, d := range g.sessions.all() {
		if d.pt != nil && d.route == u.ID {
			g.ptClose(d, causeUpdate, &u)
			n++
		}
	}
	if legs := g.listens.endLegs(func(l Upstream) bool { return l.ID == u.ID && l.connectKey() != key }); legs > 0 {
		g.log.Info("upstream changed: its subscriptions/listen legs ended", "upstream", u.ID, "legs", legs)
	}
	return n
}

func (g *Gateway) adminDeleteUpstream(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	n, ok := g.applyUpstreamRemove(id)
	if !ok {
		httpError(w, http.StatusNotFound, fmt.Sprintf("no upstream %q", id))
		return
	}
	g.broadcast(clusterEvent{Op: "remove", ID: id})
	writeJSON(w, http.StatusOK, map[string]int{"evicted": n})
}

// applyUpstreamRemove forgets an upstream and evicts its sessions (EVI-7).
func (g *Gateway) applyUpstreamRemove(id string) (evicted int, existed bool) {
	if !g.upstreams.remove(id) {
		return 0, false
	}
	n := g.registry.evict(causeRemove, func(s *upstreamSession) bool { return s.key.upstream == id })
	// Sessions of /servers/{id}/mcp have nothing left to reach.
	for _, d := range g.sessions.all() {
		if d.route == id {
			g.endSession(d, causeRemove)
		}
	}
	legs := g.listens.endLegs(func(u Upstream) bool { return u.ID == id })
	g.log.Info("upstream removed", "upstream", id, "evicted", n, "listen_legs_ended", legs)
	return n, true
}

type sessionsView struct {
	Replica  string        `json:"replica"`
	Sessions []sessionView `json:"sessions"`
}

type sessionView struct {
	ID        string         `json:"id"`
	Identity  string         `json:"identity"`
	Route     string         `json:"route"`
	Upstreams []upstreamView `json:"upstreams"`
}

type upstreamView struct {
	Upstream        string `json:"upstream"`
	UpstreamSession string `json:"upstreamSession"`
}

func (g *Gateway) adminSessions(w http.ResponseWriter, r *http.Request) {
	byOwner := map[string][]upstreamView{}
	for _, s := range g.registry.snapshot() {
		byOwner[s.key.owner] = append(byOwner[s.key.owner], upstreamView{Upstream: s.key.upstream, UpstreamSession: s.sessionID()})
	}
	view := sessionsView{Replica: g.cfg.ReplicaID, Sessions: []sessionView{}}
	for _, d := range g.sessions.all() {
		ups := byOwner[g.policy.poolKey(d, "").owner]
		if d.pt != nil {
			_, id := d.pt.current()
			ups = []upstreamView{{Upstream: d.route, UpstreamSession: id}}
		}
		if ups == nil {
			ups = []upstreamView{}
		}
		slices.SortFunc(ups, func(a, b upstreamView) int { return strings.Compare(a.Upstream, b.Upstream) })
		view.Sessions = append(view.Sessions, sessionView{ID: d.id, Identity: d.identity, Route: g.shape.routePath(d.route), Upstreams: ups})
	}
	slices.SortFunc(view.Sessions, func(a, b sessionView) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, view)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
