package counter_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestSessionsKeepSeparateValues(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	_, ts := serve(t)
	a := connect(ctx, t, ts.URL, conn{})
	b := connect(ctx, t, ts.URL, conn{})

	for range 5 {
		mustCall(ctx, t, a, "increment", nil)
	}
	for range 3 {
		mustCall(ctx, t, b, "increment", map[string]any{})
	}
	if got := mustCall(ctx, t, a, "get", nil); got != 5 {
		t.Errorf("session a: get = %d, want 5", got)
	}
	if got := mustCall(ctx, t, b, "get", nil); got != 3 {
		t.Errorf("session b: get = %d, want 3", got)
	}
	if got := mustCall(ctx, t, b, "increment", map[string]any{"by": 10}); got != 13 {
		t.Errorf("increment by 10 = %d, want 13", got)
	}
	if got := mustCall(ctx, t, a, "reset", nil); got != 0 {
		t.Errorf("reset = %d, want 0", got)
	}
	if got := mustCall(ctx, t, b, "get", nil); got != 13 {
		t.Errorf("reset of a changed b: %d, want 13", got)
	}
}

func TestStatsTrackLifecycle(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t)
	a := connect(ctx, t, ts.URL, conn{})
	b := connect(ctx, t, ts.URL, conn{})
	mustCall(ctx, t, a, "increment", map[string]any{"by": 2})
	mustCall(ctx, t, a, "get", nil)

	st, err := fakes.FetchStats(ctx, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	if st.Initializes != 2 || len(st.Live) != 2 || len(st.Ended) != 0 {
		t.Fatalf("stats = %d initializes, %d live, %d ended; want 2, 2, 0", st.Initializes, len(st.Live), len(st.Ended))
	}
	sa, ok := st.Session(a.ID())
	if !ok || sa.Value != 2 || sa.Calls != 2 || sa.ProtocolVersion == "" || sa.Started.IsZero() {
		t.Fatalf("session a = %+v (found %v); want value 2, calls 2, a protocol version", sa, ok)
	}
	if st.Live[0].Started.After(st.Live[1].Started) {
		t.Errorf("live sessions not ordered by start: %+v", st.Live)
	}

	if err := a.Close(); err != nil {
		t.Fatalf("close a: %v", err)
	}
	assertEnded(t, f.Stats(), a.ID(), fakes.EndDeleted)

	f.Close()
	f.Close() // idempotent
	st2 := f.Stats()
	assertEnded(t, st2, b.ID(), fakes.EndClosed)
	if len(st2.Live) != 0 {
		t.Errorf("live after Close: %+v", st2.Live)
	}
}

func TestDropSessionsForgetsThem(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t)
	// Without the standalone stream the drop is seen first by the next call;
	// with it, the ended stream's reconnect may report the loss instead.
	a := connect(ctx, t, ts.URL, conn{noSSE: true})
	mustCall(ctx, t, a, "increment", nil)

	resp, err := http.Post(ts.URL+"/control/drop-sessions", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("drop-sessions: %s", resp.Status)
	}
	assertEnded(t, f.Stats(), a.ID(), fakes.EndExpired)

	if _, err := call(ctx, a, "get", nil); !errors.Is(err, mcp.ErrSessionMissing) {
		t.Fatalf("call after drop: err = %v, want ErrSessionMissing", err)
	}
	if code := rawPost(t, ts.URL, a.ID()); code != http.StatusNotFound {
		t.Errorf("POST with a dropped session id: status %d, want 404", code)
	}
	// A new session works and starts from zero.
	b := connect(ctx, t, ts.URL, conn{})
	if got := mustCall(ctx, t, b, "increment", nil); got != 1 {
		t.Errorf("new session increment = %d, want 1", got)
	}
	if st := f.Stats(); len(st.Live) != 1 || st.Live[0].ID != b.ID() {
		t.Errorf("live after drop = %+v, want only %s", st.Live, b.ID())
	}
}

func TestHeadersRecorded(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t)
	a := connect(ctx, t, ts.URL, conn{header: http.Header{"X-Tenant": {"alpha"}}})
	mustCall(ctx, t, a, "get", nil)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	methods := map[string]int{}
	for _, h := range f.Stats().Headers {
		if got := strings.Join(h.Headers["X-Tenant"], ","); got != "alpha" {
			t.Errorf("%s request: X-Tenant = %q, want alpha", h.Method, got)
		}
		if h.Method != http.MethodPost || h.Session != "" {
			if h.Session != a.ID() {
				t.Errorf("%s request: session = %q, want %q", h.Method, h.Session, a.ID())
			}
		}
		methods[h.Method]++
	}
	// initialize, initialized, tools/call; the standalone GET; the DELETE.
	if methods[http.MethodPost] < 3 || methods[http.MethodDelete] != 1 {
		t.Errorf("methods seen = %v", methods)
	}
}

func TestStatsAreACopy(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t)
	connect(ctx, t, ts.URL, conn{header: http.Header{"X-Tenant": {"alpha"}}})
	st := f.Stats()
	st.Live[0].Value = 99
	st.Headers[0].Headers["X-Tenant"][0] = "mutated"
	again := f.Stats()
	if again.Live[0].Value != 0 || again.Headers[0].Headers["X-Tenant"][0] != "alpha" {
		t.Errorf("Stats shares memory with the fake: %+v", again)
	}
}

func TestClosedFakeRefusesRequests(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t)
	f.Close()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v1"}, nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	transport := &mcp.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1}
	if _, err := client.Connect(ctx, transport, nil); err == nil {
		t.Fatal("connect to a closed fake succeeded")
	}
	if st := f.Stats(); st.Initializes != 0 {
		t.Errorf("initializes after Close = %d", st.Initializes)
	}
}

func assertEnded(t *testing.T, st fakes.Stats, id, reason string) {
	t.Helper()
	for _, s := range st.Live {
		if s.ID == id {
			t.Fatalf("session %s still live", id)
		}
	}
	s, ok := st.Session(id)
	if !ok || s.EndReason != reason || s.Ended.IsZero() {
		t.Fatalf("session %s = %+v (found %v), want ended %q", id, s, ok, reason)
	}
}

// rawPost sends a tools/list for the session id and returns the status.
func rawPost(t *testing.T, url, session string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, url+"/mcp",
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestHeaderLogIsBounded(t *testing.T) {
	noLeaks(t)
	f, ts := serve(t)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	const extra = 5
	for i := range fakes.MaxHeaderRecords + extra {
		// A GET without a session is refused at once, but still recorded.
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/mcp", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Seq", strconv.Itoa(i))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	h := f.Stats().Headers
	if len(h) != fakes.MaxHeaderRecords {
		t.Fatalf("%d header records, want %d", len(h), fakes.MaxHeaderRecords)
	}
	if first, last := h[0].Headers["X-Seq"][0], h[len(h)-1].Headers["X-Seq"][0]; first != strconv.Itoa(extra) || last != strconv.Itoa(fakes.MaxHeaderRecords+extra-1) {
		t.Errorf("kept records %s..%s, want the newest", first, last)
	}
}

// A raw client may send "arguments": null; the fake must answer, not panic.
func TestNullArgumentsAreNoArguments(t *testing.T) {
	c := counter.New(counter.Options{})
	ts := httptest.NewServer(c.Handler())
	t.Cleanup(func() { ts.Close(); c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "null-args"}, nil).Connect(ctx, &mcp.StreamableClientTransport{Endpoint: ts.URL + "/mcp", DisableStandaloneSSE: true}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	var none map[string]any // encodes as "arguments": null
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "increment", Arguments: none})
	if err != nil || res.IsError {
		t.Fatalf("increment with null arguments: %v %+v", err, res)
	}
}

// Two fakes behind one gateway must not expose the same resource template.
func TestEachInstanceHasItsOwnResourceTemplate(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	templates := func(f *counter.Server) string {
		ts := httptest.NewServer(f.Handler())
		defer func() { f.Close(); ts.Close() }()
		cs := connect(ctx, t, ts.URL, conn{noSSE: true})
		defer cs.Close()
		res, err := cs.ListResourceTemplates(ctx, nil)
		if err != nil || len(res.ResourceTemplates) != 1 {
			t.Fatalf("templates %+v, %v", res, err)
		}
		return res.ResourceTemplates[0].URITemplate
	}
	if got := templates(counter.New(counter.Options{Name: "Up_1"})); got != "counter://up-1/{name}" {
		t.Errorf("named instance: %s", got)
	}
	if a, b := templates(counter.New(counter.Options{})), templates(counter.New(counter.Options{})); a == b {
		t.Errorf("two unnamed instances share %s", a)
	}
}
