// Package crosspod holds the XPD specs: replicas sharing one Redis behave as
// one gateway. A session answers through any replica and ends through any
// replica, keeps its own upstream state whichever replica a call lands on,
// loses stale upstream sessions on every replica when an upstream changes,
// and never waits on a dead owner.
//
// Every spec starts a cluster (fixture.StartCluster: the target's replica
// count, three for the reference gateway) and judges from the fakes' /stats;
// which replica held what is attached as evidence from each replica's
// GET /admin/sessions.
package crosspod

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/steps"
	"github.com/mcpgw/conformance/suites/targetconf"
)

const (
	// ownershipBound is how long after its owner dies a session may still
	// get something other than 404 through another replica: the ownership
	// TTL of a claim nobody refreshes (10 s in the reference gateway; its
	// heartbeat TTL, 3 s, usually settles it sooner).
	ownershipBound = 10 * time.Second
	// requestBound is the longest any single request may take while the
	// owner is dead: a request that waits longer is waiting on the corpse.
	requestBound = 2 * time.Second
	// streamBound is how long a GET stream may take to end once its session
	// is deleted.
	streamBound = 3 * time.Second
	// stalledBound is how long a request for a stalled owner's session may
	// take through another replica: the owner is known dead once its
	// heartbeat lapses (3 s in the reference gateway), with room to spare
	// on a loaded machine.
	stalledBound = 10 * time.Second
	// clientPatience is how long the client of XPD-8 waits, well above
	// stalledBound, so a gateway that waits as long as the client is seen
	// to.
	clientPatience = 30 * time.Second
)

var _ = conformance.Describe("XPD", func() {
	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("XPD-1", "a session initialized on A and used through B reaches the same upstream session: 2 + 3 increments read 5", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			up := fixture.Counter("counter")
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			before := up.Stats(ctx)

			a := steps.InitializeOn(ctx, gw, r.Endpoint("counter"), 0, "")
			b := a.At(gw, 1)
			a.IncrementTimes(ctx, 2)
			b.IncrementTimes(ctx, 3)
			steps.RecordOwnership(ctx, gw, "after the calls")

			viaB, viaA := b.Call(ctx, "get", nil), a.Call(ctx, "get", nil)
			conformance.Evidencef("values read", "via %s: %d, via %s: %d", b.Replica, viaB, a.Replica, viaA)
			Expect(viaB).To(Equal(5), "through %s the session should see the 2 increments made through %s and its own 3", b.Replica, a.Replica)
			Expect(viaA).To(Equal(5))

			after := up.Stats(ctx)
			fresh := steps.NewSessions(before, after)
			conformance.Evidence("upstream sessions opened", steps.SessionSummary(fresh))
			conformance.Evidence("initializes seen by the upstream", after.Initializes-before.Initializes)
			Expect(after.Initializes-before.Initializes).To(Equal(1),
				"one downstream session used through two replicas should initialize the upstream once")
			Expect(fresh).To(HaveLen(1), "calls through %s and %s should share one upstream session", a.Replica, b.Replica)
			Expect(fresh[0].Value).To(Equal(5))
		}, fixture.MultiReplica())

		r.It("XPD-2", "DELETE through a replica that does not own the session ends it on every replica and closes its upstream session", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			up := fixture.Counter("counter")
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			before := up.Stats(ctx)
			a := steps.InitializeOn(ctx, gw, r.Endpoint("counter"), 0, "")
			a.IncrementTimes(ctx, 2)
			held := steps.OwnUpstreamSession(ctx, up, before, "ISO-3")
			steps.RecordOwnership(ctx, gw, "before the DELETE")

			b := a.At(gw, 1)
			steps.DeleteSession(ctx, b.Raw, b.Path, b.Session)
			steps.EventuallyEnded(ctx, up, held, steps.EvictionBound)
			s, _ := up.Stats(ctx).Session(held[0])
			Expect(s.EndReason).To(Equal(fakes.EndDeleted), "the upstream session should be ended by the gateway (a DELETE upstream)")

			for i := range gw.Replicas {
				steps.ExpectGoneVia(ctx, a.At(gw, i))
			}
			steps.RecordOwnership(ctx, gw, "after the DELETE")
		}, fixture.MultiReplica())

		r.It("XPD-3", "sessions spread over the replicas, with calls routed round-robin and concurrently, keep every counter exact", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			up := fixture.Counter("counter")
			sessions := 4 * fixture.Target().Replicas
			// Each session has its own identity when the target has auth, so
			// that identity pooling (ISO-1, ISO-2 catch it) is not what fails here.
			tokens, token := steps.Identities(sessions)
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: tokens})
			n := len(gw.Replicas)
			before := up.Stats(ctx)

			ss := make([]steps.Via, sessions)
			for i := range ss {
				ss[i] = steps.InitializeOn(ctx, gw, r.Endpoint("counter"), i%n, token(i))
			}
			// Session i makes 3+i%4 calls of "by: i+1", two at a time, call j
			// through replica (i+1+j) mod n, so most calls land on a
			// non-owner; all sessions at once.
			want := make([]int, sessions)
			errs := steps.Concurrently(sessions, func(i int) error {
				calls := 3 + i%4
				want[i] = calls * (i + 1)
				inner := steps.Concurrently(calls, func(j int) error {
					_, err := ss[i].At(gw, (i+1+j)%n).TryCall(ctx, "increment", map[string]any{"by": i + 1})
					return err
				}, 2)
				if len(inner) > 0 {
					return inner[0]
				}
				return nil
			})
			Expect(errs).To(BeEmpty(), "calls routed round-robin over the replicas failed")
			steps.RecordOwnership(ctx, gw, "after the calls")

			var lines []string
			var wrong []string
			for i, s := range ss {
				via := s.At(gw, (i+2)%n)
				got := via.Call(ctx, "get", nil)
				lines = append(lines, fmt.Sprintf("%s (initialized on %s, read via %s): %d, want %d", steps.Short(s.Session), s.Replica, via.Replica, got, want[i]))
				if got != want[i] {
					wrong = append(wrong, lines[len(lines)-1])
				}
			}
			conformance.Evidence("values read", strings.Join(lines, "\n"))
			Expect(wrong).To(BeEmpty(), "these sessions' calls landed on another session's upstream state")

			after := up.Stats(ctx)
			fresh := steps.NewSessions(before, after)
			var values []int
			for _, f := range fresh {
				values = append(values, f.Value)
			}
			conformance.Evidence("initializes seen by the upstream", after.Initializes-before.Initializes)
			Expect(values).To(ConsistOf(want), "the upstream should hold one session per downstream session, each with exactly its own calls")
			Expect(after.Initializes - before.Initializes).To(Equal(sessions))
		}, fixture.MultiReplica())

		r.It("XPD-4", "an upstream URL change through replica A closes the upstream sessions of every replica, and their next calls use the new URL", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			fixture.RequireUpstreamChanges("change")
			oldUp, newUp := fixture.Counter("counter"), fixture.Counter("counter")
			// One session owned by each replica, each its own identity (so that
			// identity pooling is not what this spec sees).
			tokens, token := steps.Identities(fixture.Target().Replicas)
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(oldUp), Tokens: tokens})
			n := len(gw.Replicas)

			heldBy := map[string]string{} // upstream session id -> replica owning its downstream session
			owned := make([]steps.Via, n)
			for i := range owned {
				before := oldUp.Stats(ctx)
				owned[i] = steps.InitializeOn(ctx, gw, r.Endpoint("counter"), i, token(i))
				owned[i].IncrementTimes(ctx, 2)
				heldBy[steps.OwnUpstreamSession(ctx, oldUp, before, "ISO-3")[0]] = owned[i].Replica
			}
			steps.RecordOwnership(ctx, gw, "before the change")
			initsBefore := oldUp.Stats(ctx).Initializes

			changed := oldUp.Upstream()
			changed.URL = newUp.URL()
			gw.PutUpstream(ctx, changed) // through replica 0: its admin API, or hooks told r1 first
			sent := time.Now()

			Eventually(ctx, func(g Gomega) {
				st, err := oldUp.FetchStats(ctx)
				g.Expect(err).NotTo(HaveOccurred())
				var live []string
				for id, owner := range heldBy {
					if s, ok := st.Session(id); !ok || s.EndReason == "" {
						live = append(live, fmt.Sprintf("%s (held for a session of %s)", steps.Short(id), owner))
					}
				}
				g.Expect(live).To(BeEmpty(), "upstream sessions still open at the old URL")
			}).WithTimeout(steps.EvictionBound).WithPolling(50*time.Millisecond).Should(Succeed(),
				"an upstream change through %s should close the upstream sessions every replica holds within %s", gw.Replica(0).ID(), steps.EvictionBound)
			var ended []string
			st := oldUp.Stats(ctx)
			for id, owner := range heldBy {
				s, _ := st.Session(id)
				ended = append(ended, fmt.Sprintf("%s of %s: %s", steps.Short(id), owner, s.EndReason))
			}
			conformance.Evidencef("old upstream sessions ended", "%s, all within %s of the PUT", strings.Join(ended, "; "), time.Since(sent).Round(time.Millisecond))

			var values []string
			for _, s := range owned {
				v := s.Call(ctx, "increment", map[string]any{"by": 1})
				values = append(values, fmt.Sprintf("%s on %s: %d", steps.Short(s.Session), s.Replica, v))
				Expect(v).To(Equal(1), "the next call of the session on %s should open a fresh upstream session at the new URL", s.Replica)
			}
			conformance.Evidence("first call after the change", strings.Join(values, "; "))
			Expect(steps.LiveIDs(newUp.Stats(ctx))).To(HaveLen(n), "the new URL should hold one upstream session per replica's session")
			Expect(oldUp.Stats(ctx).Initializes).To(Equal(initsBefore), "no replica should open a session at the old URL after the change")
		}, fixture.MultiReplica())

		r.It("XPD-5", "after the owner is SIGKILLed its sessions get 404 through the others within the ownership TTL, no request hangs, and new sessions work at once", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			fixture.Require(targetconf.Signals)
			up := fixture.Counter("counter")
			tokens, token := steps.Identities(2)
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: tokens})
			owner := gw.Replica(0)
			orphans := []steps.Via{steps.InitializeOn(ctx, gw, r.Endpoint("counter"), 0, token(0)), steps.InitializeOn(ctx, gw, r.Endpoint("counter"), 0, token(1))}
			for _, s := range orphans {
				s.IncrementTimes(ctx, 2)
			}
			steps.RecordOwnership(ctx, gw, "before the kill")

			Expect(owner.Kill()).To(Succeed())
			exit, err := owner.WaitExit(5 * time.Second)
			Expect(err).NotTo(HaveOccurred())
			conformance.Evidencef("owner "+owner.ID(), "%s", exit)
			deadline := exit.At.Add(ownershipBound)

			var slowest time.Duration
			for _, s := range orphans {
				for i := 1; i < len(gw.Replicas); i++ {
					via := s.At(gw, i)
					via.Raw.Timeout = requestBound + 500*time.Millisecond
					var statuses []int
					Eventually(ctx, func(g Gomega) {
						start := time.Now()
						res, err := via.Raw.CallTool(ctx, via.Path, via.Session, via.Tools.Name("get"), nil)
						took := time.Since(start)
						slowest = max(slowest, took)
						if took > requestBound {
							StopTrying(fmt.Sprintf("a request for session %s through %s took %s (bound %s): it waited on the dead owner %s (%v)",
								steps.Short(via.Session), via.Replica, took.Round(time.Millisecond), requestBound, owner.ID(), err)).Now()
						}
						g.Expect(err).NotTo(HaveOccurred())
						statuses = append(statuses, res.Status)
						g.Expect(res.Status).To(Equal(404), "body: %s", res.Body)
					}).WithTimeout(max(time.Until(deadline), 100*time.Millisecond)).WithPolling(100*time.Millisecond).Should(Succeed(),
						"session %s of the dead owner %s should get 404 through %s within %s of its death", steps.Short(via.Session), owner.ID(), via.Replica, ownershipBound)
					conformance.Evidencef(fmt.Sprintf("session %s via %s", steps.Short(via.Session), via.Replica),
						"404 %s after the kill (statuses seen: %v)", time.Since(exit.At).Round(time.Millisecond), statuses)
				}
			}
			conformance.Evidence("slowest request after the kill", slowest.Round(time.Millisecond).String())
			for _, s := range orphans {
				for i := 1; i < len(gw.Replicas); i++ {
					via := s.At(gw, i)
					via.Raw.Timeout = requestBound
					steps.ExpectGoneVia(ctx, via)
				}
			}

			for i := 1; i < len(gw.Replicas); i++ {
				start := time.Now()
				raw := gw.RawAt(i, token(0))
				raw.Timeout = requestBound
				hs, err := raw.Initialize(ctx, r.Path("counter"))
				Expect(err).NotTo(HaveOccurred(), "a new session on the survivor %s", gw.Replica(i).ID())
				fresh := steps.Via{Replica: gw.Replica(i).ID(), Raw: raw, Session: hs.SessionID, Endpoint: r.Endpoint("counter")}
				v := fresh.Call(ctx, "increment", map[string]any{"by": 1})
				took := time.Since(start)
				conformance.Evidencef("new session on "+fresh.Replica, "initialize + first call in %s, value %d", took.Round(time.Millisecond), v)
				Expect(v).To(Equal(1))
				Expect(took).To(BeNumerically("<", requestBound), "a new session on a survivor should work at once")
			}
			steps.RecordOwnership(ctx, gw, "after the kill")
		}, fixture.MultiReplica())

		r.It("XPD-8", "a request for a stalled (SIGSTOPped) owner's session through another replica ends within 10 s, and new sessions work at once", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			fixture.Require(targetconf.Signals)
			up := fixture.Counter("counter")
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			owner := gw.Replica(0)
			orphan := steps.InitializeOn(ctx, gw, r.Endpoint("counter"), 0, "")
			orphan.IncrementTimes(ctx, 2)
			steps.RecordOwnership(ctx, gw, "before the stop")

			// A stopped process keeps its listening socket: the kernel still
			// accepts connections, nothing answers. SIGCONT before teardown
			// (cleanups run last-in first-out), so the replica can stop.
			Expect(owner.Signal(syscall.SIGSTOP)).To(Succeed())
			DeferCleanup(func() { _ = owner.Signal(syscall.SIGCONT) })
			// The signal is sent, not yet taken: judge only once the kernel
			// shows the process stopped, or a request could still be answered.
			conformance.Precondition(conformance.OwnerSetup, func() {
				Eventually(func() (string, error) { return steps.ProcessState(owner) }).
					WithTimeout(5*time.Second).WithPolling(20*time.Millisecond).
					Should(Equal("T"), "replica %s should be stopped after SIGSTOP", owner.ID())
			})
			stopped := time.Now()

			for i := 1; i < len(gw.Replicas); i++ {
				via := orphan.At(gw, i)
				via.Raw.Timeout = clientPatience
				start := time.Now()
				res, err := via.Raw.CallTool(ctx, via.Path, via.Session, via.Tools.Name("get"), nil)
				took := time.Since(start)
				outcome := fmt.Sprintf("%v", err)
				if err == nil {
					outcome = fmt.Sprintf("%d %s", res.Status, client.Clip(res.Body, 200))
				}
				conformance.Evidencef(fmt.Sprintf("session %s via %s", steps.Short(via.Session), via.Replica),
					"%s after %s (%s after the stop)", outcome, took.Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))
				Expect(took).To(BeNumerically("<", stalledBound),
					"a request for session %s through %s waited %s on the stalled owner %s (bound %s, client patience %s)",
					steps.Short(via.Session), via.Replica, took.Round(time.Millisecond), owner.ID(), stalledBound, clientPatience)
				Expect(err).NotTo(HaveOccurred(), "the request through %s should end with an answer, not a cut connection", via.Replica)
				Expect(res.Status == 404 || res.Status/100 == 5).To(BeTrue(),
					"a session of the stalled owner %s through %s should get 404 (owner known dead) or a 5xx, got %d: %s", owner.ID(), via.Replica, res.Status, client.Clip(res.Body, 200))
			}

			for i := 1; i < len(gw.Replicas); i++ {
				start := time.Now()
				raw := gw.RawAt(i, "")
				raw.Timeout = requestBound
				hs, err := raw.Initialize(ctx, r.Path("counter"))
				Expect(err).NotTo(HaveOccurred(), "a new session on %s while %s is stopped", gw.Replica(i).ID(), owner.ID())
				fresh := steps.Via{Replica: gw.Replica(i).ID(), Raw: raw, Session: hs.SessionID, Endpoint: r.Endpoint("counter")}
				v := fresh.Call(ctx, "increment", map[string]any{"by": 1})
				took := time.Since(start)
				conformance.Evidencef("new session on "+fresh.Replica, "initialize + first call in %s, value %d", took.Round(time.Millisecond), v)
				Expect(v).To(Equal(1))
				Expect(took).To(BeNumerically("<", requestBound), "a new session on %s should work at once", fresh.Replica)
			}
		}, fixture.MultiReplica(), SpecTimeout(2*time.Minute))

		r.It("XPD-6", "concurrent first calls for one fresh session through every replica open exactly one upstream session", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			up := fixture.Counter("counter")
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			n := len(gw.Replicas)
			before := up.Stats(ctx)
			a := steps.InitializeOn(ctx, gw, r.Endpoint("counter"), 0, "")

			// Three first calls through each replica, released together.
			const perReplica = 3
			k := perReplica * n
			var ready sync.WaitGroup
			ready.Add(k)
			start := make(chan struct{})
			go func() { ready.Wait(); close(start) }()
			errs := steps.Concurrently(k, func(i int) error {
				via := a.At(gw, i%n)
				ready.Done()
				<-start
				_, err := via.TryCall(ctx, "increment", map[string]any{"by": 1})
				return err
			})
			Expect(errs).To(BeEmpty(), "concurrent first calls through the replicas failed")
			steps.RecordOwnership(ctx, gw, "after the calls")

			after := up.Stats(ctx)
			fresh := steps.NewSessions(before, after)
			conformance.Evidence("upstream sessions opened", steps.SessionSummary(fresh))
			conformance.Evidence("initializes seen by the upstream", after.Initializes-before.Initializes)
			Expect(after.Initializes-before.Initializes).To(Equal(1),
				"%d concurrent first calls through %d replicas should open one upstream session", k, n)
			Expect(fresh).To(HaveLen(1))
			Expect(fresh[0].Value).To(Equal(k))
			Expect(a.At(gw, n-1).Call(ctx, "get", nil)).To(Equal(k))
		}, fixture.MultiReplica())

		r.It("XPD-7", "a GET stream opened through a non-owner is the owner's stream: headers within 1 s, open until the session is deleted", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			conformance.Evidence("what this checks",
				"The fakes send their messages on the stream of the call they concern, which RTE-2 and RTE-4 follow through a non-owner replica; "+
					"none sends on the GET stream, so no message can be sent to watch arrive here. "+
					"This spec checks that the owner's GET stream is carried through a non-owner replica "+
					"(headers within 1 s, held open, ended with the session), not the content of messages.")
			up := fixture.Counter("counter")
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			a := steps.InitializeOn(ctx, gw, r.Endpoint("counter"), 0, "")
			a.IncrementTimes(ctx, 1)
			b := a.At(gw, 1)

			stream, err := b.Raw.OpenStream(ctx, b.Path, b.Session, time.Second)
			Expect(err).NotTo(HaveOccurred(), "GET with session %s through %s should answer with headers within 1 s", steps.Short(b.Session), b.Replica)
			DeferCleanup(stream.Close)
			conformance.Evidencef("GET via "+b.Replica, "%d %s after %s", stream.Status, stream.Header.Get("Content-Type"), stream.Elapsed.Round(time.Millisecond))
			Expect(stream.Status).To(Equal(200), "the GET through %s should open a stream: %s", b.Replica, stream.Received())
			Expect(stream.Header.Get("Content-Type")).To(HavePrefix("text/event-stream"))
			Consistently(stream.Ended()).WithTimeout(500*time.Millisecond).WithPolling(20*time.Millisecond).ShouldNot(BeClosed(),
				"the stream through %s ended while its session lives (%v)", b.Replica, stream.EndErr())
			steps.RecordOwnership(ctx, gw, "with the stream open")

			deleted := time.Now()
			steps.DeleteSession(ctx, a.Raw, a.Path, a.Session)
			Eventually(stream.Ended()).WithTimeout(streamBound).WithPolling(20*time.Millisecond).Should(BeClosed(),
				"the stream through %s should end within %s of its session's DELETE on the owner %s", b.Replica, streamBound, a.Replica)
			conformance.Evidencef("stream via "+b.Replica, "ended %s after the DELETE on %s (%s); received %d bytes: %q",
				stream.EndedAt().Sub(deleted).Round(time.Millisecond), a.Replica, orClean(stream.EndErr()), len(stream.Received()), client.Clip(stream.Received(), 200))
		}, fixture.MultiReplica())
	})
})

func orClean(err error) string {
	if err == nil {
		return "clean end of stream"
	}
	return err.Error()
}
