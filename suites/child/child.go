// Package child starts and stops the helper processes of the suite's tools
// (gateway replicas, redis-server, the counter and wedge upstreams): it
// captures their output in a bounded buffer, reaps them, waits (bounded)
// for them to become ready, and stops them with SIGTERM, then SIGKILL after
// a grace. Every wait here has a deadline.
//
// It is plain Go with no Ginkgo, for suites/driver and the commands alike.
package child

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Options describe one child process.
type Options struct {
	// Path is the program; a name without a slash is looked up in $PATH.
	Path string
	// Args are its arguments, without the program name.
	Args []string
	// Env is its full environment; nil = this process's (os.Environ()).
	Env []string
	// Dir is its working directory; empty = this process's.
	Dir string
	// Name names it in messages ("replica r1", "redis-server", "counter");
	// empty = the base name of Path.
	Name string
	// DieWithParent kills the child (SIGKILL, Linux only) when this process
	// dies, so an interrupted run leaves nothing behind.
	DieWithParent bool
	// LogLimit bounds the captured stdout and stderr: past it the oldest half
	// is dropped. 0 = DefaultLogLimit.
	LogLimit int
	// Tee, when set, also receives everything the child writes.
	Tee io.Writer
}

// DefaultLogLimit is the capture bound when Options.LogLimit is 0.
const DefaultLogLimit = 1 << 20

// killWait bounds the wait for a SIGKILLed child to be reaped.
const killWait = 5 * time.Second

// pipeWait bounds how long the reaper waits, after the child exited, for
// its output pipes to close: a grandchild that inherited them must not keep
// the exit from being seen.
const pipeWait = time.Second

// Exit describes how a process ended.
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

// Process is one started child.
type Process struct {
	name string
	cmd  *exec.Cmd
	log  *LogBuffer
	done chan struct{} // closed once the process is reaped

	mu   sync.Mutex
	exit Exit
}

// Start starts the process described by o and reaps it in the background.
func Start(o Options) (*Process, error) {
	if o.Path == "" {
		return nil, errors.New("start child: no program")
	}
	if o.Name == "" {
		o.Name = filepath.Base(o.Path)
	}
	if o.LogLimit <= 0 {
		o.LogLimit = DefaultLogLimit
	}
	p := &Process{name: o.Name, log: NewLogBuffer(o.LogLimit), done: make(chan struct{})}
	var out io.Writer = p.log
	if o.Tee != nil {
		out = io.MultiWriter(p.log, o.Tee)
	}
	p.cmd = exec.Command(o.Path, o.Args...)
	p.cmd.Env, p.cmd.Dir = o.Env, o.Dir
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.WaitDelay = pipeWait
	if o.DieWithParent {
		p.cmd.SysProcAttr = dieWithParent()
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Name, err)
	}
	go p.reap()
	return p, nil
}

func (p *Process) reap() {
	_ = p.cmd.Wait() // the exit status is read from ProcessState
	e := Exit{At: time.Now(), Code: p.cmd.ProcessState.ExitCode()}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = fmt.Sprintf("%d (%s)", int(ws.Signal()), ws.Signal())
	}
	p.mu.Lock()
	p.exit = e
	p.mu.Unlock()
	close(p.done)
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Log returns what the process wrote to stdout and stderr so far, noting
// how much was dropped past the limit.
func (p *Process) Log() string { return p.log.String() }

// Running reports whether the process has not been reaped yet.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// ExitStatus returns how the process ended (zero Exit while running).
func (p *Process) ExitStatus() Exit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit
}

// Signal sends sig to the process, or says that it has already exited.
func (p *Process) Signal(sig os.Signal) error {
	if !p.Running() {
		return fmt.Errorf("%s already exited (%s)", p.name, p.ExitStatus())
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			<-p.done // reaped just now; the reaper records the status next
			return fmt.Errorf("%s already exited (%s)", p.name, p.ExitStatus())
		}
		return fmt.Errorf("signal %s: %w", p.name, err)
	}
	return nil
}

// WaitExit waits up to timeout for the process to exit.
func (p *Process) WaitExit(timeout time.Duration) (Exit, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.ExitStatus(), nil
	case <-t.C:
		return Exit{}, fmt.Errorf("%s still running %s after the wait began", p.name, timeout)
	}
}

// Stop ends the process: SIGTERM, then SIGKILL if it has not exited within
// grace. It returns how the process ended and whether SIGKILL was needed,
// within grace plus a few seconds whatever the process does.
func (p *Process) Stop(grace time.Duration) (Exit, bool) {
	if !p.Running() {
		return p.ExitStatus(), false
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if e, err := p.WaitExit(grace); err == nil {
		return e, false
	}
	_ = p.cmd.Process.Kill()
	e, err := p.WaitExit(killWait)
	if err != nil {
		// The kernel reaps a SIGKILLed process promptly; this is a defect
		// worth surfacing, not waiting for.
		return Exit{Code: -1, Signal: "unreaped"}, true
	}
	return e, true
}
