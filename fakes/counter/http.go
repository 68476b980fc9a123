package counter

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/mcpgw/conformance/fakes"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/mcp", s.serveMCP)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, s.Stats())
	})
	mux.HandleFunc("POST /control/drop-sessions", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]int{"dropped": s.dropSessions()})
	})
	return mux
}

// serveMCP wraps the SDK handler: it records headers, answers for sessions the
// fake has forgotten, lets hooks wedge requests and notices completed DELETEs.
func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request) {
	s.st.recordHeaders(r)
	if !s.enter() {
		http.Error(w, "fake is closed", http.StatusServiceUnavailable)
		return
	}
	defer s.inflight.Done()
	if isModern(r) {
		// No sessions in this revision: an Mcp-Session-Id is ignored.
		s.serveModern(w, r)
		return
	}

	id := r.Header.Get("Mcp-Session-Id")
	// The SDK may still hold a dropped session while it drains, so the fake
	// itself answers 404 exactly as the SDK does for an unknown session.
	if id != "" && s.st.ended(id) {
		http.Error(w, "session not found", http.StatusNotFound)
		return
	}
	if r.Method == http.MethodGet {
		var cancel context.CancelFunc
		r, cancel = s.untilClose(r)
		defer cancel()
	}
	s.noteRoutingRequest(r)
	if s.hooks.Intercept != nil && s.hooks.Intercept(s, w, r) {
		return
	}
	if r.Method != http.MethodDelete || id == "" {
		s.sdk.ServeHTTP(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	s.sdk.ServeHTTP(rec, r)
	if rec.status >= 200 && rec.status < 300 {
		s.st.end(id, fakes.EndDeleted)
		s.log.Info("session deleted", "session", id)
	}
}

// untilClose is r with a context that also ends when Close starts: a
// stream admitted just before Close must end with it, not hold the server's
// shutdown for its whole grace. Call cancel when the request is done.
func (s *Server) untilClose(r *http.Request) (*http.Request, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return r.WithContext(ctx), cancel
}

// enter admits a request unless Close has started; Close waits for admitted ones.
func (s *Server) enter() bool {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.st.closed {
		return false
	}
	s.inflight.Add(1)
	return true
}

// statusRecorder remembers the status the SDK answered a DELETE with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
