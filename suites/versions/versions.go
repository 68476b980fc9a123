// Package versions holds the VER specs: the sessionless 2026-07-28
// revision (no initialize, no Mcp-Session-Id; state in handles; headers
// that repeat the body) as a gateway serves it, and the counter bug's
// sessionless form, sessionless callers bridged onto one stateful upstream
// session.
//
// Every request here is written by hand (client.Modern) so that the wire is
// the evidence; upstream truth comes from the fakes' /stats as elsewhere.
package versions

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/steps"
)

// twoIdentities are the tokens of the specs that need two callers.
var twoIdentities = map[string]string{"tok-alice": "alice", "tok-bob": "bob"}

// incrementN calls the route's increment n times and returns the last value.
func incrementN(ctx context.Context, m *client.Modern, path, tool string, n int, args map[string]any) int {
	GinkgoHelper()
	var v int
	for i := range n {
		var err error
		var resp *client.Response
		v, resp, err = m.Call(ctx, path, tool, args)
		Expect(err).NotTo(HaveOccurred(), "call %d of %s on %s", i+1, tool, path)
		Expect(resp.Header.Get(client.HeaderSession)).To(BeEmpty(), "a 2026-07-28 answer carries no Mcp-Session-Id")
	}
	return v
}

var _ = conformance.Describe("VER", func() {
	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("VER-2", "no GET stream, nothing to DELETE, and Mcp-Session-Id and Last-Event-ID are ignored", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartSessionlessGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			path, m := r.Path("counter"), gw.Modern("")
			h := http.Header{client.HeaderProtocol: {client.SessionlessRevision}, client.HeaderSession: {"made-up-session"}, "Accept": {"application/json, text/event-stream"}}
			for _, method := range []string{http.MethodGet, http.MethodDelete} {
				res, err := gw.Raw("").Headers(ctx, method, path, h, 2e9)
				Expect(err).NotTo(HaveOccurred(), "%s %s: no answer within 2 s", method, path)
				conformance.Evidencef(method+" "+path+" (2026-07-28)", "%d, Allow %q", res.Status, res.Header.Get("Allow"))
				Expect(res.Status).To(Equal(http.StatusMethodNotAllowed), "%s in 2026-07-28", method)
			}
			before := up.Stats(ctx)
			resp, err := m.Send(ctx, path, client.ModernRequest{Method: "tools/call",
				Params: map[string]any{"name": r.Tool("counter", "increment"), "arguments": map[string]any{}},
				Header: map[string]string{client.HeaderSession: "made-up-session", "Last-Event-ID": "42"}})
			Expect(err).NotTo(HaveOccurred())
			v, err := resp.ToolValue()
			conformance.Evidencef("tools/call with a stray Mcp-Session-Id and Last-Event-ID", "%d %s", resp.Status, client.Clip(resp.Body, 200))
			Expect(err).NotTo(HaveOccurred(), "a stray Mcp-Session-Id must be ignored, not refused")
			Expect(v).To(Equal(1))
			Expect(resp.Header.Get(client.HeaderSession)).To(BeEmpty(), "no Mcp-Session-Id is minted or echoed")
			disc, err := m.Send(ctx, path, client.ModernRequest{Method: "server/discover"})
			Expect(err).NotTo(HaveOccurred())
			var dr struct {
				SupportedVersions []string `json:"supportedVersions"`
			}
			Expect(disc.Result(&dr)).To(Succeed(), "server/discover")
			conformance.Evidence("server/discover supportedVersions", strings.Join(dr.SupportedVersions, ", "))
			Expect(dr.SupportedVersions).To(ContainElement(client.SessionlessRevision))
			Expect(disc.Header.Get(client.HeaderSession)).To(BeEmpty())
			for _, s := range up.Stats(ctx).Headers[len(before.Headers):] {
				Expect(s.Session).NotTo(Equal("made-up-session"), "the client's Mcp-Session-Id went upstream")
			}
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("VER-2", "any replica serves any sessionless request: 6 calls round-robin over 3 replicas read 6", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartSessionlessGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Replicas: 3})
			path, tool := r.Path("counter"), r.Tool("counter", "increment")
			var v int
			for i := range 6 {
				var err error
				v, _, err = gw.ModernAt(i%len(gw.Replicas), "").Call(ctx, path, tool, nil)
				Expect(err).NotTo(HaveOccurred(), "call %d through replica %d", i+1, i%len(gw.Replicas))
			}
			conformance.Evidencef("counter after 6 calls round-robin over "+fmt.Sprint(len(gw.Replicas))+" replicas", "%d", v)
			Expect(v).To(Equal(6), "one caller's state must not depend on which replica answers")
		}, append(fixture.MultiReplica(), SpecTimeout(2*time.Minute))...)
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("VER-3", "a state handle passes through unchanged and another identity presenting it reaches no state", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartSessionlessGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: twoIdentities})
			path := r.Path("counter")
			alice, bob := gw.Modern("tok-alice"), gw.Modern("tok-bob")
			resp, err := alice.Send(ctx, path, client.ModernRequest{Method: "tools/call", Params: map[string]any{"name": r.Tool("counter", "open"), "arguments": map[string]any{}}})
			Expect(err).NotTo(HaveOccurred())
			var opened struct {
				StructuredContent struct {
					Handle string `json:"handle"`
				} `json:"structuredContent"`
			}
			Expect(resp.Result(&opened)).To(Succeed(), "open")
			handle := opened.StructuredContent.Handle
			conformance.Evidence("handle alice got", handle)
			st := up.Stats(ctx)
			Expect(st.Handles).To(HaveLen(1), "the upstream issued one handle")
			Expect(handle).To(Equal(st.Handles[0].Handle), "the handle must reach the client as the upstream issued it")
			Expect(incrementN(ctx, alice, path, r.Tool("counter", "increment"), 5, map[string]any{"handle": handle})).To(Equal(5))

			v, resp, err := bob.Call(ctx, path, r.Tool("counter", "increment"), map[string]any{"handle": handle})
			conformance.Evidencef("bob presents alice's handle", "%d %s", resp.Status, client.Clip(resp.Body, 200))
			Expect(err).To(HaveOccurred(), "bob reached alice's counter through her handle (read %d)", v)
			after := up.Stats(ctx).Handles[0]
			conformance.Evidencef("the handle upstream", "value %d after %d calls", after.Value, after.Calls)
			Expect(after.Value).To(Equal(5), "another identity's call changed the handle's state")
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("VER-4", "Mcp-Method / Mcp-Name that disagree with the body get 400 (-32020) and reach no upstream", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartSessionlessGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			path, m := r.Path("counter"), gw.Modern("")
			inc, get := r.Tool("counter", "increment"), r.Tool("counter", "get")
			Expect(incrementN(ctx, m, path, inc, 1, nil)).To(Equal(1))
			before := up.Stats(ctx)
			for _, bad := range []map[string]string{
				{client.HeaderMethod: "tools/list"},
				{client.HeaderMethod: ""},
				{client.HeaderName: get},
				{client.HeaderName: ""},
			} {
				resp, err := m.Send(ctx, path, client.ModernRequest{Method: "tools/call", Params: map[string]any{"name": inc, "arguments": map[string]any{}}, Header: bad})
				Expect(err).NotTo(HaveOccurred())
				what := fmt.Sprintf("tools/call %s with %v", inc, bad)
				conformance.Evidencef(what, "%d %s", resp.Status, client.Clip(resp.Body, 200))
				Expect(resp.Status).To(Equal(http.StatusBadRequest), what)
				msg, err := resp.Message()
				Expect(err).NotTo(HaveOccurred(), "%s: the 400 carries a JSON-RPC error", what)
				Expect(msg.Error).NotTo(BeNil(), what)
				Expect(msg.Error.Code).To(Equal(client.CodeHeaderMismatch), what)
			}
			after := up.Stats(ctx)
			Expect(totalCalls(after)).To(Equal(totalCalls(before)), "a rejected request reached the upstream")
			v, _, err := m.Call(ctx, path, get, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(v).To(Equal(1), "the counter moved under rejected requests")
			// What did reach the upstream named the upstream's own tools.
			own := map[string]bool{"increment": true, "get": true, "open": true, "reset": true, "whoami": true, "confirm": true, "publish": true}
			conformance.Evidence("Mcp-Name headers the upstream saw", fmt.Sprint(after.Modern.Names))
			for _, n := range after.Modern.Names {
				Expect(own).To(HaveKey(n), "the upstream was sent Mcp-Name %q, not its own tool's name", n)
			}
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("VER-5", "a private tools/list is never served to another identity, nor widened to public", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartSessionlessGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: twoIdentities})
			path, whoami := r.Path("counter"), r.Tool("counter", "whoami")
			list := func(token string) (string, string) {
				resp, err := gw.Modern(token).Send(ctx, path, client.ModernRequest{Method: "tools/list"})
				Expect(err).NotTo(HaveOccurred())
				var res struct {
					CacheScope string `json:"cacheScope"`
					Tools      []struct {
						Name        string `json:"name"`
						Description string `json:"description"`
					} `json:"tools"`
				}
				Expect(resp.Result(&res)).To(Succeed(), "tools/list as %s", token)
				for _, t := range res.Tools {
					if t.Name == whoami {
						conformance.Evidencef("tools/list as "+token, "cacheScope %q, %s: %q", res.CacheScope, whoami, t.Description)
						return t.Description, res.CacheScope
					}
				}
				Fail(fmt.Sprintf("tools/list as %s has no %s", token, whoami))
				return "", ""
			}
			a, scopeA := list("tok-alice")
			b, scopeB := list("tok-bob")
			Expect(scopeA).To(Equal("private"), "the upstream marked its list private; the gateway widened it")
			Expect(scopeB).To(Equal("private"), "the upstream marked its list private; the gateway widened it")
			Expect(b).NotTo(Equal(a), "bob was served the list the upstream made for alice")
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("VER-6", "MRTR: requestState passes through unchanged, alice's retry completes, bob presenting it reaches no state", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartSessionlessGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: twoIdentities})
			mrtrRound(ctx, up, r, gw.Modern("tok-alice"), gw.Modern("tok-alice"), gw.Modern("tok-bob"))
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("VER-6", "MRTR through replicas: input_required from replica 0, the retry completes through replica 1", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartSessionlessGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: twoIdentities, Replicas: 2})
			mrtrRound(ctx, up, r, gw.ModernAt(0, "tok-alice"), gw.ModernAt(1, "tok-alice"), gw.ModernAt(1, "tok-bob"))
		}, append(fixture.MultiReplica(), SpecTimeout(2*time.Minute))...)
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("VER-7", "two identities bridged onto a stateful upstream read 5 and 3, not 8 and 8", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartSessionlessGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: twoIdentities})
			path, inc, get := r.Path("counter"), r.Tool("counter", "increment"), r.Tool("counter", "get")
			alice, bob := gw.Modern("tok-alice"), gw.Modern("tok-bob")
			fiveAndThree(ctx, path, inc, get, alice, bob, "alice / bob", "sessionless callers of two identities share upstream state")
			steps.ExpectUpstreamValues(ctx, up, 5, 3)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("VER-8", "two conversations of one identity, each with a handle from server/discover, read 5 and 3", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartSessionlessGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			path, inc, get := r.Path("counter"), r.Tool("counter", "increment"), r.Tool("counter", "get")
			conversation := func() *client.Modern {
				m := gw.Modern("")
				resp, err := m.Send(ctx, path, client.ModernRequest{Method: "server/discover"})
				Expect(err).NotTo(HaveOccurred())
				var dr struct {
					Meta map[string]any `json:"_meta"`
				}
				Expect(resp.Result(&dr)).To(Succeed(), "server/discover")
				h, _ := dr.Meta[client.MetaConversation].(string)
				Expect(h).NotTo(BeEmpty(), "server/discover's _meta has no conversation handle (%s): the gateway documents no way to keep conversations apart", client.MetaConversation)
				m.Meta = map[string]any{client.MetaConversation: h}
				return m
			}
			one, two := conversation(), conversation()
			fiveAndThree(ctx, path, inc, get, one, two, "conversation one / two", "two conversations of one identity share upstream state")
		})
	})
})

// fiveAndThree is the counter bug's test between two sessionless callers:
// a increments 5 times, b 3 times, and they must read 5 and 3.
func fiveAndThree(ctx context.Context, path, inc, get string, a, b *client.Modern, who, shared string) {
	GinkgoHelper()
	incrementN(ctx, a, path, inc, 5, nil)
	incrementN(ctx, b, path, inc, 3, nil)
	va, _, err := a.Call(ctx, path, get, nil)
	Expect(err).NotTo(HaveOccurred())
	vb, _, err := b.Call(ctx, path, get, nil)
	Expect(err).NotTo(HaveOccurred())
	conformance.Evidencef(who+" read", "%d / %d", va, vb)
	Expect([]int{va, vb}).To(Equal([]int{5, 3}), shared)
}

// totalCalls is every tools/call the upstream saw, in sessions and
// sessionless.
func totalCalls(st *fakes.Stats) int {
	n := st.Modern.Requests["tools/call"]
	for _, s := range append(st.Live, st.Ended...) {
		n += s.Calls
	}
	return n
}

// mrtrRound is one multi round-trip call of the fake's "confirm": first
// starts it, intruder (another identity) retries with first's requestState
// and must reach no state, then retry (the same identity) completes it.
func mrtrRound(ctx context.Context, up *fixture.Fake, r fixture.Route, first, retry, intruder *client.Modern) {
	GinkgoHelper()
	path, confirm := r.Path("counter"), r.Tool("counter", "confirm")
	before := up.Stats(ctx).Modern.MRTR
	resp, err := first.Send(ctx, path, client.ModernRequest{Method: "tools/call", Params: map[string]any{"name": confirm, "arguments": map[string]any{}}})
	Expect(err).NotTo(HaveOccurred())
	conformance.Evidencef("alice calls "+confirm, "%d %s", resp.Status, client.Clip(resp.Body, 300))
	var round struct {
		ResultType    string         `json:"resultType"`
		RequestState  string         `json:"requestState"`
		InputRequests map[string]any `json:"inputRequests"`
	}
	Expect(resp.Result(&round)).To(Succeed(), "the first round of %s", confirm)
	Expect(round.ResultType).To(Equal("input_required"), "the upstream asked for input; the gateway must pass input_required through")
	Expect(round.InputRequests).To(HaveKey("confirm"), "the upstream's input request")
	issued := up.Stats(ctx).Modern.MRTR
	Expect(issued.Issued).To(BeNumerically(">", before.Issued), "the upstream issued no requestState")
	Expect(issued.States).To(ContainElement(round.RequestState), "the requestState must reach the client as the upstream issued it")

	answer := map[string]any{"name": confirm, "arguments": map[string]any{}, "requestState": round.RequestState,
		"inputResponses": map[string]any{"confirm": map[string]any{"action": "accept", "content": map[string]any{"ok": true}}}}
	resp, err = intruder.Send(ctx, path, client.ModernRequest{Method: "tools/call", Params: answer})
	Expect(err).NotTo(HaveOccurred())
	conformance.Evidencef("bob retries with alice's requestState", "%d %s", resp.Status, client.Clip(resp.Body, 300))
	var stolen struct {
		ResultType string `json:"resultType"`
		IsError    bool   `json:"isError"`
	}
	if resp.Result(&stolen) == nil {
		Expect(stolen.IsError || stolen.ResultType == "input_required").To(BeTrue(), "bob completed alice's call with her requestState")
	}
	Expect(up.Stats(ctx).Modern.MRTR.Completed).To(Equal(issued.Completed), "another identity's requestState reached the upstream's state")

	resp, err = retry.Send(ctx, path, client.ModernRequest{Method: "tools/call", Params: answer})
	Expect(err).NotTo(HaveOccurred())
	conformance.Evidencef("alice retries (a new JSON-RPC id)", "%d %s", resp.Status, client.Clip(resp.Body, 300))
	var done struct {
		ResultType        string `json:"resultType"`
		IsError           bool   `json:"isError"`
		StructuredContent struct {
			Confirmed bool `json:"confirmed"`
		} `json:"structuredContent"`
	}
	Expect(resp.Result(&done)).To(Succeed(), "alice's retry")
	Expect(done.IsError).To(BeFalse(), "alice's retry failed")
	Expect(done.ResultType).To(BeElementOf("complete", ""), "alice's retry")
	Expect(done.StructuredContent.Confirmed).To(BeTrue(), "alice's retry did not complete the call")
	Expect(up.Stats(ctx).Modern.MRTR.Completed).To(Equal(issued.Completed+1), "the upstream completed no call")
}
