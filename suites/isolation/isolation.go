// Package isolation holds the ISO specs: upstream state stays with the
// downstream session that created it.
package isolation

import (
	"fmt"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/steps"
)

var _ = conformance.Describe("ISO", func() {
	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("ISO-1", "two sessions on one counter read 5 and 3, not 8 and 8", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			a := gw.Connect(ctx, r.Path("counter"), client.Options{})
			b := gw.Connect(ctx, r.Path("counter"), client.Options{})

			steps.IncrementTimes(ctx, a, r.Tools("counter"), 5)
			steps.IncrementTimes(ctx, b, r.Tools("counter"), 3)
			steps.ExpectValues(ctx, map[*client.Session]int{a: 5, b: 3}, r.Tools("counter"))
			steps.ExpectUpstreamValues(ctx, up, 5, 3)
		})
	})

	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("ISO-2", "two sessions of one identity (same token) still read 5 and 3", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{
				Upstreams: fixture.Upstreams(up),
				Tokens:    map[string]string{"tok-alice": "alice"},
			})
			a := gw.Connect(ctx, r.Path("counter"), client.Options{Token: "tok-alice"})
			b := gw.Connect(ctx, r.Path("counter"), client.Options{Token: "tok-alice"})
			conformance.Evidence("identity", "alice (both sessions)")

			steps.IncrementTimes(ctx, a, r.Tools("counter"), 5)
			steps.IncrementTimes(ctx, b, r.Tools("counter"), 3)
			steps.ExpectValues(ctx, map[*client.Session]int{a: 5, b: 3}, r.Tools("counter"))
			steps.ExpectUpstreamValues(ctx, up, 5, 3)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("ISO-3", "ten calls in one session reach one upstream session, initialized once", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			before := up.Stats(ctx)

			s := gw.Connect(ctx, r.Path("counter"), client.Options{})
			const n = 10
			steps.IncrementTimes(ctx, s, r.Tools("counter"), n)
			after := up.Stats(ctx)

			fresh := steps.NewSessions(before, after)
			conformance.Evidence("initializes seen by the upstream", after.Initializes-before.Initializes)
			conformance.Evidence("upstream sessions opened", steps.SessionSummary(fresh))
			Expect(after.Initializes-before.Initializes).To(Equal(1),
				"the upstream saw %d initializes for one downstream session making %d calls", after.Initializes-before.Initializes, n)
			Expect(fresh).To(HaveLen(1), "one downstream session should hold one upstream session")
			Expect(fresh[0].Calls).To(Equal(n), "every call should reach the same upstream session")
			Expect(fresh[0].Value).To(Equal(n))
		})
	})

	fixture.OnAggregateRoute(func(r fixture.Route) {
		r.It("ISO-4", "one session on two upstreams holds one upstream session on each", func(ctx SpecContext) {
			c1, c2 := fixture.Counter("c1"), fixture.Counter("c2")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(c1, c2)})
			s := gw.Connect(ctx, r.Path("c1"), client.Options{})

			steps.IncrementTimes(ctx, s, r.Tools("c1"), 2)
			steps.IncrementTimes(ctx, s, r.Tools("c2"), 3)
			steps.IncrementTimes(ctx, s, r.Tools("c1"), 2)
			v1 := steps.Get(ctx, s, r.Tools("c1"))
			v2 := steps.Get(ctx, s, r.Tools("c2"))
			conformance.Evidence("values read", fmt.Sprintf("c1=%d c2=%d", v1, v2))
			Expect(v1).To(Equal(4), "c1 keeps its own state")
			Expect(v2).To(Equal(3), "c2 keeps its own state")

			for _, f := range []struct {
				up   *fixture.Fake
				want int
			}{{c1, 4}, {c2, 3}} {
				st := f.up.Stats(ctx)
				conformance.Evidence("sessions on "+f.up.ID, steps.SessionSummary(st.Live))
				Expect(st.Live).To(HaveLen(1), "%s should hold exactly one upstream session", f.up.ID)
				Expect(st.Live[0].Value).To(Equal(f.want))
			}
		})
	})

	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("ISO-5", "eight concurrent first calls create one upstream session", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			// Counted from before the session opens: a gateway may open the
			// upstream session at initialize (a pass-through route does) or
			// at the first call; either way one session must take all k.
			before := up.Stats(ctx)
			s := gw.Connect(ctx, r.Path("counter"), client.Options{})

			const k = 8
			errs := steps.Concurrently(k, func(int) error {
				_, err := steps.Increment(ctx, s, r.Tools("counter"), 1)
				return err
			})
			Expect(errs).To(BeEmpty(), "concurrent first calls failed")

			after := up.Stats(ctx)
			fresh := steps.NewSessions(before, after)
			conformance.Evidence("upstream sessions created", steps.SessionSummary(fresh))
			conformance.Evidence("initializes", after.Initializes-before.Initializes)
			Expect(fresh).To(HaveLen(1), "%d concurrent first calls should share one new upstream session", k)
			Expect(after.Initializes - before.Initializes).To(Equal(1))
			Expect(fresh[0].Value).To(Equal(k))
		})
	})

	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("ISO-6", "20 concurrent sessions with interleaved calls end with exact counters", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			const sessions = 20
			// Each session has its own identity when the target has auth, so
			// this spec isolates misrouting under load from identity pooling
			// (which ISO-1 and ISO-2 catch).
			tokens, token := steps.Identities(sessions)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: tokens})
			ss := make([]*client.Session, sessions)
			for i := range ss {
				ss[i] = gw.Connect(ctx, r.Path("counter"), client.Options{NoStandaloneSSE: true, Token: token(i)})
			}
			// Session i makes 3+i%5 calls of "by: i+1", two at a time, all
			// sessions at once: a call landing elsewhere breaks some total.
			want := make([]int, sessions)
			errs := steps.Concurrently(sessions, func(i int) error {
				calls := 3 + i%5
				want[i] = calls * (i + 1)
				inner := steps.Concurrently(calls, func(int) error {
					_, err := steps.Increment(ctx, ss[i], r.Tools("counter"), i+1)
					return err
				}, 2)
				if len(inner) > 0 {
					return inner[0]
				}
				return nil
			})
			Expect(errs).To(BeEmpty())

			got := make([]int, sessions)
			var mismatches []string
			for i, s := range ss {
				v := steps.Get(ctx, s, r.Tools("counter"))
				got[i] = v
				if v != want[i] {
					mismatches = append(mismatches, fmt.Sprintf("session %d read %d, want %d", i, v, want[i]))
				}
			}
			conformance.Evidence("final values", fmt.Sprint(got))
			Expect(mismatches).To(BeEmpty(), "some calls landed on another session's upstream session")

			var upstreamValues []int
			for _, l := range up.Stats(ctx).Live {
				upstreamValues = append(upstreamValues, l.Value)
			}
			Expect(upstreamValues).To(ConsistOf(want), "the upstream's per-session values should match the downstream sessions one to one")
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("ISO-7", "session ids never cross the gateway in either direction", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			s := gw.Connect(ctx, r.Path("counter"), client.Options{})
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 2)

			raw := gw.Raw("")
			hs, err := raw.Initialize(ctx, r.Path("counter"))
			Expect(err).NotTo(HaveOccurred())
			call, err := raw.CallTool(ctx, r.Path("counter"), hs.SessionID, r.Tool("counter", "increment"), map[string]any{"by": 1})
			Expect(err).NotTo(HaveOccurred())
			Expect(call.Status).To(Equal(200), "tools/call: %s", call.Body)

			st := up.Stats(ctx)
			// A gateway that mints no ids (sessionIds: false) has none to
			// leak: "" would match every header.
			downstream := minted(s.ID(), hs.SessionID)
			var upstream []string
			for _, l := range append(st.Live, st.Ended...) {
				upstream = append(upstream, l.ID)
			}
			conformance.Evidence("downstream session ids", downstream)
			conformance.Evidence("upstream session ids", upstream)
			Expect(upstream).NotTo(BeEmpty())

			for _, rec := range st.Headers {
				for name, values := range rec.Headers {
					for _, v := range values {
						for _, id := range downstream {
							Expect(v).NotTo(ContainSubstring(id), "the upstream received downstream session id %s in header %s of a %s", id, name, rec.Method)
						}
					}
				}
			}
			for _, id := range upstream {
				Expect(downstream).NotTo(ContainElement(id), "a downstream session id equals an upstream session id")
				for name, values := range hs.Response.Header {
					Expect(strings.Join(values, " ")).NotTo(ContainSubstring(id), "initialize response header %s shows upstream session %s", name, id)
				}
				for name, values := range call.Header {
					Expect(strings.Join(values, " ")).NotTo(ContainSubstring(id), "tools/call response header %s shows upstream session %s", name, id)
				}
				Expect(string(call.Body)).NotTo(ContainSubstring(id), "tools/call response body shows upstream session %s", id)
			}
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("ISO-7", "the caller's Authorization and cookies never reach the upstream", func(ctx SpecContext) {
			callerCredentialsStayDownstream(ctx, r.Path("counter"), r.Tool("counter", "increment"))
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("ISO-8", "after the upstream loses its sessions the next call succeeds within one retry", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			// No standalone GET stream: on a pass-through route it is the
			// upstream session's, which the loss ends, and a stream the
			// server closes is the client's to reopen (MaxRetries is off).
			s := gw.Connect(ctx, r.Path("counter"), client.Options{NoStandaloneSSE: true})
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 3)

			up.DropSessions(ctx)
			v, err := steps.Increment(ctx, s, r.Tools("counter"), 1)
			if err != nil {
				conformance.Evidence("first call after the loss", err.Error())
				v, err = steps.Increment(ctx, s, r.Tools("counter"), 1)
			}
			Expect(err).NotTo(HaveOccurred(), "the call failed twice after the upstream lost its sessions")
			conformance.Evidence("value after recovery", v)
			Expect(v).To(Equal(1), "the call should run on a fresh upstream session")
			Expect(up.Stats(ctx).Live).To(HaveLen(1))
		})
	})
})

// callerCredentialsStayDownstream drives a session on path with a bearer
// token and a cookie, then expects neither in any request the upstream got:
// the upstream's configuration asks for no credentials of its own.
func callerCredentialsStayDownstream(ctx SpecContext, path, increment string) {
	GinkgoHelper()
	const token, cookie = "tok-iso7-caller-secret", "mcpconf_session=cookie-iso7-caller-secret"
	up := fixture.Counter("counter")
	gw := fixture.StartGateway(ctx, fixture.GatewayOptions{
		Upstreams: fixture.Upstreams(up),
		Tokens:    map[string]string{token: "alice"},
	})
	raw := gw.Raw(token)
	raw.Header = http.Header{"Cookie": {cookie}}
	hs, err := raw.Initialize(ctx, path)
	Expect(err).NotTo(HaveOccurred())
	for range 2 {
		call, err := raw.CallTool(ctx, path, hs.SessionID, increment, map[string]any{"by": 1})
		Expect(err).NotTo(HaveOccurred())
		Expect(call.Status).To(Equal(200), "tools/call: %s", call.Body)
	}
	steps.DeleteSession(ctx, raw, path, hs.SessionID)

	st := up.Stats(ctx)
	Expect(st.Headers).NotTo(BeEmpty(), "the upstream recorded no request")
	var leaks []string
	for _, rec := range st.Headers {
		for name, values := range rec.Headers {
			for _, v := range values {
				if http.CanonicalHeaderKey(name) == "Cookie" || strings.Contains(v, token) || strings.Contains(v, cookie) {
					leaks = append(leaks, fmt.Sprintf("%s %s: %s", rec.Method, name, v))
				}
			}
		}
	}
	conformance.Evidence("upstream requests", len(st.Headers))
	conformance.Evidence("caller credentials seen upstream", steps.OrNone(strings.Join(leaks, "; ")))
	Expect(leaks).To(BeEmpty(), "the caller's credentials reached the upstream")
}

// minted drops the empty ids of a gateway that mints none.
func minted(ids ...string) []string {
	var out []string
	for _, id := range ids {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}
