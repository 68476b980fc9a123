package wedge

import (
	"context"
	"errors"

	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// addBlock registers "block", the opposite of "hang": it returns only when
// its call is cancelled, so /stats shows whether a gateway cancels the
// upstream calls nobody waits for any more. It blocks in every mode.
func addBlock(c *counter.Server, srv *mcp.Server) {
	mcp.AddTool(srv, &mcp.Tool{Name: "block", Description: "Returns only when the call is cancelled."},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, counter.Result, error) {
			ended := c.Blocking(req.Session.ID())
			select {
			case <-ctx.Done():
				ended(true)
				return nil, counter.Result{}, ctx.Err()
			case <-c.Done():
				ended(false)
				return nil, counter.Result{}, errors.New("block released: fake closing")
			}
		})
}
