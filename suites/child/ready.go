package child

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ProbeTimeout bounds each probe of WaitReady, so one hung probe cannot
// use up the whole wait.
const ProbeTimeout = time.Second

// pollInterval is the pause between WaitReady's probes.
const pollInterval = 20 * time.Millisecond

// ErrExitedBeforeReady is WaitReady's error when the process exited first.
var ErrExitedBeforeReady = errors.New("exited before ready")

// WaitReady calls probe, each call bounded by ProbeTimeout, every ~20 ms
// until it returns nil, exited is closed (ErrExitedBeforeReady; a nil
// exited never closes), ctx ends or timeout passes. A failed wait names the
// last probe failure.
func WaitReady(ctx context.Context, timeout time.Duration, exited <-chan struct{}, probe func(ctx context.Context) error) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		pctx, pcancel := context.WithTimeout(ctx, ProbeTimeout)
		err := probe(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		// A probe cut short by the end of the wait says less than the one
		// before it.
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-exited:
			return ErrExitedBeforeReady
		case <-ctx.Done():
			if parent.Err() != nil {
				return fmt.Errorf("not ready: %w (last: %v)", parent.Err(), last)
			}
			return fmt.Errorf("not ready within %s (last: %v)", timeout, last)
		case <-tick.C:
		}
	}
}

// WaitReady is WaitReady until p exits; ErrExitedBeforeReady then carries
// how it ended.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration, probe func(ctx context.Context) error) error {
	err := WaitReady(ctx, timeout, p.done, probe)
	if errors.Is(err, ErrExitedBeforeReady) {
		return fmt.Errorf("%w (%s)", err, p.ExitStatus())
	}
	return err
}

// HTTPStatus is a probe for WaitReady: GET url answers with status want.
func HTTPStatus(url string, want int) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body) // lets the connection be reused
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}
