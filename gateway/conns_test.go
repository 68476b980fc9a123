package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tailServer answers each POST with a first chunk at once and the end of the
// body only when told, the way an SSE response ends just after its result.
func tailServer(t *testing.T) (ts *httptest.Server, finish chan struct{}, conns *atomic.Int32) {
	t.Helper()
	finish = make(chan struct{})
	conns = &atomic.Int32{}
	ts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: result\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-finish:
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return ts, finish, conns
}

// callThenLeave posts, reads the first chunk, and ends the caller's context
// the way the gateway does once the SDK hands it the result, while a
// background reader drains the rest, as the SDK's does. The response ends
// right after the caller leaves or, with neverEnd, not at all: the bare
// transport cuts it, which is what this shows.
func callThenLeave(t *testing.T, rt http.RoundTripper, url string, finish chan struct{}, neverEnd bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("{}"))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	buf := make([]byte, 64)
	if n, err := resp.Body.Read(buf); n == 0 {
		t.Fatalf("reading the result: %v", err)
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	cancel()
	if !neverEnd {
		select {
		case finish <- struct{}{}:
		case <-time.After(5 * time.Second):
			t.Fatal("the server's handler was not waiting to end its response")
		}
	}
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
		t.Fatal("the response body was not drained within 5 s")
	}
}

// After a caller leaves, the few bytes left of its response still arrive
// and the connection is used again; the bare transport, as a control, cuts
// it and dials anew.
func TestLingerKeepsTheConnectionOfAFinishedCall(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rt        func(*http.Transport) http.RoundTripper
		bare      bool
		wantConns int32
	}{
		{"linger", func(tr *http.Transport) http.RoundTripper { return lingerRoundTripper{base: tr, linger: bodyLinger} }, false, 1},
		{"bare transport", func(tr *http.Transport) http.RoundTripper { return tr }, true, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, finish, conns := tailServer(t)
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			rt := tc.rt(tr)
			for range 3 {
				callThenLeave(t, rt, ts.URL, finish, tc.bare)
			}
			if got := conns.Load(); got != tc.wantConns {
				t.Fatalf("3 calls opened %d connections, want %d", got, tc.wantConns)
			}
		})
	}
}

// Leaving before the response headers aborts the request at once, and a
// body that never ends is cut once the linger is over.
func TestLingerIsBounded(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			io.WriteString(w, "data: partial\n\n")
			w.(http.Flusher).Flush()
		}
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer ts.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	rt := lingerRoundTripper{base: tr, linger: 200 * time.Millisecond}

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/headers-never", strings.NewReader("{}"))
	errc := make(chan error, 1)
	go func() {
		_, err := rt.RoundTrip(req)
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("leaving before the headers: got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("leaving before the headers did not abort the request within 5 s")
	}

	ctx, cancel = context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/stream", strings.NewReader("{}"))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("POST /stream: %v", err)
	}
	defer resp.Body.Close()
	cancel()
	start := time.Now()
	read := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		read <- err
	}()
	select {
	case err := <-read:
		if err == nil {
			t.Fatal("a body that never ends read to a clean EOF")
		}
		if waited := time.Since(start); waited > 2*time.Second {
			t.Fatalf("the body was cut after %s, want about the 200ms linger", waited)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a body that never ends was not cut within 5 s of its caller leaving")
	}
}
