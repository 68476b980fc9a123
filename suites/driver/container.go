package driver

// The container driver (README.md, "Containers"): gateway
// replicas, fake upstreams and Redis run as containers on one Docker network,
// through testcontainers-go. A run has one network and one set of images
// (Containers); each spec gets a ContainerScope whose containers carry
// aliases unique on the network (container_scope.go); images are built
// locally FROM scratch, so no registry is needed (container_images.go).
//
// Every container and network the driver makes is labelled with the run's
// id (LabelRun), so Close finds and removes them even when a suite process
// died before its own cleanup ran. Ryuk, testcontainers' reaper, is off unless
// TESTCONTAINERS_RYUK_DISABLED says otherwise: its image cannot be pulled
// without a registry, and the driver cleans up after itself.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
)

// Ports the fake and Redis images listen on inside their containers. The
// gateway's is the target's (target.Container.Port, default 8080).
const (
	CounterContainerPort = 9001
	WedgeContainerPort   = 9002
	RedisContainerPort   = 6379
)

// Labels on every container and network the driver makes (images are
// known by their tags).
const (
	LabelRun   = "io.mcpgw.conformance.run"   // the run's id
	LabelScope = "io.mcpgw.conformance.scope" // the spec scope's token (containers only)
)

// EnvRyukDisabled is testcontainers' switch for its reaper container.
const EnvRyukDisabled = "TESTCONTAINERS_RYUK_DISABLED"

// ContainerImages are the images a run starts containers from.
type ContainerImages struct {
	Gateway string `json:"gateway"`
	Counter string `json:"counter"`
	Wedge   string `json:"wedge"`
	Redis   string `json:"redis"`
}

// ContainerRun is what every process of one run shares: the run's id, its
// network and its images. It travels as JSON from the process that prepared
// it to the others (AttachContainers).
type ContainerRun struct {
	ID      string          `json:"id"`
	Network string          `json:"network"`
	Images  ContainerImages `json:"images"`
	// GatewayPort is the port replicas listen on inside their containers.
	GatewayPort int `json:"gatewayPort"`
}

// ContainerOptions say what PrepareContainers uses and what it must build.
type ContainerOptions struct {
	// Root is the module root: the Dockerfiles and main packages live there.
	Root string
	// Images are used as they are; an empty one is built.
	Images ContainerImages
	// GatewayPackage is the main package the gateway image is built from
	// when Images.Gateway is empty, with the Dockerfile next to it
	// (default ./servers/gateway).
	GatewayPackage string
	// BinDir holds prebuilt static binaries named after their package
	// (gateway, counter, wedge), e.g. bin/ after make build. Empty: they are
	// built with CGO_ENABLED=0 into a temporary directory.
	BinDir string
	// RedisServer is the redis-server binary the default Redis image is
	// made of (default: redis-server on PATH).
	RedisServer string
	// Network is an existing network to run on; empty: one is created.
	Network string
	// RunID names the run; empty: a new one.
	RunID string
	// GatewayPort is the port replicas listen on (default 8080).
	GatewayPort int
	// Progress receives the image builds' output (default: discarded).
	Progress io.Writer
	// Log receives testcontainers' own messages (default: discarded).
	Log io.Writer
}

// Containers is one process's handle on a run's Docker resources.
type Containers struct {
	Run ContainerRun

	provider *testcontainers.DockerProvider
	api      client.APIClient
	logger   tclog.Logger

	// What this handle made, and removes on Close.
	mu          sync.Mutex
	builtImages []string
	madeNetwork *testcontainers.DockerNetwork

	hostIPOnce sync.Once
	hostIP     netip.Addr
	hostIPErr  error
}

// PrepareContainers gets a run ready: it checks the Docker engine, builds
// every image not given (showing the builds on opts.Progress) and creates the
// network unless one is given. Close removes what it made.
func PrepareContainers(ctx context.Context, opts ContainerOptions) (*Containers, error) {
	if opts.RunID == "" {
		opts.RunID = NewRunID()
	}
	if opts.GatewayPort == 0 {
		opts.GatewayPort = 8080
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	c, err := connect(ctx, ContainerRun{ID: opts.RunID, Network: opts.Network, Images: opts.Images, GatewayPort: opts.GatewayPort}, opts.Log)
	if err != nil {
		return nil, err
	}
	if err := c.buildImages(ctx, opts); err != nil {
		c.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	if c.Run.Network == "" {
		nw, err := network.New(ctx, network.WithLabels(map[string]string{LabelRun: c.Run.ID}))
		if err != nil {
			c.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("create the run's Docker network: %w", err)
		}
		c.madeNetwork, c.Run.Network = nw, nw.Name
		fmt.Fprintf(opts.Progress, "containers: network %s\n", nw.Name)
	}
	return c, nil
}

// AttachContainers is another process's handle on a run PrepareContainers
// made: it builds and creates nothing, and its Close removes nothing.
func AttachContainers(ctx context.Context, run ContainerRun, logw io.Writer) (*Containers, error) {
	return connect(ctx, run, logw)
}

// NewRunID returns a fresh run id.
func NewRunID() string { return randomToken(4) }

func connect(ctx context.Context, run ContainerRun, logw io.Writer) (*Containers, error) {
	// Before testcontainers reads its configuration (once per process).
	if _, set := os.LookupEnv(EnvRyukDisabled); !set {
		_ = os.Setenv(EnvRyukDisabled, "true")
	}
	if logw == nil {
		logw = io.Discard
	}
	logger := writerLogger{logw}
	tclog.SetDefault(logger) // the banner and anything else logged outside a request
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(logger))
	if err != nil {
		return nil, fmt.Errorf("container driver: no Docker engine reachable: %w (start one, or run the process driver)", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := p.Client().Ping(pctx, client.PingOptions{}); err != nil {
		return nil, fmt.Errorf("container driver: the Docker engine does not answer: %w", err)
	}
	return &Containers{Run: run, provider: p, api: p.Client(), logger: logger}, nil
}

// Env is the environment that hands this run to child processes (suite
// processes started by ginkgo): the driver, the run, its network and images.
func (c *Containers) Env() []string {
	return []string{
		"MCPCONF_DRIVER=container",
		"MCPCONF_CONTAINER_RUN=" + c.Run.ID,
		"MCPCONF_NETWORK=" + c.Run.Network,
		"MCPCONF_GATEWAY_IMAGE=" + c.Run.Images.Gateway,
		"MCPCONF_COUNTER_IMAGE=" + c.Run.Images.Counter,
		"MCPCONF_WEDGE_IMAGE=" + c.Run.Images.Wedge,
		"MCPCONF_REDIS_IMAGE=" + c.Run.Images.Redis,
	}
}

// Close removes what is left of the run: every container labelled with its
// id (a spec's scope removes its own; this catches what a dead process left),
// then the network and the images this handle made. Each step is bounded.
func (c *Containers) Close(ctx context.Context) error {
	if c == nil || c.api == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var errs []error
	if c.madeNetwork != nil || len(c.builtImages) > 0 {
		errs = append(errs, c.removeLabelled(ctx, LabelRun+"="+c.Run.ID))
	}
	if c.madeNetwork != nil {
		if _, err := c.api.NetworkRemove(ctx, c.madeNetwork.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", c.madeNetwork.Name, err))
		}
		c.madeNetwork = nil
	}
	for _, img := range c.builtImages {
		if _, err := c.api.ImageRemove(ctx, img, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove image %s: %w", img, err))
		}
	}
	c.builtImages = nil
	return errors.Join(errs...)
}

// removeLabelled force-removes every container with the label (k=v).
func (c *Containers) removeLabelled(ctx context.Context, label string) error {
	list, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return fmt.Errorf("list containers labelled %s: %w", label, err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(list.Items))
	for i, ctr := range list.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.api.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
				errs[i] = fmt.Errorf("remove container %s: %w", ctr.ID[:12], err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// HostIP is the host's address on the run's network (its gateway), which
// containers can reach: for a fake that must run in the test process. It
// fails when the Docker engine is not on this machine.
func (c *Containers) HostIP(ctx context.Context) (netip.Addr, error) {
	c.hostIPOnce.Do(func() {
		c.hostIP, c.hostIPErr = c.lookupHostIP(ctx)
	})
	return c.hostIP, c.hostIPErr
}

func (c *Containers) lookupHostIP(ctx context.Context) (netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := c.api.NetworkInspect(ctx, c.Run.Network, client.NetworkInspectOptions{})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("inspect network %s: %w", c.Run.Network, err)
	}
	var gw netip.Addr
	for _, cfg := range res.Network.IPAM.Config {
		if cfg.Gateway.Is4() {
			gw = cfg.Gateway
			break
		}
	}
	if !gw.IsValid() {
		return netip.Addr{}, fmt.Errorf("network %s has no IPv4 gateway address", c.Run.Network)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if p, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(p.IP); ok && ip.Unmap() == gw {
				return gw, nil
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("the gateway %s of network %s is not an address of this machine: the Docker engine runs elsewhere", gw, c.Run.Network)
}

// writerLogger is testcontainers' logger on an io.Writer.
type writerLogger struct{ w io.Writer }

func (l writerLogger) Printf(format string, v ...any) {
	s := fmt.Sprintf(format, v...)
	if len(s) == 0 || s[len(s)-1] != '\n' {
		s += "\n"
	}
	_, _ = io.WriteString(l.w, s)
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
