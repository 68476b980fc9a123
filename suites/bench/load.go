package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Workload is a shape of traffic: how many sessions, how many concurrent
// workers, and how many measured calls each session makes. Targets take
// turns every SliceCalls calls per session.
type Workload struct {
	Name            string `json:"name"`
	Sessions        int    `json:"sessions"`
	Workers         int    `json:"workers"`
	CallsPerSession int    `json:"callsPerSession"`
	SliceCalls      int    `json:"sliceCalls"`
}

var (
	W1 = Workload{Name: "W1", Sessions: 1, Workers: 1, CallsPerSession: 2000, SliceCalls: 1}
	W2 = Workload{Name: "W2", Sessions: 64, Workers: 16, CallsPerSession: 200, SliceCalls: 10}
)

// Target is one MCP endpoint in front of the counter and the name of its
// increment tool there.
type Target struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"`
	Tool     string `json:"tool"`
}

// Sample is one workload run against one target.
type Sample struct {
	Target      string  `json:"target"`
	Workload    string  `json:"workload"`
	Round       int     `json:"round"`
	Calls       int     `json:"calls"`
	Seconds     float64 `json:"seconds"`
	CallsPerSec float64 `json:"callsPerSec"`
	P50ms       float64 `json:"p50ms"`
	P90ms       float64 `json:"p90ms"`
	P99ms       float64 `json:"p99ms"`
	// Exact: every session's counter read exactly its own calls at the end.
	Exact bool `json:"exact"`
}

const callTimeout = 10 * time.Second

// newHTTPClient is shared by every session of a run, as a real client
// process would share its connection pool.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns * 2, MaxIdleConnsPerHost: conns * 2, IdleConnTimeout: 30 * time.Second}}
}

func openSession(ctx context.Context, hc *http.Client, endpoint string) (*mcp.ClientSession, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "mcpgw-bench", Version: "0"}, nil)
	return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
}

func callValue(ctx context.Context, cs *mcp.ClientSession, tool string, args map[string]any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return 0, err
	}
	if res.IsError {
		return 0, fmt.Errorf("%s: tool error", tool)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var v struct{ Value int }
	err = json.Unmarshal(raw, &v)
	return v.Value, err
}

// openSessions opens n sessions concurrently and makes one warm-up call on each.
func openSessions(ctx context.Context, hc *http.Client, t Target, n int) ([]*mcp.ClientSession, error) {
	sessions := make([]*mcp.ClientSession, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cs, err := openSession(ctx, hc, t.Endpoint)
			if err == nil {
				_, err = callValue(ctx, cs, t.Tool, map[string]any{"by": 1})
			}
			sessions[i], errs[i] = cs, err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			closeSessions(sessions)
			return nil, fmt.Errorf("%s: session %d: %w", t.Name, i, err)
		}
	}
	return sessions, nil
}

func closeSessions(sessions []*mcp.ClientSession) {
	var wg sync.WaitGroup
	for _, cs := range sessions {
		if cs != nil {
			wg.Go(func() { cs.Close() })
		}
	}
	wg.Wait()
}

// lane is one target of an interleaved run and the HTTP client its sessions
// share, as a real client process would share its connection pool.
type lane struct {
	target   Target
	hc       *http.Client
	sessions []*mcp.ClientSession
	lat      []time.Duration
	elapsed  time.Duration
}

func newLane(t Target, hc *http.Client) *lane { return &lane{target: t, hc: hc} }

// runInterleaved measures w against every lane in one round. Sessions are
// set up and warmed with one call first; then the lanes take turns, each
// running SliceCalls calls per session before the next lane's turn, the
// first turn rotating from slice to slice. Machine drift within the round so
// hits every lane alike. Only the calls are timed; at the end every
// session's counter must read exactly its own calls.
func runInterleaved(ctx context.Context, w Workload, round int, lanes []*lane) ([]Sample, error) {
	defer func() {
		for _, l := range lanes {
			closeSessions(l.sessions)
			l.hc.CloseIdleConnections()
		}
	}()
	for _, l := range lanes {
		var err error
		if l.sessions, err = openSessions(ctx, l.hc, l.target, w.Sessions); err != nil {
			return nil, err
		}
	}
	per := max(1, w.SliceCalls)
	for slice := range w.CallsPerSession / per {
		for k := range lanes {
			l := lanes[(slice+k)%len(lanes)]
			lat, took, err := callSlice(ctx, l.target, l.sessions, w.Workers, per)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", l.target.Name, w.Name, err)
			}
			l.lat, l.elapsed = append(l.lat, lat...), l.elapsed+took
		}
	}
	var out []Sample
	for _, l := range lanes {
		slices.Sort(l.lat)
		s := Sample{
			Target: l.target.Name, Workload: w.Name, Round: round, Calls: len(l.lat), Seconds: l.elapsed.Seconds(),
			CallsPerSec: float64(len(l.lat)) / l.elapsed.Seconds(),
			P50ms:       ms(percentile(l.lat, 0.50)), P90ms: ms(percentile(l.lat, 0.90)), P99ms: ms(percentile(l.lat, 0.99)),
			Exact: true,
		}
		getTool := l.target.Tool[:len(l.target.Tool)-len("increment")] + "get"
		want := 1 + w.CallsPerSession/per*per
		for _, cs := range l.sessions {
			if v, err := callValue(ctx, cs, getTool, nil); err != nil || v != want {
				s.Exact = false
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// callSlice makes calls increments on every session with workers concurrent
// workers and returns each call's latency and the slice's wall time.
func callSlice(ctx context.Context, t Target, sessions []*mcp.ClientSession, workers, calls int) ([]time.Duration, time.Duration, error) {
	latencies := make([][]time.Duration, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for worker := range workers {
		wg.Go(func() {
			// Worker k serves sessions k, k+workers, ... taking turns, so
			// calls of different sessions interleave on every worker.
			var mine []*mcp.ClientSession
			for i := worker; i < len(sessions); i += workers {
				mine = append(mine, sessions[i])
			}
			lat := make([]time.Duration, 0, len(mine)*calls)
			for range calls {
				for _, cs := range mine {
					t0 := time.Now()
					if _, err := callValue(ctx, cs, t.Tool, map[string]any{"by": 1}); err != nil {
						errs[worker] = err
						return
					}
					lat = append(lat, time.Since(t0))
				}
			}
			latencies[worker] = lat
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return nil, 0, err
	}
	return slices.Concat(latencies...), took, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
