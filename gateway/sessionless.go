package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The 2026-07-28 revision (SEP-2575) has no protocol session: no
// initialize, no Mcp-Session-Id, no GET stream. Every request carries its
// revision and capabilities in _meta, and the Mcp-Method / Mcp-Name headers
// repeat what the body says. The gateway serves it on the same routes as the
// session-bearing revisions, chosen per request by MCP-Protocol-Version.
//
// Upstreams are still reached over session-bearing upstream sessions (the
// counter bug's home), so sessionless callers are *bridged*: each
// (identity, route, conversation) gets a bridge, an internal downstream
// session nobody can address by Mcp-Session-Id, and through it its own
// upstream sessions (VER-7). Two identities never share a bridge; two
// conversations of one identity are kept apart by a conversation handle the
// gateway issues in server/discover and the client sends back in _meta
// (VER-8, SEP-2567). A bridge lives on one replica; any replica serves any
// sessionless request by forwarding it to the bridge's owner as it does for
// sessions, or by opening the bridge itself when nobody owns it. The one
// exception is MRTR (mrtr.go): a call that needs input goes over a
// 2026-07-28 upstream leg, its requestState bound to the bridge.

// Era names, as --eras takes them.
const (
	EraSession     = "session" // 2025-03-26 .. 2025-11-25, with Mcp-Session-Id
	EraSessionless = firstSessionlessRevision
)

// Wire names of the sessionless revision.
const (
	headerMethod = "Mcp-Method"
	headerName   = "Mcp-Name"
	// metaConversation carries the gateway-issued conversation handle in a
	// request's _meta (and in server/discover's result).
	metaConversation = "io.mcpgw/conversation"
	metaProtocol     = "io.modelcontextprotocol/protocolVersion"
	metaServerInfo   = "io.modelcontextprotocol/serverInfo"
	metaPrefixMCP    = "io.modelcontextprotocol/"
	// codeHeaderMismatch and codeUnsupportedVersion are go-sdk's
	// CodeHeaderMismatch and CodeUnsupportedProtocolVersion.
	codeHeaderMismatch     = mcp.CodeHeaderMismatch
	codeUnsupportedVersion = mcp.CodeUnsupportedProtocolVersion
	bridgePrefix           = "bridge-"
)

// sessionlessRevisions are the sessionless revisions served.
var sessionlessRevisions = []string{EraSessionless}

// bridging is the gateway's sessionless side: the eras it serves and the
// key conversation handles are signed with.
type bridging struct {
	session, sessionless bool
	key                  []byte
	mu                   sync.Mutex  // serialises opening a bridge
	lists                sharedLists // only shared-private-cache fills it
}

func newBridging(eras []string, clusterSecret string) (*bridging, error) {
	b := &bridging{}
	if len(eras) == 0 {
		eras = []string{EraSession, EraSessionless}
	}
	for _, e := range eras {
		switch e {
		case EraSession:
			b.session = true
		case EraSessionless:
			b.sessionless = true
		default:
			return nil, &ShapeError{Flag: "eras", Value: strings.Join(eras, ","), Problem: fmt.Sprintf("unknown era %q (known: %s, %s)", e, EraSession, EraSessionless)}
		}
	}
	// Replicas share the cluster secret, so a handle issued by one is good
	// on all; a single replica signs with a key of its own.
	b.key = []byte(clusterSecret)
	if len(b.key) == 0 {
		b.key = []byte(rand.Text())
	}
	return b, nil
}

func isSessionlessRevision(v string) bool { return isRevision(v) && v >= firstSessionlessRevision }

// wantsSessionless reports whether the request speaks the sessionless
// revision: by its header, or (POST, no header, no session) by its _meta,
// so that a request speaking 2026-07-28 without the required header is told
// so rather than handed to the session path.
func wantsSessionless(r *http.Request, body []byte) bool {
	if v := r.Header.Get(headerProtocolVersion); v != "" {
		return isSessionlessRevision(v)
	}
	if body == nil || r.Header.Get(headerSessionID) != "" || !bytes.Contains(body, []byte(metaProtocol)) {
		return false
	}
	env, err := parseSessionless(body)
	return err == nil && isSessionlessRevision(env.metaString(metaProtocol))
}

// sessionlessEnvelope is one 2026-07-28 JSON-RPC message.
type sessionlessEnvelope struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
	meta    map[string]any
	name    string // params.name, or params.uri for resources/read
}

func (e *sessionlessEnvelope) isCall() bool { return len(e.ID) > 0 && string(e.ID) != "null" }

func (e *sessionlessEnvelope) metaString(k string) string {
	s, _ := e.meta[k].(string)
	return s
}

func parseSessionless(body []byte) (*sessionlessEnvelope, error) {
	trimmed := bytes.TrimSpace(body)
	if bytes.HasPrefix(trimmed, []byte("[")) {
		return nil, fmt.Errorf("JSON-RPC batches are not part of %s", firstSessionlessRevision)
	}
	var env sessionlessEnvelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return nil, fmt.Errorf("malformed JSON-RPC body: %v", err)
	}
	if env.Method == "" {
		return nil, fmt.Errorf("a JSON-RPC request needs a method")
	}
	if len(env.Params) > 0 && string(env.Params) != "null" {
		var p struct {
			Meta map[string]any `json:"_meta"`
			Name string         `json:"name"`
			URI  string         `json:"uri"`
		}
		if err := json.Unmarshal(env.Params, &p); err != nil {
			return nil, fmt.Errorf("malformed params: %v", err)
		}
		env.meta, env.name = p.Meta, p.Name
		if env.Method == "resources/read" {
			env.name = p.URI
		}
	}
	return &env, nil
}

// serveSessionless answers one 2026-07-28 request. Auth has run; nothing
// here reads or sets Mcp-Session-Id.
func (g *Gateway) serveSessionless(w http.ResponseWriter, r *http.Request, route string, body []byte) {
	if !g.bridges.sessionless {
		writeRPCError(w, http.StatusBadRequest, &jsonrpc.Error{Code: codeUnsupportedVersion,
			Message: fmt.Sprintf("this gateway serves only the session-bearing revisions %s; initialize a session", strings.Join(sessionRevisions, ", "))})
		return
	}
	forwarded, authentic := g.isForwarded(r)
	if forwarded && !authentic {
		httpError(w, http.StatusForbidden, "replica-to-replica request without the right cluster secret")
		return
	}
	if r.Method != http.MethodPost {
		// No GET stream and no session to DELETE in this revision.
		w.Header().Set("Allow", "POST")
		httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s has no sessions: only POST is served (no GET stream, nothing to DELETE)", firstSessionlessRevision))
		return
	}
	if body == nil {
		var ok bool
		if body, ok = g.readBody(w, r); !ok {
			return
		}
		if _, bad := inspectIDs(body); bad != nil {
			writeRPCError(w, http.StatusBadRequest, bad)
			return
		}
	}
	env, err := parseSessionless(body)
	if err != nil {
		writeRPCError(w, http.StatusBadRequest, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: err.Error()})
		return
	}
	if bad := g.checkSessionless(r, env); bad != nil {
		writeRPCErrorID(w, http.StatusBadRequest, env.ID, bad)
		return
	}
	if !env.isCall() {
		// Notifications: cancellation is closing the request's stream in
		// this revision, and nothing else needs an upstream.
		w.WriteHeader(http.StatusAccepted)
		return
	}
	identity := callerIdentity(r)
	switch env.Method {
	case "server/discover":
		g.writeResult(w, env.ID, g.discoverResult(identity))
		return
	case "ping":
		g.writeResult(w, env.ID, map[string]any{"resultType": "complete"})
		return
	case "tools/list", "tools/call", methodListen:
	default:
		writeRPCErrorID(w, http.StatusNotFound, env.ID, &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound,
			Message: fmt.Sprintf("method %q is not served on this gateway's %s front (tools/list, tools/call, subscriptions/listen, server/discover, ping)", env.Method, firstSessionlessRevision)})
		return
	}
	conversation := env.metaString(metaConversation)
	if conversation != "" && !g.bridges.validHandle(identity, conversation) {
		writeRPCErrorID(w, http.StatusBadRequest, env.ID, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
			Message: fmt.Sprintf("_meta %q is not a conversation handle this gateway issued to this identity; take one from server/discover", metaConversation)})
		return
	}
	if env.Method == methodListen {
		// A listen needs no bridge: its upstream legs are its own (listen.go),
		// so any replica serves it.
		g.serveListen(w, r, route, identity, env)
		return
	}
	vid := g.bridgeID(identity, route, conversation)
	d := g.sessions.get(vid)
	if d == nil && g.cluster != nil && !forwarded {
		if g.bridgeOwnedElsewhere(w, r, vid) {
			return
		}
	}
	if d == nil {
		d = g.openBridge(vid, identity, route)
	}
	done := d.begin()
	defer done()
	ctx, stop := d.bind(r.Context())
	defer stop()
	var res any
	if env.Method == "tools/list" {
		res, err = g.sessionlessList(ctx, d)
	} else {
		res, err = g.sessionlessCall(ctx, d, env)
	}
	if err != nil {
		writeRPCErrorID(w, http.StatusOK, env.ID, asRPCError(err))
		return
	}
	g.writeResult(w, env.ID, res)
}

// checkSessionless validates what 2026-07-28 requires of a request before
// anything of it reaches an upstream (VER-4): the revision in the header and
// in _meta agree, and Mcp-Method / Mcp-Name repeat the body.
func (g *Gateway) checkSessionless(r *http.Request, env *sessionlessEnvelope) *jsonrpc.Error {
	header := r.Header.Get(headerProtocolVersion)
	if header == "" {
		return &jsonrpc.Error{Code: codeHeaderMismatch, Message: fmt.Sprintf("%s header is required for requests carrying %q", headerProtocolVersion, metaProtocol)}
	}
	if !slices.Contains(sessionlessRevisions, header) {
		data, _ := json.Marshal(map[string]any{"supported": g.supportedVersions(), "requested": header})
		return &jsonrpc.Error{Code: codeUnsupportedVersion, Message: fmt.Sprintf("protocol version %q is not supported", header), Data: data}
	}
	if env.isCall() {
		meta := env.metaString(metaProtocol)
		if meta == "" {
			return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("missing _meta %q: every %s request carries it", metaProtocol, firstSessionlessRevision)}
		}
		if meta != header {
			return &jsonrpc.Error{Code: codeHeaderMismatch, Message: fmt.Sprintf("%s header %q does not match _meta %q %q", headerProtocolVersion, header, metaProtocol, meta)}
		}
	}
	if !g.policy.checkSessionlessHeaders() {
		return nil
	}
	if got := r.Header.Get(headerMethod); got != env.Method {
		if got == "" {
			return &jsonrpc.Error{Code: codeHeaderMismatch, Message: fmt.Sprintf("missing required %s header (the body says %q)", headerMethod, env.Method)}
		}
		return &jsonrpc.Error{Code: codeHeaderMismatch, Message: fmt.Sprintf("%s header %q does not match the body's method %q", headerMethod, got, env.Method)}
	}
	switch env.Method {
	case "tools/call", "resources/read", "prompts/get":
		if got := r.Header.Get(headerName); got != env.name {
			if got == "" {
				return &jsonrpc.Error{Code: codeHeaderMismatch, Message: fmt.Sprintf("missing required %s header for %s (the body names %q)", headerName, env.Method, env.name)}
			}
			return &jsonrpc.Error{Code: codeHeaderMismatch, Message: fmt.Sprintf("%s header %q does not match the body's %q", headerName, got, env.name)}
		}
	}
	return nil
}

func (g *Gateway) supportedVersions() []string {
	var out []string
	if g.bridges.sessionless {
		out = append(out, sessionlessRevisions...)
	}
	if g.bridges.session {
		out = append(out, sessionRevisions...)
	}
	return out
}

// discoverResult answers server/discover. It carries a fresh conversation
// handle for the caller, so it is private to the caller.
func (g *Gateway) discoverResult(identity string) map[string]any {
	return map[string]any{
		"resultType":        "complete",
		"supportedVersions": g.supportedVersions(),
		"capabilities":      map[string]any{"tools": map[string]any{}},
		"instructions": fmt.Sprintf("Sessionless callers are kept apart by identity. To keep two conversations of one identity apart, send _meta %q with a handle from server/discover on every request of each.",
			metaConversation),
		"_meta": map[string]any{
			metaServerInfo:   map[string]any{"name": "mcpgw-reference", "version": Version},
			metaConversation: g.bridges.issueHandle(identity),
		},
		"ttlMs":      0,
		"cacheScope": "private",
	}
}

// issueHandle returns a new conversation handle bound to identity: random,
// and signed so that it is good only for that identity (SEP-2567).
func (b *bridging) issueHandle(identity string) string {
	nonce := rand.Text()
	return nonce + "." + b.sign(identity, nonce)
}

func (b *bridging) validHandle(identity, handle string) bool {
	nonce, sig, ok := strings.Cut(handle, ".")
	return ok && nonce != "" && hmac.Equal([]byte(sig), []byte(b.sign(identity, nonce)))
}

func (b *bridging) sign(identity, nonce string) string {
	m := hmac.New(sha256.New, b.key)
	m.Write([]byte("conversation\x00" + identity + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// bridgeID names the bridge of (identity, route, conversation): the same on
// every replica, and not a session id any client is ever given.
func (g *Gateway) bridgeID(identity, route, conversation string) string {
	m := hmac.New(sha256.New, g.bridges.key)
	m.Write([]byte("bridge\x00" + identity + "\x00" + route + "\x00" + conversation))
	return bridgePrefix + hex.EncodeToString(m.Sum(nil)[:16])
}

// openBridge returns the bridge vid, opening it if this replica holds none.
func (g *Gateway) openBridge(vid, identity, route string) *downstream {
	g.bridges.mu.Lock()
	defer g.bridges.mu.Unlock()
	if d := g.sessions.get(vid); d != nil {
		return d
	}
	ctx, cancel := context.WithCancel(g.baseCtx)
	d := &downstream{id: vid, identity: identity, route: route, created: g.now(), ctx: ctx, cancel: cancel, bridged: true}
	g.sessions.add(d)
	// Counted like a session: endSession uncounts it when it expires.
	g.metrics.downstreamSessions.Inc()
	if g.cluster != nil {
		if err := g.cluster.claim(vid); err != nil {
			g.log.Warn("could not claim the new bridge in Redis yet", "bridge", vid, "err", err)
		}
	}
	g.log.Info("sessionless bridge opened", "bridge", vid, "identity", identity, "route", g.shape.routePath(route))
	return d
}

// bridgeOwnedElsewhere forwards the request to the replica holding its
// bridge, if a live one does, and reports whether it did.
func (g *Gateway) bridgeOwnedElsewhere(w http.ResponseWriter, r *http.Request, vid string) bool {
	owner, advertise, err := g.cluster.lookup(vid)
	switch {
	case err != nil:
		httpError(w, http.StatusServiceUnavailable, "cannot look up which replica holds this caller's upstream sessions: "+err.Error()+"; retry shortly")
		return true
	case owner == "":
		return false
	case owner == g.cfg.ReplicaID || advertise == "":
		// Our own stale claim, or a dead owner's: the bridge is lost.
		g.dropDeadClaim(vid, owner)
		return false
	}
	g.forwardToOwner(w, r, vid, owner, advertise)
	return true
}

// sessionlessList lists the route's tools through the bridge. The result is
// as private as the most private upstream list in it: never widened (VER-5).
func (g *Gateway) sessionlessList(ctx context.Context, d *downstream) (any, error) {
	if g.policy.shareListCache() {
		if res, ok := g.bridges.lists.get(d.route); ok {
			return res, nil
		}
	}
	res, err := g.listTools(ctx, d)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"resultType": "complete", "tools": res.Tools, "ttlMs": 0, "cacheScope": res.CacheScope}
	if g.policy.shareListCache() {
		g.bridges.lists.put(d.route, out)
	}
	return out, nil
}

// sessionlessCall calls a tool through the bridge. The upstream session is
// session-bearing, so the request's 2026-07-28 _meta keys stay here.
func (g *Gateway) sessionlessCall(ctx context.Context, d *downstream, env *sessionlessEnvelope) (any, error) {
	var params mcp.CallToolParamsRaw
	if err := json.Unmarshal(env.Params, &params); err != nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "malformed tools/call params: " + err.Error()}
	}
	for k := range params.Meta {
		if strings.HasPrefix(k, metaPrefixMCP) || k == metaConversation {
			delete(params.Meta, k)
		}
	}
	if params.RequestState != "" {
		return g.mrtrCall(ctx, d, &params)
	}
	res, err := g.callTool(ctx, d, &params)
	if needsModernLeg(err) {
		return g.mrtrCall(ctx, d, &params)
	}
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	if _, ok := out["resultType"]; !ok {
		out["resultType"] = "complete"
	}
	return out, nil
}

func (g *Gateway) writeResult(w http.ResponseWriter, id json.RawMessage, result any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": id, "result": result})
}

// writeRPCErrorID is writeRPCError answering the request's own id.
func writeRPCErrorID(w http.ResponseWriter, status int, id json.RawMessage, e *jsonrpc.Error) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": id, "error": e})
}

func asRPCError(err error) *jsonrpc.Error {
	if e, ok := err.(*jsonrpc.Error); ok {
		return e
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
}

// refuseSessionEra answers a session-era request on a gateway serving only
// 2026-07-28: no stream, no session to end, and no initialize.
func (g *Gateway) refuseSessionEra(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("this gateway serves only %s: no sessions, only POST", firstSessionlessRevision))
		return
	}
	data, _ := json.Marshal(map[string]any{"supported": g.supportedVersions(), "requested": r.Header.Get(headerProtocolVersion)})
	writeRPCError(w, http.StatusBadRequest, &jsonrpc.Error{Code: codeUnsupportedVersion, Data: data,
		Message: fmt.Sprintf("this gateway serves only %s: send server/discover with %s: %s instead of initialize", firstSessionlessRevision, headerProtocolVersion, firstSessionlessRevision)})
}
