package wedge_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/fakes/wedge"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestParseModes(t *testing.T) {
	got, err := wedge.ParseModes(" delete,call ,delete,,get,initialize")
	if err != nil {
		t.Fatal(err)
	}
	if want := []wedge.Mode{wedge.Delete, wedge.Call, wedge.Get, wedge.Initialize}; !slices.Equal(got, want) {
		t.Errorf("ParseModes = %v, want %v", got, want)
	}
	if got, err := wedge.ParseModes(""); err != nil || len(got) != 0 {
		t.Errorf(`ParseModes("") = %v, %v; want none`, got, err)
	}
	_, err = wedge.ParseModes("delete,post")
	if err == nil || !strings.Contains(err.Error(), `"post"`) || !strings.Contains(err.Error(), "delete, call, initialize, get") {
		t.Errorf("ParseModes(bad) error = %v; want it to name the bad and the valid modes", err)
	}
}

func TestNoModeBehavesLikeCounter(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t)
	cs := connect(ctx, t, ts.URL)
	for _, tool := range []string{"increment", "increment", "hang"} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool})
		if err != nil || res.IsError {
			t.Fatalf("%s: %v %+v", tool, err, res)
		}
		if got := res.StructuredContent.(map[string]any)["value"]; got != float64(2) && tool == "hang" {
			t.Errorf("hang returned value %v, want 2", got)
		}
	}
	if err := cs.Close(); err != nil {
		t.Fatal(err)
	}
	if s := session(f, cs.ID()); s.EndReason != fakes.EndDeleted || s.Calls != 3 {
		t.Errorf("session = %+v, want deleted after 3 calls", s)
	}
}

func TestDeleteWedges(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t, wedge.Delete)
	cs := connect(ctx, t, ts.URL)

	done := async(cs.Close) // the client's Close sends the DELETE
	stuck(t, "DELETE", done)
	if s := session(f, cs.ID()); s.EndReason != "" {
		t.Errorf("session ended (%q) although its DELETE never completed", s.EndReason)
	}
	f.Close()
	finishes(ctx, t, "DELETE after Close", done)
	if s := session(f, cs.ID()); s.EndReason != fakes.EndClosed {
		t.Errorf("session end = %q, want %q", s.EndReason, fakes.EndClosed)
	}
}

func TestCallWedgesAndIgnoresCancellation(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t, wedge.Call)
	cs := connect(ctx, t, ts.URL)

	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	call := async(func() error {
		_, err := cs.CallTool(callCtx, &mcp.CallToolParams{Name: "hang"})
		return err
	})
	stuck(t, "hang call", call)
	if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "increment"}); err != nil || res.IsError {
		t.Fatalf("other calls must still work: %v %+v", err, res)
	}

	// The client gives up; the fake's handler must not.
	cancel()
	if err := finishes(ctx, t, "cancelled hang call", call); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call err = %v", err)
	}
	// The SDK closes a session only after its in-flight calls end, so a
	// DELETE that stays stuck proves the handler ignored the cancellation.
	del := async(cs.Close)
	stuck(t, "DELETE behind a hung call", del)

	f.Close()
	finishes(ctx, t, "DELETE after Close", del)
	if s := session(f, cs.ID()); s.Calls != 2 {
		t.Errorf("calls = %d, want 2", s.Calls)
	}
}

func TestDropSessionsWithHungCall(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t, wedge.Call)
	cs := connect(ctx, t, ts.URL)
	call := async(func() error {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "hang"})
		return err
	})
	stuck(t, "hang call", call)

	// Dropping must not wait for the hung call.
	finishes(ctx, t, "DropSessions", async(func() error { f.DropSessions(); return nil }))
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get"}); !errors.Is(err, mcp.ErrSessionMissing) {
		t.Fatalf("call after drop: err = %v, want ErrSessionMissing", err)
	}
	f.Close()
	finishes(ctx, t, "hang call after Close", call)
	if s := session(f, cs.ID()); s.EndReason != fakes.EndExpired {
		t.Errorf("session end = %q, want %q", s.EndReason, fakes.EndExpired)
	}
}

func TestInitializeWedges(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t, wedge.Initialize)

	done := async(func() error {
		cs, err := newClient().Connect(ctx, newTransport(t, ts.URL), &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err == nil {
			cs.Close()
		}
		return err
	})
	stuck(t, "initialize", done)
	// The client may probe with server/discover first; the initialize after
	// it must reach the fake and stay unanswered.
	if st := f.Stats(); st.Initializes != 0 || len(st.Headers) == 0 || len(st.Live) != 0 {
		t.Errorf("stats = %+v; want requests seen, no initialize answered, no session", st)
	}
	f.Close()
	if err := finishes(ctx, t, "initialize after Close", done); err == nil {
		t.Error("connect succeeded against a wedged initialize")
	}
}

func TestGetStreamWedges(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t, wedge.Get)
	cs := connect(ctx, t, ts.URL) // its own standalone GET is wedged too
	if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "increment"}); err != nil || res.IsError {
		t.Fatalf("calls must still work: %v %+v", err, res)
	}

	if code := get(ctx, t, ts.URL, "no-such-session", nil); code != http.StatusNotFound {
		t.Errorf("GET for an unknown session: %d, want 404", code)
	}
	var body io.ReadCloser
	if code := get(ctx, t, ts.URL, cs.ID(), &body); code != http.StatusOK {
		t.Fatalf("GET: status %d", code)
	}
	defer body.Close()
	read := async(func() error {
		b, err := io.ReadAll(body)
		if len(b) > 0 {
			return errors.New("stream sent " + string(b))
		}
		return err
	})
	stuck(t, "GET stream", read)
	f.Close()
	if err := finishes(ctx, t, "GET stream after Close", read); err != nil {
		t.Errorf("stream: %v", err)
	}
}

// get opens GET /mcp for the session and returns its status; with body set
// it keeps the stream open for the caller.
func get(ctx context.Context, t *testing.T, url, session string, body *io.ReadCloser) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); body != nil && ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	if body != nil {
		*body = resp.Body
	} else {
		resp.Body.Close()
	}
	return resp.StatusCode
}

func session(f *wedge.Server, id string) fakes.SessionStats {
	st := f.Stats()
	s, _ := st.Session(id)
	return s
}

func TestBlockReturnsOnlyWhenCancelled(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t)
	cs := connect(ctx, t, ts.URL)

	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	call := async(func() error {
		_, err := cs.CallTool(callCtx, &mcp.CallToolParams{Name: "block"})
		return err
	})
	stuck(t, "block call", call)
	if s := session(f, cs.ID()); s.Blocking != 1 || s.Cancelled != 0 {
		t.Fatalf("while blocked: %+v, want blocking 1, cancelled 0", s)
	}

	// go-sdk sends notifications/cancelled when the caller's context ends.
	cancelled := time.Now()
	cancel()
	finishes(ctx, t, "cancelled block call", call)
	for s := session(f, cs.ID()); s.Cancelled != 1; s = session(f, cs.ID()) {
		if ctx.Err() != nil {
			t.Fatalf("the fake never saw the cancellation: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s := session(f, cs.ID()); s.Blocking != 0 || s.LastCancelled.Before(cancelled) {
		t.Errorf("after the cancellation: %+v, want blocking 0 and lastCancelled after %s", s, cancelled)
	}

	// A block released by Close was not cancelled.
	call = async(func() error {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "block"})
		return err
	})
	stuck(t, "second block call", call)
	f.Close()
	finishes(ctx, t, "block call after Close", call)
	if s := session(f, cs.ID()); s.Blocking != 0 || s.Cancelled != 1 || s.Calls != 2 {
		t.Errorf("after Close: %+v, want blocking 0, cancelled 1, calls 2", s)
	}
}
