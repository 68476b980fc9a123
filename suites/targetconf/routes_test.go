package targetconf

import (
	"strings"
	"testing"
)

const process = "driver: process\ngateway: {bin: x}\n"

func TestNoRoutesKeyGetsTheReferenceRoutes(t *testing.T) {
	tg, err := load([]byte(process), "/t/x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if *tg.Routes.Aggregate != referenceAggregate || *tg.Routes.Server != referenceServer {
		t.Errorf("routes %+v %+v, want the reference gateway's", tg.Routes.Aggregate, tg.Routes.Server)
	}
	p, _ := tg.Routes.Server.PathFor("counter")
	name, _ := tg.Routes.Aggregate.ToolFor("counter", "get")
	if p != "/servers/counter/mcp" || name != "counter.get" {
		t.Errorf("server path %q, aggregate tool %q", p, name)
	}
}

func TestDeclaredRoutesOnly(t *testing.T) {
	tg, err := load([]byte(process+"routes: {aggregate: {path: /rpc, toolName: \"{{.Upstream}}__{{.Tool}}\"}}\n"), "/t/x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if tg.Routes.Server != nil {
		t.Errorf("server route %+v, want none: the file declares only the aggregate one", tg.Routes.Server)
	}
	if name, _ := tg.Routes.Aggregate.ToolFor("c1", "get"); name != "c1__get" || tg.Routes.Named(RouteAggregate).Path != "/rpc" {
		t.Errorf("aggregate %+v names c1's get %q", tg.Routes.Aggregate, name)
	}

	tg, err = load([]byte(process+"routes:\n  server: {path: \"/{{.Upstream}}/mcp\"}\n"), "/t/x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if tg.Routes.Aggregate != nil || tg.Routes.Server.ToolName != "{{.Tool}}" {
		t.Errorf("routes %+v %+v: want only the server route, with the reference tool names", tg.Routes.Aggregate, tg.Routes.Server)
	}
}

func TestBadRoutesNameTheField(t *testing.T) {
	for name, c := range map[string]struct{ doc, want string }{
		"both absent":         {"routes: {}\n", "neither routes.aggregate nor routes.server"},
		"server without id":   {"routes: {server: {path: /servers/mcp}}\n", `routes.server.path "/servers/mcp": a server route's path names its upstream`},
		"aggregate with id":   {"routes: {aggregate: {path: \"/{{.Upstream}}\"}}\n", "routes.aggregate.path"},
		"broken template":     {"routes: {server: {path: \"/{{.Upstream}/mcp\"}}\n", `routes.server.path "/{{.Upstream}/mcp"`},
		"unknown template":    {"routes: {aggregate: {toolName: \"{{.Server}}.{{.Tool}}\"}}\n", `routes.aggregate.toolName "{{.Server}}.{{.Tool}}"`},
		"one tool name":       {"routes: {server: {toolName: x}}\n", "routes.server.toolName \"x\": names every tool alike"},
		"aggregate clash":     {"routes: {aggregate: {toolName: \"{{.Tool}}\"}}\n", "routes.aggregate.toolName \"{{.Tool}}\": the aggregate route serves several upstreams"},
		"relative path":       {"routes: {aggregate: {path: mcp}}\n", `routes.aggregate.path "mcp": want an absolute path`},
		"unknown route":       {"routes: {servers: {path: x}}\n", `unknown field "servers" in routes (allowed: aggregate, server)`},
		"unknown route field": {"routes: {aggregate: {tool: x}}\n", `unknown field "tool" in a route (allowed: path, toolName)`},
		"route not a mapping": {"routes: {aggregate: /mcp}\n", "a route is a mapping"},
	} {
		_, err := load([]byte(process+c.doc), "/t/x.yaml")
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error\n  %v\nwant it to contain\n  %s", name, err, c.want)
		}
	}
}
