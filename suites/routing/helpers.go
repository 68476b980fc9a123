package routing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// result is the structured content of the fakes' routing tools.
type result struct {
	Nonce  string `json:"nonce"`
	Action string `json:"action"`
	Answer string `json:"answer"`
	Steps  int    `json:"steps"`
}

// seen is what one downstream session's client received.
type seen struct {
	mu       sync.Mutex
	asked    []string // elicitation messages and sampling prompts
	progress []string // progress messages
	notes    []string // "tools" for tools/list_changed, the URI of resources/updated
}

func (s *seen) add(list *[]string, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*list = append(*list, v)
}

func (s *seen) snapshot() (asked, progress, notes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.asked), slices.Clone(s.progress), slices.Clone(s.notes)
}

// handling is a go-sdk client that answers elicitation and sampling with
// answer and records everything it is sent.
func handling(answer string, s *seen) *mcp.ClientOptions {
	return &mcp.ClientOptions{
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			s.add(&s.asked, req.Params.Message)
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"answer": answer}}, nil
		},
		CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			text := ""
			if len(req.Params.Messages) > 0 {
				if t, ok := req.Params.Messages[0].Content.(*mcp.TextContent); ok {
					text = t.Text
				}
			}
			s.add(&s.asked, text)
			return &mcp.CreateMessageResult{Model: "mcpconf", Role: "assistant", Content: &mcp.TextContent{Text: answer}}, nil
		},
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			s.add(&s.progress, req.Params.Message)
		},
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			s.add(&s.notes, "tools")
		},
		ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			s.add(&s.notes, req.Params.URI)
		},
	}
}

// call runs a routing tool and returns its structured content; a tool
// error is returned as an error.
func call(ctx context.Context, s *client.Session, tool string, args map[string]any) (result, error) {
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return result{}, err
	}
	var out result
	raw, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(raw, &out)
	if res.IsError {
		return out, fmt.Errorf("tool %s failed: %s", tool, textOf(res))
	}
	return out, nil
}

func textOf(res *mcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			return t.Text
		}
	}
	return "(no text)"
}

// byNonce finds the upstream session whose nonce is nonce.
func byNonce(st *fakes.Stats, nonce string) (fakes.SessionStats, bool) {
	for _, list := range [][]fakes.SessionStats{st.Live, st.Ended} {
		for _, s := range list {
			if s.Routing != nil && s.Routing.Nonce == nonce {
				return s, true
			}
		}
	}
	return fakes.SessionStats{}, false
}

// upstreamRouting returns the routing stats of the upstream session with
// the given nonce, failing the assertion when there is none.
func upstreamRouting(g Gomega, st *fakes.Stats, nonce string) *fakes.RoutingStats {
	s, ok := byNonce(st, nonce)
	g.Expect(ok).To(BeTrue(), "no upstream session has nonce %s", nonce)
	return s.Routing
}

// liveUpstream returns the one live upstream session the fake holds
// besides those in before (the one a new downstream session opened).
func liveUpstream(ctx context.Context, up *fixture.Fake, g Gomega, not ...string) fakes.SessionStats {
	st, err := up.FetchStats(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	var fresh []fakes.SessionStats
	for _, s := range st.Live {
		if !slices.Contains(not, s.ID) {
			fresh = append(fresh, s)
		}
	}
	g.Expect(fresh).To(HaveLen(1))
	return fresh[0]
}

// progressToken is session i's progress token: every session uses one of
// the same two values, the string "p" and the number 1.
func progressToken(i int) string {
	if i%2 == 0 {
		return `"p"`
	}
	return `1`
}

// sameID is session i's JSON-RPC id: 1 or "1".
func sameID(i int) string {
	if i%2 == 0 {
		return `1`
	}
	return `"1"`
}

// upstreamValues are the counters of the crowd's upstream sessions.
func upstreamValues() []int {
	out := make([]int, crowd)
	for i := range crowd {
		out[i] = i + 1
	}
	return out
}

// findMethod finds the first message of method in msgs.
func findMethod(msgs []client.Message, method string, out *client.Message) bool {
	for _, m := range msgs {
		if m.Method == method {
			*out = m
			return true
		}
	}
	return false
}

// findResponse returns the first response (result or error) in msgs.
func findResponse(msgs []client.Message) *client.Message {
	for _, m := range msgs {
		if m.Method == "" && (m.Result != nil || m.Error != nil) {
			return &m
		}
	}
	return nil
}

// answerBody is a client's answer to elicitation request id.
func answerBody(id json.RawMessage, answer string) []byte {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "result": map[string]any{"action": "accept", "content": map[string]any{"answer": answer}}})
	return b
}

// outcomes lists how the requests to the client of the fake's live
// sessions ended ("pending", "answered", "error"), from its /stats.
func outcomes(ctx context.Context, g Gomega, up *fixture.Fake) []string {
	st, err := up.FetchStats(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, l := range st.Live {
		if l.Routing != nil {
			for _, q := range l.Routing.Requests {
				out = append(out, q.Outcome)
			}
		}
	}
	return out
}

// rootsAnswer is a client's answer to roots/list request id: one root,
// named text (the fake answers its URI).
func rootsAnswer(id json.RawMessage, text string) []byte {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "result": map[string]any{"roots": []map[string]any{{"uri": text}}}})
	return b
}

// answered lists the answers the upstream's requests to the client got.
func answered(st *fakes.Stats) []string {
	var out []string
	for _, list := range [][]fakes.SessionStats{st.Live, st.Ended} {
		for _, s := range list {
			if s.Routing == nil {
				continue
			}
			for _, q := range s.Routing.Requests {
				if q.Outcome == "answered" {
					out = append(out, q.Answer)
				}
			}
		}
	}
	return out
}

// upstreamWait is a call of "wait" and the cancellations its session got.
type upstreamWait struct {
	fakes.WaitRecord
	cancellations []string
}

// findWait finds the upstream's call of "wait" tagged tag.
func findWait(g Gomega, up *fixture.Fake, ctx context.Context, tag string) (upstreamWait, bool) {
	st, err := up.FetchStats(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	for _, s := range st.Live {
		if w, ok := s.Routing.Wait(tag); ok {
			out := upstreamWait{WaitRecord: w}
			for _, c := range s.Routing.Cancellations {
				out.cancellations = append(out.cancellations, string(c.RequestID))
			}
			return out, true
		}
	}
	return upstreamWait{}, false
}

// belowInfo reports whether a log line says it is below info (a JSON slog
// line at DEBUG); any other line counts.
func belowInfo(line string) bool {
	var rec struct {
		Level string `json:"level"`
	}
	if json.Unmarshal([]byte(line), &rec) != nil {
		return false
	}
	return rec.Level == "DEBUG"
}

// callAll calls tool in every session at once, each call bounded by
// callBound, and returns each session's error.
func callAll(ctx context.Context, sessions []*client.Session, tool string) []error {
	errs := make([]error, len(sessions))
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, callBound)
			defer cancel()
			_, errs[i] = call(cctx, s, tool, nil)
		})
	}
	wg.Wait()
	return errs
}

// nonceOf learns each session's upstream nonce, one session at a time, so
// that no answer of this setup can cross to another session (RTE-5's
// matter) and the specs judge their own requirement from upstream truth.
func nonceOf(ctx context.Context, sessions []*client.Session, slow string) []string {
	GinkgoHelper()
	out := make([]string, len(sessions))
	for i, s := range sessions {
		res, err := call(ctx, s, slow, map[string]any{"steps": 0})
		Expect(err).NotTo(HaveOccurred(), "session %d: %s", i, slow)
		Expect(res.Nonce).NotTo(BeEmpty(), "session %d: %s returned no nonce", i, slow)
		out[i] = res.Nonce
	}
	return out
}

// initCrowd initializes one session per identity of token on path, the
// crowd of the crossing specs, and returns their clients and session ids.
func initCrowd(ctx context.Context, gw *fixture.Gateway, token func(int) string, path string) ([]*client.Raw, []string) {
	GinkgoHelper()
	raws := make([]*client.Raw, crowd)
	sids := make([]string, crowd)
	for i := range crowd {
		raws[i] = gw.Raw(token(i))
		hs, err := raws[i].Initialize(ctx, path)
		Expect(err).NotTo(HaveOccurred(), "initialize session %d of the crowd", i)
		sids[i] = hs.SessionID
	}
	return raws, sids
}
