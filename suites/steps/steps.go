// Package steps holds the act-and-assert helpers specs share: calling the
// counter, reading values, comparing upstream truth from /stats, running
// calls concurrently. Each records evidence and fails the spec through Gomega.
package steps

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/targetconf"
)

// CallTimeout bounds each tool call a spec makes.
const CallTimeout = 10 * time.Second

// IncrementTimes calls the counter's increment {by: 1} n times, one after
// another; tools names the counter's tools on the session's route (a Route's
// Tools).
func IncrementTimes(ctx context.Context, s *client.Session, tools fixture.Tools, n int) {
	GinkgoHelper()
	var seen []int
	for range n {
		v, err := Increment(ctx, s, tools, 1)
		Expect(err).NotTo(HaveOccurred())
		seen = append(seen, v)
	}
	conformance.Evidence(fmt.Sprintf("session %s: %s x%d", Short(s.ID()), tools.Name("increment"), n), fmt.Sprint(seen))
}

// Increment calls the counter's increment {by} once within CallTimeout and
// returns the new value or the error.
func Increment(ctx context.Context, s *client.Session, tools fixture.Tools, by int) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	return s.Call(cctx, tools.Name("increment"), map[string]any{"by": by})
}

// ExpectValues reads the counter's get on each session and expects its value.
func ExpectValues(ctx context.Context, want map[*client.Session]int, tools fixture.Tools) {
	GinkgoHelper()
	got := map[string]int{}
	for s := range want {
		v, err := s.Call(ctx, tools.Name("get"), nil)
		Expect(err).NotTo(HaveOccurred())
		got[s.ID()] = v
	}
	conformance.Evidence("values read", got)
	for s, w := range want {
		Expect(got[s.ID()]).To(Equal(w), "session %s read %d, want %d: its calls share state with another session", s.ID(), got[s.ID()], w)
	}
}

// ExpectUpstreamValues expects the upstream's live sessions to hold exactly
// these values, one session per value.
func ExpectUpstreamValues(ctx context.Context, up *fixture.Fake, want ...int) {
	GinkgoHelper()
	st := up.Stats(ctx)
	var values []int
	for _, l := range st.Live {
		values = append(values, l.Value)
	}
	conformance.Evidence("upstream sessions", SessionSummary(st.Live))
	Expect(values).To(ConsistOf(want), "the upstream should hold one session per downstream session")
}

// NewSessions lists the sessions in after that were not in before.
func NewSessions(before, after *fakes.Stats) []fakes.SessionStats {
	var out []fakes.SessionStats
	for _, s := range append(slices.Clone(after.Live), after.Ended...) {
		if _, ok := before.Session(s.ID); !ok {
			out = append(out, s)
		}
	}
	return out
}

// SessionSummary renders upstream sessions for evidence.
func SessionSummary(ss []fakes.SessionStats) string {
	var parts []string
	for _, s := range ss {
		p := fmt.Sprintf("%s value=%d calls=%d", Short(s.ID), s.Value, s.Calls)
		if s.EndReason != "" {
			p += " ended=" + s.EndReason
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, "; ")
}

// Short abbreviates a session id for evidence names.
func Short(id string) string {
	if len(id) > 12 {
		return id[:12] + "…"
	}
	return id
}

// Concurrently runs f(0..n-1) at once (or limit at a time) and returns the errors.
func Concurrently(n int, f func(i int) error, limit ...int) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, n)
	if len(limit) > 0 {
		sem = make(chan struct{}, limit[0])
	}
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer GinkgoRecover()
			if err := f(i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// Get reads the counter's get on a session within CallTimeout.
func Get(ctx context.Context, s *client.Session, tools fixture.Tools) int {
	GinkgoHelper()
	cctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	v, err := s.Call(cctx, tools.Name("get"), nil)
	Expect(err).NotTo(HaveOccurred())
	return v
}

// LiveIDs returns the ids of the upstream's live sessions.
func LiveIDs(st *fakes.Stats) []string {
	var ids []string
	for _, l := range st.Live {
		ids = append(ids, l.ID)
	}
	return ids
}

// OwnUpstreamSession is the one upstream session up opened since before,
// for a spec that must watch the session it opened end. That a downstream
// session holds exactly one of its own is isolation, which owner (ISO-3 for
// one upstream, ISO-4 for several) judges: when it does not, the spec ends
// as could not judge instead of failing its own requirement. Sessions a
// gateway opened before the spec's session (ahead of any client) are in
// before and not counted.
func OwnUpstreamSession(ctx context.Context, up *fixture.Fake, before *fakes.Stats, owner string) []string {
	GinkgoHelper()
	fresh := NewSessions(before, up.Stats(ctx))
	conformance.Precondition(owner, func() {
		Expect(fresh).To(HaveLen(1), "the session should have opened one upstream session of its own on %s, opened: %s", up.ID, SessionSummary(fresh))
	})
	return []string{fresh[0].ID}
}

// EventuallyEnded waits up to within for every id to be listed as ended by
// the upstream, and records how each ended.
func EventuallyEnded(ctx context.Context, up *fixture.Fake, ids []string, within time.Duration) {
	GinkgoHelper()
	start := time.Now()
	Eventually(ctx, func(g Gomega) {
		st, err := up.FetchStats(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		for _, id := range ids {
			s, ok := st.Session(id)
			g.Expect(ok).To(BeTrue(), "upstream %s never saw session %s", up.ID, id)
			g.Expect(s.EndReason).NotTo(BeEmpty(), "upstream session %s on %s is still live", id, up.ID)
		}
	}).WithTimeout(within).WithPolling(50*time.Millisecond).Should(Succeed(),
		"upstream %s should observe its sessions %v end within %s", up.ID, ids, within)
	st := up.Stats(ctx)
	var how []string
	for _, id := range ids {
		if s, ok := st.Session(id); ok {
			how = append(how, Short(id)+" "+s.EndReason)
		}
	}
	conformance.Evidence("ended on "+up.ID, fmt.Sprintf("%s after %s", strings.Join(how, ", "), time.Since(start).Round(time.Millisecond)))
}

// StillLive expects the upstream to hold every id as a live session.
func StillLive(ctx context.Context, up *fixture.Fake, ids []string) {
	GinkgoHelper()
	st := up.Stats(ctx)
	for _, id := range ids {
		s, ok := st.Session(id)
		Expect(ok && s.EndReason == "").To(BeTrue(), "upstream session %s on %s should still be live (ended: %q)", id, up.ID, s.EndReason)
	}
}

// EvictionBound is the T of "each upstream observes its session end within
// T": how long a gateway may take to close upstream sessions it evicts.
const EvictionBound = 3 * time.Second

// DeleteSession sends DELETE path with the session id and expects a 2xx.
func DeleteSession(ctx context.Context, raw *client.Raw, path, session string) {
	GinkgoHelper()
	res, err := raw.Delete(ctx, path, session)
	Expect(err).NotTo(HaveOccurred())
	conformance.Evidencef("DELETE "+path, "session %s -> %d", Short(session), res.Status)
	Expect(res.Status).To(BeNumerically("~", 250, 50), "DELETE of session %s: %s", session, res.Body)
}

// ExpectGoneOn checks that POST, GET and DELETE on an ended session all get
// 404, on route r's endpoint of upstream counter.
func ExpectGoneOn(ctx context.Context, raw *client.Raw, r fixture.Route, session string) {
	GinkgoHelper()
	expectGone(ctx, raw, r.Path("counter"), r.Tool("counter", "get"), session, "POST/GET/DELETE after the end")
}

// ExpectGoneVia is ExpectGoneOn through one replica, named in the evidence.
func ExpectGoneVia(ctx context.Context, v Via) {
	GinkgoHelper()
	expectGone(ctx, v.Raw, v.Path, v.Tools.Name("get"), v.Session, "POST/GET/DELETE via "+v.Replica+" after the end")
}

func expectGone(ctx context.Context, raw *client.Raw, path, tool, session, evidence string) {
	GinkgoHelper()
	post, err := raw.CallTool(ctx, path, session, tool, nil)
	Expect(err).NotTo(HaveOccurred())
	get, err := raw.Get(ctx, path, session, time.Second)
	Expect(err).NotTo(HaveOccurred(), "GET on an ended session should be answered at once")
	del, err := raw.Delete(ctx, path, session)
	Expect(err).NotTo(HaveOccurred())
	conformance.Evidence(evidence, []int{post.Status, get.Status, del.Status})
	Expect(post.Status).To(Equal(404), "POST: %s", post.Body)
	Expect(get.Status).To(Equal(404), "GET: %s", get.Body)
	Expect(del.Status).To(Equal(404), "DELETE: %s", del.Body)
}

// Identities gives n sessions n distinct identities when the target has auth:
// tokens for the gateway (tok-i -> user-i) and the token of session i. Specs
// that need n distinct upstream sessions use it, so that an identity-keyed
// upstream pool (which ISO-1 and ISO-2 catch) does not break their
// arrangement. Without auth, or when the target knows only one identity
// (auth.mode static-token), tokens is nil and every token is "".
func Identities(n int) (tokens map[string]string, token func(i int) string) {
	if t := fixture.Target(); !t.Has(targetconf.Auth) || t.Auth.Mode != targetconf.AuthTokensFile {
		return nil, func(int) string { return "" }
	}
	tokens = map[string]string{}
	for i := range n {
		tokens[fmt.Sprintf("tok-%d", i)] = fmt.Sprintf("user-%d", i)
	}
	return tokens, func(i int) string { return fmt.Sprintf("tok-%d", i) }
}

// OrNone shows an empty string as "(none)" in evidence.
func OrNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
