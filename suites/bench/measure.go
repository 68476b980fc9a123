package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/suites/driver"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Memory is the gateway's resident memory per held downstream session.
type Memory struct {
	Route                 string  `json:"route"`
	Sessions              int     `json:"sessions"`
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

// settledRSS reads RSS a few times over a short while and keeps the lowest,
// so a garbage collection in flight does not count as held memory.
func settledRSS(pid int) (int64, error) {
	var best int64
	for i := range 5 {
		rss, err := rssBytes(pid)
		if err != nil {
			return 0, err
		}
		if i == 0 || rss < best {
			best = rss
		}
		time.Sleep(100 * time.Millisecond) // sampling interval, not synchronisation
	}
	return best, nil
}

func (cfg Config) measureMemory(ctx context.Context, dir, upstream string, route Target) (Memory, error) {
	m := Memory{Route: route.Name, Sessions: cfg.Sessions}
	gw, err := cfg.startGateway(ctx, subdir(dir, "mem"+strings.NewReplacer("/", "-", "{", "", "}", "", " ", "").Replace(route.Endpoint)), "bench-mem", upstream, "")
	if err != nil {
		return m, err
	}
	defer gw.Stop(5 * time.Second)
	hc := newHTTPClient(16)
	defer hc.CloseIdleConnections()
	t := Target{Name: "memory", Endpoint: gw.URL + route.Endpoint, Tool: route.Tool}
	// Warm the code paths and pools with a few sessions first.
	warm, err := openSessions(ctx, hc, t, 16)
	if err != nil {
		return m, err
	}
	closeSessions(warm)
	pid := gw.Pid()
	if m.BaselineBytes, err = settledRSS(pid); err != nil {
		return m, err
	}
	sessions, err := openSessions(ctx, hc, t, cfg.Sessions)
	if err != nil {
		return m, err
	}
	defer closeSessions(sessions)
	held, err := settledRSS(pid)
	if err != nil {
		return m, err
	}
	m.PerSessionBytes = float64(held-m.BaselineBytes) / float64(cfg.Sessions)

	streams, err := openStreams(ctx, gw.URL+route.Endpoint, sessions)
	if err != nil {
		return m, err
	}
	defer streams.close()
	withStreams, err := settledRSS(pid)
	if err != nil {
		return m, err
	}
	m.PerSessionStreamBytes = float64(withStreams-m.BaselineBytes) / float64(cfg.Sessions)
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
	wedge, err := startChild(ctx, "wedge", filepath.Join(cfg.BinDir, "wedge"), "/stats", "--wedge", "delete")
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
	if _, err := openSessions(ctx, hc, Target{Name: "wedge", Endpoint: gw.URL + "/mcp", Tool: "w.increment"}, cfg.Wedged); err != nil {
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
	w := Workload{Name: "W1", Sessions: 1, Workers: 1, CallsPerSession: 1000}
	var ownerP50, otherP50, ratio []float64
	for round := 1; round <= cfg.Rounds; round++ {
		a, err := runRouted(ctx, owner.URL, owner.URL, w, round)
		if err != nil {
			return no, err
		}
		b, err := runRouted(ctx, owner.URL, other.URL, w, round)
		if err != nil {
			return no, err
		}
		cfg.Logf("round %d owner p50 %.3f ms, non-owner p50 %.3f ms", round, a.P50ms, b.P50ms)
		ownerP50, otherP50, ratio = append(ownerP50, a.P50ms), append(otherP50, b.P50ms), append(ratio, b.P50ms/a.P50ms)
	}
	return NonOwner{OwnerP50ms: median(ownerP50), NonOwnerP50ms: median(otherP50), Ratio: median(ratio)}, nil
}

// runRouted opens sessions on initOn and sends every later request to callVia,
// as a load balancer without affinity would.
func runRouted(ctx context.Context, initOn, callVia string, w Workload, round int) (Sample, error) {
	t := Target{Name: "routed", Endpoint: initOn + "/mcp", Tool: "counter.increment"}
	return runWorkloadWith(ctx, t, w, round, &http.Client{Transport: &reroute{to: callVia, base: &http.Transport{MaxIdleConnsPerHost: 8}}})
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
