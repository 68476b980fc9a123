package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Workload is a shape of traffic: how many sessions, how many concurrent
// workers, and how many measured calls each session makes.
type Workload struct {
	Name            string `json:"name"`
	Sessions        int    `json:"sessions"`
	Workers         int    `json:"workers"`
	CallsPerSession int    `json:"callsPerSession"`
}

var (
	W1 = Workload{Name: "W1", Sessions: 1, Workers: 1, CallsPerSession: 2000}
	W2 = Workload{Name: "W2", Sessions: 64, Workers: 16, CallsPerSession: 200}
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
	return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
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

// runWorkload measures w against t: sessions are set up and warmed first,
// then only the calls are timed; at the end every counter must be exact.
func runWorkload(ctx context.Context, t Target, w Workload, round int) (Sample, error) {
	return runWorkloadWith(ctx, t, w, round, newHTTPClient(w.Workers))
}

func runWorkloadWith(ctx context.Context, t Target, w Workload, round int, hc *http.Client) (Sample, error) {
	defer hc.CloseIdleConnections()
	sessions, err := openSessions(ctx, hc, t, w.Sessions)
	if err != nil {
		return Sample{}, err
	}
	defer closeSessions(sessions)

	latencies := make([][]time.Duration, w.Workers)
	errs := make([]error, w.Workers)
	var wg sync.WaitGroup
	start := time.Now()
	for worker := range w.Workers {
		wg.Go(func() {
			// Worker k serves sessions k, k+Workers, ... taking turns, so
			// calls of different sessions interleave on every worker.
			var mine []*mcp.ClientSession
			for i := worker; i < len(sessions); i += w.Workers {
				mine = append(mine, sessions[i])
			}
			lat := make([]time.Duration, 0, len(mine)*w.CallsPerSession)
			for range w.CallsPerSession {
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
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return Sample{}, fmt.Errorf("%s %s: %w", t.Name, w.Name, err)
		}
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	s := Sample{
		Target: t.Name, Workload: w.Name, Round: round, Calls: len(all), Seconds: elapsed.Seconds(),
		CallsPerSec: float64(len(all)) / elapsed.Seconds(),
		P50ms:       ms(percentile(all, 0.50)), P90ms: ms(percentile(all, 0.90)), P99ms: ms(percentile(all, 0.99)),
		Exact: true,
	}
	getTool := t.Tool[:len(t.Tool)-len("increment")] + "get"
	for _, cs := range sessions {
		v, err := callValue(ctx, cs, getTool, nil)
		if err != nil || v != 1+w.CallsPerSession {
			s.Exact = false
		}
	}
	return s, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
