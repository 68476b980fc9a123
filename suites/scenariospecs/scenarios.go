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
	for _, sc := range all {
		conformance.It(sc.Requirement, "scenario "+sc.Name+": "+sc.Title, func(ctx SpecContext) {
			var fakes []*fixture.Fake
			for _, id := range sc.Upstreams {
				fakes = append(fakes, fixture.Counter(id))
			}
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fakes...), Tokens: sc.Tokens})
			var transcript strings.Builder
			res := scenarios.Run(ctx, sc, gw.URL(), &transcript, scenarios.Options{Client: gw.Options})
			conformance.Evidence("transcript", transcript.String())
			Expect(res.Err).NotTo(HaveOccurred(), "scenario %s could not run:\n%s", sc.Name, transcript.String())
			Expect(res.Failures).To(BeEmpty(), "scenario %s:\n%s", sc.Name, transcript.String())
		})
	}
}, Label("scenario"))
