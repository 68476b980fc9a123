package driver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// proc is a started child process with captured output, reaped in the
// background: the part of a process replica that is not about gateways.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{} // closed once the process is reaped

	mu   sync.Mutex
	exit Exit
}

// Exit describes how a replica ended.
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

// procOptions describe one child process.
type procOptions struct {
	Path string
	Args []string
	Env  []string
	Name string
}

func startProc(o procOptions) (*proc, error) {
	if o.Path == "" {
		return nil, errors.New("start child: no program")
	}
	p := &proc{name: o.Name, log: &logBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(o.Path, o.Args...)
	p.cmd.Env = o.Env
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Path, err)
	}
	go p.reap()
	return p, nil
}

func (p *proc) reap() {
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

func (p *proc) Pid() int                { return p.cmd.Process.Pid }
func (p *proc) Log() string             { return p.log.String() }
func (p *proc) Exited() <-chan struct{} { return p.done }

func (p *proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *proc) ExitStatus() Exit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit
}

func (p *proc) Signal(sig os.Signal) error {
	if !p.Running() {
		return fmt.Errorf("%s already exited (%s)", p.name, p.ExitStatus())
	}
	return p.cmd.Process.Signal(sig)
}

func (p *proc) WaitExit(timeout time.Duration) (Exit, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.ExitStatus(), nil
	case <-t.C:
		return Exit{}, fmt.Errorf("%s still running %s after the wait began", p.name, timeout)
	}
}

func (p *proc) Stop(grace time.Duration) (Exit, bool) {
	if !p.Running() {
		return p.ExitStatus(), false
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if e, err := p.WaitExit(grace); err == nil {
		return e, false
	}
	_ = p.cmd.Process.Kill()
	e, err := p.WaitExit(5 * time.Second)
	if err != nil {
		// The kernel reaps a SIGKILLed process promptly; this is a defect
		// worth surfacing, not waiting for.
		return Exit{Code: -1, Signal: "unreaped"}, true
	}
	return e, true
}
