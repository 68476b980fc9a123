// Package routing holds the RTE specs: what an upstream session sends
// inside a session (server-to-client requests, progress, notifications) and
// what a client sends about its own calls (answers, cancellations) reach
// exactly the session and the request they belong to, also when many
// sessions use the same ids and tokens at once.
package routing

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/steps"
	"github.com/mcpgw/conformance/suites/targetconf"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// crowd is how many sessions a crossing spec runs at once, all with the
// same ids and tokens.
const crowd = 16

// Bounds of the RTE statements.
const (
	undeliverableBound = 10 * time.Second // RTE-3
	cancelBound        = 5 * time.Second  // RTE-6
	callBound          = 15 * time.Second // any one routed call
	// quiet is how long a spec watches for a stray message after every
	// expected one has arrived.
	quiet = 500 * time.Millisecond
)

var _ = conformance.Describe("RTE", func() {
	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("RTE-1", fmt.Sprintf("%d sessions eliciting and sampling at once each see only their own nonce", crowd), func(ctx SpecContext) {
			fixture.RequireSessionIDs() // a server-to-client request, or a later message about a request, needs the session
			fixture.RequireMessages(targetconf.MessageElicitation, targetconf.MessageSampling)
			up := fixture.Counter("counter")
			tokens, token := steps.Identities(crowd)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: tokens})
			sessions := make([]*client.Session, crowd)
			seens := make([]*seen, crowd)
			for i := range crowd {
				seens[i] = &seen{}
				sessions[i] = gw.Connect(ctx, r.Path("counter"), client.Options{Token: token(i), Client: handling(fmt.Sprintf("answer-%d", i), seens[i])})
			}
			nonces := nonceOf(ctx, sessions, r.Tool("counter", "slow"))
			for _, tool := range []string{"ask", "sample"} {
				errs := callAll(ctx, sessions, r.Tool("counter", tool))
				st := up.Stats(ctx)
				for i := range crowd {
					Expect(errs[i]).NotTo(HaveOccurred(), "session %d: %s", i, tool)
					asked, _, _ := seens[i].snapshot()
					rs := upstreamRouting(Default, st, nonces[i])
					conformance.Evidencef(fmt.Sprintf("%s: session %d", tool, i), "nonce %s, its client was sent %q, its upstream session's requests %+v", nonces[i], asked, rs.Requests)
					Expect(asked).To(ContainElement("nonce "+nonces[i]), "session %d's client was never sent its own upstream's %s", i, tool)
					Expect(asked).To(HaveEach("nonce "+nonces[i]), "session %d's client was sent another session's %s (another nonce)", i, tool)
					Expect(rs.Requests).NotTo(BeEmpty())
					last := rs.Requests[len(rs.Requests)-1]
					Expect(last.Answer).To(Equal(fmt.Sprintf("answer-%d", i)), "upstream truth: session %d's upstream got another client's answer", i)
				}
				for i := range crowd {
					seens[i].mu.Lock()
					seens[i].asked = nil
					seens[i].mu.Unlock()
				}
			}
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("RTE-1", fmt.Sprintf("%d sessions answering roots/list at once each answer only their own upstream session", crowd), func(ctx SpecContext) {
			fixture.RequireSessionIDs() // a server-to-client request needs the session
			fixture.RequireMessages(targetconf.MessageRoots)
			up := fixture.Counter("counter")
			tokens, token := steps.Identities(crowd)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: tokens})
			// roots/list carries nothing of the upstream session's: each
			// client answers with a root of its own, and the upstream
			// sessions' records say whose answer each got.
			run := strings.ToLower(rand.Text()[:8])
			root := func(i int) string { return fmt.Sprintf("file:///mcpconf/%s/session-%d", run, i) }
			sessions := make([]*client.Session, crowd)
			for i := range crowd {
				sessions[i] = gw.Connect(ctx, r.Path("counter"), client.Options{Token: token(i), Roots: []*mcp.Root{{URI: root(i), Name: "mcpconf"}}})
			}
			nonces := nonceOf(ctx, sessions, r.Tool("counter", "slow"))
			errs := callAll(ctx, sessions, r.Tool("counter", "roots"))
			st := up.Stats(ctx)
			for i := range crowd {
				Expect(errs[i]).NotTo(HaveOccurred(), "session %d: roots", i)
				rs := upstreamRouting(Default, st, nonces[i])
				conformance.Evidencef(fmt.Sprintf("roots: session %d", i), "nonce %s, its root %s, its upstream session's requests %+v", nonces[i], root(i), rs.Requests)
				Expect(rs.Requests).NotTo(BeEmpty(), "upstream truth: session %d's upstream session sent no roots/list", i)
				last := rs.Requests[len(rs.Requests)-1]
				Expect(last.Method).To(Equal("roots/list"))
				Expect(last.Answer).To(Equal(root(i)), "upstream truth: session %d's upstream session got another client's roots", i)
			}
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("RTE-2", "an answer sent from another session under the same id does not complete the first session's elicitation", func(ctx SpecContext) {
			fixture.RequireSessionIDs() // a server-to-client request, or a later message about a request, needs the session
			fixture.RequireMessages(targetconf.MessageElicitation)
			up := fixture.Counter("counter")
			tokens, token := steps.Identities(2)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: tokens})
			path := r.Path("counter")
			elicit := map[string]any{"elicitation": map[string]any{}}
			a, b := gw.Raw(token(0)), gw.Raw(token(1))
			a.Capabilities, b.Capabilities = elicit, elicit
			ha, err := a.Initialize(ctx, path)
			Expect(err).NotTo(HaveOccurred())
			hb, err := b.Initialize(ctx, path)
			Expect(err).NotTo(HaveOccurred())

			stream, err := a.OpenPost(ctx, path, ha.SessionID, a.Request("tools/call", map[string]any{"name": r.Tool("counter", "ask"), "arguments": map[string]any{}}), callBound)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(stream.Close)
			var req client.Message
			Eventually(ctx, func(g Gomega) {
				g.Expect(findMethod(stream.Messages(), "elicitation/create", &req)).To(BeTrue(), "session A's call stream carries no elicitation/create: %s", client.Clip(stream.Received(), 400))
			}).WithTimeout(callBound).Should(Succeed())
			conformance.Evidencef("elicitation/create on session A's call stream", "id %s params %s", req.ID, client.Clip(req.Params, 200))

			// Session B answers A's request id with its own answer.
			res, err := b.Post(ctx, path, hb.SessionID, answerBody(req.ID, "from-b"))
			Expect(err).NotTo(HaveOccurred())
			conformance.Evidencef("session B answers id "+string(req.ID), "%d %s", res.Status, client.Clip(res.Body, 200))
			Consistently(ctx, func(g Gomega) {
				g.Expect(findResponse(stream.Messages())).To(BeNil(), "session A's call completed after session B answered")
				g.Expect(answered(up.Stats(ctx))).To(BeEmpty(), "the upstream's elicitation was completed by session B's answer")
			}).WithTimeout(quiet).Should(Succeed())

			res, err = a.Post(ctx, path, ha.SessionID, answerBody(req.ID, "from-a"))
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Status/100).To(Equal(2), "session A's answer: %d %s", res.Status, client.Clip(res.Body, 200))
			var final *client.Message
			Eventually(ctx, func(g Gomega) {
				final = findResponse(stream.Messages())
				g.Expect(final).NotTo(BeNil())
			}).WithTimeout(callBound).Should(Succeed())
			Expect(final.Error).To(BeNil())
			Expect(string(final.Result)).To(ContainSubstring(`"answer":"from-a"`), "session A's call result: %s", client.Clip(final.Result, 300))
			Expect(answered(up.Stats(ctx))).To(Equal([]string{"from-a"}), "upstream truth: the answers its elicitation got")
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("RTE-3", "an elicitation the client has no capability for ends in an error within 10 s on both sides", func(ctx SpecContext) {
			fixture.RequireSessionIDs() // a server-to-client request, or a later message about a request, needs the session
			fixture.RequireMessages(targetconf.MessageElicitation)
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			s := gw.Connect(ctx, r.Path("counter"), client.Options{}) // no handlers: no elicitation capability
			cctx, cancel := context.WithTimeout(ctx, undeliverableBound)
			defer cancel()
			start := time.Now()
			_, err := call(cctx, s, r.Tool("counter", "ask"), nil)
			took := time.Since(start)
			conformance.Evidencef("ask from a client without elicitation", "%v after %s", err, took.Round(time.Millisecond))
			Expect(cctx.Err()).NotTo(HaveOccurred(), "the call got no answer within %s", undeliverableBound)
			Expect(err).To(HaveOccurred(), "the call succeeded though its elicitation could not be delivered")
			Eventually(ctx, func(g Gomega) []string { return outcomes(ctx, g, up) }).WithTimeout(undeliverableBound).
				Should(Equal([]string{"error"}), "upstream truth: its elicitation should have ended in an error")
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("RTE-3", "a call whose client offers no stream (its POST accepts only JSON, no GET stream) is answered within 10 s and its elicitation fails", func(ctx SpecContext) {
			fixture.RequireSessionIDs() // a server-to-client request needs the session
			fixture.RequireMessages(targetconf.MessageElicitation)
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			path := r.Path("counter")
			raw := gw.Raw("")
			raw.Capabilities = map[string]any{"elicitation": map[string]any{}}
			hs, err := raw.Initialize(ctx, path)
			Expect(err).NotTo(HaveOccurred())
			// The client can take the elicitation, but only the one JSON
			// answer to its POST, and it opens no GET stream: there is no
			// stream to send it on.
			raw.Timeout = undeliverableBound
			h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}, client.HeaderSession: {hs.SessionID}}
			if raw.ProtocolVersion != "" {
				h.Set(client.HeaderProtocol, raw.ProtocolVersion)
			}
			start := time.Now()
			res, err := raw.Do(ctx, http.MethodPost, path, h, raw.Request("tools/call", map[string]any{"name": r.Tool("counter", "ask"), "arguments": map[string]any{}}))
			took := time.Since(start)
			Expect(err).NotTo(HaveOccurred(), "the call got no answer within %s (after %s)", undeliverableBound, took.Round(time.Millisecond))
			conformance.Evidencef("ask, POST accepting only application/json", "%d %s after %s: %s", res.Status, res.Header.Get("Content-Type"), took.Round(time.Millisecond), client.Clip(res.Body, 300))
			if res.Status/100 == 2 {
				// Served: the answer must say the elicitation failed.
				msg, err := res.Message()
				Expect(err).NotTo(HaveOccurred(), "a 2xx answer to a POST that accepts only JSON must be one JSON-RPC response")
				var tool struct {
					IsError bool `json:"isError"`
				}
				if msg.Error == nil {
					Expect(json.Unmarshal(msg.Result, &tool)).To(Succeed())
				}
				Expect(msg.Error != nil || tool.IsError).To(BeTrue(), "the call succeeded though its elicitation had no stream to travel on: %s", client.Clip(res.Body, 300))
			} else {
				// Refused at the door (the transport wants both types
				// accepted): a clear 4xx, and nothing may hang upstream.
				Expect(res.Status/100).To(Equal(4), "the call was answered %d", res.Status)
			}
			upstream := func(g Gomega) []string { return outcomes(ctx, g, up) }
			Consistently(ctx, upstream).WithTimeout(quiet).ShouldNot(ContainElement("answered"), "upstream truth: its elicitation was answered, though no stream could carry it")
			Eventually(ctx, upstream).WithTimeout(undeliverableBound).ShouldNot(ContainElement("pending"), "upstream truth: its elicitation is still waiting %s after the call", undeliverableBound)
			conformance.Evidencef("upstream truth", "its elicitations ended %q", upstream(Default))
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("RTE-4", fmt.Sprintf("%d sessions using the same progress tokens each get only their own progress, before their result", crowd), func(ctx SpecContext) {
			fixture.RequireMessages(targetconf.MessageProgress)
			up := fixture.Counter("counter")
			tokens, token := steps.Identities(crowd)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: tokens})
			path := r.Path("counter")
			raws, sids := initCrowd(ctx, gw, token, path)
			const stepsN = 3
			streams := make([]*client.Stream, crowd)
			var wg sync.WaitGroup
			errs := make([]error, crowd)
			for i := range crowd {
				wg.Go(func() {
					// Ids differ (they are RTE-5's matter); tokens are shared.
					body := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{"steps":%d},"_meta":{"progressToken":%s}}}`,
						100+i, r.Tool("counter", "slow"), stepsN, progressToken(i)))
					streams[i], errs[i] = raws[i].OpenPost(ctx, path, sids[i], body, callBound)
				})
			}
			wg.Wait()
			for i := range crowd {
				Expect(errs[i]).NotTo(HaveOccurred())
				DeferCleanup(streams[i].Close)
			}
			for i := range crowd {
				Eventually(ctx, streams[i].Ended()).WithTimeout(callBound).Should(BeClosed(), "session %d's call stream did not end", i)
				msgs := streams[i].Messages()
				final := findResponse(msgs)
				Expect(final).NotTo(BeNil(), "session %d: no response: %s", i, client.Clip(streams[i].Received(), 300))
				var res struct {
					StructuredContent result `json:"structuredContent"`
				}
				Expect(json.Unmarshal(final.Result, &res)).To(Succeed())
				nonce := res.StructuredContent.Nonce
				var before []string
				for _, m := range msgs {
					if m.ID != nil && m.Method == "" {
						break // the response: what follows it is too late
					}
					if m.Method == "notifications/progress" {
						var p struct {
							Token   json.RawMessage `json:"progressToken"`
							Message string          `json:"message"`
						}
						_ = json.Unmarshal(m.Params, &p)
						Expect(string(p.Token)).To(Equal(progressToken(i)), "session %d got progress under another token", i)
						before = append(before, p.Message)
					}
				}
				conformance.Evidencef(fmt.Sprintf("session %d (token %s)", i, progressToken(i)), "nonce %s, progress before the result: %q", nonce, before)
				Expect(before).To(HaveLen(stepsN), "session %d: progress notifications before its result", i)
				Expect(before).To(HaveEach("nonce "+nonce), "session %d got another session's progress", i)
			}
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("RTE-5", fmt.Sprintf("%d sessions calling at once with ids 1 and \"1\" each get their own answer under their own id", crowd), func(ctx SpecContext) {
			up := fixture.Counter("counter")
			tokens, token := steps.Identities(crowd)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: tokens})
			path := r.Path("counter")
			raws, sids := initCrowd(ctx, gw, token, path)
			for i := range crowd {
				res, err := raws[i].CallTool(ctx, path, sids[i], r.Tool("counter", "increment"), map[string]any{"by": i + 1})
				Expect(err).NotTo(HaveOccurred())
				// Each session holding a counter of its own is isolation
				// (ISO-1's to judge): on a gateway that pools upstream
				// sessions RTE-5 cannot tell whose answer is whose.
				conformance.Precondition("ISO-1", func() {
					Expect(res.ToolValue()).To(Equal(i+1), "session %d's first increment: its upstream counter is shared with another session", i)
				})
			}
			const rounds = 3
			for round := range rounds {
				type answer struct {
					res *client.Response
					err error
				}
				answers := make([]answer, crowd)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range crowd {
					wg.Go(func() {
						body := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, sameID(i), r.Tool("counter", "get")))
						<-start
						res, err := raws[i].Post(ctx, path, sids[i], body)
						answers[i] = answer{res, err}
					})
				}
				close(start)
				wg.Wait()
				for i, a := range answers {
					Expect(a.err).NotTo(HaveOccurred())
					msg, err := a.res.Message()
					Expect(err).NotTo(HaveOccurred(), "session %d round %d", i, round)
					v, verr := a.res.ToolValue()
					conformance.Evidencef(fmt.Sprintf("round %d session %d (id %s)", round, i, sameID(i)), "answer id %s, value %d %v", msg.ID, v, verr)
					Expect(string(msg.ID)).To(Equal(sameID(i)), "session %d sent id %s and got its answer under id %s", i, sameID(i), msg.ID)
					Expect(verr).NotTo(HaveOccurred())
					Expect(v).To(Equal(i+1), "session %d (counter %d) got another session's answer", i, i+1)
				}
			}
			steps.ExpectUpstreamValues(ctx, up, upstreamValues()...)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("RTE-6", "notifications/cancelled reaches the upstream request it names, under the upstream's id, and cancels nothing else", func(ctx SpecContext) {
			fixture.RequireSessionIDs() // a server-to-client request, or a later message about a request, needs the session
			fixture.RequireMessages(targetconf.MessageCancellation)
			up := fixture.Counter("counter")
			tokens, token := steps.Identities(2)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: tokens})
			path := r.Path("counter")
			one, two := gw.Raw(token(0)), gw.Raw(token(1))
			h1, err := one.Initialize(ctx, path)
			Expect(err).NotTo(HaveOccurred())
			h2, err := two.Initialize(ctx, path)
			Expect(err).NotTo(HaveOccurred())
			wait := func(raw *client.Raw, sid string, id int, tag string) {
				body := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":{"tag":%q}}}`, id, r.Tool("counter", "wait"), tag))
				// The call's stream may send nothing (not even headers)
				// until the call ends, so it is held open in the background
				// until the spec ends.
				wctx, cancel := context.WithCancel(ctx)
				DeferCleanup(cancel)
				go func() {
					if s, err := raw.OpenPost(wctx, path, sid, body, time.Minute); err == nil {
						<-wctx.Done()
						s.Close()
					}
				}()
				Eventually(ctx, func(g Gomega) {
					_, ok := findWait(g, up, ctx, tag)
					g.Expect(ok).To(BeTrue(), "the upstream never started wait %s", tag)
				}).WithTimeout(callBound).Should(Succeed())
			}
			// The same id 7 in both sessions, and a second call in the first.
			wait(one, h1.SessionID, 7, "one-7")
			wait(one, h1.SessionID, 8, "one-8")
			wait(two, h2.SessionID, 7, "two-7")

			res, err := one.Post(ctx, path, h1.SessionID, client.Notification("notifications/cancelled", map[string]any{"requestId": 7, "reason": "mcpconf RTE-6"}))
			Expect(err).NotTo(HaveOccurred())
			conformance.Evidencef("session one cancels its id 7", "%d %s", res.Status, client.Clip(res.Body, 200))
			sent := time.Now()
			var target upstreamWait
			Eventually(ctx, func(g Gomega) {
				w, _ := findWait(g, up, ctx, "one-7")
				target = w
				g.Expect(w.Cancelled).To(BeTrue(), "the upstream request of session one's id 7 was not cancelled")
			}).WithTimeout(cancelBound).Should(Succeed(), "within %s", cancelBound)
			conformance.Evidencef("upstream truth", "wait one-7 arrived upstream as id %s, cancelled after %s; cancellations the session got: %s",
				target.RequestID, time.Since(sent).Round(time.Millisecond), target.cancellations)
			Expect(target.cancellations).To(Equal([]string{string(target.RequestID)}), "the upstream must be told of exactly its own request id")
			Consistently(ctx, func(g Gomega) {
				for _, tag := range []string{"one-8", "two-7"} {
					w, ok := findWait(g, up, ctx, tag)
					g.Expect(ok).To(BeTrue())
					g.Expect(w.Ended.IsZero()).To(BeTrue(), "wait %s was ended by session one's cancellation of its id 7", tag)
				}
			}).WithTimeout(quiet).Should(Succeed())
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("RTE-7", fmt.Sprintf("list_changed and resources/updated of %d upstream sessions each reach only their own downstream session", crowd), func(ctx SpecContext) {
			fixture.RequireMessages(targetconf.MessageNotifications)
			up := fixture.Counter("counter")
			tokens, token := steps.Identities(crowd)
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: tokens})
			sessions := make([]*client.Session, crowd)
			seens := make([]*seen, crowd)
			for i := range crowd {
				seens[i] = &seen{}
				sessions[i] = gw.Connect(ctx, r.Path("counter"), client.Options{Token: token(i), Client: handling("", seens[i])})
			}
			nonces := nonceOf(ctx, sessions, r.Tool("counter", "slow"))
			errs := make([]error, crowd)
			var wg sync.WaitGroup
			for i := range crowd {
				wg.Go(func() {
					cctx, cancel := context.WithTimeout(ctx, callBound)
					defer cancel()
					if _, errs[i] = call(cctx, sessions[i], r.Tool("counter", "notify"), map[string]any{"kind": "tools"}); errs[i] == nil {
						_, errs[i] = call(cctx, sessions[i], r.Tool("counter", "notify"), map[string]any{"kind": "resources"})
					}
				})
			}
			wg.Wait()
			want := func(i int) []string { return []string{"tools", "counter://session/" + nonces[i]} }
			for i := range crowd {
				Expect(errs[i]).NotTo(HaveOccurred(), "session %d: notify", i)
				Eventually(ctx, func() []string { _, _, n := seens[i].snapshot(); return n }).WithTimeout(callBound).Should(ContainElements(want(i)),
					"session %d never got its own upstream session's notifications", i)
			}
			Consistently(ctx, func(g Gomega) {
				for i := range crowd {
					_, _, n := seens[i].snapshot()
					g.Expect(n).To(ConsistOf(want(i)), "session %d got notifications of other sessions", i)
				}
			}).WithTimeout(quiet).Should(Succeed())
			for i := range crowd {
				_, _, n := seens[i].snapshot()
				conformance.Evidencef(fmt.Sprintf("session %d", i), "nonce %s, notifications %q", nonces[i], n)
			}
		})
	})

	// Through a replica that does not own the session: the request and its
	// call stream are forwarded to the owner, and what the upstream sends
	// on that stream must come back through the non-owner (XPD-7's
	// forwarded stream, now carrying messages).
	for _, k := range []struct {
		what, kind, tool, method string
		capability               string
		answer                   func(id json.RawMessage, text string) []byte
	}{
		{"an elicitation", targetconf.MessageElicitation, "ask", "elicitation/create", "elicitation", answerBody},
		{"a roots/list", targetconf.MessageRoots, "roots", "roots/list", "roots", rootsAnswer},
	} {
		fixture.ForEachRoute(func(r fixture.Route) {
			r.It("RTE-2", k.what+" asked and answered through a non-owner replica completes the owner's upstream request", func(ctx SpecContext) {
				fixture.RequireSessionIDs() // a server-to-client request, or a later message about a request, needs the session
				fixture.RequireMessages(k.kind)
				up := fixture.Counter("counter")
				gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
				path := r.Path("counter")
				owner := gw.RawAt(0, "")
				owner.Capabilities = map[string]any{k.capability: map[string]any{}}
				hs, err := owner.Initialize(ctx, path)
				Expect(err).NotTo(HaveOccurred())
				via := gw.RawAt(1, "")
				via.ProtocolVersion = owner.ProtocolVersion
				stream, err := via.OpenPost(ctx, path, hs.SessionID, via.Request("tools/call", map[string]any{"name": r.Tool("counter", k.tool), "arguments": map[string]any{}}), callBound)
				Expect(err).NotTo(HaveOccurred(), "tools/call through %s", gw.Replica(1).ID())
				DeferCleanup(stream.Close)
				var req client.Message
				Eventually(ctx, func(g Gomega) {
					g.Expect(findMethod(stream.Messages(), k.method, &req)).To(BeTrue(), "the call stream through %s carries no %s: %s", gw.Replica(1).ID(), k.method, client.Clip(stream.Received(), 400))
				}).WithTimeout(callBound).Should(Succeed())
				res, err := via.Post(ctx, path, hs.SessionID, k.answer(req.ID, "through-"+gw.Replica(1).ID()))
				Expect(err).NotTo(HaveOccurred())
				conformance.Evidencef("answer through "+gw.Replica(1).ID(), "id %s: %d", req.ID, res.Status)
				var final *client.Message
				Eventually(ctx, func(g Gomega) {
					final = findResponse(stream.Messages())
					g.Expect(final).NotTo(BeNil())
				}).WithTimeout(callBound).Should(Succeed())
				Expect(final.Error).To(BeNil())
				Expect(answered(up.Stats(ctx))).To(Equal([]string{"through-" + gw.Replica(1).ID()}), "upstream truth: the answers its %s got", k.method)
				steps.RecordOwnership(ctx, gw, "after the call")
			}, fixture.MultiReplica())
		})
	}

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("RTE-4", "progress of a call made through a non-owner replica arrives on that call's stream before its result", func(ctx SpecContext) {
			fixture.RequireSessionIDs() // a non-owner needs a session to forward
			fixture.RequireMessages(targetconf.MessageProgress)
			up := fixture.Counter("counter")
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			path := r.Path("counter")
			owner := gw.RawAt(0, "")
			hs, err := owner.Initialize(ctx, path)
			Expect(err).NotTo(HaveOccurred())
			via := gw.RawAt(1, "")
			via.ProtocolVersion = owner.ProtocolVersion
			body := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{"steps":3},"_meta":{"progressToken":"p"}}}`, r.Tool("counter", "slow")))
			stream, err := via.OpenPost(ctx, path, hs.SessionID, body, callBound)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(stream.Close)
			Eventually(ctx, stream.Ended()).WithTimeout(callBound).Should(BeClosed())
			var before int
			for _, m := range stream.Messages() {
				if m.Method == "" {
					break
				}
				if m.Method == "notifications/progress" {
					before++
				}
			}
			conformance.Evidencef("call stream through "+gw.Replica(1).ID(), "%d progress notifications before the result: %s", before, client.Clip(stream.Received(), 400))
			Expect(findResponse(stream.Messages())).NotTo(BeNil(), "no result")
			Expect(before).To(Equal(3), "progress notifications before the result, through the non-owner")
		}, fixture.MultiReplica())
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("RTE-8", "session ids and bearer tokens do not appear in the replica's log at info level or above", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			const tok = "tok-alice"
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: map[string]string{tok: "alice"}})
			if fixture.Target().Driver == targetconf.DriverExternal {
				Skip(fixture.ExternalSkipPrefix + "the suite captures no log of replicas it did not start")
			}
			s := gw.Connect(ctx, r.Path("counter"), client.Options{Token: tok})
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 2)
			sid := s.ID()
			upstreamIDs := []string{}
			for _, l := range up.Stats(ctx).Live {
				upstreamIDs = append(upstreamIDs, l.ID)
			}
			steps.DeleteSession(ctx, gw.Raw(tok), r.Path("counter"), sid)
			secrets := map[string]string{"downstream session id": sid, "bearer token": gw.Raw(tok).Token}
			for _, id := range upstreamIDs {
				secrets["upstream session id"] = id
			}
			var leaks []string
			log := gw.Replica(0).Log()
			for line := range strings.SplitSeq(log, "\n") {
				if belowInfo(line) {
					continue
				}
				for what, v := range secrets {
					if v != "" && strings.Contains(line, v) {
						leaks = append(leaks, what+": "+client.Clip([]byte(line), 300))
					}
				}
			}
			conformance.Evidencef("replica log", "%d bytes read, %d lines leak a secret", len(log), len(leaks))
			Expect(leaks).To(BeEmpty(), "the replica's log shows secrets in clear")
		})
	})
})
