package counter_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// seen collects what a client's handlers received.
type seen struct {
	mu       sync.Mutex
	asked    []string
	progress []string
	notes    []string
}

func (s *seen) add(list *[]string, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*list = append(*list, v)
}

func (s *seen) get(list *[]string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), *list...)
}

// connectHandling opens a session whose client answers elicitation and
// sampling with answer and records progress and notifications.
func connectHandling(ctx context.Context, t *testing.T, url, answer string, sn *seen) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v1"}, &mcp.ClientOptions{
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			sn.add(&sn.asked, req.Params.Message)
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"answer": answer}}, nil
		},
		CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			sn.add(&sn.asked, req.Params.Messages[0].Content.(*mcp.TextContent).Text)
			return &mcp.CreateMessageResult{Model: "m", Role: "assistant", Content: &mcp.TextContent{Text: answer}}, nil
		},
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			sn.add(&sn.progress, req.Params.Message)
		},
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			sn.add(&sn.notes, "tools")
		},
		ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			sn.add(&sn.notes, req.Params.URI)
		},
	})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1, DisableStandaloneSSE: true},
		// The routing tools live in the session-bearing era.
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func callRouting(ctx context.Context, t *testing.T, cs *mcp.ClientSession, p *mcp.CallToolParams) counter.RoutingResult {
	t.Helper()
	res, err := cs.CallTool(ctx, p)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if res.IsError {
		t.Fatalf("tool error: %v", (&toolError{res}).Error())
	}
	raw, _ := json.Marshal(res.StructuredContent)
	var out counter.RoutingResult
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func routingOf(ctx context.Context, t *testing.T, base, session string) *fakes.RoutingStats {
	t.Helper()
	st, err := fakes.FetchStats(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := st.Session(session)
	if !ok || s.Routing == nil {
		t.Fatalf("session %s has no routing stats: %+v", session, s)
	}
	return s.Routing
}

func TestRoutingToolsReachTheirOwnSession(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	_, ts := serve(t)
	var a, b seen
	csA := connectHandling(ctx, t, ts.URL, "from-a", &a)
	csB := connectHandling(ctx, t, ts.URL, "from-b", &b)

	ask := callRouting(ctx, t, csA, &mcp.CallToolParams{Name: "ask"})
	if ask.Action != "accept" || ask.Answer != "from-a" {
		t.Errorf("ask answered %+v, want accept from-a", ask)
	}
	smp := callRouting(ctx, t, csB, &mcp.CallToolParams{Name: "sample"})
	if smp.Answer != "from-b" {
		t.Errorf("sample answered %+v, want from-b", smp)
	}
	if got := a.get(&a.asked); len(got) != 1 || got[0] != "nonce "+ask.Nonce {
		t.Errorf("A was asked %v, want its own nonce %s", got, ask.Nonce)
	}
	if got := b.get(&b.asked); len(got) != 1 || got[0] != "nonce "+smp.Nonce || smp.Nonce == ask.Nonce {
		t.Errorf("B was asked %v, want its own nonce %s (A's is %s)", got, smp.Nonce, ask.Nonce)
	}
	ra := routingOf(ctx, t, ts.URL, csA.ID())
	if len(ra.Requests) != 1 || ra.Requests[0].Outcome != "answered" || ra.Requests[0].Answer != "from-a" || ra.Nonce != ask.Nonce {
		t.Errorf("A's upstream truth: %+v", ra)
	}

	slow := callRouting(ctx, t, csA, &mcp.CallToolParams{Name: "slow", Arguments: map[string]any{"steps": 4}, Meta: mcp.Meta{"progressToken": "t1"}})
	if slow.Steps != 4 {
		t.Errorf("slow sent %d steps, want 4", slow.Steps)
	}
	// The client's handlers run apart from the call's return.
	waitFor(ctx, t, func() bool { return len(a.get(&a.progress)) >= 4 })
	if got := a.get(&a.progress); len(got) != 4 || got[0] != "nonce "+ask.Nonce {
		t.Errorf("A saw progress %v, want 4 with its nonce", got)
	}
	if got := b.get(&b.progress); len(got) != 0 {
		t.Errorf("B saw A's progress: %v", got)
	}
	if ra := routingOf(ctx, t, ts.URL, csA.ID()); ra.Progress != 4 || len(ra.ProgressTokens) != 1 || string(ra.ProgressTokens[0]) != `"t1"` {
		t.Errorf("A's progress truth: %d %s", ra.Progress, ra.ProgressTokens)
	}

	callRouting(ctx, t, csB, &mcp.CallToolParams{Name: "notify", Arguments: map[string]any{"kind": "tools"}})
	callRouting(ctx, t, csB, &mcp.CallToolParams{Name: "notify", Arguments: map[string]any{"kind": "resources"}})
	waitFor(ctx, t, func() bool { return len(b.get(&b.notes)) >= 2 })
	if got := b.get(&b.notes); len(got) != 2 || got[0] != "tools" || got[1] != counter.ResourceURI(smp.Nonce) {
		t.Errorf("B's notifications: %v", got)
	}
	if got := a.get(&a.notes); len(got) != 0 {
		t.Errorf("A saw B's notifications: %v", got)
	}
}

func TestWaitRecordsTheCancelledRequestID(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	_, ts := serve(t)
	cs := connectHandling(ctx, t, ts.URL, "", &seen{})
	callCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(callCtx, &mcp.CallToolParams{Name: "wait", Arguments: map[string]any{"tag": "w1"}})
		done <- err
	}()
	other := make(chan error, 1)
	otherCtx, cancelOther := context.WithCancel(ctx)
	defer cancelOther()
	waitFor(ctx, t, func() bool { _, ok := routingOfMaybe(ctx, ts.URL, cs.ID()).Wait("w1"); return ok })
	go func() {
		_, err := cs.CallTool(otherCtx, &mcp.CallToolParams{Name: "wait", Arguments: map[string]any{"tag": "w2"}})
		other <- err
	}()
	waitFor(ctx, t, func() bool { _, ok := routingOfMaybe(ctx, ts.URL, cs.ID()).Wait("w2"); return ok })
	cancel() // the SDK sends notifications/cancelled naming w1's id
	if err := <-done; err == nil {
		t.Fatal("cancelled wait returned no error")
	}
	waitFor(ctx, t, func() bool {
		w, _ := routingOfMaybe(ctx, ts.URL, cs.ID()).Wait("w1")
		return !w.Ended.IsZero()
	})
	r := routingOf(ctx, t, ts.URL, cs.ID())
	w1, _ := r.Wait("w1")
	w2, _ := r.Wait("w2")
	if !w1.Cancelled || len(w1.RequestID) == 0 {
		t.Errorf("w1: %+v, want cancelled with its request id", w1)
	}
	if !w2.Ended.IsZero() {
		t.Errorf("w2 ended with w1: %+v", w2)
	}
	if len(r.Cancellations) != 1 || string(r.Cancellations[0].RequestID) != string(w1.RequestID) {
		t.Errorf("cancellations %+v, want one naming w1's id %s", r.Cancellations, w1.RequestID)
	}
	cancelOther()
	<-other
}

func routingOfMaybe(ctx context.Context, base, session string) *fakes.RoutingStats {
	st, err := fakes.FetchStats(ctx, base)
	if err != nil {
		return nil
	}
	s, _ := st.Session(session)
	return s.Routing
}

// waitFor polls cond until it holds or ctx ends (which fails the test).
func waitFor(ctx context.Context, t *testing.T, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("condition not met: %v", ctx.Err())
		case <-tick.C:
		}
	}
}

func TestAskWithoutElicitationCapabilityFailsFast(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	_, ts := serve(t)
	cs := connect(ctx, t, ts.URL, conn{noSSE: true})
	start := time.Now()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ask"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError || time.Since(start) > 2*time.Second {
		t.Errorf("ask with no capability: error %v after %v", res.IsError, time.Since(start))
	}
	r := routingOf(ctx, t, ts.URL, cs.ID())
	if len(r.Requests) != 1 || r.Requests[0].Outcome != "error" || !strings.Contains(r.Requests[0].Error, "elicitation") {
		t.Errorf("requests %+v", r.Requests)
	}
}

func TestRootsRecordsTheClientsAnswer(t *testing.T) {
	noLeaks(t)
	ctx := testCtx(t)
	_, ts := serve(t)
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v1"}, nil)
	client.AddRoots(&mcp.Root{URI: "file:///a"}, &mcp.Root{URI: "file:///b"})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: &http.Client{Transport: tr}, MaxRetries: -1, DisableStandaloneSSE: true},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	res := callRouting(ctx, t, cs, &mcp.CallToolParams{Name: "roots"})
	if res.Answer != "file:///a file:///b" {
		t.Errorf("roots answered %q", res.Answer)
	}
	r := routingOf(ctx, t, ts.URL, cs.ID())
	if len(r.Requests) != 1 || r.Requests[0].Method != "roots/list" || r.Requests[0].Outcome != "answered" || r.Requests[0].Answer != res.Answer || r.Requests[0].Ended.IsZero() {
		t.Errorf("requests %+v", r.Requests)
	}
}
