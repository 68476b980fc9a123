// Package eviction holds the EVI specs: upstream sessions end when their
// downstream session ends, when their upstream changes, and on idle expiry.
package eviction

import (
	"context"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/driver"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/steps"
	"github.com/mcpgw/conformance/suites/targetconf"
)

var _ = conformance.Describe("EVI", func() {
	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("EVI-1", "DELETE closes the session's upstream sessions on every upstream it reached", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			c1, c2 := fixture.Counter("c1"), fixture.Counter("c2")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(c1, c2)})
			before := map[*fixture.Fake]*fakes.Stats{c1: c1.Stats(ctx), c2: c2.Stats(ctx)}
			s := gw.Connect(ctx, r.Path("c1"), client.Options{})
			reached, owner := []*fixture.Fake{c1, c2}, "ISO-4"
			if r.PerUpstream() {
				reached, owner = reached[:1], "ISO-3"
			}
			held := map[*fixture.Fake][]string{}
			for _, up := range reached {
				steps.IncrementTimes(ctx, s, r.Tools(up.ID), 1)
				held[up] = steps.OwnUpstreamSession(ctx, up, before[up], owner)
			}

			steps.DeleteSession(ctx, gw.Raw(""), r.Path("c1"), s.ID())
			for _, up := range reached {
				steps.EventuallyEnded(ctx, up, held[up], steps.EvictionBound)
			}
		})
	})

	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("EVI-2", "a deleted session id gets 404 on POST, GET and DELETE", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			raw := gw.Raw("")
			hs, err := raw.Initialize(ctx, r.Path("counter"))
			Expect(err).NotTo(HaveOccurred())
			call, err := raw.CallTool(ctx, r.Path("counter"), hs.SessionID, r.Tool("counter", "increment"), map[string]any{"by": 1})
			Expect(err).NotTo(HaveOccurred())
			Expect(call.Status).To(Equal(200), "tools/call before DELETE: %s", call.Body)
			steps.DeleteSession(ctx, gw.Raw(""), r.Path("counter"), hs.SessionID)

			steps.ExpectGoneOn(ctx, raw, r, hs.SessionID)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("EVI-3", "a client that initializes again after DELETE reads 0", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			first := gw.Connect(ctx, r.Path("counter"), client.Options{})
			steps.IncrementTimes(ctx, first, r.Tools("counter"), 4)
			steps.DeleteSession(ctx, gw.Raw(""), r.Path("counter"), first.ID())

			again := gw.Connect(ctx, r.Path("counter"), client.Options{})
			v := steps.Get(ctx, again, r.Tools("counter"))
			conformance.Evidence("value read by the new session "+steps.Short(again.ID()), v)
			Expect(v).To(Equal(0), "the new session inherited upstream state from the deleted one")
		})
	})

	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("EVI-4", "deleting one session leaves another's upstream session and state alone", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			up := fixture.Counter("counter")
			// A and B are different users where the target has auth, so each
			// holds an upstream session of its own even behind an identity pool.
			tokens, token := steps.Identities(2)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: tokens})
			deleteLeavesOther(ctx, gw, r, up, token(0), token(1))
		})
	})

	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("EVI-4", "deleting one session leaves another session of the same identity alone", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{
				Upstreams: fixture.Upstreams(up),
				Tokens:    map[string]string{"tok-alice": "alice"},
			})
			conformance.Evidence("identity", "alice (both sessions)")
			deleteLeavesOther(ctx, gw, r, up, "tok-alice", "tok-alice")
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("EVI-5", "changing the URL closes the old upstream session and the next call uses the new URL", func(ctx SpecContext) {
			fixture.RequireUpstreamChanges("change")
			oldUp, newUp := fixture.Counter("counter"), fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(oldUp)})
			// No standalone GET stream: on a pass-through route it is the
			// upstream session's, which the change ends, and a stream the
			// server closes is the client's to reopen (MaxRetries is off).
			opened := oldUp.Stats(ctx)
			s := gw.Connect(ctx, r.Path("counter"), client.Options{NoStandaloneSSE: true})
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 3)
			held := steps.OwnUpstreamSession(ctx, oldUp, opened, "ISO-3")

			changed := oldUp.Upstream()
			changed.URL = newUp.URL()
			putUpstream(ctx, gw, changed)
			steps.EventuallyEnded(ctx, oldUp, held, steps.EvictionBound)

			v, err := steps.Increment(ctx, s, r.Tools("counter"), 1)
			Expect(err).NotTo(HaveOccurred(), "the first call after the change should open a new upstream session")
			conformance.Evidence("value after the change", v)
			Expect(v).To(Equal(1), "the call should land on a new upstream session at the new URL")
			Expect(steps.LiveIDs(newUp.Stats(ctx))).To(HaveLen(1), "the new URL should hold the new upstream session")
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("EVI-5", "changing auth headers closes the old upstream session and the next one sends the new headers", func(ctx SpecContext) {
			fixture.RequireUpstreamChanges("change")
			up := fixture.Counter("counter")
			def := up.Upstream()
			def.Headers = map[string]string{"X-Upstream-Key": "rev-1"}
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: []driver.Upstream{def}})
			// No standalone GET stream: on a pass-through route it is the
			// upstream session's, which the change ends, and a stream the
			// server closes is the client's to reopen (MaxRetries is off).
			opened := up.Stats(ctx)
			s := gw.Connect(ctx, r.Path("counter"), client.Options{NoStandaloneSSE: true})
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 3)
			held := steps.OwnUpstreamSession(ctx, up, opened, "ISO-3")

			def.Headers = map[string]string{"X-Upstream-Key": "rev-2"}
			putUpstream(ctx, gw, def)
			steps.EventuallyEnded(ctx, up, held, steps.EvictionBound)

			v, err := steps.Increment(ctx, s, r.Tools("counter"), 1)
			Expect(err).NotTo(HaveOccurred())
			Expect(v).To(Equal(1), "the call should land on a new upstream session")
			st := up.Stats(ctx)
			live := steps.LiveIDs(st)
			Expect(live).To(HaveLen(1))
			var sent []string
			for _, rec := range st.Headers {
				if rec.Session == live[0] {
					sent = append(sent, rec.Headers["X-Upstream-Key"]...)
				}
			}
			conformance.Evidence("X-Upstream-Key sent on the new session", sent)
			Expect(sent).NotTo(BeEmpty())
			Expect(sent).To(HaveEach("rev-2"), "the new upstream session should use the new headers")
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("EVI-5", "changing TLS material closes the old upstream session", func(ctx SpecContext) {
			fixture.RequireUpstreamChanges("change")
			up := fixture.CounterTLS("counter")
			def := driver.Upstream{ID: "counter", URL: up.MCPURL, TLS: &driver.UpstreamTLS{CAFile: up.CAFile}}
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: []driver.Upstream{def}})
			// No standalone GET stream: on a pass-through route it is the
			// upstream session's, which the change ends, and a stream the
			// server closes is the client's to reopen (MaxRetries is off).
			opened := up.Stats(ctx)
			s := gw.Connect(ctx, r.Path("counter"), client.Options{NoStandaloneSSE: true})
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 2)
			held := steps.OwnUpstreamSession(ctx, up.Fake, opened, "ISO-3")

			// The same certificate from a new file: the TLS material changed.
			pem, err := os.ReadFile(up.CAFile)
			Expect(err).NotTo(HaveOccurred())
			rotated := filepath.Join(GinkgoT().TempDir(), "ca-rotated.pem")
			Expect(os.WriteFile(rotated, pem, 0o600)).To(Succeed())
			def.TLS = &driver.UpstreamTLS{CAFile: rotated}
			putUpstream(ctx, gw, def)
			steps.EventuallyEnded(ctx, up.Fake, held, steps.EvictionBound)

			v, err := steps.Increment(ctx, s, r.Tools("counter"), 1)
			Expect(err).NotTo(HaveOccurred())
			Expect(v).To(Equal(1), "the call should land on a new upstream session")
		})
	})

	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("EVI-6", "changing name, description and tags keeps the upstream session", func(ctx SpecContext) {
			fixture.RequireUpstreamChanges("change")
			up := fixture.Counter("counter")
			def := up.Upstream()
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: []driver.Upstream{def}})
			opened := up.Stats(ctx)
			s := gw.Connect(ctx, r.Path("counter"), client.Options{})
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 3)
			before := up.Stats(ctx)
			held := steps.OwnUpstreamSession(ctx, up, opened, "ISO-3")

			def.Name, def.Description, def.Tags = "Counter (renamed)", "a cosmetic edit", []string{"cosmetic"}
			putUpstream(ctx, gw, def)

			v, err := steps.Increment(ctx, s, r.Tools("counter"), 1)
			Expect(err).NotTo(HaveOccurred())
			after := up.Stats(ctx)
			conformance.Evidence("value after the cosmetic change", v)
			conformance.Evidence("initializes before/after", []int{before.Initializes, after.Initializes})
			Expect(after.Initializes).To(Equal(before.Initializes), "a cosmetic change should not open a new upstream session")
			Expect(v).To(Equal(4), "the upstream state should survive a cosmetic change")
			steps.StillLive(ctx, up, held)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("EVI-7", "removing an upstream closes its sessions, its tools fail clearly, others keep working", func(ctx SpecContext) {
			fixture.RequireUpstreamChanges("remove")
			c1, c2 := fixture.Counter("c1"), fixture.Counter("c2")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(c1, c2)})
			// No standalone GET stream: on a pass-through route it is the
			// upstream session's, which the removal ends, and a stream the
			// server closes is the client's to reopen (MaxRetries is off).
			opened := c1.Stats(ctx)
			s := gw.Connect(ctx, r.Path("c1"), client.Options{NoStandaloneSSE: true})
			other := s // the session reaching c2
			if r.PerUpstream() {
				other = gw.Connect(ctx, r.Path("c2"), client.Options{NoStandaloneSSE: true})
			}
			steps.IncrementTimes(ctx, s, r.Tools("c1"), 2)
			steps.IncrementTimes(ctx, other, r.Tools("c2"), 2)
			held := steps.OwnUpstreamSession(ctx, c1, opened, "ISO-3")

			gw.RemoveUpstream(ctx, "c1")
			steps.EventuallyEnded(ctx, c1, held, steps.EvictionBound)

			cctx, cancel := context.WithTimeout(ctx, steps.CallTimeout)
			defer cancel()
			_, err := steps.Increment(cctx, s, r.Tools("c1"), 1)
			Expect(err).To(HaveOccurred(), "a call to a removed upstream's tool should fail")
			conformance.Evidence("error for "+r.Tool("c1", "increment"), err.Error())
			Expect(err.Error()).To(Or(ContainSubstring("c1"), ContainSubstring("unknown"), ContainSubstring("not found")),
				"the error should say which tool or upstream is gone")

			v, err := steps.Increment(ctx, other, r.Tools("c2"), 1)
			Expect(err).NotTo(HaveOccurred(), "other upstreams should keep working")
			Expect(v).To(Equal(3), "c2's upstream session should be untouched")
		})
	})

	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("EVI-8", "an idle session expired by the gateway has its upstream sessions closed", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			fixture.Require(targetconf.SessionTimeout)
			const idle = 2 * time.Second
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), SessionTimeout: idle})
			opened := up.Stats(ctx)
			s := gw.Connect(ctx, r.Path("counter"), client.Options{NoStandaloneSSE: true})
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 2)
			held := steps.OwnUpstreamSession(ctx, up, opened, "ISO-3")
			conformance.Evidence("session timeout", idle.String())

			steps.EventuallyEnded(ctx, up, held, idle+steps.EvictionBound+time.Second)
		})
	})
})

// deleteLeavesOther has session A (tokenA) increment 2 and B (tokenB) 3,
// deletes A, and expects B's upstream session, as the upstream sees it, to
// live on with its value and take B's next call.
func deleteLeavesOther(ctx context.Context, gw *fixture.Gateway, r fixture.Route, up *fixture.Fake, tokenA, tokenB string) {
	GinkgoHelper()
	a := gw.Connect(ctx, r.Path("counter"), client.Options{Token: tokenA})
	steps.IncrementTimes(ctx, a, r.Tools("counter"), 2)
	mid := up.Stats(ctx)
	b := gw.Connect(ctx, r.Path("counter"), client.Options{Token: tokenB})
	steps.IncrementTimes(ctx, b, r.Tools("counter"), 3)
	// That B holds an upstream session of its own is isolation, which ISO-1
	// (ISO-2 for one identity) owns: if it does not, EVI-4 cannot be judged.
	owner := "ISO-1"
	if tokenA != "" && tokenA == tokenB {
		owner = "ISO-2"
	}
	bHeld := steps.OwnUpstreamSession(ctx, up, mid, owner)[0]
	initsBefore := up.Stats(ctx).Initializes

	steps.DeleteSession(ctx, gw.Raw(tokenA), r.Path("counter"), a.ID())
	Consistently(ctx, func(g Gomega) {
		st, err := up.FetchStats(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		s, _ := st.Session(bHeld)
		g.Expect(s.EndReason).To(BeEmpty(), "B's upstream session ended when A was deleted")
	}).WithTimeout(500 * time.Millisecond).WithPolling(50 * time.Millisecond).Should(Succeed())

	v := steps.Get(ctx, b, r.Tools("counter"))
	conformance.Evidence("B reads after A's DELETE", v)
	Expect(v).To(Equal(3))
	steps.IncrementTimes(ctx, b, r.Tools("counter"), 1)
	st := up.Stats(ctx)
	s, _ := st.Session(bHeld)
	Expect(s.Value).To(Equal(4), "B's calls should still reach its own upstream session")
	Expect(st.Initializes).To(Equal(initsBefore), "B's upstream session should not have been rebuilt")
}

// putUpstream changes an upstream through the target's upstream management
// (its hooks or the admin API).
func putUpstream(ctx context.Context, gw *fixture.Gateway, u driver.Upstream) {
	GinkgoHelper()
	gw.PutUpstream(ctx, u)
}
