package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	headerSessionID       = "Mcp-Session-Id"
	headerProtocolVersion = "Mcp-Protocol-Version"
	// maxSessionIDLen bounds a presented session id; ours are 26 characters.
	maxSessionIDLen = 128
	anonymous       = "anonymous"
)

// sessionRevisions are the protocol revisions that carry Mcp-Session-Id, the
// ones this gateway serves. Later revisions are answered by the SDK with a
// JSON-RPC "unsupported protocol version" error so that clients that probe
// them first fall back to initialize (TRN-8).
var sessionRevisions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

const firstSessionlessRevision = "2026-07-28"

// serveMCP is the front of one MCP route. It settles every transport edge the
// SDK handler would answer differently (or not at all) before handing the
// request over: auth, session id checks, 405 on session-less GET, 400 on
// session-less non-initialize POST, 404 on unknown sessions, 413 on big bodies,
// 408 on slow bodies, 400 on JSON-RPC ids that would not come back exactly.
func (g *Gateway) serveMCP(w http.ResponseWriter, r *http.Request, route string) {
	if isSessionlessRevision(r.Header.Get(headerProtocolVersion)) {
		g.serveSessionless(w, r, route, nil)
		return
	}
	if !g.bridges.session {
		g.refuseSessionEra(w, r)
		return
	}
	if v := r.Header.Get(headerProtocolVersion); v != "" && !slices.Contains(sessionRevisions, v) {
		// A POST may probe a newer revision; the SDK answers it in JSON-RPC.
		if !(r.Method == http.MethodPost && isRevision(v) && v >= firstSessionlessRevision) {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("unsupported %s %q (supported: %s)", headerProtocolVersion, v, strings.Join(sessionRevisions, ", ")))
			return
		}
	}
	forwarded, authentic := g.isForwarded(r)
	if forwarded && !authentic {
		httpError(w, http.StatusForbidden, "replica-to-replica request without the right cluster secret")
		return
	}
	sid := r.Header.Get(headerSessionID)
	if sid != "" {
		if err := validSessionID(sid); err != nil {
			httpError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	var (
		body  []byte
		calls int // requests in a POST body that expect an answer
	)
	switch r.Method {
	case http.MethodGet:
		if sid == "" {
			g.sessionlessGET(w, r)
			return
		}
	case http.MethodDelete:
		if sid == "" {
			httpError(w, http.StatusBadRequest, "DELETE needs an Mcp-Session-Id header naming the session to end")
			return
		}
	case http.MethodPost:
		var ok bool
		if body, ok = g.readBody(w, r); !ok {
			return
		}
		var bad *jsonrpc.Error
		if calls, bad = inspectIDs(body); bad != nil {
			writeRPCError(w, http.StatusBadRequest, bad)
			return
		}
		if sid == "" && wantsSessionless(r, body) {
			g.serveSessionless(w, r, route, body)
			return
		}
		if sid == "" {
			g.sessionlessPOST(w, r, route, body)
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on an MCP endpoint", r.Method))
		return
	}

	d := g.sessions.get(sid)
	if d != nil && d.bridged {
		d = nil // a bridge is no session a client may address
	}
	if d == nil || d.route != route {
		// A session this replica does not hold may be held by another. A
		// forwarded request is never forwarded again.
		if d == nil && g.cluster != nil && !forwarded && g.policy.lookUpOtherReplicas() {
			g.lookupElsewhere(w, r, sid)
			return
		}
		httpError(w, http.StatusNotFound, "unknown or ended session; initialize a new one")
		return
	}
	if caller := callerIdentity(r); caller != d.identity {
		g.log.Warn("session presented by another identity", "session", sid, "owner_identity", d.identity, "caller_identity", caller)
		httpError(w, http.StatusForbidden, "this session belongs to another identity")
		return
	}
	done := d.begin()
	defer done()
	if r.Method == http.MethodPost && !g.policy.forwardCancellations() && dropCancellations(w, body) {
		return
	}
	if r.Method == http.MethodDelete {
		g.endSession(d, causeDelete)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if d.pt != nil {
		g.ptServe(w, r, d, calls > 0)
		return
	}
	r.Header.Del(headerNoStream)
	if r.Method == http.MethodPost {
		if g.policy.matchAnswersByID() {
			tagCallID(r, body)
		}
		defer g.calls.track(r)()
		if offersNoStream(r.Header) {
			// The client takes one JSON answer (front_nostream.go); a
			// POST of notifications or answers gets its 202 as ever.
			r.Header.Set("Accept", "application/json, text/event-stream")
			if calls > 0 {
				r.Header.Set(headerNoStream, "1")
				jw := &jsonOnlyWriter{w: w}
				g.sdkHandler(route).ServeHTTP(jw, r)
				jw.finish()
				return
			}
		}
	} else {
		r.Header.Del(headerCallToken)
	}
	g.sdkHandler(route).ServeHTTP(w, r)
}

// sessionlessGET answers GET with no session: this gateway offers no
// session-less stream, so 405 at once (TRN-1, TRN-1s).
func (g *Gateway) sessionlessGET(w http.ResponseWriter, r *http.Request) {
	if g.policy.hangSessionlessGET() {
		g.serveHangingStream(w, r)
		return
	}
	w.Header().Set("Allow", "POST, DELETE")
	httpError(w, http.StatusMethodNotAllowed, "GET needs an Mcp-Session-Id header: this gateway offers no session-less stream; initialize with POST first")
}

// sessionlessPOST lets through only what may open a session (initialize, or
// a server/discover probe); anything else gets 400 rather than a throwaway
// session (TRN-2).
func (g *Gateway) sessionlessPOST(w http.ResponseWriter, r *http.Request, route string, body []byte) {
	trimmed := bytes.TrimSpace(body)
	if !bytes.HasPrefix(trimmed, []byte("[")) {
		var msg struct {
			Method string          `json:"method"`
			ID     json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(trimmed, &msg); err != nil {
			writeRPCError(w, http.StatusBadRequest, &jsonrpc.Error{Code: jsonrpc.CodeParseError, Message: "malformed JSON-RPC body: " + err.Error()})
			return
		}
		if msg.Method != "initialize" && msg.Method != "server/discover" {
			writeRPCError(w, http.StatusBadRequest, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest,
				Message: fmt.Sprintf("%q needs an Mcp-Session-Id header: send initialize first", msg.Method)})
			return
		}
		if msg.Method == "initialize" && g.passThrough(route) {
			g.ptInitialize(w, r, route, body)
			return
		}
	}
	g.sdkHandler(route).ServeHTTP(w, r)
}

func validSessionID(sid string) error {
	if len(sid) > maxSessionIDLen {
		return fmt.Errorf("malformed %s: %d bytes, at most %d allowed", headerSessionID, len(sid), maxSessionIDLen)
	}
	for i := 0; i < len(sid); i++ {
		if c := sid[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("malformed %s: byte %d is 0x%02x; only visible ASCII is allowed", headerSessionID, i, c)
		}
	}
	return nil
}

// isRevision reports whether v looks like a protocol revision (YYYY-MM-DD).
func isRevision(v string) bool {
	if len(v) != 10 || v[4] != '-' || v[7] != '-' {
		return false
	}
	for i, c := range v {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// callerIdentity is the identity the request's bearer token maps to.
func callerIdentity(r *http.Request) string {
	return identityOf(&mcp.RequestExtra{TokenInfo: auth.TokenInfoFromContext(r.Context())})
}

func identityOf(extra *mcp.RequestExtra) string {
	if extra != nil && extra.TokenInfo != nil && extra.TokenInfo.UserID != "" {
		return extra.TokenInfo.UserID
	}
	return anonymous
}

func httpError(w http.ResponseWriter, status int, msg string) {
	http.Error(w, msg, status)
}

// writeRPCError answers with a JSON-RPC error body (id null), which SDK
// clients surface as a readable error instead of a bare status.
func writeRPCError(w http.ResponseWriter, status int, e *jsonrpc.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": nil, "error": e})
}

// authMiddleware checks bearer tokens with the SDK's middleware when auth is
// on; it runs before any method check, so a caller without credentials gets
// 401, never 405 (TRN-6).
func (g *Gateway) authMiddleware(next http.Handler) http.Handler {
	if len(g.cfg.Tokens) == 0 {
		return next
	}
	verify := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		identity, ok := g.cfg.Tokens[token]
		if !ok {
			return nil, fmt.Errorf("%w: unknown bearer token", auth.ErrInvalidToken)
		}
		return &auth.TokenInfo{UserID: identity}, nil
	}
	return auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(next)
}
