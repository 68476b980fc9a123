// Package shutdown holds the SHD specs: a replica stops within its bound
// whatever its upstreams do, closes healthy upstream sessions cleanly and
// lets go of what it owned.
package shutdown

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/fakes/wedge"
	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/driver"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/steps"
	"github.com/mcpgw/conformance/suites/targetconf"
)

var _ = conformance.Describe("SHD", func() {
	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("SHD-1", "SIGTERM with an upstream whose DELETE never answers exits within 2 x timeout + 1 s", func(ctx SpecContext) {
			fixture.Require(targetconf.Signals)
			w := fixture.Wedge("w", wedge.Delete)
			// A replica that never gets ready, or that holds no upstream
			// session to close, leaves nothing for SHD-1 to judge.
			var gw *fixture.Gateway
			conformance.Precondition(conformance.OwnerSetup, func() {
				gw = fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(w)})
			})
			conformance.Precondition("ISO-3", func() {
				s := gw.Connect(ctx, r.Path("w"), client.Options{})
				steps.IncrementTimes(ctx, s, r.Tools("w"), 1)
				Expect(steps.LiveIDs(w.Stats(ctx))).To(HaveLen(1), "the downstream session should hold one upstream session")
			})

			terminateWithinBound(gw, gw.Replica(0))
		})

		r.It("SHD-2", "SIGTERM with 50 wedged upstream sessions still exits within the bound", func(ctx SpecContext) {
			fixture.Require(targetconf.Signals)
			w := fixture.Wedge("w", wedge.Delete)
			const n = 50
			tokens, token := steps.Identities(n)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(w), Tokens: tokens})
			// Fewer wedged upstream sessions than downstream ones is an
			// isolation failure (ISO-1), and leaves SHD-2 nothing to judge.
			conformance.Precondition("ISO-1", func() {
				errs := steps.Concurrently(n, func(i int) error {
					cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					defer cancel()
					s, err := client.Connect(cctx, gw.URL()+r.Path("w"), gw.Options(client.Options{NoStandaloneSSE: true, Token: token(i)}))
					if err != nil {
						return err
					}
					DeferCleanup(func() { _ = s.Close() })
					_, err = steps.Increment(cctx, s, r.Tools("w"), 1)
					return err
				}, 10)
				Expect(errs).To(BeEmpty())
				Expect(steps.LiveIDs(w.Stats(ctx))).To(HaveLen(n), "each downstream session should hold its own wedged upstream session")
			})
			conformance.Evidence("wedged upstream sessions", n)

			terminateWithinBound(gw, gw.Replica(0))
		})

		r.It("SHD-3", "SIGTERM with a tool call that never returns exits within the bound and the caller gets an answer", func(ctx SpecContext) {
			fixture.Require(targetconf.Signals)
			w := fixture.Wedge("w", wedge.Call)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(w)})
			raw := gw.Raw("")
			raw.Timeout = 30 * time.Second
			hs, err := raw.Initialize(ctx, r.Path("w"))
			Expect(err).NotTo(HaveOccurred())

			type outcome struct {
				res *client.Response
				err error
				at  time.Time
			}
			done := make(chan outcome, 1)
			go func() {
				res, err := raw.CallTool(context.Background(), r.Path("w"), hs.SessionID, r.Tool("w", "hang"), nil)
				done <- outcome{res, err, time.Now()}
			}()
			Eventually(ctx, func(g Gomega) {
				st, err := w.FetchStats(ctx)
				g.Expect(err).NotTo(HaveOccurred())
				calls := 0
				for _, l := range st.Live {
					calls += l.Calls
				}
				g.Expect(calls).To(BeNumerically(">=", 1), "the hang call has not reached the upstream yet")
			}).WithTimeout(5 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())

			sent := terminateWithinBound(gw, gw.Replica(0))
			var o outcome
			Eventually(done).WithTimeout(time.Second).Should(Receive(&o),
				"the client with the call in flight was still waiting 1 s after the replica exited")
			switch {
			case o.err != nil:
				conformance.Evidencef("in-flight call", "error after %s: %v", o.at.Sub(sent).Round(time.Millisecond), o.err)
			default:
				conformance.Evidencef("in-flight call", "status %d after %s: %s", o.res.Status, o.at.Sub(sent).Round(time.Millisecond), o.res.Body)
				// A stream that ends without an answer is a closed connection
				// to the client; only a result would be wrong (the call never
				// returned upstream).
				if msg, err := o.res.Message(); o.res.Status == 200 && err == nil {
					Expect(msg.Error).NotTo(BeNil(), "the in-flight call should end in an error, not a result")
				}
			}
		})

		r.It("SHD-4", "graceful shutdown closes every healthy upstream session", func(ctx SpecContext) {
			fixture.Require(targetconf.Signals)
			c1, c2 := fixture.Counter("c1"), fixture.Counter("c2")
			tokens, token := steps.Identities(3)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(c1, c2), Tokens: tokens})
			// Each session holding one upstream session on each upstream it
			// reaches is isolation's to judge (ISO-4 for one session on both,
			// ISO-1 for a session per upstream); without it SHD-4 has nothing to
			// count.
			owner := "ISO-4"
			if r.PerUpstream() {
				owner = "ISO-1"
			}
			var held1, held2 []string
			conformance.Precondition(owner, func() {
				for i := range 3 {
					s := gw.Connect(ctx, r.Path("c1"), client.Options{Token: token(i)})
					other := s
					if r.PerUpstream() {
						other = gw.Connect(ctx, r.Path("c2"), client.Options{Token: token(i)})
					}
					steps.IncrementTimes(ctx, s, r.Tools("c1"), 1)
					steps.IncrementTimes(ctx, other, r.Tools("c2"), 1)
				}
				held1, held2 = steps.LiveIDs(c1.Stats(ctx)), steps.LiveIDs(c2.Stats(ctx))
				Expect(held1).To(HaveLen(3), "3 downstream sessions should hold 3 upstream sessions on c1")
				Expect(held2).To(HaveLen(3), "3 downstream sessions should hold 3 upstream sessions on c2")
			})

			terminateWithinBound(gw, gw.Replica(0))
			steps.EventuallyEnded(ctx, c1, held1, time.Second)
			steps.EventuallyEnded(ctx, c2, held2, time.Second)
		})

		r.It("SHD-5", "after a replica shuts down, another replica answers 404 for its sessions at once", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			fixture.Require(targetconf.Signals)
			up := fixture.Counter("counter")
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			owner := gw.Replica(0)
			s := fixture.ConnectURL(ctx, owner.URL()+r.Path("counter"), client.Options{NoStandaloneSSE: true})
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 1)
			steps.RecordOwnership(ctx, gw, "before the shutdown")

			terminateWithinBound(gw, owner)
			for _, other := range gw.Replicas[1:] {
				raw := &client.Raw{Base: other.URL(), ProtocolVersion: s.ProtocolVersion(), Timeout: 2 * time.Second}
				res, err := raw.CallTool(ctx, r.Path("counter"), s.ID(), r.Tool("counter", "get"), nil)
				Expect(err).NotTo(HaveOccurred(), "replica %s should answer for the stopped owner's session at once", other.ID())
				conformance.Evidencef("POST via "+other.ID(), "%d after %s", res.Status, res.Elapsed.Round(time.Millisecond))
				Expect(res.Status).To(Equal(404), "replica %s: %s", other.ID(), res.Body)
				Expect(res.Elapsed).To(BeNumerically("<", time.Second), "the answer should not wait on the stopped owner")
			}
		}, fixture.MultiReplica())

		r.It("SHD-5", "while a replica drains, another replica answers 404 for its sessions at once", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			fixture.Require(targetconf.Signals)
			// The wedged upstream's DELETE never answers, so the owner drains
			// for its whole grace period: long enough to ask the others.
			up, w := fixture.Counter("counter"), fixture.Wedge("w", wedge.Delete)
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up, w), ShutdownTimeout: 2 * time.Second})
			owner := gw.Replica(0)
			s := fixture.ConnectURL(ctx, owner.URL()+r.Path("counter"), client.Options{NoStandaloneSSE: true})
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 1)
			ws := s // the session reaching the wedge
			if r.PerUpstream() {
				ws = fixture.ConnectURL(ctx, owner.URL()+r.Path("w"), client.Options{NoStandaloneSSE: true})
			}
			steps.IncrementTimes(ctx, ws, r.Tools("w"), 1)
			steps.RecordOwnership(ctx, gw, "before the shutdown")

			sent := time.Now()
			Expect(owner.Signal(syscall.SIGTERM)).To(Succeed())
			// Judge from the moment the owner shows it is draining (its
			// readiness probe no longer says ready, or it refuses connections):
			// a request that reached another replica before the signal was
			// taken is not what SHD-5 is about.
			if ready := fixture.Target().Ready; ready.Path != "" {
				probe := &client.Raw{Base: owner.URL(), Timeout: 500 * time.Millisecond}
				conformance.Precondition("SHD-6", func() {
					Eventually(ctx, func() bool {
						res, err := probe.Do(ctx, http.MethodGet, ready.Path, nil, nil)
						return err != nil || res.Status != ready.Status
					}).WithTimeout(time.Second).WithPolling(10*time.Millisecond).Should(BeTrue(),
						"%s should show it is draining (GET %s not %d) within 1 s of SIGTERM", owner.ID(), ready.Path, ready.Status)
				})
			}
			for _, other := range gw.Replicas[1:] {
				raw := &client.Raw{Base: other.URL(), ProtocolVersion: s.ProtocolVersion(), Timeout: 2 * time.Second}
				var last *client.Response
				Eventually(ctx, func(g Gomega) {
					res, err := raw.CallTool(ctx, r.Path("counter"), s.ID(), r.Tool("counter", "get"), nil)
					g.Expect(err).NotTo(HaveOccurred(), "replica %s should answer for the draining owner's session at once", other.ID())
					last = res
					g.Expect(res.Status).To(Equal(404), "replica %s: %s", other.ID(), client.Clip(res.Body, 200))
					g.Expect(res.Elapsed).To(BeNumerically("<", time.Second), "the answer should not wait on the draining owner")
				}).WithTimeout(time.Second).WithPolling(50*time.Millisecond).Should(Succeed(),
					"within 1 s of SIGTERM to %s, replica %s should answer 404 for its session", owner.ID(), other.ID())
				draining := owner.Running()
				conformance.Evidencef("POST via "+other.ID(), "%d after %s, %s after SIGTERM (owner still running: %v): %s",
					last.Status, last.Elapsed.Round(time.Millisecond), time.Since(sent).Round(time.Millisecond), draining, client.Clip(last.Body, 200))
				conformance.Precondition(conformance.OwnerSetup, func() {
					Expect(draining).To(BeTrue(), "the owner exited before it could be judged while draining")
				})
			}
		}, fixture.MultiReplica())

		r.It("SHD-6", "while draining, new requests are refused quickly", func(ctx SpecContext) {
			fixture.Require(targetconf.Signals)
			// A wedged upstream keeps the replica draining for its grace period.
			w := fixture.Wedge("w", wedge.Delete)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(w)})
			s := gw.Connect(ctx, r.Path("w"), client.Options{NoStandaloneSSE: true})
			steps.IncrementTimes(ctx, s, r.Tools("w"), 1)
			rep := gw.Replica(0)

			Expect(rep.Signal(syscall.SIGTERM)).To(Succeed())
			raw := &client.Raw{Base: rep.URL(), Timeout: time.Second}
			// Where the target's readiness is an HTTP check, it is the sign the
			// signal was taken; without one, the refusals below are awaited.
			if ready := fixture.Target().Ready; ready.Path != "" {
				Eventually(ctx, func(g Gomega) {
					res, err := raw.Do(ctx, http.MethodGet, ready.Path, nil, nil)
					if err == nil {
						g.Expect(res.Status).NotTo(Equal(ready.Status), "GET %s still says ready", ready.Path)
					}
				}).WithTimeout(time.Second).WithPolling(20*time.Millisecond).Should(Succeed(),
					"the replica should stop reporting ready within 1 s of SIGTERM")
			}
			draining := rep.Running()

			late := []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"late","version":"v1"}}}`)
			Eventually(ctx, func(g Gomega) {
				start := time.Now()
				res, err := raw.Post(ctx, r.Path("w"), "", late)
				took := time.Since(start)
				switch {
				case err != nil:
					conformance.Evidencef("new initialize while draining", "%v after %s (replica still running: %v)", err, took.Round(time.Millisecond), draining)
					g.Expect(isRefusal(err, rep)).To(BeTrue(), "a new request during shutdown should be refused, got %v", err)
				default:
					conformance.Evidencef("new initialize while draining", "%d after %s (replica still running: %v)", res.Status, took.Round(time.Millisecond), draining)
					g.Expect(res.Status).To(Equal(503), "a new request during shutdown should get 503: %s", client.Clip(res.Body, 200))
				}
				g.Expect(took).To(BeNumerically("<", time.Second))
			}).WithTimeout(time.Second).WithPolling(50*time.Millisecond).Should(Succeed(),
				"within 1 s of SIGTERM, a new initialize should be refused within 1 s")
		})
	})
})

// terminateWithinBound sends SIGTERM and expects the replica to exit within
// 2 x its shutdown timeout + 1 s. It returns when the signal was sent.
func terminateWithinBound(gw *fixture.Gateway, r driver.Replica) time.Time {
	GinkgoHelper()
	bound := gw.Bound()
	sent := time.Now()
	Expect(r.Signal(syscall.SIGTERM)).To(Succeed())
	// Wait a little past the bound so a late exit is measured, not guessed.
	exit, err := r.WaitExit(bound + 2*time.Second)
	if err != nil {
		conformance.Evidencef("shutdown of "+r.ID(), "still running %s after SIGTERM (bound %s)", bound+2*time.Second, bound)
		Fail(fmt.Sprintf("replica %s did not exit within %s of SIGTERM (bound: 2 x %s + 1 s)", r.ID(), bound+2*time.Second, gw.ShutdownTimeout))
	}
	took := exit.At.Sub(sent)
	conformance.Evidencef("shutdown of "+r.ID(), "%s after SIGTERM, %s (bound %s)", took.Round(time.Millisecond), exit, bound)
	Expect(took).To(BeNumerically("<=", bound), "replica %s took %s to exit; the bound is 2 x %s + 1 s", r.ID(), took, gw.ShutdownTimeout)
	return sent
}

// isRefusal reports a connection refused or reset, which is how a closed
// listener refuses. A replica in a container is reached through the
// engine's port mapping, whose proxy accepts the connection and then closes
// it unanswered when the replica refuses it: there, an EOF before any
// response is the refusal.
func isRefusal(err error, r driver.Replica) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	return r.Container() != "" && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF))
}
