// Package soak runs the reference gateway's reliability checks under load
// and faults, on real processes: three replicas sharing a real
// redis-server, one counter upstream, raw-HTTP clients with every request
// bounded. Each phase starts its own cluster, applies load and at most one
// fault, and records figures and "nothing lost / nothing leaked / nothing
// hangs" checks. servers/soak is its command (`make soak`; a short
// variant runs in `make test`).
package soak

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"syscall"
	"time"
)

// Config says what to run and how hard.
type Config struct {
	GatewayBin  string `json:"-"`
	RedisServer string `json:"-"`
	Replicas    int    `json:"replicas"`
	// Sessions x CallsPerSession increments with Workers at once (load phase).
	Sessions        int `json:"sessions"`
	CallsPerSession int `json:"callsPerSession"`
	Workers         int `json:"workers"`
	// FaultSessions are the sessions of each fault phase.
	FaultSessions int `json:"faultSessions"`
	// RedisOutage is how long Redis is down in the Redis phase.
	RedisOutage time.Duration `json:"redisOutage"`
	// IdleSessions are opened and left to --session-timeout (0 = phase off).
	IdleSessions   int           `json:"idleSessions"`
	SessionTimeout time.Duration `json:"sessionTimeout"`
	// MalformedRounds repeats every malformed-request category.
	MalformedRounds int `json:"malformedRounds"`
	// RequestTimeout bounds every client request (the client's patience).
	RequestTimeout time.Duration `json:"requestTimeout"`
	// Only, when set, runs just these phases (by name).
	Only map[string]bool `json:"-"`
	// Logf reports progress.
	Logf func(format string, args ...any) `json:"-"`
}

// Full is `make soak`: a few minutes on 2 cores.
func Full() Config {
	return Config{
		Replicas: 3, Sessions: 500, CallsPerSession: 100, Workers: 32,
		FaultSessions: 60, RedisOutage: 5 * time.Second,
		IdleSessions: 10000, SessionTimeout: 20 * time.Second,
		MalformedRounds: 100, RequestTimeout: 5 * time.Second,
	}
}

// Short is the variant `make test` runs: about a minute.
func Short() Config {
	return Config{
		Replicas: 3, Sessions: 60, CallsPerSession: 20, Workers: 16,
		FaultSessions: 24, RedisOutage: 2 * time.Second,
		IdleSessions: 500, SessionTimeout: 5 * time.Second,
		MalformedRounds: 3, RequestTimeout: 5 * time.Second,
	}
}

// Phase names, in the order they run.
const (
	PhaseLoad      = "load"
	PhaseKill      = "SIGKILL owner"
	PhaseStop      = "SIGSTOP owner"
	PhaseRedis     = "Redis restart"
	PhaseIdle      = "idle expiry"
	PhaseMalformed = "malformed input"
)

// PhaseByKey maps a short phase key (load, kill, stop, redis, idle,
// malformed) to its name.
func PhaseByKey(key string) (string, bool) {
	name, ok := map[string]string{
		"load": PhaseLoad, "kill": PhaseKill, "stop": PhaseStop,
		"redis": PhaseRedis, "idle": PhaseIdle, "malformed": PhaseMalformed,
	}[key]
	return name, ok
}

// Run runs every phase and returns the report. An error means the soak
// could not run (a binary missing, a cluster that would not start): no
// check was judged.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.GatewayBin == "" {
		return nil, errors.New("soak: no gateway binary")
	}
	if cfg.RedisServer == "" {
		cfg.RedisServer = "redis-server"
	}
	path, err := exec.LookPath(cfg.RedisServer)
	if err != nil {
		return nil, fmt.Errorf("soak needs a real redis-server (Debian: apt-get install redis-server): %w", err)
	}
	cfg.RedisServer = path
	rep := &Report{Started: time.Now(), Config: cfg}
	phases := []struct {
		name string
		run  func(context.Context, *cluster, *Report) error
		opts clusterOptions
	}{
		{PhaseLoad, phaseLoad, clusterOptions{}},
		{PhaseKill, phaseKill, clusterOptions{}},
		{PhaseStop, phaseStop, clusterOptions{}},
		{PhaseRedis, phaseRedis, clusterOptions{}},
		{PhaseIdle, phaseIdle, clusterOptions{replicas: 1, sessionTimeout: cfg.SessionTimeout}},
		{PhaseMalformed, phaseMalformed, clusterOptions{replicas: 1}},
	}
	for _, p := range phases {
		if (p.name == PhaseIdle && cfg.IdleSessions == 0) || (len(cfg.Only) > 0 && !cfg.Only[p.name]) {
			continue
		}
		start := time.Now()
		cfg.Logf("phase %s: starting", p.name)
		c, err := startCluster(ctx, cfg, p.opts)
		if err != nil {
			return rep, fmt.Errorf("phase %s: %w", p.name, err)
		}
		err = p.run(ctx, c, rep)
		c.close()
		if err != nil {
			return rep, fmt.Errorf("phase %s: %w", p.name, err)
		}
		cfg.Logf("phase %s: done in %s", p.name, time.Since(start).Round(100*time.Millisecond))
	}
	rep.Took = time.Since(rep.Started)
	return rep, nil
}

// eventually polls cond every 50 ms until it holds or within passes, and
// returns how long it took and the last reason it gave.
func eventually(ctx context.Context, within time.Duration, cond func(context.Context) (bool, string)) (time.Duration, bool, string) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		ok, why := cond(ctx)
		if ok {
			return time.Since(start), true, why
		}
		last = why
		select {
		case <-ctx.Done():
			return time.Since(start), false, last
		case <-tick.C:
		}
	}
}

// sampler records the peak of a cluster's usage while load runs.
type sampler struct {
	peak usage
	stop chan struct{}
	done chan struct{}
}

func startSampler(ctx context.Context, c *cluster) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			if u, err := c.totalUsage(ctx); err == nil {
				s.peak.rss = max(s.peak.rss, u.rss)
				s.peak.goroutines = max(s.peak.goroutines, u.goroutines)
			}
			select {
			case <-s.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *sampler) finish() usage {
	close(s.stop)
	<-s.done
	return s.peak
}

// settle waits (bounded) for the cluster to come back to at most limit,
// after closing this process's idle connections to it, and returns the
// usage then. It reads once a second: scraping /metrics allocates, and a
// replica must see an idle spell to give memory back.
func settle(ctx context.Context, c *cluster, limit usage, within time.Duration) (usage, error) {
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(within)
	var u usage
	var lastErr error
	read := false
	for {
		got, err := c.totalUsage(ctx)
		if err == nil {
			u, read = got, true
			if u.working <= limit.working && u.rss <= limit.rss {
				return u, nil
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		pause(ctx, time.Second)
	}
	if !read {
		return u, lastErr
	}
	return u, nil
}

// signalReplica sends sig to replica i.
func (c *cluster) signalReplica(i int, sig syscall.Signal) error {
	return c.replicas[i].Signal(sig)
}
