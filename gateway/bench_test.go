package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkToolCall measures one tools/call through each route, in process,
// with the counter fake behind the gateway. Profile with -memprofile and
// -cpuprofile; client and fake costs show up too, so focus on gateway frames.
func BenchmarkToolCall(b *testing.B) {
	for _, route := range []struct{ name, path, tool string }{
		{"mcp", "/mcp", "counter.increment"},
		{"servers", "/servers/counter/mcp", "increment"},
	} {
		b.Run(route.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			gw, _ := counterGateway(b, BugNone)
			cs := connect(b, gw.URL+route.path, "")
			params := &mcp.CallToolParams{Name: route.tool, Arguments: map[string]any{"by": 1}}
			if _, err := cs.CallTool(ctx, params); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := cs.CallTool(ctx, params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
