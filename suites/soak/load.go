package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpgw/conformance/suites/client"
)

const (
	mcpPath       = "/mcp"
	incrementTool = "counter.increment"
	getTool       = "counter.get"
)

// session is one downstream session, reachable through every replica.
type session struct {
	id    string
	owner int           // the replica that answered initialize
	raws  []*client.Raw // one per replica, sharing JSON-RPC ids
	ids   atomic.Int64
	want  int // increments acknowledged so far
}

// openSession initializes on replica owner and prepares clients for the
// others.
func (c *cluster) openSession(ctx context.Context, owner int) (*session, error) {
	s := &session{owner: owner}
	for _, r := range c.replicas {
		s.raws = append(s.raws, &client.Raw{Base: r.URL(), Timeout: c.cfg.RequestTimeout, IDs: &s.ids})
	}
	hs, err := s.raws[owner].Initialize(ctx, mcpPath)
	if err != nil {
		return nil, err
	}
	s.id = hs.SessionID
	for _, raw := range s.raws {
		raw.ProtocolVersion = hs.ProtocolVersion
	}
	return s, nil
}

// openSessions opens n sessions, owners spread round-robin over the replicas
// in owners (all when nil), with at most workers at once.
func (c *cluster) openSessions(ctx context.Context, n, workers int, owners []int) ([]*session, error) {
	if owners == nil {
		for i := range c.replicas {
			owners = append(owners, i)
		}
	}
	out := make([]*session, n)
	errs := make([]error, n)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], errs[i] = c.openSession(ctx, owners[i%len(owners)])
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("open %d sessions: %w", n, err)
	}
	return out, nil
}

// outcome is one tools/call as a client saw it.
type outcome struct {
	status  int // 0: no response (transport error or deadline)
	value   int
	err     error
	elapsed time.Duration
	body    string
}

// increment calls counter.increment {by: 1} on session s through replica via.
func (s *session) increment(ctx context.Context, via int) outcome {
	start := time.Now()
	resp, err := s.raws[via].CallTool(ctx, mcpPath, s.id, incrementTool, map[string]any{"by": 1})
	o := outcome{elapsed: time.Since(start), err: err}
	if err != nil {
		return o
	}
	o.status, o.body = resp.Status, client.Clip(resp.Body, 200)
	o.value, o.err = resp.ToolValue()
	return o
}

// get reads the session's counter through replica via.
func (s *session) get(ctx context.Context, via int) (int, error) {
	resp, err := s.raws[via].CallTool(ctx, mcpPath, s.id, getTool, nil)
	if err != nil {
		return 0, err
	}
	return resp.ToolValue()
}

// tally counts calls across workers.
type tally struct {
	mu        sync.Mutex
	calls     int
	errors    int
	leaks     int // a value that is not the session's own count
	latencies latencies
	firstErr  string
}

func (t *tally) add(o outcome, want int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls++
	switch {
	case o.err != nil:
		t.errors++
		if t.firstErr == "" {
			t.firstErr = o.err.Error()
		}
	case o.value != want:
		t.leaks++
		if t.firstErr == "" {
			t.firstErr = fmt.Sprintf("session read %d after %d increments of its own", o.value, want)
		}
	default:
		t.latencies = append(t.latencies, o.elapsed)
	}
}

// drive makes calls increments on every session with workers at once,
// routing call j of a session through replica route(s, j). A session stops
// at its first failed call.
func drive(ctx context.Context, sessions []*session, calls, workers int, route func(s *session, j int) int, t *tally) {
	queue := make(chan *session)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for s := range queue {
				for j := range calls {
					if ctx.Err() != nil {
						return
					}
					o := s.increment(ctx, route(s, j))
					if o.err == nil && o.value == s.want+1 {
						s.want++
					}
					t.add(o, s.want)
					if o.err != nil {
						break
					}
				}
			}
		})
	}
	for _, s := range sessions {
		select {
		case queue <- s:
		case <-ctx.Done():
		}
	}
	close(queue)
	wg.Wait()
}

// roundRobin routes call j of a session through replica (owner + j) mod n:
// with three replicas two calls in three are forwarded to the owner.
func roundRobin(n int) func(*session, int) int {
	return func(s *session, j int) int { return (s.owner + j) % n }
}

// deleteAll ends every session through a replica that does not own it
// (when there are several), returning how many DELETEs failed.
func (c *cluster) deleteAll(ctx context.Context, sessions []*session, workers int) int {
	var failed atomic.Int64
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			via := (s.owner + 1) % len(s.raws)
			resp, err := s.raws[via].Delete(ctx, mcpPath, s.id)
			if err != nil || resp.Status/100 != 2 {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}

// copyLimited reads at most limit bytes of the response body into b.
func copyLimited(b *strings.Builder, resp *http.Response, limit int64) (int64, error) {
	return io.Copy(b, io.LimitReader(resp.Body, limit))
}
