package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Stream is a response whose body stays open (a GET event stream), read in
// the background until it ends or the caller closes it.
type Stream struct {
	// Status, Header and Elapsed (time to the response headers) describe
	// the response.
	Status  int
	Header  http.Header
	Elapsed time.Duration

	cancel context.CancelFunc
	body   io.ReadCloser
	ended  chan struct{}

	mu       sync.Mutex
	received []byte
	endErr   error
	endedAt  time.Time
}

// maxStreamKeep bounds what a Stream keeps of the bytes it receives.
const maxStreamKeep = 64 << 10

// OpenStream opens GET path as an event stream with the session id (if any)
// and returns once the response headers arrive; no headers within `within` is
// ErrNoHeaders. The body is then read in the background until the server
// ends it, ctx ends, or Close. Close it (DeferCleanup) when done.
func (r *Raw) OpenStream(ctx context.Context, path, session string, within time.Duration) (*Stream, error) {
	h := http.Header{}
	h.Set("Accept", "text/event-stream")
	if session != "" {
		h.Set(HeaderSession, session)
	}
	if r.ProtocolVersion != "" {
		h.Set(HeaderProtocol, r.ProtocolVersion)
	}
	return r.openStream(ctx, http.MethodGet, path, h, nil, within)
}

// OpenPost sends a JSON-RPC body as Post does and returns as OpenStream
// does: once the response headers arrive, with the body (an event stream,
// or a JSON answer) read in the background. It is how a spec sees what a
// gateway sends on a call's own stream before its result. Close it
// (DeferCleanup) when done.
func (r *Raw) OpenPost(ctx context.Context, path, session string, body []byte, within time.Duration) (*Stream, error) {
	return r.openStream(ctx, http.MethodPost, path, r.postHeader(session, body), body, within)
}

func (r *Raw) openStream(ctx context.Context, method, path string, h http.Header, body []byte, within time.Duration) (*Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := r.newRequest(ctx, method, path, h, rd)
	if err != nil {
		cancel()
		return nil, err
	}
	late := time.AfterFunc(within, cancel) // bounds the wait for headers only
	start := time.Now()
	resp, err := httpClient.Do(req)
	if !late.Stop() {
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, fmt.Errorf("%s %s: %w within %s", method, path, ErrNoHeaders, within)
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	s := &Stream{Status: resp.StatusCode, Header: resp.Header, Elapsed: time.Since(start), cancel: cancel, body: resp.Body, ended: make(chan struct{})}
	go s.read()
	return s, nil
}

func (s *Stream) read() {
	defer close(s.ended)
	buf := make([]byte, 4096)
	for {
		n, err := s.body.Read(buf)
		s.mu.Lock()
		if n > 0 && len(s.received) < maxStreamKeep {
			s.received = append(s.received, buf[:min(n, maxStreamKeep-len(s.received))]...)
		}
		if err != nil {
			s.endedAt = time.Now()
			if err != io.EOF {
				s.endErr = err
			}
		}
		s.mu.Unlock()
		if err != nil {
			s.body.Close()
			return
		}
	}
}

// Ended is closed once the body has ended: the server closed it (EOF), the
// connection broke, or the stream was closed by the client.
func (s *Stream) Ended() <-chan struct{} { return s.ended }

// EndedAt is when the body ended (zero while the stream is open).
func (s *Stream) EndedAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endedAt
}

// EndErr says why the body ended: nil for a clean end of stream, and nil
// while the stream is open.
func (s *Stream) EndErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endErr
}

// Received returns the bytes received so far (at most 64 KiB are kept).
func (s *Stream) Received() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.received...)
}

// Close ends the request and waits for the reader to stop, within a second.
func (s *Stream) Close() {
	s.cancel()
	select {
	case <-s.ended:
	case <-time.After(time.Second):
	}
}

// Messages decodes the JSON-RPC messages received so far, in order: the
// data lines of an event stream, or a JSON body once it has ended.
func (s *Stream) Messages() []Message {
	got := s.Received()
	var out []Message
	if !strings.HasPrefix(s.Header.Get("Content-Type"), "text/event-stream") {
		var m Message
		if json.Unmarshal(bytes.TrimSpace(got), &m) == nil {
			out = append(out, m)
		}
		return out
	}
	for _, line := range strings.Split(string(got), "\n") {
		data, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "data:")
		if !ok {
			continue
		}
		var m Message
		if json.Unmarshal([]byte(strings.TrimSpace(data)), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}
