package soak

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/suites/client"
)

// phaseLoad: many sessions, most calls forwarded to the owner, then DELETE
// of every session. Nothing leaks across sessions, every upstream session
// ends, and the replicas give back what the load took.
func phaseLoad(ctx context.Context, c *cluster, rep *Report) error {
	cfg := c.cfg
	// A warm-up of the same shape (as many sessions, at the same
	// concurrency, a few calls each) fills the connection pools between
	// replicas and to the upstream first: what stays above "before" after
	// the load is then what the sessions left behind, not pooled
	// connections waiting for reuse.
	warm, err := c.openSessions(ctx, cfg.Sessions, cfg.Workers, nil)
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	var warmTally tally
	drive(ctx, warm, 3, cfg.Workers, roundRobin(len(c.replicas)), &warmTally)
	if failed := c.deleteAll(ctx, warm, cfg.Workers); failed > 0 || warmTally.errors > 0 {
		return fmt.Errorf("warm-up: %d calls and %d DELETEs failed%s", warmTally.errors, failed, firstErr(warmTally.firstErr))
	}
	before, err := settle(ctx, c, usage{}, 3*time.Second)
	if err != nil {
		return err
	}
	warmStats, err := c.stats(ctx)
	if err != nil {
		return err
	}
	smp := startSampler(ctx, c)
	start := time.Now()
	sessions, err := c.openSessions(ctx, cfg.Sessions, cfg.Workers, nil)
	if err != nil {
		smp.finish()
		return err
	}
	var t tally
	drive(ctx, sessions, cfg.CallsPerSession, cfg.Workers, roundRobin(len(c.replicas)), &t)
	took := time.Since(start)
	exact := 0
	for _, s := range sessions {
		if v, err := s.get(ctx, s.owner); err == nil && v == cfg.CallsPerSession {
			exact++
		}
	}
	peak := smp.finish()
	rep.figure(PhaseLoad, "calls", "%d (%d sessions x %d, two in three forwarded)", t.calls, len(sessions), cfg.CallsPerSession)
	rep.figure(PhaseLoad, "calls/s", "%.0f", float64(t.calls)/took.Seconds())
	rep.figure(PhaseLoad, "p50 / p99 / max", "%s / %s / %s", ms(t.latencies.quantile(0.5)), ms(t.latencies.quantile(0.99)), ms(t.latencies.max()))
	rep.check(PhaseLoad, "no call failed", t.errors == 0, "%d errors%s", t.errors, firstErr(t.firstErr))
	rep.check(PhaseLoad, "no cross-session leak", t.leaks == 0 && exact == len(sessions),
		"%d values off, %d of %d sessions read exactly %d", t.leaks, exact, len(sessions), cfg.CallsPerSession)
	st, err := c.stats(ctx)
	if err != nil {
		return err
	}
	inits := st.Initializes - warmStats.Initializes
	rep.check(PhaseLoad, "one upstream session per downstream session", inits == len(sessions) && len(st.Live) == len(sessions),
		"%d initializes, %d live upstream sessions for %d downstream sessions", inits, len(st.Live), len(sessions))

	failed := c.deleteAll(ctx, sessions, cfg.Workers)
	rep.check(PhaseLoad, "every DELETE answered 2xx", failed == 0, "%d of %d failed", failed, len(sessions))
	d, ok, why := eventually(ctx, 15*time.Second, func(ctx context.Context) (bool, string) {
		st, err := c.stats(ctx)
		if err != nil {
			return false, err.Error()
		}
		held := 0
		for i := range c.replicas {
			n, err := c.adminSessions(ctx, i)
			if err != nil {
				return false, err.Error()
			}
			held += n
		}
		return len(st.Live) == 0 && held == 0, fmt.Sprintf("%d upstream sessions live, %d downstream sessions held", len(st.Live), held)
	})
	rep.check(PhaseLoad, "after DELETE: every upstream session ended, /admin/sessions empty", ok, "after %s: %s", d.Round(time.Millisecond), why)
	// Near the start: a few goroutines per replica for timers and pools
	// (far fewer than one per session, which is what a leak leaves), and
	// the memory the collector's headroom lets a replica keep.
	slack := min(10*len(c.replicas), cfg.Sessions/2)
	limit := usage{working: before.working + slack, rss: before.rss*3/2 + int64(len(c.replicas))*16<<20}
	after, err := settle(ctx, c, limit, 15*time.Second)
	if err != nil {
		return fmt.Errorf("usage after the load: %w", err)
	}
	rep.figure(PhaseLoad, "RSS before / peak / after", "%s / %s / %s", mib(before.rss), mib(peak.rss), mib(after.rss))
	rep.figure(PhaseLoad, "goroutines before / peak / after", "%d / %d / %d (of which idle pooled connections after: %d)",
		before.goroutines, peak.goroutines, after.goroutines, after.goroutines-after.working)
	rep.check(PhaseLoad, "goroutines back near the start (idle pooled connections aside)", after.working <= limit.working,
		"%d before, %d after (bound %d)", before.working, after.working, limit.working)
	rep.check(PhaseLoad, "resident memory back near the start", after.rss <= limit.rss,
		"%s before, %s after (bound %s)", mib(before.rss), mib(after.rss), mib(limit.rss))
	return nil
}

// phaseKill: SIGKILL of the owner of some sessions while the others are
// under load. Its sessions answer 404 through the survivors within the
// heartbeat bound; the survivors' sessions lose nothing.
func phaseKill(ctx context.Context, c *cluster, rep *Report) error {
	cfg := c.cfg
	victim, orphans, kept, err := c.faultSessions(ctx)
	if err != nil {
		return err
	}
	stopLoad := make(chan struct{})
	var t tally
	var wg sync.WaitGroup
	wg.Go(func() {
		driveUntil(ctx, stopLoad, kept, cfg.Workers, survivorRoute(len(c.replicas), victim), &t)
	})
	pause(ctx, 500*time.Millisecond) // the kill comes while the load runs
	killed := time.Now()
	if err := c.signalReplica(victim, syscall.SIGKILL); err != nil {
		close(stopLoad)
		wg.Wait()
		return err
	}
	to404, other := timeTo404(ctx, orphans, victim, killed, 10*time.Second)
	pause(ctx, 500*time.Millisecond) // the load goes on a little past the last 404
	close(stopLoad)
	wg.Wait()
	exact := exactCount(ctx, kept, victim)
	rep.figure(PhaseKill, "calls on surviving sessions", "%d (p50 %s, p99 %s)", t.calls, ms(t.latencies.quantile(0.5)), ms(t.latencies.quantile(0.99)))
	rep.figure(PhaseKill, "time to 404 after the kill (p50 / max)", "%s / %s over %d sessions", ms(to404.quantile(0.5)), ms(to404.max()), len(orphans))
	rep.check(PhaseKill, "every session of the dead owner answers 404 within 5 s", len(to404) == len(orphans) && to404.max() <= 5*time.Second,
		"%d of %d got 404, slowest %s%s", len(to404), len(orphans), ms(to404.max()), firstErr(other))
	rep.check(PhaseKill, "surviving sessions: no call failed, nothing lost", t.errors == 0 && t.leaks == 0 && exact == len(kept),
		"%d errors, %d values off, %d of %d read their own count%s", t.errors, t.leaks, exact, len(kept), firstErr(t.firstErr))
	return nil
}

// phaseStop: the owner is frozen (SIGSTOP: the kernel still accepts its
// connections, as for a partition or a long pause). Requests for its
// sessions through other replicas end within a bound instead of waiting
// for the client's patience; the others' sessions keep working.
func phaseStop(ctx context.Context, c *cluster, rep *Report) error {
	cfg := c.cfg
	victim, orphans, kept, err := c.faultSessions(ctx)
	if err != nil {
		return err
	}
	if err := c.signalReplica(victim, syscall.SIGSTOP); err != nil {
		return err
	}
	defer func() { _ = c.signalReplica(victim, syscall.SIGCONT) }()
	frozen := time.Now()
	// The client waits up to 30 s, as real clients do; the gateway must
	// answer long before.
	const patience = 30 * time.Second
	const bound = 10 * time.Second
	var mu sync.Mutex
	var ended latencies
	statuses := map[string]int{}
	var wg sync.WaitGroup
	for i, s := range orphans {
		via := i % victim // a survivor
		wg.Go(func() {
			raw := &client.Raw{Base: s.raws[via].Base, Timeout: patience, IDs: &s.ids, ProtocolVersion: s.raws[via].ProtocolVersion}
			resp, err := raw.CallTool(ctx, mcpPath, s.id, incrementTool, map[string]any{"by": 1})
			d := time.Since(frozen)
			mu.Lock()
			defer mu.Unlock()
			ended = append(ended, d)
			if err != nil {
				statuses["no answer"]++
			} else {
				statuses[fmt.Sprint(resp.Status)]++
			}
		})
	}
	var t tally
	stopLoad := make(chan struct{})
	time.AfterFunc(2*time.Second, func() { close(stopLoad) })
	driveUntil(ctx, stopLoad, kept, cfg.Workers, survivorRoute(len(c.replicas), victim), &t)
	wg.Wait()
	exact := exactCount(ctx, kept, victim)
	rep.figure(PhaseStop, "requests for the frozen owner's sessions: ended after (p50 / max)", "%s / %s; statuses: %s", ms(ended.quantile(0.5)), ms(ended.max()), describeCounts(statuses))
	rep.check(PhaseStop, "no request waits on a frozen owner", ended.max() <= bound && statuses["no answer"] == 0,
		"slowest ended after %s (bound %s, client patience %s); %d got no answer", ms(ended.max()), bound, patience, statuses["no answer"])
	rep.check(PhaseStop, "other sessions: no call failed, nothing lost", t.errors == 0 && t.leaks == 0 && exact == len(kept),
		"%d calls, %d errors, %d values off, %d of %d read their own count%s", t.calls, t.errors, t.leaks, exact, len(kept), firstErr(t.firstErr))
	return nil
}

// phaseRedis: Redis is killed and, after the outage, started again empty.
// Calls through a session's owner never fail; forwarded calls get 503
// naming Redis while it is away; no session is lost afterwards.
func phaseRedis(ctx context.Context, c *cluster, rep *Report) error {
	cfg := c.cfg
	sessions, err := c.openSessions(ctx, cfg.FaultSessions, cfg.Workers, nil)
	if err != nil {
		return err
	}
	var (
		mu                     sync.Mutex
		local, forwarded       int
		localErrs, fwd503Redis int
		fwdOther               = map[string]int{}
		lost                   = map[string]bool{}
		firstLocal             string
	)
	record := func(s *session, via int, o outcome) {
		mu.Lock()
		defer mu.Unlock()
		if o.status == http.StatusNotFound {
			lost[s.id] = true
		}
		if via == s.owner {
			local++
			if o.err != nil {
				localErrs++
				if firstLocal == "" {
					firstLocal = o.err.Error()
				}
			}
			return
		}
		forwarded++
		switch {
		case o.err == nil:
		case o.status == http.StatusServiceUnavailable && strings.Contains(strings.ToLower(o.body), "redis"):
			fwd503Redis++
		default:
			fwdOther[statusText(o)]++
		}
	}
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { driveRecording(ctx, stopLoad, sessions, cfg.Workers, len(c.replicas), record) })
	pause(ctx, time.Second)
	c.redis.kill()
	pause(ctx, cfg.RedisOutage)
	if err := c.redis.start(ctx); err != nil {
		close(stopLoad)
		wg.Wait()
		return fmt.Errorf("restart redis-server: %w", err)
	}
	back := time.Now()
	pause(ctx, 3*time.Second)
	close(stopLoad)
	wg.Wait()
	// Every session still answers through a replica that does not own it.
	reachable := 0
	for _, s := range sessions {
		if _, err := s.get(ctx, (s.owner+1)%len(c.replicas)); err == nil {
			reachable++
		}
	}
	rep.figure(PhaseRedis, "calls through the owner / forwarded", "%d / %d", local, forwarded)
	rep.figure(PhaseRedis, "forwarded calls answered 503 naming Redis", "%d", fwd503Redis)
	rep.check(PhaseRedis, "calls through the owner never failed", localErrs == 0, "%d of %d failed%s", localErrs, local, firstErr(firstLocal))
	rep.check(PhaseRedis, "forwarded calls failed only with 503 naming Redis", len(fwdOther) == 0, "other failures: %s", describeCounts(fwdOther))
	rep.check(PhaseRedis, "no session lost (never a 404, reachable through any replica after)", len(lost) == 0 && reachable == len(sessions),
		"%d sessions got 404; %d of %d reachable through a non-owner %s after Redis returned", len(lost), reachable, len(sessions), time.Since(back).Round(100*time.Millisecond))
	return nil
}

// phaseIdle: many idle sessions on one replica, all reclaimed (with their
// upstream sessions) by the session timeout.
func phaseIdle(ctx context.Context, c *cluster, rep *Report) error {
	cfg := c.cfg
	before, err := c.totalUsage(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	sessions, err := c.openSessions(ctx, cfg.IdleSessions, cfg.Workers, nil)
	if err != nil {
		return err
	}
	// One call each opens its upstream session.
	var t tally
	drive(ctx, sessions, 1, cfg.Workers, func(*session, int) int { return 0 }, &t)
	held, err := c.totalUsage(ctx)
	if err != nil {
		return err
	}
	rep.figure(PhaseIdle, "sessions opened", "%d in %s, %d calls failed", len(sessions), time.Since(start).Round(100*time.Millisecond), t.errors)
	rep.figure(PhaseIdle, "resident memory per held session", "%.1f KB", float64(held.rss-before.rss)/float64(len(sessions))/1000)
	within := cfg.SessionTimeout*2 + 20*time.Second
	d, ok, why := eventually(ctx, within, func(ctx context.Context) (bool, string) {
		st, err := c.stats(ctx)
		if err != nil {
			return false, err.Error()
		}
		n, err := c.adminSessions(ctx, 0)
		if err != nil {
			return false, err.Error()
		}
		return n == 0 && len(st.Live) == 0, fmt.Sprintf("%d downstream sessions held, %d upstream sessions live", n, len(st.Live))
	})
	rep.check(PhaseIdle, "every idle session and its upstream session reclaimed", ok && t.errors == 0,
		"%s after the last call (timeout %s): %s", d.Round(100*time.Millisecond), cfg.SessionTimeout, why)
	return nil
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// faultSessions opens the sessions of a fault phase, spread over the
// replicas, and splits them into those of the victim (the last replica)
// and the others.
func (c *cluster) faultSessions(ctx context.Context) (victim int, orphans, kept []*session, err error) {
	victim = len(c.replicas) - 1
	sessions, err := c.openSessions(ctx, c.cfg.FaultSessions, c.cfg.Workers, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	orphans, kept = split(sessions, victim)
	return victim, orphans, kept, nil
}

func split(sessions []*session, owner int) (owned, others []*session) {
	for _, s := range sessions {
		if s.owner == owner {
			owned = append(owned, s)
		} else {
			others = append(others, s)
		}
	}
	return owned, others
}

// survivorRoute routes call j through the replicas other than victim, in turn.
func survivorRoute(n, victim int) func(*session, int) int {
	return func(s *session, j int) int {
		via := (s.owner + j) % (n - 1)
		if via >= victim {
			via++
		}
		return via
	}
}

// driveUntil makes increments on the sessions until stop closes, each
// session in turn with workers at once. A call in flight when stop closes
// finishes (every call is bounded), so every session's count stays exact.
func driveUntil(ctx context.Context, stop <-chan struct{}, sessions []*session, workers int, route func(*session, int) int, t *tally) {
	var wg sync.WaitGroup
	for w := range min(workers, len(sessions)) {
		wg.Go(func() {
			for j := 0; !closed(stop) && ctx.Err() == nil; j++ {
				for i := w; i < len(sessions) && !closed(stop); i += workers {
					s := sessions[i]
					o := s.increment(ctx, route(s, j))
					if o.err == nil && o.value == s.want+1 {
						s.want++
					}
					t.add(o, s.want)
				}
			}
		})
	}
	wg.Wait()
}

// driveRecording alternates each session's calls between its owner and a
// replica that forwards to it, until stop closes, and records each outcome.
func driveRecording(ctx context.Context, stop <-chan struct{}, sessions []*session, workers, n int, record func(*session, int, outcome)) {
	var wg sync.WaitGroup
	for w := range min(workers, len(sessions)) {
		wg.Go(func() {
			for j := 0; !closed(stop) && ctx.Err() == nil; j++ {
				for i := w; i < len(sessions) && !closed(stop); i += workers {
					s := sessions[i]
					via := s.owner
					if j%2 == 1 {
						via = (s.owner + 1) % n
					}
					record(s, via, s.increment(ctx, via))
				}
				pause(ctx, 20*time.Millisecond)
			}
		})
	}
	wg.Wait()
}

// timeTo404 polls every orphaned session through a survivor until it
// answers 404 and returns how long after since each took; other lists the
// first answer that was neither success nor 404.
func timeTo404(ctx context.Context, orphans []*session, victim int, since time.Time, within time.Duration) (latencies, string) {
	var mu sync.Mutex
	var out latencies
	var other string
	var wg sync.WaitGroup
	for i, s := range orphans {
		via := i % victim
		wg.Go(func() {
			eventually(ctx, within, func(ctx context.Context) (bool, string) {
				o := s.increment(ctx, via)
				if o.status == http.StatusNotFound {
					mu.Lock()
					out = append(out, time.Since(since))
					mu.Unlock()
					return true, ""
				}
				if o.err != nil && o.status != http.StatusNotFound {
					mu.Lock()
					if other == "" {
						other = statusText(o)
					}
					mu.Unlock()
				}
				return false, ""
			})
		})
	}
	wg.Wait()
	return out, other
}

// exactCount counts the sessions whose counter reads the increments they
// were acknowledged, read through a replica other than victim.
func exactCount(ctx context.Context, sessions []*session, victim int) int {
	n := 0
	for _, s := range sessions {
		via := s.owner
		if via == victim {
			continue
		}
		if v, err := s.get(ctx, via); err == nil && v == s.want {
			n++
		}
	}
	return n
}

func statusText(o outcome) string {
	if o.status == 0 {
		if o.err != nil {
			return "no answer: " + o.err.Error()
		}
		return "no answer"
	}
	return fmt.Sprintf("%d %s", o.status, o.body)
}

func firstErr(s string) string {
	if s == "" {
		return ""
	}
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return "; first: " + s
}

// pause waits d or until ctx ends: the length of a fault or of a stretch
// of load, not a synchronisation.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
