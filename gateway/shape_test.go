package gateway

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// toolNames lists the tools a session sees.
func toolNames(t *testing.T, url string) []string {
	t.Helper()
	cs := connect(t, url, "")
	res, err := cs.ListTools(ctxT(t, 10*time.Second), nil)
	if err != nil {
		t.Fatalf("tools/list on %s: %v", url, err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

// expectAbsent checks that path is no route at all: 404 without Allow for
// every method (TRN-5), not a 405 that would claim it exists.
func expectAbsent(t *testing.T, gw *testGateway, path string) {
	t.Helper()
	for _, method := range []string{http.MethodPost, http.MethodGet, http.MethodDelete, http.MethodPut} {
		status, h, body := rawRequest(t, method, gw.URL+path, map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
		if status != http.StatusNotFound || len(h.Values("Allow")) > 0 {
			t.Errorf("%s %s: %d Allow=%q %s; want 404 without Allow", method, path, status, h.Values("Allow"), strings.TrimSpace(body))
		}
	}
}

func expectStatus(t *testing.T, gw *testGateway, path string, want int) {
	t.Helper()
	if status, _, body := rawRequest(t, http.MethodGet, gw.URL+path, nil, ""); status != want {
		t.Errorf("GET %s: %d %s; want %d", path, status, strings.TrimSpace(body), want)
	}
}

func TestReferenceShapeByDefault(t *testing.T) {
	_, url := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}})
	if names := toolNames(t, gw.URL+"/mcp"); !slices.Contains(names, "counter.increment") {
		t.Errorf("/mcp lists %q, want counter.increment", names)
	}
	if got := callValue(t, connect(t, gw.URL+"/servers/counter/mcp", ""), "increment", map[string]any{"by": 2}); got != 2 {
		t.Errorf("/servers/counter/mcp increment: %d, want 2", got)
	}
	expectStatus(t, gw, "/readyz", http.StatusOK)
	expectAbsent(t, gw, "/servers/nope/mcp")
}

func TestAggregateOnlyShape(t *testing.T) {
	_, url := fakeUpstream(t)
	gw := startGateway(t, Config{
		Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}},
		Shape:     Shape{ServerRoute: NoRoute, ToolName: "{{.Upstream}}__{{.Tool}}", ReadinessPath: "/ready"},
	})
	names := toolNames(t, gw.URL+"/mcp")
	if !slices.Contains(names, "counter__increment") || slices.Contains(names, "counter.increment") {
		t.Errorf("/mcp lists %q, want counter__increment", names)
	}
	cs := connect(t, gw.URL+"/mcp", "")
	callValue(t, cs, "counter__increment", map[string]any{"by": 3})
	if got := callValue(t, cs, "counter__get", nil); got != 3 {
		t.Errorf("counter__get after counter__increment by 3: %d", got)
	}
	if _, err := cs.CallTool(ctxT(t, 5*time.Second), callParams("counter.get")); err == nil || !strings.Contains(err.Error(), "<upstream-id>__<tool>") {
		t.Errorf("calling a dotted name: %v, want the error to say how names are made", err)
	}
	expectAbsent(t, gw, "/servers/counter/mcp")
	expectStatus(t, gw, "/ready", http.StatusOK)
	expectStatus(t, gw, "/readyz", http.StatusNotFound)
}

func TestServerOnlyShapeWithTheIDFirst(t *testing.T) {
	_, url := fakeUpstream(t)
	gw := startGateway(t, Config{
		Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}},
		Shape:     Shape{AggregateRoute: NoRoute, ServerRoute: "/{id}/mcp"},
	})
	if names := toolNames(t, gw.URL+"/counter/mcp"); !slices.Contains(names, "increment") {
		t.Errorf("/counter/mcp lists %q, want increment", names)
	}
	if got := callValue(t, connect(t, gw.URL+"/counter/mcp", ""), "increment", map[string]any{"by": 4}); got != 4 {
		t.Errorf("/counter/mcp increment: %d, want 4", got)
	}
	expectAbsent(t, gw, "/mcp")
	expectAbsent(t, gw, "/nope/mcp")
	expectAbsent(t, gw, "/servers/counter/mcp")
	expectStatus(t, gw, "/healthz", http.StatusOK)
	expectStatus(t, gw, "/readyz", http.StatusOK)
}

func TestToolNamesReadBack(t *testing.T) {
	configured := func(ids ...string) func(string) bool {
		return func(id string) bool { return slices.Contains(ids, id) }
	}
	for _, tmpl := range []string{defaultToolName, "{{.Upstream}}__{{.Tool}}", "{{.Tool}}@{{.Upstream}}", "mcp_{{.Upstream}}-{{.Tool}}!"} {
		n, err := newToolNamer(tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tmpl, err)
		}
		for _, ref := range []toolRef{{"counter", "increment"}, {"a-b", "x.y"}, {"my_svc", "get_value"}} {
			name, err := n.render(ref.upstream, ref.tool)
			if err != nil {
				t.Fatal(err)
			}
			if matches, _ := n.read(name, configured("counter", "a-b", "my_svc", "other")); len(matches) != 1 || matches[0] != ref {
				t.Errorf("%s: %q reads as %v, want %v", tmpl, name, matches, ref)
			}
		}
	}
	n, _ := newToolNamer(defaultToolName)
	if matches, first := n.read("gone.get", configured("counter")); len(matches) != 0 || first == nil || first.upstream != "gone" {
		t.Errorf("a removed upstream's name reads as %v, first %v; want no match and upstream gone", matches, first)
	}
	if _, first := n.read("nodot", configured("counter")); first != nil {
		t.Errorf("a name without the separator reads as %v", first)
	}
	n, _ = newToolNamer("{{.Upstream}}__{{.Tool}}")
	if matches, _ := n.read("a__b__c", configured("a", "a__b")); len(matches) != 2 {
		t.Errorf("a__b__c with upstreams a and a__b reads as %v, want both", matches)
	}
}

// Two upstreams whose names collide under the template: the colliding
// tools are left out of the listing and a call is refused as ambiguous,
// while the unambiguous ones keep working.
func TestAmbiguousToolNamesAreLeftOut(t *testing.T) {
	_, url1 := fakeUpstream(t)
	_, url2 := fakeUpstream(t)
	gw := startGateway(t, Config{
		Upstreams: []Upstream{{ID: "a", URL: url1 + "/mcp"}, {ID: "a__b", URL: url2 + "/mcp"}},
		Shape:     Shape{ToolName: "{{.Upstream}}__{{.Tool}}"},
	})
	names := toolNames(t, gw.URL+"/mcp")
	if !slices.Contains(names, "a__increment") || slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "a__b__") }) {
		t.Errorf("listed %q: want a's tools and none of a__b's, which also read as a's", names)
	}
	cs := connect(t, gw.URL+"/mcp", "")
	if _, err := cs.CallTool(ctxT(t, 5*time.Second), callParams("a__b__get")); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("calling a__b__get: %v, want an ambiguity error", err)
	}
	if got := callValue(t, cs, "a__increment", map[string]any{"by": 1}); got != 1 {
		t.Errorf("a__increment: %d", got)
	}
}

func TestBadShapesAreRefused(t *testing.T) {
	for _, c := range []struct {
		shape      Shape
		flag, want string
	}{
		{Shape{ToolName: "{{.Upstream"}, "tool-name", "unclosed action"},
		{Shape{ToolName: "{{.Upstrem}}.{{.Tool}}"}, "tool-name", "Upstrem"},
		{Shape{ToolName: "{{.Tool}}"}, "tool-name", "exactly once"},
		{Shape{ToolName: "{{.Upstream}}.{{.Tool}}.{{.Tool}}"}, "tool-name", "exactly once"},
		{Shape{ToolName: `{{if eq .Upstream "` + "\x00upstream-2\x00" + `"}}x{{end}}{{.Upstream}}.{{.Tool}}`}, "tool-name", "same whatever their values"},
		{Shape{AggregateRoute: NoRoute, ServerRoute: NoRoute}, "aggregate-route", "no MCP route"},
		{Shape{AggregateRoute: "mcp"}, "aggregate-route", "absolute path"},
		{Shape{AggregateRoute: "/healthz"}, "aggregate-route", "own endpoint"},
		{Shape{AggregateRoute: "/admin/mcp"}, "aggregate-route", "admin"},
		{Shape{AggregateRoute: "/ready", ReadinessPath: "/ready"}, "aggregate-route", "--readiness-path"},
		{Shape{ServerRoute: "/servers/mcp"}, "server-route", "exactly one {id}"},
		{Shape{ServerRoute: "/{id}/{id}/mcp"}, "server-route", "exactly one {id}"},
		{Shape{ServerRoute: "/s{id}/mcp"}, "server-route", "whole {id} segment"},
		{Shape{ServerRoute: "/{id}/mcp/"}, "server-route", "trailing slash"},
		{Shape{ReadinessPath: "/metrics"}, "readiness-path", "own endpoint"},
	} {
		_, err := New(Config{Shape: c.shape, Logger: testLogger(t)})
		var bad *ShapeError
		if !errors.As(err, &bad) || bad.Flag != c.flag || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v; want a ShapeError of --%s saying %q", c.shape, err, c.flag, c.want)
		}
	}
}
