package driver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/mcpgw/conformance/suites/child"
)

// containerReplicas maps a container replica's base URL to it, for
// shareUpstreamFiles.
var containerReplicas sync.Map // string -> *containerReplica

// containerReplica is a gateway replica in a container of a scope.
type containerReplica struct {
	endpoint
	scope     *ContainerScope
	rc        *runningContainer
	stopGrace time.Duration
	log       *child.LogBuffer
	logDone   chan struct{}
	done      chan struct{} // closed when the engine reported the exit
	exitMu    sync.Mutex
	exit      Exit
}

// StartReplica starts a gateway replica in a container of this scope, alias
// replica-<n>-<token>, launched like a process replica (BuildLaunch) but
// listening on 0.0.0.0:<the run's gateway port>, advertising
// http://<alias>:<port>, where the other replicas reach it, and reading its
// files under /etc/mcpgw (TLS files at the path they have on the host, so
// upstream definitions need no rewriting). It waits until cfg.Ready (default GET /readyz
// answers 200) holds through the mapped port.
//
// The replica follows the process driver's contract: Signal(SIGTERM) is a
// `docker stop` whose SIGKILL comes only well past the shutdown bound (so a
// slow shutdown is measured, not cut short), Kill is a real SIGKILL of the
// container, Exited closes when the engine reports the exit, and Log holds
// the container's output.
func (s *ContainerScope) StartReplica(ctx context.Context, cfg ReplicaConfig) (Replica, error) {
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 15 * time.Second
	}
	s.mu.Lock()
	n := len(s.replicas) + 1
	s.mu.Unlock()
	port := s.c.Run.GatewayPort
	alias := s.alias(fmt.Sprintf("replica-%d", n))
	l, err := BuildLaunch(cfg, Placement{
		Listen:  fmt.Sprintf("0.0.0.0:%d", port),
		URL:     fmt.Sprintf("http://%s:%d", alias, port),
		FileDir: containerFileDir,
	})
	if err != nil {
		return nil, err
	}
	rc, err := s.start(ctx, containerSpec{alias: alias, image: s.c.Run.Images.Gateway, cmd: l.Args, env: l.Env, port: port, files: containerFiles(l.Files)})
	if err != nil {
		return nil, fmt.Errorf("replica %s: %w", cfg.ID, err)
	}
	shutdown := cfg.ShutdownTimeout
	if shutdown <= 0 {
		shutdown = 5 * time.Second // the reference gateway's default
	}
	r := &containerReplica{
		endpoint: endpoint{id: cfg.ID, url: "http://" + rc.host, addr: rc.host},
		scope:    s, rc: rc,
		// A shutdown is judged against 2 x timeout + 1 s and waited on for
		// 2 s more; the engine's SIGKILL comes after that.
		stopGrace: 2*shutdown + 5*time.Second,
		log:       child.NewLogBuffer(0),
		logDone:   make(chan struct{}),
		done:      make(chan struct{}),
	}
	go r.follow()
	go r.watch()
	if err := awaitReady(ctx, r, cfg.ReadyTimeout, cfg.Ready); err != nil {
		s.remove(rc)
		select { // the watcher records the end, and the last of the log
		case <-r.done:
		case <-time.After(15 * time.Second):
		}
		return nil, fmt.Errorf("replica %s (container %s from %s): %w\n--- replica log ---\n%s", cfg.ID, alias, s.c.Run.Images.Gateway, err, tail(r.Log(), 4000))
	}
	s.mu.Lock()
	s.replicas = append(s.replicas, r)
	s.mu.Unlock()
	containerReplicas.Store(r.url, r)
	return r, nil
}

// containerFileDir is where a container replica reads the files it is given.
const containerFileDir = "/etc/mcpgw"

// containerFiles places a launch's files in a container: each is copied in
// at its Path when the container is created.
func containerFiles(files []LaunchFile) []testcontainers.ContainerFile {
	var out []testcontainers.ContainerFile
	for _, f := range files {
		if f.HostPath != "" {
			out = append(out, testcontainers.ContainerFile{HostFilePath: f.HostPath, ContainerFilePath: f.Path, FileMode: 0o644})
			continue
		}
		out = append(out, fileFromBytes(f.Bytes, f.Path))
	}
	return out
}

// Log returns what the container wrote so far.
func (r *containerReplica) Log() string { return r.log.String() }

// Running reports whether the engine has not reported the exit yet.
func (r *containerReplica) Running() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// Exited is closed when the engine has reported the exit.
func (r *containerReplica) Exited() <-chan struct{} { return r.done }

// ExitStatus is the exit as the engine recorded it (zero while running).
func (r *containerReplica) ExitStatus() Exit {
	r.exitMu.Lock()
	defer r.exitMu.Unlock()
	return r.exit
}

// WaitExit waits up to timeout for the container to stop.
func (r *containerReplica) WaitExit(timeout time.Duration) (Exit, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.done:
		return r.ExitStatus(), nil
	case <-t.C:
		return Exit{}, fmt.Errorf("replica %s still running %s after the wait began", r.id, timeout)
	}
}

// Pid is the host pid of the container's process, as the engine reported
// it at start.
func (r *containerReplica) Pid() (int, error) {
	if r.rc.pid == 0 {
		return 0, fmt.Errorf("replica %s (container %s): the engine reported no host pid", r.id, r.rc.alias)
	}
	return r.rc.pid, nil
}

// Kill is a real SIGKILL of the container (docker kill).
func (r *containerReplica) Kill() error { return r.Signal(syscall.SIGKILL) }

// Container names the container the replica runs in (its alias).
func (r *containerReplica) Container() string { return r.rc.alias }

// Signal delivers sig: SIGTERM as `docker stop` with stopGrace (answered
// at once, the stop goes on in the background), anything else as
// `docker kill --signal`.
func (r *containerReplica) Signal(sig os.Signal) error {
	if !r.Running() {
		return fmt.Errorf("replica %s already exited (%s)", r.id, r.ExitStatus())
	}
	if sig == syscall.SIGTERM {
		go r.dockerStop(r.stopGrace)
		return nil
	}
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("replica %s: cannot send %v to a container", r.id, sig)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.scope.c.api.ContainerKill(ctx, r.rc.ID(), client.ContainerKillOptions{Signal: strconv.Itoa(int(s))}); err != nil {
		return fmt.Errorf("replica %s: docker kill --signal %d %s: %w", r.id, int(s), r.rc.alias, err)
	}
	return nil
}

// dockerStop is `docker stop` with grace (whole seconds, rounded up):
// SIGTERM, and SIGKILL from the engine past grace. It returns when the
// container stopped.
func (r *containerReplica) dockerStop(grace time.Duration) error {
	secs := int((grace + time.Second - 1) / time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), grace+30*time.Second)
	defer cancel()
	_, err := r.scope.c.api.ContainerStop(ctx, r.rc.ID(), client.ContainerStopOptions{Timeout: &secs})
	return err
}

// Stop is docker stop with grace, then the exit as the engine recorded it.
// It needed SIGKILL when the container outlived grace.
func (r *containerReplica) Stop(grace time.Duration) (Exit, bool) {
	if !r.Running() {
		return r.ExitStatus(), false
	}
	start := time.Now()
	_ = r.dockerStop(grace)
	e, err := r.WaitExit(5 * time.Second)
	if err != nil {
		return Exit{Code: -1, Signal: "unreaped"}, true
	}
	return e, time.Since(start) >= grace
}

// follow copies the container's output into the replica's log until the
// container stops.
func (r *containerReplica) follow() {
	defer close(r.logDone)
	if err := copyLogs(context.Background(), r.scope.c, r.rc.ID(), r.log, true); err != nil {
		fmt.Fprintf(r.log, "[driver: the logs of container %s could not be followed: %v]\n", r.rc.alias, err)
	}
}

// watch waits for the container to stop and records how it ended: the exit
// code and finish time the engine recorded (a code above 128 is death by
// signal code-128, as a shell reports it).
func (r *containerReplica) watch() {
	api := r.scope.c.api
	res := api.ContainerWait(context.Background(), r.rc.ID(), client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	e := Exit{Code: -1}
	select {
	case w := <-res.Result:
		e.Code = int(w.StatusCode)
	case <-res.Error: // removed, or the engine went away: no code to tell
	}
	e.At = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if ins, err := api.ContainerInspect(ctx, r.rc.ID(), client.ContainerInspectOptions{}); err == nil && ins.Container.State != nil {
		st := ins.Container.State
		if t, err := time.Parse(time.RFC3339Nano, st.FinishedAt); err == nil && t.Year() > 1 && !t.After(e.At) {
			e.At = t
		}
		e.Code = st.ExitCode
	}
	cancel()
	if e.Code > 128 && e.Code < 128+65 {
		sig := syscall.Signal(e.Code - 128)
		e.Signal = fmt.Sprintf("%d (%s)", int(sig), sig)
	}
	// The last lines of output, before anyone reads the log of the exit.
	select {
	case <-r.logDone:
	case <-time.After(time.Second):
	}
	r.exitMu.Lock()
	r.exit = e
	r.exitMu.Unlock()
	close(r.done)
}

// copyLogs writes a container's stdout and stderr to w; with follow, until
// the container stops.
func copyLogs(ctx context.Context, c *Containers, id string, w io.Writer, follow bool) error {
	rc, err := c.api.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = stdcopy.StdCopy(w, w, rc)
	return err
}

// shareUpstreamFiles copies the TLS files an upstream definition names into
// every running replica of the scope whose replica answers at baseURL, at
// the paths they have on the host, before the definition is sent to it: a
// container does not see the host's files. Nothing happens for a replica
// that is not a container.
func shareUpstreamFiles(ctx context.Context, baseURL string, u Upstream) error {
	v, ok := containerReplicas.Load(baseURL)
	if !ok {
		return nil
	}
	paths := tlsPaths([]Upstream{u})
	if len(paths) == 0 {
		return nil
	}
	s := v.(*containerReplica).scope
	s.mu.Lock()
	replicas := append([]*containerReplica(nil), s.replicas...)
	s.mu.Unlock()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("upstream %s: %w", u.ID, err)
		}
		for _, r := range replicas {
			if !r.Running() {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := r.rc.ctr.CopyToContainer(cctx, data, p, 0o644)
			cancel()
			if err != nil {
				return fmt.Errorf("copy %s into replica %s (container %s): %w", p, r.id, r.rc.alias, err)
			}
		}
	}
	return nil
}

func fileFromBytes(b []byte, path string) testcontainers.ContainerFile {
	return testcontainers.ContainerFile{Reader: bytes.NewReader(b), ContainerFilePath: path, FileMode: 0o644}
}
