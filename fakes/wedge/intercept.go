package wedge

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxPeek bounds how much of a POST body is read to spot an initialize; the
// SDK's own limit is the same.
const maxPeek = mcp.DefaultMaxRequestBodyBytes

// intercept wedges the HTTP-level operations. A wedged request waits for
// Close or for its client to go away, whichever comes first.
func (s *Server) intercept(c *counter.Server, w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.Method == http.MethodDelete && s.has(Delete):
		c.Logger().Info("wedging DELETE", "session", r.Header.Get("Mcp-Session-Id"))
		hold(c, w, r)
		return true
	case r.Method == http.MethodPost && s.has(Initialize) && isInitialize(r):
		c.Logger().Info("wedging initialize")
		hold(c, w, r)
		return true
	case r.Method == http.MethodGet && s.has(Get) && c.Live(r.Header.Get("Mcp-Session-Id")):
		// Unknown sessions fall through so the SDK rejects them as usual.
		c.Logger().Info("wedging GET stream", "session", r.Header.Get("Mcp-Session-Id"))
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		wait(c, r)
		return true
	}
	return false
}

// hold sends nothing at all until released; a release by Close is answered
// 503 so the client sees a failure, not a success.
func hold(c *counter.Server, w http.ResponseWriter, r *http.Request) {
	if wait(c, r) {
		http.Error(w, "fake closing", http.StatusServiceUnavailable)
	}
}

// wait blocks until Close (true) or the client goes away (false).
func wait(c *counter.Server, r *http.Request) bool {
	select {
	case <-c.Done():
		return true
	case <-r.Context().Done():
		return false
	}
}

// isInitialize peeks at a POST body for an initialize request, alone or in
// a batch, and puts back what it read for the SDK.
func isInitialize(r *http.Request) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPeek))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	if err != nil {
		return false
	}
	type msg struct {
		Method string `json:"method"`
	}
	var batch []msg
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(trimmed, &batch) != nil {
			return false
		}
	} else {
		var one msg
		if json.Unmarshal(trimmed, &one) != nil {
			return false
		}
		batch = []msg{one}
	}
	for _, m := range batch {
		if m.Method == "initialize" {
			return true
		}
	}
	return false
}
