package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/suites/child"
)

// Exit describes how a replica ended.
type Exit = child.Exit

// processReplica is a gateway replica run as a child process of the test
// process, on a loopback port, with its files in its own directory.
type processReplica struct {
	endpoint
	*child.Process
}

// StartReplica starts a gateway replica on a free loopback port and waits
// until cfg.Ready (default GET /readyz == 200) says it is up. A port taken between choosing and binding is
// retried on another port.
func StartReplica(ctx context.Context, cfg ReplicaConfig) (Replica, error) {
	if cfg.Bin == "" {
		return nil, errors.New("start replica: no gateway binary")
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 15 * time.Second
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		r, err := startOnce(ctx, cfg)
		if err == nil {
			return r, nil
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	return nil, lastErr
}

var errAddrInUse = errors.New("address already in use")

func startOnce(ctx context.Context, cfg ReplicaConfig) (*processReplica, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		if cfg.Dir, err = os.MkdirTemp("", "mcpconf-replica-"); err != nil {
			return nil, err
		}
	}
	l, err := BuildLaunch(cfg, Placement{Listen: addr, URL: "http://" + addr, FileDir: cfg.Dir, Dir: cfg.Dir})
	if err != nil {
		return nil, err
	}
	if err := placeFiles(l.Files); err != nil {
		return nil, fmt.Errorf("replica %s: %w", cfg.ID, err)
	}
	p, err := child.Start(child.Options{
		Path: cfg.Bin, Args: l.Args, Env: l.EnvList(os.Environ()),
		Name: "replica " + cfg.ID, DieWithParent: true,
	})
	if err != nil {
		return nil, err
	}
	r := &processReplica{endpoint: endpoint{id: cfg.ID, url: "http://" + addr, addr: addr}, Process: p}
	err = awaitReady(ctx, r, cfg.ReadyTimeout, cfg.Ready)
	if err == nil {
		// Ready by the probe; but the answer may have come from whoever
		// bound the port first (listener.go).
		if owns, known := ownsListener(p.Pid(), portOf(addr)); known && !owns {
			r.Stop(2 * time.Second)
			return nil, fmt.Errorf("%w: port %s answered, but not by replica %s", errAddrInUse, addr, cfg.ID)
		}
		return r, nil
	}
	r.Stop(2 * time.Second)
	if strings.Contains(r.Log(), "address already in use") {
		return nil, errAddrInUse
	}
	return nil, fmt.Errorf("replica %s on %s: %w\n--- replica log ---\n%s", r.ID(), addr, err, tail(r.Log(), 4000))
}

// placeFiles writes a launch's files where a process replica reads them.
// Files of this machine (HostPath) are read where they are.
func placeFiles(files []LaunchFile) error {
	for _, f := range files {
		if f.HostPath != "" {
			continue
		}
		if err := os.WriteFile(filepath.FromSlash(f.Path), f.Bytes, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Base(f.Path), err)
		}
	}
	return nil
}

// Pid is the child's process id.
func (r *processReplica) Pid() (int, error) { return r.Process.Pid(), nil }

// Kill sends SIGKILL.
func (r *processReplica) Kill() error { return r.Signal(syscall.SIGKILL) }

// Container is "": a process runs in no container.
func (r *processReplica) Container() string { return "" }

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
