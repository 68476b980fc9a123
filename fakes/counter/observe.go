package counter

import (
	"context"
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// observe is receiving middleware: it sees every MCP request, so it is where
// sessions start (an answered initialize) and tool calls are counted.
func (s *Server) observe(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method == "tools/call" {
			// Counted on arrival, so a call that never returns still shows.
			s.st.call(req.GetSession().ID())
			// "arguments": null means no arguments; go-sdk v1.8.0 panics
			// applying schema defaults to it, and a fake must not crash.
			if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok && (len(p.Arguments) == 0 || string(p.Arguments) == "null") {
				p.Arguments = json.RawMessage("{}")
			}
		}
		res, err := next(ctx, method, req)
		res = s.personalise(method, req.GetSession().ID(), res)
		if method == "initialize" && err == nil {
			ss, ok := req.GetSession().(*mcp.ServerSession)
			ir, _ := res.(*mcp.InitializeResult)
			if ok && ir != nil {
				s.st.started(ss, ir.ProtocolVersion)
				s.log.Info("session started", "session", ss.ID(), "protocolVersion", ir.ProtocolVersion)
			}
		}
		return res, err
	}
}
