// Package scenarios runs every scenario bundled in the top-level scenarios/
// directory as a spec of the requirement the scenario names, against a fresh
// gateway with one counter fake per upstream the scenario lists.
package scenariospecs

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/scenarios"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/fixture"
)

var _ = conformance.DescribeSpecs("Scenarios", func() {
	all, err := scenarios.Bundled()
	if err != nil {
		panic(fmt.Sprintf("bundled scenarios: %v", err))
	}
	fixture.OnAnyRoute(func(r fixture.Route) {
		for _, sc := range all {
			r.It(sc.Requirement, "scenario "+sc.Name+": "+sc.Title, func(ctx SpecContext) {
				if sc.Deletes() {
					fixture.RequireSessionIDs() // a DELETE needs a session id
				}
				if r.PerUpstream() && len(sc.Upstreams) != 1 {
					Skip(fmt.Sprintf("not applicable: scenario %s drives %d upstreams in one session, and the target declares no aggregate route", sc.Name, len(sc.Upstreams)))
				}
				var fakes []*fixture.Fake
				for _, id := range sc.Upstreams {
					fakes = append(fakes, fixture.Counter(id))
				}
				gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fakes...), Tokens: sc.Tokens})
				var transcript strings.Builder
				res := scenarios.Run(ctx, sc, gw.URL(), &transcript, scenarios.Options{Client: gw.Options, Route: routeOn(r, sc), Tool: toolOn(r)})
				conformance.Evidence("transcript", transcript.String())
				Expect(res.Err).NotTo(HaveOccurred(), "scenario %s could not run:\n%s", sc.Name, transcript.String())
				Expect(res.Failures).To(BeEmpty(), "scenario %s:\n%s", sc.Name, transcript.String())
			})
		}
	})
}, Label("scenario"))

// routeOn maps a scenario's route (written for the reference gateway's
// aggregate route, /mcp) to route r of the target: its path for the
// scenario's first upstream. A scenario naming another route keeps it.
func routeOn(r fixture.Route, sc *scenarios.Scenario) func(string) string {
	return func(route string) string {
		if route != "" && route != scenarios.DefaultRoute {
			return route
		}
		return r.Path(sc.Upstreams[0])
	}
}

// toolOn maps a scenario's tool name, <upstream>.<tool>, to its name on r.
func toolOn(r fixture.Route) func(string) string {
	return func(name string) string {
		up, tool, ok := strings.Cut(name, ".")
		if !ok {
			return name
		}
		return r.Tool(up, tool)
	}
}
