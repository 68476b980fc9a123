// Package security holds the SEC specs: sessions bound to identities,
// unguessable session ids, bad input refused with a clear 4xx, guarded
// admin endpoints, bounded bodies.
package security

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/driver"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/steps"
	"github.com/mcpgw/conformance/suites/targetconf"
)

// oversizedBody is larger than any sensible request limit (the reference
// gateway's default is 4 MiB).
const oversizedBody = 16 << 20

var _ = conformance.Describe("SEC", func() {
	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("SEC-1", "another identity presenting a session id gets 403 or 404 and reaches no upstream state", func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{
				Upstreams: fixture.Upstreams(up),
				Tokens:    map[string]string{"tok-alice": "alice", "tok-bob": "bob"},
			})
			alice := gw.Connect(ctx, r.Path("counter"), client.Options{Token: "tok-alice", NoStandaloneSSE: true})
			steps.IncrementTimes(ctx, alice, r.Tools("counter"), 3)
			before := up.Stats(ctx)
			held := steps.LiveIDs(before)
			Expect(held).To(HaveLen(1))

			bob := gw.Raw("tok-bob")
			bob.ProtocolVersion = alice.ProtocolVersion()
			post, err := bob.CallTool(ctx, r.Path("counter"), alice.ID(), r.Tool("counter", "increment"), map[string]any{"by": 100})
			Expect(err).NotTo(HaveOccurred())
			get, err := bob.Get(ctx, r.Path("counter"), alice.ID(), time.Second)
			Expect(err).NotTo(HaveOccurred(), "GET with another identity's session id got no answer within 1 s")
			del, err := bob.Delete(ctx, r.Path("counter"), alice.ID())
			Expect(err).NotTo(HaveOccurred())
			conformance.Evidence("bob with alice's session: POST/GET/DELETE", []int{post.Status, get.Status, del.Status})
			for name, res := range map[string]*client.Response{"POST": post, "GET": get, "DELETE": del} {
				Expect(res.Status).To(BeElementOf(403, 404), "%s by bob on alice's session: %s", name, res.Body)
			}

			after := up.Stats(ctx)
			s, _ := after.Session(held[0])
			Expect(after.Initializes).To(Equal(before.Initializes), "bob's requests opened an upstream session")
			Expect(s.EndReason).To(BeEmpty(), "bob's DELETE ended alice's upstream session")
			Expect(s.Value).To(Equal(3), "bob's call changed alice's upstream state")
			v := steps.Get(ctx, alice, r.Tools("counter"))
			conformance.Evidence("alice reads afterwards", v)
			Expect(v).To(Equal(3))
		})
	})

	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("SEC-2", "session ids are visible ASCII with at least 128 bits of randomness", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			const n = 64
			ids := make([]string, 0, n)
			seen := map[string]bool{}
			for range n {
				hs, err := gw.Raw("").Initialize(ctx, r.Path("counter"))
				Expect(err).NotTo(HaveOccurred())
				Expect(steps.VisibleASCII(hs.SessionID)).To(BeTrue(), "session id %q has bytes outside visible ASCII (0x21-0x7E)", hs.SessionID)
				Expect(seen[hs.SessionID]).To(BeFalse(), "session id %s was issued twice", hs.SessionID)
				seen[hs.SessionID] = true
				ids = append(ids, hs.SessionID)
			}
			bits, alphabet, varying := steps.RandomnessBits(ids)
			conformance.Evidence("sample ids", ids[:3])
			conformance.Evidencef("estimated randomness", "%.0f bits (%d varying positions over an alphabet of %d, from %d ids)", bits, varying, alphabet, n)
			Expect(bits).To(BeNumerically(">=", 128), "session ids should carry at least 128 bits of randomness")
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("SEC-3", "malformed session ids get a 4xx with a message and the replica stays up", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			replica := gw.Replica(0)
			body := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
			for name, id := range map[string]string{
				"oversized (10 000 bytes)": strings.Repeat("a", 10000),
				"control characters":       "abc\x01\x07def",
				"non-ASCII":                "sessi\xc3\xb3n-\xe2\x9c\x93",
				"space inside":             "abc def",
			} {
				for _, method := range []string{http.MethodPost, http.MethodDelete} {
					req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\nMcp-Session-Id: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
						method, r.Path("counter"), replica.Addr(), id, len(body), body)
					res, err := client.Wire(ctx, replica.Addr(), []byte(req), 3*time.Second)
					Expect(err).NotTo(HaveOccurred(), "%s with a %s session id", method, name)
					conformance.Evidencef(method+" with a "+name+" session id", "%d %s", res.Status, client.Clip(res.Body, 200))
					Expect(res.Status).To(BeNumerically(">=", 400), "%s with a %s session id", method, name)
					Expect(res.Status).To(BeNumerically("<", 500), "%s with a %s session id", method, name)
					Expect(bytes.TrimSpace(res.Body)).NotTo(BeEmpty(), "the 4xx should say what was wrong")
				}
			}
			expectAlive(ctx, gw, r.Path("counter"), r.Tools("counter"))
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("SEC-3", "malformed JSON-RPC bodies get a 4xx with a message and the replica stays up", func(ctx SpecContext) {
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			raw := gw.Raw("")
			hs, err := raw.Initialize(ctx, r.Path("counter"))
			Expect(err).NotTo(HaveOccurred())
			bodies := map[string]string{
				"not JSON":                     `{"jsonrpc": "2.0", "id": 1, "method":`,
				"empty body":                   ``,
				"JSON null":                    `null`,
				"wrong jsonrpc":                `{"jsonrpc":"1.0","id":1,"method":"tools/list"}`,
				"neither request nor response": `{"jsonrpc":"2.0"}`,
				"method not string":            `{"jsonrpc":"2.0","id":1,"method":42}`,
				"string, not object":           `"hello"`,
			}
			for _, session := range []string{"", hs.SessionID} {
				where := "without a session"
				if session != "" {
					where = "in a session"
				}
				for name, body := range bodies {
					res, err := raw.Post(ctx, r.Path("counter"), session, []byte(body))
					Expect(err).NotTo(HaveOccurred(), "%s %s", name, where)
					conformance.Evidencef(name+" "+where, "%d %s", res.Status, client.Clip(res.Body, 200))
					Expect(res.Status).To(BeNumerically(">=", 400), "a %s body %s", name, where)
					Expect(res.Status).To(BeNumerically("<", 500), "a %s body %s", name, where)
					Expect(bytes.TrimSpace(res.Body)).NotTo(BeEmpty(), "the 4xx should say what was wrong")
				}
			}
			expectAlive(ctx, gw, r.Path("counter"), r.Tools("counter"))
		})
	})

	fixture.OnAnyRoute(func(r fixture.Route) {
		r.It("SEC-4", "admin endpoints reject callers without the admin token", func(ctx SpecContext) {
			fixture.Require(targetconf.AdminAPI)
			up := fixture.Counter("counter")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			evil := []byte(`{"id":"evil","url":"http://127.0.0.1:1/mcp"}`)
			for _, token := range []string{"", "not-the-admin-token"} {
				raw := gw.Raw(token)
				want := []int{401}
				if token != "" {
					want = []int{401, 403}
				}
				for _, c := range []struct {
					method, path string
					body         []byte
				}{
					{http.MethodGet, "/admin/upstreams", nil},
					{http.MethodPut, "/admin/upstreams/evil", evil},
					{http.MethodDelete, "/admin/upstreams/counter", nil},
					{http.MethodGet, "/admin/sessions", nil},
				} {
					res, err := raw.Do(ctx, c.method, c.path, http.Header{"Content-Type": {"application/json"}}, c.body)
					Expect(err).NotTo(HaveOccurred())
					conformance.Evidencef(c.method+" "+c.path+" token="+steps.OrNone(token), "%d", res.Status)
					Expect(res.Status).To(BeElementOf(want), "%s %s with token %q", c.method, c.path, steps.OrNone(token))
				}
			}
			// Nothing changed: the upstream is still there and still works.
			res, err := gw.Raw(gw.AdminToken).Do(ctx, http.MethodGet, "/admin/upstreams", nil, nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Status).To(Equal(200))
			Expect(string(res.Body)).NotTo(ContainSubstring("evil"))
			Expect(string(res.Body)).To(ContainSubstring(`"counter"`))
			s := gw.Connect(ctx, r.Path("counter"), client.Options{NoStandaloneSSE: true})
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 1)
			// Replica-to-replica requests are the next spec's.
		})

		r.It("SEC-4", "replica-to-replica requests without the right cluster secret are refused and reach no session", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			fixture.Require(targetconf.ClusterHeaders)
			up := fixture.Counter("counter")
			gw := fixture.StartCluster(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up)})
			a := steps.InitializeOn(ctx, gw, r.Endpoint("counter"), 0, "")
			a.IncrementTimes(ctx, 1)
			steps.RecordOwnership(ctx, gw, "before the forged requests")

			// A caller posing as a replica (the reference gateway's headers, see
			// driver.HeaderForwardedBy) with a wrong or no secret, at the owner
			// and at a replica that would otherwise forward.
			for _, forged := range []struct{ name, secret string }{{"wrong secret", "wrong"}, {"no secret", ""}} {
				h := http.Header{}
				h.Set(driver.HeaderForwardedBy, "x")
				if forged.secret != "" {
					h.Set(driver.HeaderClusterSecret, forged.secret)
				}
				for _, i := range []int{0, 1} {
					via := a.At(gw, i)
					post, err := via.Raw.Do(ctx, http.MethodPost, via.Path, withSession(h, via, true),
						via.Raw.Request("tools/call", map[string]any{"name": via.Tools.Name("increment"), "arguments": map[string]any{"by": 100}}))
					Expect(err).NotTo(HaveOccurred())
					del, err := via.Raw.Do(ctx, http.MethodDelete, via.Path, withSession(h, via, false), nil)
					Expect(err).NotTo(HaveOccurred())
					conformance.Evidencef(fmt.Sprintf("forged POST/DELETE via %s, %s", via.Replica, forged.name), "%d %d", post.Status, del.Status)
					Expect(post.Status).To(BeElementOf(401, 403), "forged tools/call via %s with %s: %s", via.Replica, forged.name, client.Clip(post.Body, 200))
					Expect(del.Status).To(BeElementOf(401, 403), "forged DELETE via %s with %s: %s", via.Replica, forged.name, client.Clip(del.Body, 200))
				}
			}

			// Nothing reached the session: it lives, with its upstream state.
			v := a.Call(ctx, "get", nil)
			conformance.Evidence("value read afterwards", v)
			Expect(v).To(Equal(1), "a forged request reached the session's upstream state")
			Expect(steps.LiveIDs(up.Stats(ctx))).To(HaveLen(1), "a forged DELETE ended the upstream session")
		}, fixture.MultiReplica())

		r.It("SEC-5", "an oversized body gets 413 and the replica stays up", func(ctx SpecContext) {
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			raw := gw.Raw("")
			raw.Timeout = 20 * time.Second
			hs, err := raw.Initialize(ctx, r.Path("counter"))
			Expect(err).NotTo(HaveOccurred())
			padding := strings.Repeat("x", oversizedBody)
			for _, session := range []string{"", hs.SessionID} {
				var body []byte
				if session == "" {
					body = []byte(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"big","version":"` + padding + `"}}}`)
				} else {
					body = []byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"` + r.Tool("counter", "increment") + `","arguments":{"pad":"` + padding + `"}}}`)
				}
				res, err := raw.Post(ctx, r.Path("counter"), session, body)
				Expect(err).NotTo(HaveOccurred(), "a %d MiB POST should be answered, not dropped", len(body)>>20)
				conformance.Evidencef(fmt.Sprintf("POST of %d MiB (session %q)", len(body)>>20, steps.Short(session)), "%d %s", res.Status, client.Clip(res.Body, 200))
				Expect(res.Status).To(Equal(http.StatusRequestEntityTooLarge))
			}
			expectAlive(ctx, gw, r.Path("counter"), r.Tools("counter"))
		})
	})
})

// withSession adds the session's headers (and, for a POST, the JSON-RPC
// content headers) to the forged cluster headers h.
func withSession(h http.Header, via steps.Via, post bool) http.Header {
	out := h.Clone()
	out.Set(client.HeaderSession, via.Session)
	out.Set(client.HeaderProtocol, via.Raw.ProtocolVersion)
	if post {
		out.Set("Content-Type", "application/json")
		out.Set("Accept", "application/json, text/event-stream")
	}
	return out
}

// expectAlive checks the replica still runs, passes the target's alive
// probe (default GET /healthz answers 200) and serves a new session on
// path, calling the counter named by tools.
func expectAlive(ctx context.Context, gw *fixture.Gateway, path string, tools fixture.Tools) {
	GinkgoHelper()
	r := gw.Replica(0)
	Expect(r.Running()).To(BeTrue(), "replica %s exited: %s", r.ID(), r.ExitStatus())
	Expect(gw.Alive(ctx, 0)).To(Succeed())
	s := gw.Connect(ctx, path, client.Options{NoStandaloneSSE: true})
	steps.IncrementTimes(ctx, s, tools, 1)
}
