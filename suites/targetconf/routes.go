package targetconf

import (
	"fmt"
	"slices"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"
)

// Routes are the MCP endpoints the gateway serves downstream. Either may be
// absent: the specs scoped to a route it lacks are not applicable. A target
// file without a routes key gets the reference gateway's two.
type Routes struct {
	// Aggregate is the one endpoint that serves every upstream's tools.
	Aggregate *Route `yaml:"aggregate"`
	// Server is the endpoint of one upstream, its path a template over
	// {{.Upstream}}.
	Server *Route `yaml:"server"`

	// declared is set when the target file has a routes key: then an
	// absent route means none, not the default.
	declared bool
}

// Route is one kind of endpoint: where it is and how it names tools.
type Route struct {
	// Path is the endpoint path; for the server route a template over
	// {{.Upstream}} (the upstream id).
	Path string `yaml:"path"`
	// ToolName is a template over {{.Upstream}} and {{.Tool}}: the name a
	// client calls an upstream's tool by on this route.
	ToolName string `yaml:"toolName"`
}

// Route names, as specs and errors show them.
const (
	RouteAggregate = "aggregate"
	RouteServer    = "server"
)

// The reference gateway's routes, the default.
var (
	referenceAggregate = Route{Path: "/mcp", ToolName: "{{.Upstream}}.{{.Tool}}"}
	referenceServer    = Route{Path: "/servers/{{.Upstream}}/mcp", ToolName: "{{.Tool}}"}
)

// ReferenceRoutes are the reference gateway's routes: /mcp naming tools
// <upstream>.<tool>, and /servers/<upstream>/mcp naming them as they are.
func ReferenceRoutes() Routes {
	a, s := referenceAggregate, referenceServer
	return Routes{Aggregate: &a, Server: &s}
}

// Named returns the route called name (RouteAggregate or RouteServer), or
// nil when the target has none.
func (rs Routes) Named(name string) *Route {
	switch name {
	case RouteAggregate:
		return rs.Aggregate
	case RouteServer:
		return rs.Server
	}
	return nil
}

// UnmarshalYAML reads the routes key, refusing unknown fields (a custom
// decoder does not inherit the file's strictness).
func (rs *Routes) UnmarshalYAML(n *yaml.Node) error {
	if err := knownKeys(n, "routes", RouteAggregate, RouteServer); err != nil {
		return err
	}
	type plain Routes
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*rs = Routes(p)
	rs.declared = true
	return nil
}

// UnmarshalYAML reads one route, refusing unknown fields.
func (r *Route) UnmarshalYAML(n *yaml.Node) error {
	if err := knownKeys(n, "a route", "path", "toolName"); err != nil {
		return err
	}
	type plain Route
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*r = Route(p)
	return nil
}

// knownKeys fails on a mapping key of n outside allowed.
func knownKeys(n *yaml.Node, section string, allowed ...string) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: %s is a mapping (allowed: %s)", n.Line, section, strings.Join(allowed, ", "))
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(allowed, k.Value) {
			return fmt.Errorf("line %d: unknown field %q in %s (allowed: %s)", k.Line, k.Value, section, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// routeNames is what route templates may use.
type routeNames struct{ Upstream, Tool string }

// PathFor is the route's endpoint path for upstream id.
func (r Route) PathFor(upstream string) (string, error) {
	return render(r.Path, routeNames{Upstream: upstream})
}

// ToolFor is the name of upstream's tool on the route.
func (r Route) ToolFor(upstream, tool string) (string, error) {
	return render(r.ToolName, routeNames{Upstream: upstream, Tool: tool})
}

func render(text string, data routeNames) (string, error) {
	t, err := template.New("route").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// validateRoutes fills in the reference routes when the target names none
// and checks each declared route renders as its kind must.
func (t *Target) validateRoutes() error {
	rs := &t.Routes
	if rs.Aggregate == nil && rs.Server == nil {
		if rs.declared {
			return fmt.Errorf("target %s: routes: neither routes.aggregate nor routes.server is given: declare at least one (or leave routes out for the reference gateway's)", t.Name)
		}
		*rs = ReferenceRoutes()
		return nil
	}
	if rs.Aggregate != nil {
		if err := rs.Aggregate.check(RouteAggregate, referenceAggregate); err != nil {
			return fmt.Errorf("target %s: %w", t.Name, err)
		}
	}
	if rs.Server != nil {
		if err := rs.Server.check(RouteServer, referenceServer); err != nil {
			return fmt.Errorf("target %s: %w", t.Name, err)
		}
	}
	return nil
}

// check fills in the reference's path and tool name where r leaves them
// out, and checks that the templates parse, use only .Upstream and .Tool,
// and tell upstreams and tools apart as the route must: the server path and
// the aggregate tool names differ per upstream, the aggregate path does not.
func (r *Route) check(name string, def Route) error {
	if r.Path == "" {
		r.Path = def.Path
	}
	if r.ToolName == "" {
		r.ToolName = def.ToolName
	}
	field := "routes." + name
	p1, err := r.PathFor("u1")
	if err != nil {
		return fmt.Errorf("%s.path %q: %w (it may use {{.Upstream}})", field, r.Path, err)
	}
	p2, _ := r.PathFor("u2")
	if !strings.HasPrefix(p1, "/") {
		return fmt.Errorf("%s.path %q: want an absolute path (starting with /)", field, r.Path)
	}
	switch {
	case name == RouteServer && p1 == p2:
		return fmt.Errorf("%s.path %q: a server route's path names its upstream: use {{.Upstream}}, e.g. /servers/{{.Upstream}}/mcp", field, r.Path)
	case name == RouteAggregate && p1 != p2:
		return fmt.Errorf("%s.path %q: the aggregate route is one path for every upstream: leave {{.Upstream}} out", field, r.Path)
	}
	t1, err := r.ToolFor("u1", "t1")
	if err != nil {
		return fmt.Errorf("%s.toolName %q: %w (it may use {{.Upstream}} and {{.Tool}})", field, r.ToolName, err)
	}
	if t2, _ := r.ToolFor("u1", "t2"); t1 == t2 {
		return fmt.Errorf("%s.toolName %q: names every tool alike: use {{.Tool}}", field, r.ToolName)
	}
	if t2, _ := r.ToolFor("u2", "t1"); name == RouteAggregate && t1 == t2 {
		return fmt.Errorf("%s.toolName %q: the aggregate route serves several upstreams' tools: use {{.Upstream}}, e.g. {{.Upstream}}.{{.Tool}}", field, r.ToolName)
	}
	return nil
}
