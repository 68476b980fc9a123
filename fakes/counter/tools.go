package counter

import (
	"context"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Result is the structured content of every counter tool result.
type Result struct {
	Value int `json:"value" jsonschema:"the session's counter after the call"`
}

type incrementArgs struct {
	By     *int   `json:"by,omitempty"`
	Handle string `json:"handle,omitempty"`
}

type noArgs struct{}

// incrementSchema is written by hand so listings show the default of 1.
var incrementSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"by":     map[string]any{"type": "integer", "default": 1, "description": "amount to add"},
		"handle": map[string]any{"type": "string", "description": "a handle from open: add to that counter instead of the session's (required in 2026-07-28)"},
	},
}

func (s *Server) addCounterTools(srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{Name: "increment", Description: "Add to this session's counter; returns the new value.", InputSchema: incrementSchema},
		func(_ context.Context, req *mcp.CallToolRequest, in incrementArgs) (*mcp.CallToolResult, Result, error) {
			by := 1
			if in.By != nil {
				by = *in.By
			}
			return s.apply(req, in.Handle, func(v int) int { return v + by })
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "get", Description: "Read this session's counter (or the handle's)."},
		func(_ context.Context, req *mcp.CallToolRequest, in handleArgs) (*mcp.CallToolResult, Result, error) {
			return s.apply(req, in.Handle, func(v int) int { return v })
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "reset", Description: "Set this session's counter to 0."},
		func(_ context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, Result, error) {
			return s.apply(req, "", func(int) int { return 0 })
		})
}

// apply changes the calling session's value. The SDK turns the Result into
// structured content plus a JSON text content.
func (s *Server) apply(req *mcp.CallToolRequest, handle string, f func(int) int) (*mcp.CallToolResult, Result, error) {
	if handle != "" {
		return s.applyHandle(req, handle, f)
	}
	id := req.Session.ID()
	if id == "" {
		return nil, Result{}, fmt.Errorf("2026-07-28 carries no session: call open and pass its handle")
	}
	v, ok := s.st.update(id, f)
	if !ok {
		return nil, Result{}, fmt.Errorf("unknown session %q", id)
	}
	return nil, Result{Value: v}, nil
}

// Value is the session's counter, for tools added through Hooks.
func (s *Server) Value(sessionID string) (int, bool) {
	return s.st.update(sessionID, func(v int) int { return v })
}

// Live reports whether the fake holds the session open, for hooks.
func (s *Server) Live(sessionID string) bool { return s.st.live(sessionID) }

// Blocking records, for hooks, a call of the session that waits for its
// cancellation (shown as blocking on /stats); the returned func records its
// end, counted as cancelled when its context was.
func (s *Server) Blocking(sessionID string) (ended func(cancelled bool)) {
	return s.st.blocking(sessionID)
}
