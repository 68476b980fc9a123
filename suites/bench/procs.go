package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcpgw/conformance/suites/driver"
)

// child is a helper process of the bench (counter, wedge, proxy).
type child struct {
	name string
	cmd  *exec.Cmd
	url  string
	out  *bytes.Buffer
	done chan struct{}
}

// startChild runs bin with args plus --listen on a free loopback port and
// waits (bounded) until probePath answers.
func startChild(ctx context.Context, name, bin, probePath string, args ...string) (*child, error) {
	addr, err := driver.FreeAddr()
	if err != nil {
		return nil, err
	}
	c := &child{name: name, url: "http://" + addr, out: &bytes.Buffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(bin, append(args, "--listen", addr)...)
	c.cmd.Stdout, c.cmd.Stderr = &lockedWriter{w: c.out}, &lockedWriter{w: c.out}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := httpGet(ctx, c.url+probePath)
		if err == nil {
			resp.Body.Close()
			return c, nil
		}
		select {
		case <-c.done:
			return nil, fmt.Errorf("%s exited before it was ready: %s", name, c.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("%s not ready within 10 s: %s", name, c.out.String())
		}
	}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM, then SIGKILL after 5 s.
func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

func httpGet(ctx context.Context, url string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		// Read the body now: the context ends when we return.
		body := new(bytes.Buffer)
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		resp.Body = nopCloser{body}
	}
	return resp, err
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// rssBytes reads a process's resident set size from /proc.
func rssBytes(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 1<<20 { // keep the last MiB at most
		l.w.Reset()
	}
	return l.w.Write(p)
}

// cpuTimes reads the machine's total and stolen CPU time from /proc/stat,
// in clock ticks. Steal is time the hypervisor gave this VM's CPUs to
// others: while it is high, every latency here stretches, and a target that
// needs more CPU per call stretches more.
func cpuTimes() (total, steal uint64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	for i, f := range fields[1:] {
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		total += n
		if i == 7 {
			steal = n
		}
	}
	return total, steal, nil
}

// stealMeter measures the share of CPU time stolen over a stretch of time;
// zero where /proc/stat cannot be read.
type stealMeter struct{ total, steal uint64 }

func startSteal() stealMeter {
	t, s, _ := cpuTimes()
	return stealMeter{t, s}
}

func (m stealMeter) percent() float64 {
	t, s, err := cpuTimes()
	if err != nil || t <= m.total {
		return 0
	}
	return 100 * float64(s-m.steal) / float64(t-m.total)
}
