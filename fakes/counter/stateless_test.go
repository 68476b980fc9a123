package counter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func openHandle(ctx context.Context, t *testing.T, cs *mcp.ClientSession) string {
	t.Helper()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "open", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("open: %v %v", err, res)
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var out counter.HandleResult
	if err := json.Unmarshal(raw, &out); err != nil || out.Handle == "" {
		t.Fatalf("open returned %s", raw)
	}
	return out.Handle
}

func TestModernClientNegotiatesSessionlessAndUsesHandles(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t)
	cs := connect(ctx, t, ts.URL, conn{noSSE: true, modern: true})
	if got := cs.InitializeResult().ProtocolVersion; got != counter.ModernRevision {
		t.Fatalf("negotiated %q, want %q", got, counter.ModernRevision)
	}
	if cs.ID() != "" {
		t.Fatalf("a sessionless client got session id %q", cs.ID())
	}
	a, b := openHandle(ctx, t, cs), openHandle(ctx, t, cs)
	mustCall(ctx, t, cs, "increment", map[string]any{"handle": a, "by": 5})
	mustCall(ctx, t, cs, "increment", map[string]any{"handle": b, "by": 3})
	if v := mustCall(ctx, t, cs, "get", map[string]any{"handle": a}); v != 5 {
		t.Fatalf("handle a reads %d, want 5", v)
	}
	if _, err := call(ctx, cs, "increment", map[string]any{"by": 1}); err == nil {
		t.Fatal("increment without a handle succeeded sessionless")
	}
	st := f.Stats()
	if st.Initializes != 0 || len(st.Live) != 0 {
		t.Fatalf("sessionless traffic made sessions: %+v", st)
	}
	if len(st.Handles) != 2 || st.Handles[0].Value != 5 || st.Handles[1].Value != 3 {
		t.Fatalf("handles %+v", st.Handles)
	}
	if st.Modern.Requests["server/discover"] == 0 || st.Modern.Requests["tools/call"] < 5 {
		t.Fatalf("modern requests %+v", st.Modern.Requests)
	}
	if names := st.Modern.Names; len(names) == 0 || names[0] != "open" {
		t.Fatalf("Mcp-Name headers seen %v", names)
	}
}

func TestSessionHandlesAreBoundToTheirSession(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t)
	a := connect(ctx, t, ts.URL, conn{noSSE: true})
	b := connect(ctx, t, ts.URL, conn{noSSE: true})
	h := openHandle(ctx, t, a)
	mustCall(ctx, t, a, "increment", map[string]any{"handle": h, "by": 5})
	if _, err := call(ctx, b, "increment", map[string]any{"handle": h}); err == nil {
		t.Fatal("another session reached the handle")
	}
	st := f.Stats()
	if st.Handles[0].Value != 5 || st.Handles[0].Refused != 1 || st.Handles[0].Session != a.ID() {
		t.Fatalf("handle %+v", st.Handles[0])
	}
}

func TestToolListIsPrivateAndNamesTheCaller(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	_, ts := serve(t)
	for _, modern := range []bool{false, true} {
		cs := connect(ctx, t, ts.URL, conn{noSSE: true, modern: modern})
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.CacheScope != "private" {
			t.Fatalf("modern=%v: cacheScope %q", modern, res.CacheScope)
		}
		var desc string
		for _, tool := range res.Tools {
			if tool.Name == "whoami" {
				desc = tool.Description
			}
		}
		if !strings.HasPrefix(desc, "caller ") || (!modern && !strings.Contains(desc, cs.ID())) {
			t.Fatalf("modern=%v: whoami says %q", modern, desc)
		}
	}
}

func TestConfirmIsAMultiRoundTrip(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t)
	elicit := func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"ok": true}}, nil
	}
	cs := connect(ctx, t, ts.URL, conn{noSSE: true, modern: true, opts: &mcp.ClientOptions{ElicitationHandler: elicit}})
	// go-sdk's client answers the input request and retries with the
	// requestState on its own.
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "confirm", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("confirm: %v %+v", err, res)
	}
	st := f.Stats().Modern.MRTR
	if st.Issued != 1 || st.Completed != 1 || st.Refused != 0 {
		t.Fatalf("mrtr %+v", st)
	}
	// A requestState the fake never issued reaches nothing.
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"confirm","arguments":{},"requestState":"rs-forged","inputResponses":{"confirm":{"action":"accept"}},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/mcp", bytes.NewBufferString(body))
	for k, v := range map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "confirm"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := f.Stats().Modern.MRTR.Refused; got != 1 {
		t.Fatalf("forged requestState: refused %d, want 1", got)
	}
}

func TestListenDeliversOnlyToItsSubscriber(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	f, ts := serve(t)
	var mu sync.Mutex
	got := map[string][]string{}
	listener := func(name string) *mcp.ClientOptions {
		return &mcp.ClientOptions{ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			mu.Lock()
			defer mu.Unlock()
			got[name] = append(got[name], req.Params.URI)
		}}
	}
	a := connect(ctx, t, ts.URL, conn{noSSE: true, modern: true, opts: listener("a")})
	b := connect(ctx, t, ts.URL, conn{noSSE: true, modern: true, opts: listener("b")})
	if err := a.Subscribe(ctx, &mcp.SubscribeParams{URI: "counter://a"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(ctx, &mcp.SubscribeParams{URI: "counter://b"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.Stats().Modern.Listens < 2 {
		if time.Now().After(deadline) {
			t.Fatal("listen streams not open within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := f.Stats().Modern; st.ListensOpen != 2 || !slices.Contains(st.Subscribed, "counter://a") || !slices.Contains(st.Subscribed, "counter://b") {
		t.Fatalf("stats: %d listens open, subscribed %v", st.ListensOpen, st.Subscribed)
	}
	mustCall(ctx, t, a, "publish", map[string]any{"uri": "counter://a"})
	// A gateway bridges a sessionless publish onto a session-bearing
	// upstream session: it must still reach the 2026-07-28 listener.
	legacy := connect(ctx, t, ts.URL, conn{noSSE: true})
	mustCall(ctx, t, legacy, "publish", map[string]any{"uri": "counter://b"})
	for {
		mu.Lock()
		n := len(got["a"]) + len(got["b"])
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("subscribers a and b did not both get a notification within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got["a"], []string{"counter://a"}) || !slices.Equal(got["b"], []string{"counter://b"}) {
		t.Fatalf("notifications %v", got)
	}
	if st := f.Stats().Modern; st.Notified != 2 || !slices.Equal(st.Published, []string{"counter://a", "counter://b"}) {
		t.Fatalf("stats: notified %d, published %v", st.Notified, st.Published)
	}
}
