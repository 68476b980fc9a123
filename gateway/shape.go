package gateway

import (
	"fmt"
	"net/http"
	"strings"
)

// NoRoute as Shape.AggregateRoute or Shape.ServerRoute serves no such route.
const NoRoute = "-"

// Shape is what the gateway looks like from outside: its MCP routes, how
// tools are named on the aggregate route, and its readiness path. The zero
// Shape is the reference one, so the conformance suite can be pointed at
// gateways shaped differently and judge them alike.
type Shape struct {
	// AggregateRoute is the path of the route merging every upstream's
	// tools. Default /mcp.
	AggregateRoute string
	// ServerRoute is the path of the one-upstream route; its {id} segment
	// is the upstream id, anywhere in the path (/{id}/mcp). Default
	// /servers/{id}/mcp.
	ServerRoute string
	// ToolName is a text/template naming an upstream's tool on the
	// aggregate route from .Upstream and .Tool, each used once. Default
	// {{.Upstream}}.{{.Tool}}.
	ToolName string
	// ReadinessPath answers GET with 200 when serving, 503 while draining.
	// Default /readyz.
	ReadinessPath string
	// Eras are the protocol eras served downstream: EraSession (the
	// session-bearing revisions) and EraSessionless (2026-07-28). Empty =
	// both, negotiated per request.
	Eras []string
}

const (
	defaultAggregateRoute = "/mcp"
	defaultServerRoute    = "/servers/{id}/mcp"
	defaultToolName       = "{{.Upstream}}.{{.Tool}}"
	defaultReadinessPath  = "/readyz"
	idSegment             = "{id}"
)

// ShapeError is a shape setting the gateway cannot serve. Flag names the
// command-line flag that sets it.
type ShapeError struct {
	Flag, Value, Problem string
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("--%s=%q: %s", e.Flag, e.Value, e.Problem)
}

// shape is a checked Shape: paths resolved, the tool-name template parsed.
type shape struct {
	aggregate string // "" = none
	server    string // "" = none; a ServeMux pattern with {id}
	// serverPrefix is the literal part of server before {id}: the subtree
	// the top-level mux hands to the MCP routes.
	serverPrefix string
	toolNames    *toolNamer
	readiness    string
}

func (s Shape) check() (*shape, error) {
	out := &shape{aggregate: s.AggregateRoute, server: s.ServerRoute, readiness: s.ReadinessPath}
	if out.aggregate == "" {
		out.aggregate = defaultAggregateRoute
	}
	if out.server == "" {
		out.server = defaultServerRoute
	}
	if out.readiness == "" {
		out.readiness = defaultReadinessPath
	}
	if out.aggregate == NoRoute {
		out.aggregate = ""
	}
	if out.server == NoRoute {
		out.server = ""
	}
	if out.aggregate == "" && out.server == "" {
		return nil, &ShapeError{Flag: "aggregate-route", Value: "", Problem: "with --server-route empty too, the gateway would serve no MCP route"}
	}
	if err := checkFixedPath("readiness-path", out.readiness); err != nil {
		return nil, err
	}
	if out.aggregate != "" {
		if err := checkFixedPath("aggregate-route", out.aggregate); err != nil {
			return nil, err
		}
		if out.aggregate == out.readiness {
			return nil, &ShapeError{Flag: "aggregate-route", Value: out.aggregate, Problem: "is also the --readiness-path"}
		}
	}
	if out.server != "" {
		prefix, err := checkServerRoute(out.server)
		if err != nil {
			return nil, err
		}
		out.serverPrefix = prefix
	}
	tmpl := s.ToolName
	if tmpl == "" {
		tmpl = defaultToolName
	}
	var err error
	if out.toolNames, err = newToolNamer(tmpl); err != nil {
		return nil, &ShapeError{Flag: "tool-name", Value: tmpl, Problem: err.Error()}
	}
	return out, nil
}

// reservedPaths are the gateway's own endpoints, which no MCP route may take.
var reservedPaths = []string{"/healthz", "/metrics"}

// checkFixedPath accepts a plain absolute path that is none of the
// gateway's own endpoints.
func checkFixedPath(flag, p string) error {
	bad := func(problem string) error { return &ShapeError{Flag: flag, Value: p, Problem: problem} }
	switch {
	case !strings.HasPrefix(p, "/"):
		return bad("want an absolute path such as /mcp")
	case strings.ContainsAny(p, "{} \t?#"):
		return bad("want a plain path: no wildcards, spaces, query or fragment")
	case strings.HasSuffix(p, "/"):
		return bad("want a path without a trailing slash")
	case p == "/admin" || strings.HasPrefix(p, "/admin/"):
		return bad("/admin/ is the admin API's")
	}
	for _, r := range reservedPaths {
		if p == r {
			return bad(r + " is the gateway's own endpoint")
		}
	}
	return nil
}

// checkServerRoute accepts a path with exactly one {id} segment and returns
// the literal part before it.
func checkServerRoute(p string) (prefix string, err error) {
	bad := func(problem string) error { return &ShapeError{Flag: "server-route", Value: p, Problem: problem} }
	segments := strings.Split(p, "/")
	ids := 0
	for _, seg := range segments[1:] {
		if seg == idSegment {
			ids++
		} else if strings.ContainsAny(seg, "{}") {
			return "", bad("the only wildcard is a whole {id} segment")
		}
	}
	switch {
	case !strings.HasPrefix(p, "/"):
		return "", bad("want an absolute path such as /servers/{id}/mcp")
	case ids != 1:
		return "", bad("want exactly one {id} segment, the upstream id")
	case strings.ContainsAny(p, " \t?#"):
		return "", bad("want a plain path: no spaces, query or fragment")
	case strings.HasSuffix(p, "/"):
		return "", bad("want a path without a trailing slash")
	case strings.HasPrefix(p, "/admin/"):
		return "", bad("/admin/ is the admin API's")
	}
	return p[:strings.Index(p, idSegment)], nil
}

// serverPath is the server route's path for one upstream.
func (s *shape) serverPath(id string) string {
	return strings.Replace(s.server, idSegment, id, 1)
}

// routePath is the path of a downstream session's route ("" = aggregate).
func (s *shape) routePath(route string) string {
	if route == "" {
		return s.aggregate
	}
	return s.serverPath(route)
}

// register puts the MCP routes on mux: each path, and the subtree of the
// server route, go to mcp (the front behind auth), which routes them.
func (s *shape) register(mux *http.ServeMux, mcp http.Handler) {
	if s.aggregate != "" {
		mux.Handle(s.aggregate, mcp)
	}
	if s.server != "" {
		// With {id} first (/{id}/mcp) the subtree is "/": every path no
		// other endpoint takes, so with auth on an unknown path gets 401
		// before its 404.
		mux.Handle(s.serverPrefix, mcp)
	}
}
