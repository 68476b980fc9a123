// Package bench measures what the reference gateway adds to every tool call,
// against a bare reverse proxy on the same loopback hop, and checks the
// bounds of the performance issue. servers/bench is its command.
package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/mcpgw/conformance/suites/driver"
)

// Config says where the binaries are and how much to measure.
type Config struct {
	BinDir   string // bin/gateway, bin/counter, bin/wedge
	Self     string // this program, re-run as the bare proxy
	OutDir   string
	Rounds   int                              // interleaved rounds, at least 3
	Logf     func(format string, args ...any) // progress
	Sessions int                              // memory sessions (default 500)
	// CrossCheckSessions repeats the memory figure at a larger scale, where
	// the collector's slack weighs less per session (default 2000, <0 = off).
	CrossCheckSessions int
	Wedged             int // wedged sessions for the shutdown figure (default 1000)
	// GatewayEnv is added to every gateway replica's environment (e.g. GOGC).
	GatewayEnv map[string]string
	// Only, when set, limits the run to these parts: load, memory, shutdown, nonowner.
	Only map[string]bool
}

func (cfg Config) runs(part string) bool { return len(cfg.Only) == 0 || cfg.Only[part] }

// Results is everything one bench run measured.
type Results struct {
	Started   time.Time `json:"started"`
	GoVersion string    `json:"goVersion"`
	CPUs      int       `json:"cpus"`
	Rounds    int       `json:"rounds"`
	// LoadStealPercent is the share of CPU time the hypervisor took from
	// this machine during the load rounds.
	LoadStealPercent float64  `json:"loadStealPercent"`
	Samples          []Sample `json:"samples"`
	Ratios           []Ratio  `json:"ratios"`
	Memory           []Memory `json:"memory"` // per route and scale
	Shutdown         Shutdown `json:"shutdown"`
	NonOwner         NonOwner `json:"nonOwner"`
	Checks           []Check  `json:"checks"`
}

// Ratio compares a target with the bare proxy: the median across rounds of
// each round's ratio, so drift between rounds cancels out.
type Ratio struct {
	Target      string  `json:"target"`
	Workload    string  `json:"workload"`
	P50         float64 `json:"p50VsProxy"`
	CallsPerSec float64 `json:"callsPerSecVsProxy"`
}

// Check is one bound of the performance issue and whether it held.
type Check struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Bound float64 `json:"bound"`
	Unit  string  `json:"unit"`
	OK    bool    `json:"ok"`
}

const (
	targetDirect    = "direct"
	targetProxy     = "proxy"
	targetGatewayMC = "gateway /mcp"
	targetGatewayPS = "gateway /servers/{id}/mcp"
)

// Run measures everything and writes out/bench.json, bench.md and bench.svg.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if cfg.Rounds < 3 {
		cfg.Rounds = 3
	}
	if cfg.Sessions == 0 {
		cfg.Sessions = 500
	}
	if cfg.Wedged == 0 {
		cfg.Wedged = 1000
	}
	if cfg.CrossCheckSessions == 0 {
		cfg.CrossCheckSessions = 2000
	}
	res := &Results{Started: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), Rounds: cfg.Rounds}
	dir, err := os.MkdirTemp("", "mcpgw-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	counter, err := startHelper(ctx, "counter", filepath.Join(cfg.BinDir, "counter"), "/stats")
	if err != nil {
		return nil, err
	}
	defer counter.stop()
	proxy, err := startHelper(ctx, "proxy", cfg.Self, "/healthz", "--serve-proxy", counter.url)
	if err != nil {
		return nil, err
	}
	defer proxy.stop()
	gw, err := cfg.startGateway(ctx, subdir(dir, "gw"), "bench-gw", counter.url+"/mcp", "")
	if err != nil {
		return nil, err
	}
	defer gw.Stop(5 * time.Second)

	targets := []Target{
		{Name: targetDirect, Endpoint: counter.url + "/mcp", Tool: "increment"},
		{Name: targetProxy, Endpoint: proxy.url + "/mcp", Tool: "increment"},
		{Name: targetGatewayMC, Endpoint: gw.URL() + "/mcp", Tool: "counter.increment"},
		{Name: targetGatewayPS, Endpoint: gw.URL() + "/servers/counter/mcp", Tool: "increment"},
	}
	// Interleaved: A B C D A B C D ..., call by call in W1 and slice by
	// slice in W2, so drift hits every target alike.
	steal := startSteal()
	for round := 1; round <= cfg.Rounds && cfg.runs("load"); round++ {
		for _, w := range []Workload{W1, W2} {
			var lanes []*lane
			for _, t := range targets {
				lanes = append(lanes, newLane(t, newHTTPClient(w.Workers)))
			}
			samples, err := runInterleaved(ctx, w, round, lanes)
			if err != nil {
				return nil, err
			}
			for _, s := range samples {
				cfg.Logf("round %d %-3s %-26s %8.0f calls/s  p50 %.3f ms  p99 %.3f ms  exact=%v", round, w.Name, s.Target, s.CallsPerSec, s.P50ms, s.P99ms, s.Exact)
			}
			res.Samples = append(res.Samples, samples...)
		}
	}
	res.Ratios = ratios(res.Samples)
	if cfg.runs("load") {
		res.LoadStealPercent = steal.percent()
		cfg.Logf("CPU steal during the load rounds: %.1f%%", res.LoadStealPercent)
	}

	if cfg.runs("memory") {
		scales := []int{cfg.Sessions}
		if cfg.CrossCheckSessions > 0 {
			scales = append(scales, cfg.CrossCheckSessions)
		}
		for _, route := range []Target{
			{Name: targetGatewayMC, Endpoint: "/mcp", Tool: "counter.increment"},
			{Name: targetGatewayPS, Endpoint: "/servers/counter/mcp", Tool: "increment"},
		} {
			for _, n := range scales {
				cfg.Logf("memory (%s): %d held sessions, without and with a GET stream each", route.Name, n)
				m, err := cfg.measureMemory(ctx, dir, counter.url+"/mcp", route, n)
				if err != nil {
					return nil, err
				}
				res.Memory = append(res.Memory, m)
			}
		}
	}
	if cfg.runs("shutdown") {
		cfg.Logf("shutdown: %d wedged upstream sessions", cfg.Wedged)
		if res.Shutdown, err = cfg.measureShutdown(ctx, dir); err != nil {
			return nil, err
		}
	}
	if cfg.runs("nonowner") {
		cfg.Logf("non-owner replica: calls through the owner and through a non-owner")
		if res.NonOwner, err = cfg.measureNonOwner(ctx, dir, counter.url+"/mcp"); err != nil {
			return nil, err
		}
	}
	res.Checks = checks(res)
	return res, write(cfg.OutDir, res)
}

func (cfg Config) startGateway(ctx context.Context, dir, id, upstream, redis string, extra ...string) (driver.Replica, error) {
	rc := driver.ReplicaConfig{
		Bin: filepath.Join(cfg.BinDir, "gateway"), Dir: dir, ID: id,
		Upstreams:       []driver.Upstream{{ID: "counter", URL: upstream}},
		ShutdownTimeout: 2 * time.Second, Redis: redis, Env: cfg.GatewayEnv,
	}
	if redis != "" {
		rc.ClusterSecret = "bench"
	}
	return driver.StartReplica(ctx, rc)
}

// ratios divides each gateway sample by the proxy's of the same round and
// workload, and takes the median across rounds.
func ratios(samples []Sample) []Ratio {
	proxy := map[[2]any]Sample{}
	for _, s := range samples {
		if s.Target == targetProxy {
			proxy[[2]any{s.Workload, s.Round}] = s
		}
	}
	var out []Ratio
	for _, target := range []string{targetDirect, targetGatewayMC, targetGatewayPS} {
		for _, w := range []string{W1.Name, W2.Name} {
			var p50, cps []float64
			for _, s := range samples {
				if s.Target != target || s.Workload != w {
					continue
				}
				p := proxy[[2]any{w, s.Round}]
				p50 = append(p50, s.P50ms/p.P50ms)
				cps = append(cps, s.CallsPerSec/p.CallsPerSec)
			}
			out = append(out, Ratio{Target: target, Workload: w, P50: median(p50), CallsPerSec: median(cps)})
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

func checks(r *Results) []Check {
	var out []Check
	add := func(name string, value, bound float64, unit string, lessIsBetter bool) {
		ok := value <= bound
		if !lessIsBetter {
			ok = value >= bound
		}
		out = append(out, Check{Name: name, Value: value, Bound: bound, Unit: unit, OK: ok})
	}
	for _, x := range r.Ratios {
		if x.Target == targetDirect || x.P50 == 0 {
			continue
		}
		add(fmt.Sprintf("%s %s p50 vs proxy", x.Target, x.Workload), x.P50, 1.25, "x", true)
		if x.Workload == W2.Name {
			add(fmt.Sprintf("%s W2 calls/s vs proxy", x.Target), x.CallsPerSec, 0.8, "x", false)
		}
	}
	for _, m := range r.Memory {
		add(fmt.Sprintf("%s resident memory per held session (%d held)", m.Route, m.Sessions), m.PerSessionBytes/1000, 40, "KB", true)
		add(fmt.Sprintf("%s resident memory per held session with a GET stream (%d held)", m.Route, m.Sessions), m.PerSessionStreamBytes/1000, 90, "KB", true)
	}
	if r.Shutdown.Sessions > 0 {
		add(fmt.Sprintf("shutdown with %d wedged upstream sessions", r.Shutdown.Sessions), r.Shutdown.Seconds, r.Shutdown.BoundSeconds, "s", true)
	}
	if r.NonOwner.Ratio > 0 {
		add("non-owner p50 vs owner", r.NonOwner.Ratio, 2, "x", true)
	}
	exact := 1.0
	for _, s := range r.Samples {
		if !s.Exact {
			exact = 0
		}
	}
	add("every session's counter exact", exact, 1, "", false)
	return out
}

// ServeProxy runs the bare reverse proxy the gateway is compared with: Go's
// httputil.ReverseProxy, streaming, full duplex, nothing else.
func ServeProxy(listen, upstream string) error {
	u, err := url.Parse(upstream)
	if err != nil {
		return err
	}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.Host = u.Host },
		FlushInterval: -1,
		Transport:     &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 90 * time.Second},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		rp.ServeHTTP(w, r)
	})
	return (&http.Server{Addr: listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}).ListenAndServe()
}
