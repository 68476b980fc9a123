package driver

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mcpgw/conformance/suites/child"
	"github.com/moby/moby/api/types/container"
	mnet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
)

// ContainerScope holds the containers of one spec: its fakes, its Redis and
// its replicas. Specs run in parallel on the run's one network, so every
// alias carries the scope's token: redis-<token>, counter-<token>,
// counter-c1-<token>, wedge-w-<token>, replica-1-<token>, ... Containers
// reach each other by these aliases; the test process reaches each through
// a port mapped on 127.0.0.1. Close removes every container of the scope.
type ContainerScope struct {
	c *Containers
	// Token makes the scope's aliases unique on the network.
	Token string

	mu       sync.Mutex
	aliases  map[string]bool
	replicas []*containerReplica
}

// containerStartTimeout bounds creating and starting one container.
const containerStartTimeout = time.Minute

// NewScope starts a scope for one spec.
func (c *Containers) NewScope() *ContainerScope {
	return &ContainerScope{c: c, Token: randomToken(3), aliases: map[string]bool{}}
}

// Close removes every container of the scope, in parallel, within a minute.
func (s *ContainerScope) Close(ctx context.Context) error {
	s.mu.Lock()
	for _, r := range s.replicas {
		containerReplicas.Delete(r.url)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return s.c.removeLabelled(ctx, LabelScope+"="+s.Token)
}

// alias returns base-<token>, or base-2-<token> for the second one of that
// base in the scope, and so on.
func (s *ContainerScope) alias(base string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	base = dnsLabel(base)
	for n := 1; ; n++ {
		a := base
		if n > 1 {
			a = fmt.Sprintf("%s-%d", base, n)
		}
		a += "-" + s.Token
		if !s.aliases[a] {
			s.aliases[a] = true
			return a
		}
	}
}

// dnsLabel lowercases s and keeps letters, digits and hyphens.
func dnsLabel(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// containerSpec is one container to start.
type containerSpec struct {
	alias string
	image string
	cmd   []string
	env   map[string]string
	port  int // the TCP port to map to 127.0.0.1 of the host
	files []testcontainers.ContainerFile
}

// runningContainer is a started container.
type runningContainer struct {
	ctr   *testcontainers.DockerContainer
	alias string
	// host is 127.0.0.1:<port>, the container's port as the test process
	// reaches it.
	host string
	pid  int
}

// ID is the container's id.
func (rc *runningContainer) ID() string { return rc.ctr.GetContainerID() }

// start creates and starts a container on the run's network under its
// alias, with its port mapped to a free port of 127.0.0.1 only.
func (s *ContainerScope) start(ctx context.Context, spec containerSpec) (*runningContainer, error) {
	ctx, cancel := context.WithTimeout(ctx, containerStartTimeout)
	defer cancel()
	port, ok := mnet.PortFrom(uint16(spec.port), mnet.TCP)
	if !ok {
		return nil, fmt.Errorf("container %s: bad port %d", spec.alias, spec.port)
	}
	loopback := netip.MustParseAddr("127.0.0.1")
	req := testcontainers.ContainerRequest{
		Image:          spec.image,
		Name:           "mcpconf-" + spec.alias + "-" + s.c.Run.ID,
		Cmd:            spec.cmd,
		Env:            spec.env,
		ExposedPorts:   []string{port.String()},
		Networks:       []string{s.c.Run.Network},
		NetworkAliases: map[string][]string{s.c.Run.Network: {spec.alias}},
		Labels:         map[string]string{LabelRun: s.c.Run.ID, LabelScope: s.Token},
		Files:          spec.files,
		HostConfigModifier: func(hc *container.HostConfig) {
			// Only loopback: nothing outside this machine reaches the run.
			hc.PortBindings = mnet.PortMap{port: {{HostIP: loopback}}}
		},
	}
	ctr, err := s.c.provider.CreateContainer(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("create container %s from %s: %w", spec.alias, spec.image, err)
	}
	dc := ctr.(*testcontainers.DockerContainer)
	if err := dc.Start(ctx); err != nil {
		return nil, fmt.Errorf("start container %s from %s: %w", spec.alias, spec.image, err)
	}
	ins, err := dc.Inspect(ctx)
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", spec.alias, err)
	}
	rc := &runningContainer{ctr: dc, alias: spec.alias}
	if ins.State != nil {
		rc.pid = ins.State.Pid
	}
	for _, b := range ins.NetworkSettings.Ports[port] {
		if b.HostPort != "" {
			rc.host = "127.0.0.1:" + b.HostPort
			break
		}
	}
	if rc.host == "" {
		return nil, fmt.Errorf("container %s: port %s was not mapped to the host", spec.alias, port)
	}
	return rc, nil
}

// remove force-removes one container within 10 s.
func (s *ContainerScope) remove(rc *runningContainer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = s.c.api.ContainerRemove(ctx, rc.ID(), client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

// logs returns what a container wrote so far, within 5 s.
func (s *ContainerScope) logs(rc *runningContainer) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b := child.NewLogBuffer(0)
	if err := copyLogs(ctx, s.c, rc.ID(), b, false); err != nil {
		return fmt.Sprintf("[logs of %s unavailable: %v]", rc.alias, err)
	}
	return b.String()
}

// FakeContainer is a fake upstream (counter or wedge) in a container.
type FakeContainer struct {
	// Alias is its name on the run's network.
	Alias string
	// Base is where the test process reaches it (/stats, /control):
	// http://127.0.0.1:<mapped port>.
	Base string
	// NetworkBase is where gateway replicas reach it: http://<alias>:<port>.
	NetworkBase string

	scope *ContainerScope
	rc    *runningContainer
}

// Fake images.
const (
	FakeCounter = "counter"
	FakeWedge   = "wedge"
)

// StartFake starts a fake upstream of kind FakeCounter or FakeWedge, known
// to gateways as upstream id, with extra arguments (e.g. --wedge delete),
// and waits until it serves GET /stats.
func (s *ContainerScope) StartFake(ctx context.Context, kind, id string, args []string) (*FakeContainer, error) {
	image, port := s.c.Run.Images.Counter, CounterContainerPort
	if kind == FakeWedge {
		image, port = s.c.Run.Images.Wedge, WedgeContainerPort
	}
	base := kind
	if id != kind {
		base = kind + "-" + id
	}
	rc, err := s.start(ctx, containerSpec{alias: s.alias(base), image: image, cmd: args, port: port})
	if err != nil {
		return nil, fmt.Errorf("fake upstream %s: %w", id, err)
	}
	f := &FakeContainer{Alias: rc.alias, Base: "http://" + rc.host, NetworkBase: fmt.Sprintf("http://%s:%d", rc.alias, port), scope: s, rc: rc}
	if err := waitHTTP(ctx, f.Base+"/stats", 15*time.Second); err != nil {
		return nil, fmt.Errorf("fake upstream %s (container %s): %w\n--- its log ---\n%s", id, rc.alias, err, tail(f.Logs(), 4000))
	}
	return f, nil
}

// Logs returns what the fake wrote so far.
func (f *FakeContainer) Logs() string { return f.scope.logs(f.rc) }

// RedisContainer is the Redis of one cluster, in a container.
type RedisContainer struct {
	// Alias is its name on the run's network.
	Alias string
	// URL is what replicas are given: redis://<alias>:6379/0.
	URL string
	// Addr is where the test process reaches it: 127.0.0.1:<mapped port>.
	Addr string

	scope *ContainerScope
	rc    *runningContainer
}

// StartRedis starts a Redis for this scope's cluster, persistence off, and
// waits until it answers PING. The same command line serves the default
// image and official ones (redis:7): CMD names the server in both.
func (s *ContainerScope) StartRedis(ctx context.Context) (*RedisContainer, error) {
	rc, err := s.start(ctx, containerSpec{
		alias: s.alias("redis"),
		image: s.c.Run.Images.Redis,
		cmd:   []string{"redis-server", "--port", fmt.Sprint(RedisContainerPort), "--protected-mode", "no", "--save", "", "--appendonly", "no"},
		port:  RedisContainerPort,
	})
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	r := &RedisContainer{Alias: rc.alias, URL: fmt.Sprintf("redis://%s:%d/0", rc.alias, RedisContainerPort), Addr: rc.host, scope: s, rc: rc}
	if err := WaitRedis(ctx, r.Addr, 15*time.Second, nil); err != nil {
		return nil, fmt.Errorf("redis (container %s from %s): %w\n--- its log ---\n%s", rc.alias, s.c.Run.Images.Redis, err, tail(r.Logs(), 4000))
	}
	return r, nil
}

// Logs returns what Redis wrote so far.
func (r *RedisContainer) Logs() string { return r.scope.logs(r.rc) }

// waitHTTP polls url until it answers 200, within timeout.
func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	return child.WaitReady(ctx, timeout, nil, child.HTTPStatus(url, http.StatusOK))
}

// WaitRedis pings the Redis at addr until it answers, within timeout, or
// until proc (nil: a Redis not started here) exits.
func WaitRedis(ctx context.Context, addr string, timeout time.Duration, proc *child.Process) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
	defer c.Close()
	ping := func(ctx context.Context) error {
		if err := c.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("PING %s: %w", addr, err)
		}
		return nil
	}
	if proc != nil {
		return proc.WaitReady(ctx, timeout, ping)
	}
	return child.WaitReady(ctx, timeout, nil, ping)
}
