package driver

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/mcpgw/conformance/suites/launch"
)

// Where a container replica finds the files the suite gives it. TLS files an
// upstream names are copied to the same path they have on the host, so
// upstream definitions need no rewriting.
const (
	containerUpstreamsFile = "/etc/mcpgw/upstreams.json"
	containerTokensFile    = "/etc/mcpgw/tokens.txt"
)

// containerReplicas maps a container replica's base URL to it, for
// shareUpstreamFiles.
var containerReplicas sync.Map // string -> *Replica

// StartReplica starts a gateway replica in a container of this scope, alias
// replica-<n>-<token>, configured like a process replica (the MCPGW_*
// environment, the target's argument and environment templates) but
// listening on 0.0.0.0:<the run's gateway port> and advertising
// http://<alias>:<port>, where the other replicas reach it. It waits until
// GET /readyz answers 200 through the mapped port.
//
// The replica follows the process driver's contract: Signal(SIGTERM) is a
// `docker stop` whose SIGKILL comes only well past the shutdown bound (so a
// slow shutdown is measured, not cut short), Kill is a real SIGKILL of the
// container, Exited closes when the engine reports the exit, and Log holds
// the container's output.
func (s *ContainerScope) StartReplica(ctx context.Context, cfg ReplicaConfig) (*Replica, error) {
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 15 * time.Second
	}
	s.mu.Lock()
	n := len(s.replicas) + 1
	s.mu.Unlock()
	port := s.c.Run.GatewayPort
	alias := s.alias(fmt.Sprintf("replica-%d", n))
	listen := fmt.Sprintf("0.0.0.0:%d", port)
	self := fmt.Sprintf("http://%s:%d", alias, port)

	env := map[string]string{"MCPGW_LISTEN": listen}
	data := launch.Data{
		Listen: listen, Host: "0.0.0.0", Port: port, URL: self,
		ReplicaID: cfg.ID, Redis: cfg.Redis, ClusterSecret: cfg.ClusterSecret,
		ShutdownTimeout: cfg.ShutdownTimeout, SessionTimeout: cfg.SessionTimeout,
		AdminToken: cfg.AdminToken, EmulateBug: cfg.EmulateBug,
	}
	if cfg.ID != "" {
		env["MCPGW_REPLICA_ID"] = cfg.ID
	}
	ups := cfg.Upstreams
	if ups == nil {
		ups = []Upstream{}
	}
	upJSON, err := json.MarshalIndent(ups, "", "  ")
	if err != nil {
		return nil, err
	}
	files := []testcontainers.ContainerFile{fileFromBytes(upJSON, containerUpstreamsFile)}
	env["MCPGW_UPSTREAMS"], data.UpstreamsFile = containerUpstreamsFile, containerUpstreamsFile
	for _, p := range tlsPaths(ups) {
		files = append(files, testcontainers.ContainerFile{HostFilePath: p, ContainerFilePath: p, FileMode: 0o644})
	}
	if cfg.Redis != "" {
		advertise := cfg.AdvertiseURL
		if advertise == "" {
			advertise = self
		}
		env["MCPGW_REDIS"], env["MCPGW_ADVERTISE_URL"], data.AdvertiseURL = cfg.Redis, advertise, advertise
	}
	if cfg.ShutdownTimeout > 0 {
		env["MCPGW_SHUTDOWN_TIMEOUT"] = cfg.ShutdownTimeout.String()
	}
	if cfg.SessionTimeout > 0 {
		env["MCPGW_SESSION_TIMEOUT"] = cfg.SessionTimeout.String()
	}
	if len(cfg.Tokens) > 0 {
		var b []byte
		b = append(b, "# written by the conformance suite\n"...)
		for tok, id := range cfg.Tokens {
			b = fmt.Appendf(b, "%s %s\n", tok, id)
		}
		files = append(files, fileFromBytes(b, containerTokensFile))
		env["MCPGW_AUTH_TOKENS"], data.AuthTokensFile = containerTokensFile, containerTokensFile
	}
	if cfg.AdminToken != "" {
		env["MCPGW_ADMIN_TOKEN"] = cfg.AdminToken
	}
	if cfg.ClusterSecret != "" {
		env["MCPGW_CLUSTER_SECRET"] = cfg.ClusterSecret
	}
	if cfg.EmulateBug != "" {
		env["MCPGW_EMULATE_BUG"] = cfg.EmulateBug
	}
	args, extraEnv, err := launch.Render(cfg.Args, cfg.Env, data)
	if err != nil {
		return nil, fmt.Errorf("replica %s: %w", cfg.ID, err)
	}
	for k, v := range extraEnv {
		env[k] = v
	}

	rc, err := s.start(ctx, containerSpec{alias: alias, image: s.c.Run.Images.Gateway, cmd: args, env: env, port: port, files: files})
	if err != nil {
		return nil, fmt.Errorf("replica %s: %w", cfg.ID, err)
	}
	shutdown := cfg.ShutdownTimeout
	if shutdown <= 0 {
		shutdown = 5 * time.Second // the reference gateway's default
	}
	r := &Replica{ID: cfg.ID, URL: "http://" + rc.host, Addr: rc.host, log: &logBuffer{}, done: make(chan struct{})}
	r.ctr = &containerCtl{
		scope: s, rc: rc,
		// A shutdown is judged against 2 x timeout + 1 s and waited on for
		// 2 s more; the engine's SIGKILL comes after that.
		stopGrace: 2*shutdown + 5*time.Second,
		logDone:   make(chan struct{}),
	}
	go r.ctr.follow(r)
	go r.ctr.watch(r)
	if err := r.waitReady(ctx, cfg.ReadyTimeout); err != nil {
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
	containerReplicas.Store(r.URL, r)
	return r, nil
}

// Container names the container a replica runs in ("" for a process).
func (r *Replica) Container() string {
	if r.ctr == nil {
		return ""
	}
	return r.ctr.rc.alias
}

// containerCtl is what a container replica has instead of a process.
type containerCtl struct {
	scope     *ContainerScope
	rc        *runningContainer
	stopGrace time.Duration
	logDone   chan struct{}
}

// signal delivers sig: SIGTERM as `docker stop` with stopGrace (answered
// at once, the stop goes on in the background), anything else as
// `docker kill --signal`.
func (k *containerCtl) signal(r *Replica, sig os.Signal) error {
	if !r.Running() {
		return fmt.Errorf("replica %s already exited (%s)", r.ID, r.ExitStatus())
	}
	if sig == syscall.SIGTERM {
		go k.stop(k.stopGrace)
		return nil
	}
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("replica %s: cannot send %v to a container", r.ID, sig)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := k.scope.c.api.ContainerKill(ctx, k.rc.ID(), client.ContainerKillOptions{Signal: strconv.Itoa(int(s))}); err != nil {
		return fmt.Errorf("replica %s: docker kill --signal %d %s: %w", r.ID, int(s), k.rc.alias, err)
	}
	return nil
}

// stop is `docker stop` with grace (whole seconds, rounded up): SIGTERM, and
// SIGKILL from the engine past grace. It returns when the container stopped.
func (k *containerCtl) stop(grace time.Duration) error {
	secs := int((grace + time.Second - 1) / time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), grace+30*time.Second)
	defer cancel()
	_, err := k.scope.c.api.ContainerStop(ctx, k.rc.ID(), client.ContainerStopOptions{Timeout: &secs})
	return err
}

// stopReplica is Replica.Stop for a container: docker stop with grace, then
// the exit as the engine recorded it. It needed SIGKILL when the container
// outlived grace.
func (k *containerCtl) stopReplica(r *Replica, grace time.Duration) (Exit, bool) {
	if !r.Running() {
		return r.ExitStatus(), false
	}
	start := time.Now()
	_ = k.stop(grace)
	e, err := r.WaitExit(5 * time.Second)
	if err != nil {
		return Exit{Code: -1, Signal: "unreaped"}, true
	}
	return e, time.Since(start) >= grace
}

// follow copies the container's output into the replica's log until the
// container stops.
func (k *containerCtl) follow(r *Replica) {
	defer close(k.logDone)
	if err := copyLogs(context.Background(), k.scope.c, k.rc.ID(), r.log, true); err != nil {
		fmt.Fprintf(r.log, "[driver: the logs of container %s could not be followed: %v]\n", k.rc.alias, err)
	}
}

// watch waits for the container to stop and records how it ended: the exit
// code and finish time the engine recorded (a code above 128 is death by
// signal code-128, as a shell reports it).
func (k *containerCtl) watch(r *Replica) {
	api := k.scope.c.api
	res := api.ContainerWait(context.Background(), k.rc.ID(), client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	e := Exit{Code: -1}
	select {
	case w := <-res.Result:
		e.Code = int(w.StatusCode)
	case <-res.Error: // removed, or the engine went away: no code to tell
	}
	e.At = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if ins, err := api.ContainerInspect(ctx, k.rc.ID(), client.ContainerInspectOptions{}); err == nil && ins.Container.State != nil {
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
	case <-k.logDone:
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
	s := v.(*Replica).ctr.scope
	s.mu.Lock()
	replicas := append([]*Replica(nil), s.replicas...)
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
			err := r.ctr.rc.ctr.CopyToContainer(cctx, data, p, 0o644)
			cancel()
			if err != nil {
				return fmt.Errorf("copy %s into replica %s (container %s): %w", p, r.ID, r.ctr.rc.alias, err)
			}
		}
	}
	return nil
}

// tlsPaths lists the files the upstreams' TLS settings name.
func tlsPaths(ups []Upstream) []string {
	var out []string
	for _, u := range ups {
		if u.TLS == nil {
			continue
		}
		for _, p := range []string{u.TLS.CAFile, u.TLS.CertFile, u.TLS.KeyFile} {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func fileFromBytes(b []byte, path string) testcontainers.ContainerFile {
	return testcontainers.ContainerFile{Reader: bytes.NewReader(b), ContainerFilePath: path, FileMode: 0o644}
}
