package soak

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/mcpgw/conformance/suites/child"
	"github.com/mcpgw/conformance/suites/driver"
)

// cluster is one phase's world: a real redis-server, a counter upstream in
// this process, and gateway replicas as child processes sharing the Redis.
type cluster struct {
	cfg        Config
	dir        string
	redis      *redisServer
	counter    *counter.Server
	counterSrv *http.Server
	counterURL string // base URL: /mcp and /stats
	replicas   []driver.Replica
	pprof      []string // each replica's MCPGW_PPROF address
	adminToken string
}

// clusterOptions adjust one phase's cluster.
type clusterOptions struct {
	replicas       int           // default cfg.Replicas
	sessionTimeout time.Duration // --session-timeout (0: the gateway's default)
}

func startCluster(ctx context.Context, cfg Config, opts clusterOptions) (*cluster, error) {
	if opts.replicas == 0 {
		opts.replicas = cfg.Replicas
	}
	dir, err := os.MkdirTemp("", "mcpconf-soak-")
	if err != nil {
		return nil, err
	}
	c := &cluster{cfg: cfg, dir: dir, adminToken: "admin-" + randomHex(8)}
	if c.redis, err = startRedisServer(ctx, cfg.RedisServer, filepath.Join(dir, "redis")); err != nil {
		c.close()
		return nil, err
	}
	c.counter = counter.New(counter.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.close()
		return nil, err
	}
	c.counterSrv = &http.Server{Handler: c.counter.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = c.counterSrv.Serve(ln) }()
	c.counterURL = "http://" + ln.Addr().String()
	ups := []driver.Upstream{{ID: "counter", URL: c.counterURL + "/mcp", Name: "counter"}}
	for i := range opts.replicas {
		rdir := filepath.Join(dir, fmt.Sprintf("r%d", i+1))
		if err := os.MkdirAll(rdir, 0o755); err != nil {
			c.close()
			return nil, err
		}
		pprofAddr, err := driver.FreeAddr()
		if err != nil {
			c.close()
			return nil, err
		}
		c.pprof = append(c.pprof, pprofAddr)
		r, err := driver.StartReplica(ctx, driver.ReplicaConfig{
			Bin:             cfg.GatewayBin,
			Dir:             rdir,
			ID:              fmt.Sprintf("r%d", i+1),
			Upstreams:       ups,
			Redis:           c.redis.url(),
			ShutdownTimeout: time.Second,
			SessionTimeout:  opts.sessionTimeout,
			AdminToken:      c.adminToken,
			ClusterSecret:   "cluster-" + c.adminToken,
			ReadyTimeout:    15 * time.Second,
			// The goroutine profile tells a leak from pooled connections.
			Env: map[string]string{"MCPGW_PPROF": pprofAddr},
		})
		if err != nil {
			c.close()
			return nil, fmt.Errorf("replica r%d: %w", i+1, err)
		}
		c.replicas = append(c.replicas, r)
	}
	return c, nil
}

func (c *cluster) close() {
	for _, r := range c.replicas {
		_ = r.Signal(syscall.SIGCONT) // a frozen replica cannot shut down
		r.Stop(5 * time.Second)
	}
	if c.counterSrv != nil {
		_ = c.counterSrv.Close()
		c.counter.Close()
	}
	if c.redis != nil {
		c.redis.stop()
	}
	_ = os.RemoveAll(c.dir)
}

// stats reads the counter's /stats within a second.
func (c *cluster) stats(ctx context.Context) (*fakes.Stats, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return fakes.FetchStats(ctx, c.counterURL)
}

// usage is one replica's resident memory and goroutines.
type usage struct {
	rss        int64
	goroutines int
	// working are the goroutines other than those of idle keep-alive
	// connections (pooled for reuse, bounded, and closed when idle long
	// enough): what a leak would add to.
	working int
}

// usage reads replica i's RSS from /proc and its goroutines from /metrics.
func (c *cluster) usage(ctx context.Context, i int) (usage, error) {
	r := c.replicas[i]
	var u usage
	pid, err := r.Pid()
	if err != nil {
		return u, err
	}
	rss, err := child.RSS(pid)
	if err != nil {
		return u, err
	}
	u.rss = rss
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return u, err
	}
	defer resp.Body.Close()
	var body strings.Builder
	if _, err := copyLimited(&body, resp, 4<<20); err != nil {
		return u, err
	}
	found := false
	for line := range strings.Lines(body.String()) {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return u, fmt.Errorf("go_goroutines: %w", err)
			}
			u.goroutines, found = int(f), true
		}
	}
	if !found {
		return u, fmt.Errorf("replica %s: no go_goroutines in /metrics", r.ID())
	}
	if u.working, err = workingGoroutines(ctx, c.pprof[i]); err != nil {
		return u, fmt.Errorf("replica %s: %w", r.ID(), err)
	}
	return u, nil
}

// idleConnFrames mark the goroutines of an idle keep-alive connection: the
// client side of a pooled connection, or a server waiting for the next
// request on one.
var idleConnFrames = []string{"net/http.(*persistConn).readLoop", "net/http.(*persistConn).writeLoop", "net/http.(*conn).readRequest"}

// workingGoroutines reads a replica's goroutine profile (debug=1: groups of
// identical stacks with their counts) and counts the goroutines that are
// not idle connections.
func workingGoroutines(ctx context.Context, pprofAddr string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+pprofAddr+"/debug/pprof/goroutine?debug=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("goroutine profile: %w", err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	if _, err := copyLimited(&body, resp, 16<<20); err != nil {
		return 0, err
	}
	working := 0
	for _, group := range strings.Split(body.String(), "\n\n") {
		head, _, _ := strings.Cut(group, "\n")
		countText, _, ok := strings.Cut(head, " @ ")
		if !ok {
			continue // the header line, or a trailer
		}
		n, err := strconv.Atoi(strings.TrimSpace(countText))
		if err != nil {
			continue
		}
		idle := false
		for _, f := range idleConnFrames {
			if strings.Contains(group, f) {
				idle = true
			}
		}
		if !idle {
			working += n
		}
	}
	return working, nil
}

// totalUsage sums usage over the replicas that are running.
func (c *cluster) totalUsage(ctx context.Context) (usage, error) {
	var sum usage
	for i, r := range c.replicas {
		if !r.Running() {
			continue
		}
		u, err := c.usage(ctx, i)
		if err != nil {
			return sum, err
		}
		sum.rss += u.rss
		sum.goroutines += u.goroutines
		sum.working += u.working
	}
	return sum, nil
}

// adminSessions counts the downstream sessions replica i says it holds.
func (c *cluster) adminSessions(ctx context.Context, i int) (int, error) {
	api := &driver.AdminAPI{BaseURL: c.replicas[i].URL(), Token: c.adminToken, Timeout: 2 * time.Second}
	view, err := api.Sessions(ctx)
	if err != nil {
		return 0, err
	}
	return len(view.Sessions), nil
}

// redisServer is a real redis-server that can be stopped and started again
// on the same port, without its data (persistence is off).
type redisServer struct {
	bin, dir, addr string
	proc           *child.Process
}

func startRedisServer(ctx context.Context, bin, dir string) (*redisServer, error) {
	addr, err := driver.FreeAddr()
	if err != nil {
		return nil, err
	}
	s := &redisServer{bin: bin, dir: dir, addr: addr}
	return s, s.start(ctx)
}

func (s *redisServer) url() string { return "redis://" + s.addr + "/0" }

func (s *redisServer) start(ctx context.Context) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(s.addr)
	p, err := child.Start(child.Options{
		Name: "redis-server", Path: s.bin, Dir: s.dir, DieWithParent: true,
		Args: []string{"--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no"},
	})
	if err != nil {
		return err
	}
	s.proc = p
	quietRedis.Do(func() { redis.SetLogger(discardRedisLog{}) })
	err = driver.WaitRedis(ctx, s.addr, 10*time.Second, p)
	if err != nil {
		p.Stop(2 * time.Second)
		return fmt.Errorf("redis-server on %s: %w\n%s", s.addr, err, p.Log())
	}
	return nil
}

// kill ends the server at once, as a crash would.
func (s *redisServer) kill() {
	if s.proc != nil {
		_ = s.proc.Signal(syscall.SIGKILL)
		_, _ = s.proc.WaitExit(5 * time.Second)
	}
}

func (s *redisServer) stop() {
	if s.proc != nil {
		s.proc.Stop(2 * time.Second)
	}
}

// quietRedis keeps go-redis from printing each refused dial while the
// soak waits for a redis-server to come up: the wait reports its own error.
var quietRedis sync.Once

type discardRedisLog struct{}

func (discardRedisLog) Printf(context.Context, string, ...any) {}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
