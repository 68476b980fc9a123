package versions

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/steps"
	"github.com/mcpgw/conformance/suites/targetconf"
)

// VER-1 runs at each session-bearing revision (targetconf.SessionRevisions),
// one spec each (they may run in parallel Ginkgo processes). Every other
// spec of the run speaks client.DefaultProtocolVersion; make
// conformance-revisions runs the whole ISO, EVI and TRN suites at each.

// replayed are the requirements VER-1 replays at each revision, in the
// order its steps prove them: the columns of the report's revision table.
var replayed = []string{"ISO-1", "ISO-3", "EVI-1", "EVI-2", "TRN-3", "EVI-3", "TRN-1", "TRN-4"}

// VER-1 replays, at each revision, the core of ISO, EVI and TRN: each step
// marks the requirements it proves held at that revision, and the report
// shows them as a revision x requirement table.
var _ = conformance.Describe("VER", func() {
	for _, rev := range targetconf.SessionRevisions {
		fixture.ForEachRoute(func(r fixture.Route) {
			r.It("VER-1", "at revision "+rev+": ISO-1, ISO-3, EVI-1, EVI-2, EVI-3, TRN-1, TRN-3 and TRN-4 hold", func(ctx SpecContext) {
				up := fixture.Counter("counter")
				gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
				path, tools := r.Path("counter"), r.Tools("counter")
				conformance.RevisionPlan(rev, replayed...)
				step := func(ids, what string) {
					conformance.Evidence(rev+" "+ids, what)
					for _, id := range strings.Split(ids, ", ") {
						conformance.RevisionHeld(rev, id)
					}
				}

				before := up.Stats(ctx)
				a := gw.Connect(ctx, path, client.Options{ProtocolVersion: rev, NoStandaloneSSE: true})
				Expect(a.ProtocolVersion()).To(Equal(rev), "the gateway negotiated another revision than the client asked for")
				steps.IncrementTimes(ctx, a, tools, 5)
				mid := up.Stats(ctx)
				ofA := steps.NewSessions(before, mid)
				b := gw.Connect(ctx, path, client.Options{ProtocolVersion: rev, NoStandaloneSSE: true})
				steps.IncrementTimes(ctx, b, tools, 3)
				steps.ExpectValues(ctx, map[*client.Session]int{a: 5, b: 3}, tools)
				step("ISO-1", "two sessions read 5 and 3")
				Expect(ofA).To(HaveLen(1), "session A's 5 calls: upstream sessions opened %s", steps.SessionSummary(ofA))
				Expect(mid.Initializes-before.Initializes).To(Equal(1), "session A's 5 calls: upstream initializes")
				step("ISO-3", "5 calls, one upstream session, one initialize")
				for _, s := range ofA {
					Expect(s.ProtocolVersion).NotTo(BeEmpty())
				}

				raw := gw.Raw("")
				raw.ProtocolVersion = rev
				steps.DeleteSession(ctx, raw, path, a.ID())
				steps.EventuallyEnded(ctx, up, []string{ofA[0].ID}, steps.EvictionBound)
				step("EVI-1", "DELETE ended the upstream session within "+steps.EvictionBound.String())
				steps.ExpectGoneOn(ctx, raw, r, a.ID())
				step("EVI-2, TRN-3", "POST, GET and DELETE of the ended session: 404")
				c := gw.Connect(ctx, path, client.Options{ProtocolVersion: rev, NoStandaloneSSE: true})
				Expect(steps.Get(ctx, c, tools)).To(Equal(0), "a new session after DELETE starts from fresh upstream state")
				step("EVI-3", "a new session reads 0")

				res, err := raw.Get(ctx, path, "", time.Second)
				Expect(err).NotTo(HaveOccurred(), "GET %s without a session id: no answer within 1 s", path)
				Expect(res.Status).To(BeElementOf(http.StatusBadRequest, http.StatusMethodNotAllowed), "GET without a session id")
				step("TRN-1", fmt.Sprintf("GET without a session: %d after %s", res.Status, res.Elapsed.Round(time.Millisecond)))
				del, err := raw.Delete(ctx, path, "")
				Expect(err).NotTo(HaveOccurred())
				Expect(del.Status).To(Equal(http.StatusBadRequest), "DELETE without a session id")
				step("TRN-4", "DELETE without a session: 400")
			})
		})
	}
})
