package driver

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/mcpgw/conformance/suites/launch"
)

// AttachReplica describes a replica that is already running at baseURL (the
// external driver): the suite talks to it over HTTP but did not start it, so
// it cannot signal, kill or stop it. Running reports true for its lifetime;
// Signal and Kill return an error saying why; Stop does nothing.
func AttachReplica(id, baseURL string) (*Replica, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("replica %s: %q is not an http(s) base URL", id, baseURL)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	return &Replica{ID: id, URL: u.String(), Addr: addr, log: &logBuffer{}, done: make(chan struct{})}, nil
}

// Attached reports whether the replica was attached (external), not started.
func (r *Replica) Attached() bool { return r.cmd == nil && r.ctr == nil }

// WaitReady polls GET /readyz on an attached replica until it answers 200,
// within timeout.
func (r *Replica) WaitReady(ctx context.Context, timeout time.Duration) error {
	if err := r.waitReady(ctx, timeout); err != nil {
		return fmt.Errorf("replica %s at %s: %w", r.ID, r.URL, err)
	}
	return nil
}

func errNotStarted(r *Replica) error {
	return fmt.Errorf("replica %s at %s was not started by the suite (external driver): it cannot be signalled", r.ID, r.URL)
}

// launchData is what the target's argument and environment templates see
// for a replica listening on addr; the files and the advertise URL are
// filled in as startOnce writes them.
func launchData(addr string, cfg ReplicaConfig) launch.Data {
	host, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	return launch.Data{
		Listen: addr, Host: host, Port: port, URL: "http://" + addr,
		ReplicaID: cfg.ID, Redis: cfg.Redis, ClusterSecret: cfg.ClusterSecret,
		ShutdownTimeout: cfg.ShutdownTimeout, SessionTimeout: cfg.SessionTimeout,
		AdminToken: cfg.AdminToken, EmulateBug: cfg.EmulateBug, Dir: cfg.Dir,
	}
}
