package driver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/mcpgw/conformance/suites/child"
)

// Replica is one gateway replica as specs use it, whichever way it runs: a
// child process (StartReplica), a container (ContainerScope.StartReplica)
// or a replica already running that the suite only attached to
// (AttachReplica). Each kind implements every method itself; none of them
// asks which kind it is.
type Replica interface {
	// ID is the replica id it was started (or listed) with.
	ID() string
	// URL is its base URL as the test process reaches it, e.g.
	// http://127.0.0.1:41234.
	URL() string
	// Addr is URL's host:port.
	Addr() string
	// Log returns what the replica wrote so far ("" when the suite cannot
	// see its output).
	Log() string
	// Running reports whether it has not been seen to exit.
	Running() bool
	// Exited is closed once it has exited (never, for an attached replica).
	Exited() <-chan struct{}
	// ExitStatus is how it ended (zero while running).
	ExitStatus() Exit
	// Pid is the host process id of the gateway, for resident-memory
	// readings; an error when the suite has no process to name.
	Pid() (int, error)
	// Signal delivers sig; an error when it has exited or cannot be signalled.
	Signal(sig os.Signal) error
	// Kill is Signal(SIGKILL): a real kill, not a stop.
	Kill() error
	// WaitExit waits up to timeout for the exit.
	WaitExit(timeout time.Duration) (Exit, error)
	// Stop ends it: SIGTERM, then SIGKILL if it is still running after
	// grace. It returns how it ended and whether SIGKILL was needed. An
	// attached replica is not the suite's to stop: nothing happens.
	Stop(grace time.Duration) (Exit, bool)
	// Container names the container it runs in ("" when it is not one).
	Container() string
}

// endpoint is where a replica answers; every kind embeds it.
type endpoint struct {
	id, url, addr string
}

func (e endpoint) ID() string   { return e.id }
func (e endpoint) URL() string  { return e.url }
func (e endpoint) Addr() string { return e.addr }

// Probe asks the replica at base URL whether it is ready (see
// child.WaitReady): nil when it is.
type Probe func(ctx context.Context, base string) error

// DefaultReady is the reference gateway's readiness: GET /readyz answers 200.
func DefaultReady(ctx context.Context, base string) error {
	return child.HTTPStatus(base+"/readyz", http.StatusOK)(ctx)
}

// ReplicaReady polls ready (nil: DefaultReady) on r until it succeeds, r
// exits, or timeout passes; the error names the replica.
func ReplicaReady(ctx context.Context, r Replica, timeout time.Duration, ready Probe) error {
	if err := awaitReady(ctx, r, timeout, ready); err != nil {
		return fmt.Errorf("replica %s at %s: %w", r.ID(), r.URL(), err)
	}
	return nil
}

// awaitReady is ReplicaReady whose error says how r ended if it exited first.
func awaitReady(ctx context.Context, r Replica, timeout time.Duration, ready Probe) error {
	if ready == nil {
		ready = DefaultReady
	}
	err := child.WaitReady(ctx, timeout, r.Exited(), func(ctx context.Context) error { return ready(ctx, r.URL()) })
	if errors.Is(err, child.ErrExitedBeforeReady) {
		return fmt.Errorf("%w (%s)", err, r.ExitStatus())
	}
	return err
}
