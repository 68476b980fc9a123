//go:build unix

package child

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// generous bounds every wait in these tests: long enough for a loaded
// machine, short enough that a hang fails the test.
const generous = 10 * time.Second

func start(t *testing.T, o Options) *Process {
	t.Helper()
	p, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(time.Second) })
	return p
}

func sh(script string) Options { return Options{Path: "sh", Args: []string{"-c", script}} }

// waitForLog waits, bounded, until the process has written s.
func waitForLog(t *testing.T, p *Process, s string) {
	t.Helper()
	err := p.WaitReady(context.Background(), generous, func(context.Context) error {
		if !strings.Contains(p.Log(), s) {
			return errors.New("no " + s + " yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogIsBoundedAndTeeGetsEverything(t *testing.T) {
	tee := &syncBuffer{}
	o := sh(`head -c 5000 /dev/zero | tr '\0' a; echo END >&2; exit 3`)
	o.LogLimit, o.Tee = 1000, tee
	p := start(t, o)
	e, err := p.WaitExit(generous)
	if err != nil {
		t.Fatal(err)
	}
	if e.Code != 3 || e.Signal != "" || e.String() != "exit code 3" || e.At.IsZero() {
		t.Errorf("exit = %+v (%s), want exit code 3", e, e)
	}
	log := p.Log()
	head, body, ok := strings.Cut(log, "\n")
	if !ok || !strings.HasPrefix(head, "[... ") || !strings.HasSuffix(head, " bytes dropped ...]") {
		t.Errorf("log does not start with a dropped-bytes note: %.80q", log)
	}
	if len(body) > 1000 || !strings.HasSuffix(body, "aEND\n") {
		t.Errorf("kept %d bytes ending %q, want at most 1000 ending with the last output", len(body), body[max(0, len(body)-10):])
	}
	if got := tee.String(); len(got) != 5004 || !strings.HasSuffix(got, "END\n") {
		t.Errorf("tee got %d bytes, want all 5004", len(got))
	}
	if p.Running() || p.ExitStatus() != e {
		t.Errorf("after exit: Running %v, ExitStatus %v", p.Running(), p.ExitStatus())
	}
}

func TestStopEndsWithSIGTERMWhenThatSuffices(t *testing.T) {
	p := start(t, Options{Path: "sleep", Args: []string{"30"}, Name: "sleeper", DieWithParent: true})
	if !p.Running() || p.Pid() <= 0 || p.ExitStatus() != (Exit{}) {
		t.Fatalf("just started: Running %v, Pid %d, ExitStatus %+v", p.Running(), p.Pid(), p.ExitStatus())
	}
	if _, err := p.WaitExit(10 * time.Millisecond); err == nil || !strings.Contains(err.Error(), "sleeper still running") {
		t.Errorf("WaitExit on a running process = %v, want a still-running error", err)
	}
	e, killed := p.Stop(generous)
	if killed {
		t.Error("Stop needed SIGKILL for a process that SIGTERM ends")
	}
	if e.Signal != "15 (terminated)" || e.Code != -1 {
		t.Errorf("exit = %+v, want killed by signal 15", e)
	}
}

func TestStopKillsAProcessThatIgnoresSIGTERMAfterTheGrace(t *testing.T) {
	// Short sleeps: the orphaned sleep still holds the output pipe when sh
	// is killed, and must not outlive the test by much.
	p := start(t, sh(`trap "" TERM; echo trapped; while :; do sleep 0.05; done`))
	waitForLog(t, p, "trapped")
	const grace = 200 * time.Millisecond
	began := time.Now()
	e, killed := p.Stop(grace)
	took := time.Since(began)
	if !killed {
		t.Error("Stop reports no SIGKILL for a process that ignores SIGTERM")
	}
	if e.Signal != "9 (killed)" || e.String() != "killed by signal 9 (killed)" {
		t.Errorf("exit = %+v (%s), want killed by signal 9", e, e)
	}
	if took < grace || took > grace+killWait+pipeWait {
		t.Errorf("Stop took %s, want between the grace %s and its bound", took, grace)
	}
}

func TestSignalAfterExitSaysSo(t *testing.T) {
	o := sh("exit 0")
	o.Name = "quick"
	p := start(t, o)
	if _, err := p.WaitExit(generous); err != nil {
		t.Fatal(err)
	}
	err := p.Signal(syscall.SIGTERM)
	if err == nil || err.Error() != "quick already exited (exit code 0)" {
		t.Errorf("Signal after exit = %v", err)
	}
	if e, killed := p.Stop(time.Second); killed || e.Code != 0 {
		t.Errorf("Stop after exit = %+v, %v", e, killed)
	}
}

func TestWaitReadySucceedsOnceTheServerAnswers(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if err := WaitReady(context.Background(), generous, nil, HTTPStatus(srv.URL+"/readyz", http.StatusOK)); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("ready after %d probes, want 3", n)
	}
}

func TestWaitReadyFailsWhenTheChildExitsFirst(t *testing.T) {
	p := start(t, sh("exit 4"))
	err := p.WaitReady(context.Background(), generous, func(context.Context) error { return errors.New("not yet") })
	if !errors.Is(err, ErrExitedBeforeReady) || !strings.Contains(err.Error(), "exit code 4") {
		t.Errorf("err = %v, want ErrExitedBeforeReady with exit code 4", err)
	}
}

func TestWaitReadyFailsByTheDeadlineNamingTheLastError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	err := WaitReady(context.Background(), 100*time.Millisecond, nil, HTTPStatus(srv.URL+"/readyz", http.StatusOK))
	want := "not ready within 100ms (last: GET " + srv.URL + "/readyz: 503 Service Unavailable)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestWaitReadyEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	probes := 0
	err := WaitReady(ctx, generous, nil, func(context.Context) error {
		if probes++; probes == 2 {
			cancel()
		}
		return errors.New("refused")
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("err = %v, want context.Canceled naming the last error", err)
	}
}

func TestStartFailsClearly(t *testing.T) {
	_, err := Start(Options{Path: "/nonexistent/program", Name: "ghost"})
	if err == nil || !strings.HasPrefix(err.Error(), "start ghost: ") {
		t.Errorf("err = %v", err)
	}
	if _, err := Start(Options{}); err == nil {
		t.Error("Start without a program succeeded")
	}
}

func TestRSSReadsThisProcess(t *testing.T) {
	rss, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Fatalf("RSS of this test process is %d bytes; want at least 1 MiB", rss)
	}
	if _, err := RSS(-1); err == nil {
		t.Fatal("RSS(-1) succeeded")
	}
}
