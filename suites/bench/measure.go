package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/suites/child"
	"github.com/mcpgw/conformance/suites/driver"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Memory is the gateway's resident memory per held downstream session.
type Memory struct {
	Route                 string  `json:"route"`
	Sessions              int     `json:"sessions"`
	BaselineSessions      int     `json:"baselineSessions"`
	WarmCalls             int     `json:"warmCalls"` // made on the baseline sessions to reach steady states
	BaselineBytes         int64   `json:"baselineBytes"`
	PerSessionBytes       float64 `json:"perSessionBytes"`
	PerSessionStreamBytes float64 `json:"perSessionWithGetStreamBytes"`
}

// Shutdown is how long a replica holding wedged upstream sessions took to exit.
type Shutdown struct {
	Sessions       int     `json:"sessions"`
	TimeoutSeconds float64 `json:"shutdownTimeoutSeconds"`
	Seconds        float64 `json:"seconds"`
	BoundSeconds   float64 `json:"boundSeconds"`
	ExitCode       int     `json:"exitCode"`
}

// NonOwner compares a call through the owner replica with one through another.
type NonOwner struct {
	OwnerP50ms    float64 `json:"ownerP50ms"`
	NonOwnerP50ms float64 `json:"nonOwnerP50ms"`
	Ratio         float64 `json:"ratio"`
}

func subdir(dir, name string) string {
	d := filepath.Join(dir, name)
	os.MkdirAll(d, 0o755)
	return d
}

// baselineSessions are held while the baseline is read.
const baselineSessions = 100

// Steady-state detection: traffic runs on the baseline sessions in batches
// until a batch grows the resident size by less than steadyGrowth (at most
// maxWarmBatches batches). Then the traffic stops and the reading is taken
// once the resident size has rested: moved less than steadyGrowth over
// restWindow (waiting at most restMax).
const (
	warmCallsPerBatch = 1000
	maxWarmBatches    = 40
	steadyGrowth      = 0.01
	restWindow        = 5 * time.Second
	restMax           = 30 * time.Second
	restPoll          = 250 * time.Millisecond
)

// steadyRSS drives calls through the baseline sessions until the gateway's
// resident size stops growing, stops, and reads the size at rest. A
// collector keeps a heap goal above what is live and the resident size
// rises to it only as garbage is made, so without the traffic a reading
// would depend on how much happened to pass before, not on what is held.
// It returns the reading and the calls made.
func steadyRSS(ctx context.Context, pid int, base []*mcp.ClientSession, tool string) (int64, int, error) {
	calls := 0
	prev, err := child.RSS(pid)
	if err != nil {
		return 0, 0, err
	}
	for range maxWarmBatches {
		if _, _, err := callSlice(ctx, Target{Name: "warm-up", Tool: tool}, base, 16, warmCallsPerBatch/len(base)); err != nil {
			return 0, calls, err
		}
		calls += warmCallsPerBatch / len(base) * len(base)
		cur, err := child.RSS(pid)
		if err != nil {
			return 0, calls, err
		}
		if float64(cur-prev) < steadyGrowth*float64(prev) {
			break
		}
		prev = cur
	}
	rss, err := restingRSS(ctx, pid)
	return rss, calls, err
}

// restingRSS polls the resident size until it has moved less than
// steadyGrowth over restWindow, and returns the last reading; after restMax
// it returns the last reading as it is.
func restingRSS(ctx context.Context, pid int) (int64, error) {
	var window []int64
	keep := int(restWindow / restPoll)
	ticker := time.NewTicker(restPoll)
	defer ticker.Stop()
	deadline := time.After(restMax)
	for {
		rss, err := child.RSS(pid)
		if err != nil {
			return 0, err
		}
		window = append(window, rss)
		if len(window) > keep {
			window = window[1:]
		}
		if len(window) == keep && float64(slices.Max(window)-slices.Min(window)) <= steadyGrowth*float64(rss) {
			return rss, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-deadline:
			return rss, nil
		case <-ticker.C:
		}
	}
}

func (cfg Config) measureMemory(ctx context.Context, dir, upstream string, route Target, sessions int) (Memory, error) {
	m := Memory{Route: route.Name, Sessions: sessions}
	gw, err := cfg.startGateway(ctx, subdir(dir, fmt.Sprintf("mem%s-%d", strings.NewReplacer("/", "-", "{", "", "}", "", " ", "").Replace(route.Endpoint), sessions)), "bench-mem", upstream, "")
	if err != nil {
		return m, err
	}
	defer gw.Stop(5 * time.Second)
	hc := newHTTPClient(16)
	defer hc.CloseIdleConnections()
	t := Target{Name: "memory", Endpoint: gw.URL() + route.Endpoint, Tool: route.Tool}
	// The figure is a slope between two steady states: the baseline already
	// holds sessions that carried traffic, so one-time costs (pools, first
	// goroutine stacks, the collector's heap growing to its working size)
	// are not charged to the sessions measured.
	m.BaselineSessions = baselineSessions
	base, err := openSessions(ctx, hc, t, baselineSessions)
	if err != nil {
		return m, err
	}
	defer closeSessions(base)
	pid, err := gw.Pid()
	if err != nil {
		return m, err
	}
	var calls int
	if m.BaselineBytes, calls, err = steadyRSS(ctx, pid, base, t.Tool); err != nil {
		return m, err
	}
	m.WarmCalls += calls
	held, err := openSessions(ctx, hc, t, sessions)
	if err != nil {
		return m, err
	}
	defer closeSessions(held)
	withHeld, calls, err := steadyRSS(ctx, pid, base, t.Tool)
	if err != nil {
		return m, err
	}
	m.WarmCalls += calls
	m.PerSessionBytes = float64(withHeld-m.BaselineBytes) / float64(sessions)

	streams, err := openStreams(ctx, gw.URL()+route.Endpoint, held)
	if err != nil {
		return m, err
	}
	defer streams.close()
	withStreams, calls, err := steadyRSS(ctx, pid, base, t.Tool)
	if err != nil {
		return m, err
	}
	m.WarmCalls += calls
	m.PerSessionStreamBytes = float64(withStreams-m.BaselineBytes) / float64(sessions)
	return m, nil
}

type streamSet struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	hc     *http.Client
}

func (s *streamSet) close() { s.cancel(); s.wg.Wait(); s.hc.CloseIdleConnections() }

// openStreams opens one standalone GET stream per session and keeps it open.
func openStreams(ctx context.Context, endpoint string, sessions []*mcp.ClientSession) (*streamSet, error) {
	ctx, cancel := context.WithCancel(ctx)
	s := &streamSet{cancel: cancel, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(sessions) + 1}}}
	opened := make(chan error, len(sessions))
	for _, cs := range sessions {
		s.wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
			req.Header.Set("Accept", "text/event-stream")
			req.Header.Set("Mcp-Session-Id", cs.ID())
			resp, err := s.hc.Do(req)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("GET stream: %s", resp.Status)
			}
			opened <- err
			if err == nil {
				<-ctx.Done()
				resp.Body.Close()
			}
		})
	}
	deadline := time.After(30 * time.Second)
	for range sessions {
		select {
		case err := <-opened:
			if err != nil {
				s.close()
				return nil, err
			}
		case <-deadline:
			s.close()
			return nil, fmt.Errorf("GET streams not open within 30 s")
		}
	}
	return s, nil
}

// measureShutdown holds cfg.Wedged upstream sessions with a wedge whose DELETE
// never answers, then times SIGTERM to exit.
func (cfg Config) measureShutdown(ctx context.Context, dir string) (Shutdown, error) {
	const timeout = 2 * time.Second
	sh := Shutdown{Sessions: cfg.Wedged, TimeoutSeconds: timeout.Seconds(), BoundSeconds: (2*timeout + time.Second).Seconds()}
	wedge, err := startHelper(ctx, "wedge", filepath.Join(cfg.BinDir, "wedge"), "/stats", "--wedge", "delete")
	if err != nil {
		return sh, err
	}
	defer wedge.stop()
	rc := driver.ReplicaConfig{Bin: filepath.Join(cfg.BinDir, "gateway"), Dir: subdir(dir, "shutdown"), ID: "bench-shutdown",
		Upstreams: []driver.Upstream{{ID: "w", URL: wedge.url + "/mcp"}}, ShutdownTimeout: timeout, Env: cfg.GatewayEnv}
	gw, err := driver.StartReplica(ctx, rc)
	if err != nil {
		return sh, err
	}
	defer gw.Stop(time.Second)
	hc := newHTTPClient(16)
	defer hc.CloseIdleConnections()
	// The client sessions are abandoned, not closed: closing them would
	// start the wedged DELETEs before the shutdown does.
	if _, err := openSessions(ctx, hc, Target{Name: "wedge", Endpoint: gw.URL() + "/mcp", Tool: "w.increment"}, cfg.Wedged); err != nil {
		return sh, err
	}
	start := time.Now()
	if err := gw.Signal(syscall.SIGTERM); err != nil {
		return sh, err
	}
	exit, err := gw.WaitExit(time.Duration(sh.BoundSeconds*float64(time.Second)) + 10*time.Second)
	if err != nil {
		return sh, fmt.Errorf("gateway with %d wedged sessions did not exit: %w", cfg.Wedged, err)
	}
	sh.Seconds, sh.ExitCode = time.Since(start).Seconds(), exit.Code
	return sh, nil
}

// measureNonOwner runs W1-shaped traffic through the owner and through a
// non-owner replica, interleaved, and compares p50s.
func (cfg Config) measureNonOwner(ctx context.Context, dir, upstream string) (NonOwner, error) {
	var no NonOwner
	redis, err := driver.StartRedis()
	if err != nil {
		return no, err
	}
	defer redis.Close()
	owner, err := cfg.startGateway(ctx, subdir(dir, "owner"), "bench-owner", upstream, redis.URL())
	if err != nil {
		return no, err
	}
	defer owner.Stop(5 * time.Second)
	other, err := cfg.startGateway(ctx, subdir(dir, "other"), "bench-other", upstream, redis.URL())
	if err != nil {
		return no, err
	}
	defer other.Stop(5 * time.Second)
	w := Workload{Name: "W1", Sessions: 1, Workers: 1, CallsPerSession: 1000, SliceCalls: 1}
	var ownerP50, otherP50, ratio []float64
	for round := 1; round <= cfg.Rounds; round++ {
		samples, err := runInterleaved(ctx, w, round, []*lane{routed(owner.URL(), owner.URL()), routed(owner.URL(), other.URL())})
		if err != nil {
			return no, err
		}
		a, b := samples[0], samples[1]
		cfg.Logf("round %d owner p50 %.3f ms, non-owner p50 %.3f ms", round, a.P50ms, b.P50ms)
		ownerP50, otherP50, ratio = append(ownerP50, a.P50ms), append(otherP50, b.P50ms), append(ratio, b.P50ms/a.P50ms)
	}
	return NonOwner{OwnerP50ms: median(ownerP50), NonOwnerP50ms: median(otherP50), Ratio: median(ratio)}, nil
}

// routed is a lane whose sessions open on initOn and send every later
// request to callVia, as a load balancer without affinity would.
func routed(initOn, callVia string) *lane {
	t := Target{Name: "via " + callVia, Endpoint: initOn + "/mcp", Tool: "counter.increment"}
	return newLane(t, &http.Client{Transport: &reroute{to: callVia, base: &http.Transport{MaxIdleConnsPerHost: 8}}})
}

// reroute sends requests that carry a session id to another replica.
type reroute struct {
	to   string
	base http.RoundTripper
}

func (r *reroute) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Mcp-Session-Id") != "" {
		req = req.Clone(req.Context())
		req.URL.Host = r.to[len("http://"):]
		req.Host = req.URL.Host
	}
	return r.base.RoundTrip(req)
}
