package driver

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"time"
)

// attachedReplica is a replica that was already running (the external
// driver): the suite talks to it over HTTP but did not start it, so it sees
// neither its process nor its output.
type attachedReplica struct {
	endpoint
	// never is Exited: the suite cannot observe an exit.
	never chan struct{}
}

// AttachReplica describes a replica that is already running at baseURL.
// Running reports true for its lifetime and Log is empty; Pid, Signal,
// Kill and WaitExit return an error saying why; Stop does nothing.
func AttachReplica(id, baseURL string) (Replica, error) {
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
	return &attachedReplica{endpoint: endpoint{id: id, url: u.String(), addr: addr}, never: make(chan struct{})}, nil
}

func (r *attachedReplica) Log() string             { return "" }
func (r *attachedReplica) Running() bool           { return true }
func (r *attachedReplica) Exited() <-chan struct{} { return r.never }
func (r *attachedReplica) ExitStatus() Exit        { return Exit{} }
func (r *attachedReplica) Container() string       { return "" }

func (r *attachedReplica) Pid() (int, error) {
	return 0, r.notStarted("its process id is unknown")
}

func (r *attachedReplica) Signal(os.Signal) error { return r.notStarted("it cannot be signalled") }
func (r *attachedReplica) Kill() error            { return r.notStarted("it cannot be signalled") }

func (r *attachedReplica) WaitExit(time.Duration) (Exit, error) {
	return Exit{}, r.notStarted("its exit cannot be observed")
}

// Stop does nothing: the replica is not the suite's to stop.
func (r *attachedReplica) Stop(time.Duration) (Exit, bool) { return Exit{}, false }

func (r *attachedReplica) notStarted(consequence string) error {
	return fmt.Errorf("replica %s at %s was not started by the suite (external driver): %s", r.id, r.url, consequence)
}
