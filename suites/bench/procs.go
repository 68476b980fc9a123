package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mcpgw/conformance/suites/child"
	"github.com/mcpgw/conformance/suites/driver"
)

// helper is a helper process of the bench (counter, wedge, proxy).
type helper struct {
	*child.Process
	url string
}

// startHelper runs bin with args plus --listen on a free loopback port and
// waits (bounded) until probePath answers 200.
func startHelper(ctx context.Context, name, bin, probePath string, args ...string) (*helper, error) {
	addr, err := driver.FreeAddr()
	if err != nil {
		return nil, err
	}
	p, err := child.Start(child.Options{Path: bin, Args: append(args, "--listen", addr), Name: name, DieWithParent: true})
	if err != nil {
		return nil, err
	}
	h := &helper{Process: p, url: "http://" + addr}
	if err := p.WaitReady(ctx, 10*time.Second, child.HTTPStatus(h.url+probePath, http.StatusOK)); err != nil {
		h.stop()
		return nil, fmt.Errorf("%s: %w: %s", name, err, p.Log())
	}
	return h, nil
}

// stop sends SIGTERM, then SIGKILL after 5 s.
func (h *helper) stop() { h.Stop(5 * time.Second) }

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
