package wedge

import (
	"context"
	"errors"

	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// addHang registers "hang" in every mode, so tool listings do not depend on
// the mode; it only hangs in Call mode.
func (s *Server) addHang(c *counter.Server, srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{Name: "hang", Description: "Never returns when the fake wedges calls; otherwise returns the counter."},
		func(_ context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, counter.Result, error) {
			if s.has(Call) {
				// Deliberately deaf to ctx: a real wedged upstream ignores
				// cancellation too. Only Close lets it go.
				<-c.Done()
				return nil, counter.Result{}, errors.New("hang released: fake closing")
			}
			v, _ := c.Value(req.Session.ID())
			return nil, counter.Result{Value: v}, nil
		})
}
