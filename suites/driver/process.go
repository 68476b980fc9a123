package driver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/suites/child"
	"github.com/mcpgw/conformance/suites/launch"
)

// ReplicaConfig is one replica's settings, passed as the MCPGW_* environment
// twins of the flags in README.md ("Flags"). Zero fields are left to the gateway's
// defaults.
type ReplicaConfig struct {
	// Bin is the gateway binary.
	Bin string
	// Dir holds the files written for the replica (upstreams, tokens).
	// Empty: a new temporary directory, left for the caller's cleanup.
	Dir string
	// ID is --replica-id.
	ID string
	// Upstreams are written to the --upstreams file.
	Upstreams []Upstream
	// Redis is --redis (empty: single replica, in-memory ownership).
	Redis string
	// AdvertiseURL is --advertise-url, the base URL other replicas forward
	// to. Empty with Redis set: the replica's own http://127.0.0.1:port,
	// known only once its port is chosen.
	AdvertiseURL string
	// ShutdownTimeout is --shutdown-timeout.
	ShutdownTimeout time.Duration
	// SessionTimeout is --session-timeout.
	SessionTimeout time.Duration
	// Tokens (token -> identity) are written to the --auth-tokens file; nil = auth off.
	Tokens map[string]string
	// AdminToken is --admin-token (empty = admin API off).
	AdminToken string
	// ClusterSecret is --cluster-secret.
	ClusterSecret string
	// EmulateBug is --emulate-bug.
	EmulateBug string
	// Args and Env are extra command-line arguments and environment.
	Args []string
	Env  map[string]string
	// ReadyTimeout bounds the wait for /readyz (default 15 s).
	ReadyTimeout time.Duration
}

// Replica is one running gateway process.
type Replica struct {
	// ID is the replica id it was started with.
	ID string
	// URL is its base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Addr is its listen address.
	Addr string

	cmd    *exec.Cmd
	log    *logBuffer
	done   chan struct{} // closed when the process has exited
	exit   Exit
	exitMu sync.Mutex
	// ctr is set, and cmd nil, for a replica in a container (container_replica.go).
	ctr *containerCtl
}

// Exit describes how a replica process ended.
type Exit struct {
	At     time.Time
	Code   int    // exit code, -1 when killed by a signal
	Signal string // the signal that killed it, if any, e.g. "9 (killed)"
}

func (e Exit) String() string {
	if e.Signal != "" {
		return "killed by signal " + e.Signal
	}
	return fmt.Sprintf("exit code %d", e.Code)
}

// StartReplica starts a gateway replica on a free loopback port and waits
// until GET /readyz answers 200. A port taken between choosing and binding is
// retried on another port.
func StartReplica(ctx context.Context, cfg ReplicaConfig) (*Replica, error) {
	if cfg.Bin == "" {
		return nil, errors.New("start replica: no gateway binary")
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 15 * time.Second
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
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

func startOnce(ctx context.Context, cfg ReplicaConfig) (*Replica, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	env := os.Environ()
	set := func(k, v string) { env = append(env, k+"="+v) }
	set("MCPGW_LISTEN", addr)
	// data feeds the target's argument and environment templates (suites/launch).
	data := launchData(addr, cfg)
	if cfg.ID != "" {
		set("MCPGW_REPLICA_ID", cfg.ID)
	}
	if cfg.Dir == "" {
		if cfg.Dir, err = os.MkdirTemp("", "mcpconf-replica-"); err != nil {
			return nil, err
		}
	}
	upFile, err := writeUpstreamsFile(cfg.Dir, cfg.Upstreams)
	if err != nil {
		return nil, fmt.Errorf("write upstreams file: %w", err)
	}
	set("MCPGW_UPSTREAMS", upFile)
	data.UpstreamsFile, data.Dir = upFile, cfg.Dir
	if cfg.Redis != "" {
		set("MCPGW_REDIS", cfg.Redis)
		advertise := cfg.AdvertiseURL
		if advertise == "" {
			advertise = "http://" + addr
		}
		set("MCPGW_ADVERTISE_URL", advertise)
		data.AdvertiseURL = advertise
	}
	if cfg.ShutdownTimeout > 0 {
		set("MCPGW_SHUTDOWN_TIMEOUT", cfg.ShutdownTimeout.String())
	}
	if cfg.SessionTimeout > 0 {
		set("MCPGW_SESSION_TIMEOUT", cfg.SessionTimeout.String())
	}
	if len(cfg.Tokens) > 0 {
		tokFile, err := writeTokensFile(cfg.Dir, cfg.Tokens)
		if err != nil {
			return nil, fmt.Errorf("write auth tokens file: %w", err)
		}
		set("MCPGW_AUTH_TOKENS", tokFile)
		data.AuthTokensFile = tokFile
	}
	if cfg.AdminToken != "" {
		set("MCPGW_ADMIN_TOKEN", cfg.AdminToken)
	}
	if cfg.ClusterSecret != "" {
		set("MCPGW_CLUSTER_SECRET", cfg.ClusterSecret)
	}
	if cfg.EmulateBug != "" {
		set("MCPGW_EMULATE_BUG", cfg.EmulateBug)
	}
	args, extraEnv, err := launch.Render(cfg.Args, cfg.Env, data)
	if err != nil {
		return nil, fmt.Errorf("replica %s: %w", cfg.ID, err)
	}
	for k, v := range extraEnv {
		set(k, v)
	}

	r := &Replica{ID: cfg.ID, URL: "http://" + addr, Addr: addr, log: &logBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(cfg.Bin, args...)
	r.cmd.Env = env
	r.cmd.Stdout = r.log
	r.cmd.Stderr = r.log
	r.cmd.SysProcAttr = sysProcAttr()
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Bin, err)
	}
	go r.reap()

	if err := r.waitReady(ctx, cfg.ReadyTimeout); err != nil {
		r.Stop(2 * time.Second)
		if strings.Contains(r.Log(), "address already in use") {
			return nil, errAddrInUse
		}
		return nil, fmt.Errorf("replica %s on %s: %w\n--- replica log ---\n%s", r.ID, addr, err, tail(r.Log(), 4000))
	}
	return r, nil
}

func (r *Replica) reap() {
	_ = r.cmd.Wait() // the exit status is read from ProcessState
	e := Exit{At: time.Now(), Code: r.cmd.ProcessState.ExitCode()}
	if ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = fmt.Sprintf("%d (%s)", int(ws.Signal()), ws.Signal())
	}
	r.exitMu.Lock()
	r.exit = e
	r.exitMu.Unlock()
	close(r.done)
}

// waitReady polls /readyz until 200, the process exits, or the deadline.
func (r *Replica) waitReady(ctx context.Context, timeout time.Duration) error {
	err := WaitReady(ctx, r.URL, timeout, r.done)
	if errors.Is(err, ErrExitedBeforeReady) {
		return fmt.Errorf("%w (%s)", err, r.ExitStatus())
	}
	return err
}

// ErrExitedBeforeReady is WaitReady's error when the process exited first.
var ErrExitedBeforeReady = child.ErrExitedBeforeReady

// WaitReady polls baseURL's /readyz until it answers 200, exited is closed,
// or timeout passes. Every probe has its own one-second deadline.
func WaitReady(ctx context.Context, baseURL string, timeout time.Duration, exited <-chan struct{}) error {
	return child.WaitReady(ctx, timeout, exited, child.HTTPStatus(baseURL+"/readyz", http.StatusOK))
}

// Log returns everything the replica wrote to stdout and stderr so far.
func (r *Replica) Log() string { return r.log.String() }

// Running reports whether the process is still alive.
func (r *Replica) Running() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// Exited is closed when the process has exited.
func (r *Replica) Exited() <-chan struct{} { return r.done }

// ExitStatus returns how the process ended (zero Exit while running).
func (r *Replica) ExitStatus() Exit {
	r.exitMu.Lock()
	defer r.exitMu.Unlock()
	return r.exit
}

// Signal sends sig to the replica.
func (r *Replica) Signal(sig os.Signal) error {
	if r.ctr != nil {
		return r.ctr.signal(r, sig)
	}
	if r.cmd == nil {
		return errNotStarted(r)
	}
	if !r.Running() {
		return fmt.Errorf("replica %s already exited (%s)", r.ID, r.ExitStatus())
	}
	return r.cmd.Process.Signal(sig)
}

// Kill sends SIGKILL.
func (r *Replica) Kill() error { return r.Signal(syscall.SIGKILL) }

// WaitExit waits up to timeout for the process to exit.
func (r *Replica) WaitExit(timeout time.Duration) (Exit, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.done:
		return r.ExitStatus(), nil
	case <-t.C:
		return Exit{}, fmt.Errorf("replica %s still running %s after the wait began", r.ID, timeout)
	}
}

// Stop ends the replica: SIGTERM, then SIGKILL if it has not exited within
// grace. It returns how the process ended and whether it needed SIGKILL.
func (r *Replica) Stop(grace time.Duration) (Exit, bool) {
	if r.ctr != nil {
		return r.ctr.stopReplica(r, grace)
	}
	if r.cmd == nil {
		return Exit{}, false // attached, not started: not ours to stop
	}
	if !r.Running() {
		return r.ExitStatus(), false
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	if e, err := r.WaitExit(grace); err == nil {
		return e, false
	}
	_ = r.cmd.Process.Kill()
	e, err := r.WaitExit(5 * time.Second)
	if err != nil {
		// The kernel reaps a SIGKILLed process promptly; this is a defect
		// worth surfacing, not waiting for.
		return Exit{Code: -1, Signal: "unreaped"}, true
	}
	return e, true
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
