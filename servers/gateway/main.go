// Command gateway runs one replica of the reference MCP gateway.
//
// Every flag has an environment twin: --shutdown-timeout is
// MCPGW_SHUTDOWN_TIMEOUT, and so on. A flag given on the command line wins.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/gateway"
	"github.com/mcpgw/conformance/gateway/gcheadroom"
)

func main() {
	if err := tuneGC(); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(2)
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode is 2 for a shape flag the gateway cannot serve (a usage error:
// the message names the flag), 1 for anything else.
func exitCode(err error) int {
	var bad *gateway.ShapeError
	if errors.As(err, &bad) {
		return 2
	}
	return 1
}

// tuneGC gives the collector a fixed headroom unless the operator chose
// GOGC or GOMEMLIMIT: a gateway's garbage is per-message JSON, short-lived
// and plentiful, while what its sessions hold is small (see README,
// Performance). MCPGW_GC_HEADROOM sets the headroom (default 64MiB).
func tuneGC() error {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	var opts gcheadroom.Options // the package default headroom: 64 MiB
	if s := os.Getenv("MCPGW_GC_HEADROOM"); s != "" {
		n, err := gcheadroom.ParseSize(s)
		if err != nil {
			return fmt.Errorf("MCPGW_GC_HEADROOM: %w", err)
		}
		opts.Headroom = n
	}
	gcheadroom.Start(opts)
	return nil
}

type options struct {
	listen, upstreams, redis, replicaID, advertiseURL      string
	authTokens, adminToken, clusterSecret, emulateBug      string
	aggregateRoute, serverRoute, toolName, readiness, eras string
	shutdownTimeout, sessionTimeout                        time.Duration
	bodyTimeout, forwardTimeout, callTimeout               time.Duration
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	o := &options{}
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to serve on")
	fs.StringVar(&o.upstreams, "upstreams", "", "YAML or JSON file listing upstreams {id, url, transport, headers, name, description}")
	fs.StringVar(&o.redis, "redis", "", "Redis URL shared by replicas; empty = single replica, in-memory ownership")
	fs.StringVar(&o.replicaID, "replica-id", "", "this replica's id (default host + random)")
	fs.StringVar(&o.advertiseURL, "advertise-url", "", "base URL other replicas use to reach this one (default http://<listen>)")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 5*time.Second, "grace per close phase; a whole shutdown takes at most twice this")
	fs.DurationVar(&o.sessionTimeout, "session-timeout", 30*time.Minute, "idle downstream session expiry")
	fs.DurationVar(&o.callTimeout, "call-timeout", 5*time.Minute, "longest one upstream call may take before it is cancelled and the client gets an error; 0 = none")
	fs.DurationVar(&o.forwardTimeout, "forward-timeout", 5*time.Minute+30*time.Second, "longest a request forwarded to its session's owner replica waits for the owner's response headers (504 past it); keep above --call-timeout; 0 = none")
	fs.DurationVar(&o.bodyTimeout, "body-timeout", 10*time.Second, "longest a POST body may take to arrive after its headers (408 past it); 0 = none")
	fs.StringVar(&o.authTokens, "auth-tokens", "", "file of 'TOKEN IDENTITY' lines; empty = no auth")
	fs.StringVar(&o.adminToken, "admin-token", "", "bearer token for /admin/*; empty = admin API off")
	fs.StringVar(&o.clusterSecret, "cluster-secret", "", "shared secret for replica-to-replica calls")
	fs.StringVar(&o.emulateBug, "emulate-bug", "", "reproduce one known gateway bug: "+bugNames())
	fs.StringVar(&o.aggregateRoute, "aggregate-route", "/mcp", "path of the route merging every upstream's tools; empty = none")
	fs.StringVar(&o.serverRoute, "server-route", "/servers/{id}/mcp", "path of the one-upstream route, {id} the upstream id (/{id}/mcp); empty = none")
	fs.StringVar(&o.toolName, "tool-name", "{{.Upstream}}.{{.Tool}}", "Go text/template naming tools on the aggregate route ({{.Upstream}}__{{.Tool}} where clients forbid dots)")
	fs.StringVar(&o.readiness, "readiness-path", "/readyz", "path answering GET with 200 when serving, 503 while draining")
	fs.StringVar(&o.eras, "eras", "session,2026-07-28", "protocol eras served downstream, comma-separated: session (2025-03-26 .. 2025-11-25) and 2026-07-28 (sessionless)")
	// Environment twins first, so that the command line overrides them.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "MCPGW_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = fmt.Errorf("%s=%q: %w", name, v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return o, nil
}

// noneIfZero maps a flag's 0 ("none") to the Config's negative: a zero
// Config field means "the default".
func noneIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// routeOrNone maps a route flag's empty ("none") to the Shape's NoRoute: an
// empty Shape field means "the default".
func routeOrNone(path string) string {
	if path == "" {
		return gateway.NoRoute
	}
	return path
}

func bugNames() string {
	names := make([]string, len(gateway.Bugs))
	for i, b := range gateway.Bugs {
		names[i] = string(b)
	}
	return strings.Join(names, ", ")
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg := gateway.Config{
		ReplicaID:       o.replicaID,
		ShutdownTimeout: o.shutdownTimeout,
		SessionTimeout:  o.sessionTimeout,
		BodyTimeout:     noneIfZero(o.bodyTimeout),
		ForwardTimeout:  noneIfZero(o.forwardTimeout),
		CallTimeout:     noneIfZero(o.callTimeout),
		AdminToken:      o.adminToken,
		Shape: gateway.Shape{
			AggregateRoute: routeOrNone(o.aggregateRoute),
			ServerRoute:    routeOrNone(o.serverRoute),
			ToolName:       o.toolName,
			ReadinessPath:  o.readiness,
			Eras:           strings.Split(o.eras, ","),
		},
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	}
	if cfg.Bug, err = gateway.ParseBug(o.emulateBug); err != nil {
		return err
	}
	if o.redis != "" {
		cfg.RedisURL, cfg.ClusterSecret, cfg.AdvertiseURL = o.redis, o.clusterSecret, o.advertiseURL
		if cfg.AdvertiseURL == "" {
			cfg.AdvertiseURL = "http://" + o.listen
		}
	}
	if o.upstreams != "" {
		if cfg.Upstreams, err = gateway.LoadUpstreams(o.upstreams); err != nil {
			return err
		}
	}
	if o.authTokens != "" {
		if cfg.Tokens, err = gateway.LoadTokens(o.authTokens); err != nil {
			return err
		}
	}
	g, err := gateway.New(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		g.Shutdown()
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	if addr := os.Getenv("MCPGW_PPROF"); addr != "" {
		stop, err := servePprof(addr, cfg.Logger)
		if err != nil {
			g.Shutdown()
			ln.Close()
			return err
		}
		defer stop()
	}
	served := make(chan error, 1)
	go func() { served <- g.Serve(ln) }()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case sig := <-signals:
		cfg.Logger.Info("signal received; shutting down", "signal", sig.String())
		g.Shutdown()
		return nil
	case err := <-served:
		g.Shutdown()
		return err
	}
}

// servePprof serves the runtime profiles on their own listener, apart from
// the gateway's routes, for profiling under load (README, Performance).
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("MCPGW_PPROF: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Info("serving pprof", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}
