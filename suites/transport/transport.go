// Package transport holds the TRN specs: the edges of the Streamable HTTP
// transport that clients depend on (status codes, headers, streams).
package transport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/steps"
	"github.com/mcpgw/conformance/suites/targetconf"
)

// sessionBearing are the revisions with protocol-level sessions.
var sessionBearing = []string{"2025-03-26", "2025-06-18", "2025-11-25"}

// getBound is the "within 1 s" of TRN-1 and TRN-9.
const getBound = time.Second

// cancelBound is the "within 5 s" of TRN-10.
const cancelBound = 5 * time.Second

var _ = conformance.Describe("TRN", func() {
	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("TRN-1", "GET without a session id is answered within 1 s with 400 or 405", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			raw := gw.Raw("")
			path := r.Path("counter")
			res, err := raw.Get(ctx, path, "", getBound)
			Expect(err).NotTo(HaveOccurred(), "GET %s without a session id got no answer within %s", path, getBound)
			conformance.Evidencef("GET "+path+" (no session)", "%d after %s, Content-Type %q", res.Status, res.Elapsed.Round(time.Millisecond), res.Header.Get("Content-Type"))
			Expect(res.Status).To(BeElementOf(400, 405), "GET %s without a session id: a %d (an open stream for no session) leaves clients waiting", path, res.Status)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("TRN-1s", "GET without a session id is 405 with Allow: POST, DELETE", func(ctx SpecContext) {
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			raw := gw.Raw("")
			path := r.Path("counter")
			res, err := raw.Get(ctx, path, "", getBound)
			Expect(err).NotTo(HaveOccurred(), "GET %s without a session id got no answer within %s", path, getBound)
			conformance.Evidencef("GET "+path+" (no session)", "%d Allow=%q", res.Status, res.Header.Values("Allow"))
			Expect(res.Status).To(Equal(405), "GET %s", path)
			allow := allowed(res.Header)
			Expect(allow).To(ContainElements("POST", "DELETE"), "Allow header of GET %s", path)
			Expect(allow).NotTo(ContainElement("GET"), "Allow must not offer the method just refused")
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("TRN-2", "POST of a non-initialize request without a session id gets 400", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			raw := gw.Raw("")
			raw.ProtocolVersion = client.DefaultProtocolVersion
			path := r.Path("counter")
			res, err := raw.Post(ctx, path, "", raw.Request("tools/list", nil))
			Expect(err).NotTo(HaveOccurred())
			conformance.Evidencef("POST tools/list "+path+" (no session)", "%d %s", res.Status, client.Clip(res.Body, 200))
			Expect(res.Status).To(Equal(400), "POST tools/list on %s without a session id", path)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("TRN-3", "an unknown session id gets 404 on POST, GET and DELETE", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			raw := gw.Raw("")
			raw.ProtocolVersion = client.DefaultProtocolVersion
			unknown := randomID()
			conformance.Evidence("unknown session id", unknown)
			steps.ExpectGoneOn(ctx, raw, r, unknown)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("TRN-3", "an ended session id gets 404 on POST, GET and DELETE", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			raw := gw.Raw("")
			path := r.Path("counter")
			hs, err := raw.Initialize(ctx, path)
			Expect(err).NotTo(HaveOccurred())
			steps.DeleteSession(ctx, raw, path, hs.SessionID)
			steps.ExpectGoneOn(ctx, raw, r, hs.SessionID)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("TRN-4", "DELETE without a session id gets 400", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			raw := gw.Raw("")
			path := r.Path("counter")
			res, err := raw.Delete(ctx, path, "")
			Expect(err).NotTo(HaveOccurred())
			conformance.Evidencef("DELETE "+path+" (no session)", "%d %s", res.Status, client.Clip(res.Body, 200))
			Expect(res.Status).To(Equal(400), "DELETE %s without a session id", path)
		})
	})

	fixture.ForServerRoute(func(r fixture.Route) {
		r.It("TRN-5", "a server path of an unknown upstream gets 404 without Allow for every method", func(ctx SpecContext) {
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			raw := gw.Raw("")
			path := r.Path("nope") // a server path of no upstream
			post, err := raw.Post(ctx, path, "", initializeBody(raw))
			Expect(err).NotTo(HaveOccurred())
			get, err := raw.Get(ctx, path, "", getBound)
			Expect(err).NotTo(HaveOccurred())
			del, err := raw.Delete(ctx, path, randomID())
			Expect(err).NotTo(HaveOccurred())
			put, err := raw.Do(ctx, http.MethodPut, path, nil, []byte("{}"))
			Expect(err).NotTo(HaveOccurred())
			for name, res := range map[string]*client.Response{"POST": post, "GET": get, "DELETE": del, "PUT": put} {
				conformance.Evidencef(name+" "+path, "%d Allow=%q", res.Status, res.Header.Values("Allow"))
				Expect(res.Status).To(Equal(404), "%s %s", name, path)
				Expect(res.Header.Values("Allow")).To(BeEmpty(), "%s %s: a 404 carries no Allow header", name, path)
			}
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("TRN-6", "with auth on, missing credentials get 401 and wrong ones 401 or 403, never 405", func(ctx SpecContext) {
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{
				Upstreams: fixture.Upstreams(fixture.Counter("counter")),
				Tokens:    map[string]string{"tok-alice": "alice"},
			})
			for _, cred := range []struct {
				token string
				want  []int
			}{{"", []int{401}}, {"tok-wrong", []int{401, 403}}} {
				raw := gw.Raw(cred.token)
				path := r.Path("counter")
				post, err := raw.Post(ctx, path, "", initializeBody(raw))
				Expect(err).NotTo(HaveOccurred())
				get, err := raw.Get(ctx, path, "", getBound)
				Expect(err).NotTo(HaveOccurred(), "GET %s with bad credentials got no answer within %s", path, getBound)
				del, err := raw.Delete(ctx, path, "")
				Expect(err).NotTo(HaveOccurred())
				for name, res := range map[string]*client.Response{"POST": post, "GET": get, "DELETE": del} {
					conformance.Evidencef(name+" "+path+" token="+steps.OrNone(cred.token), "%d", res.Status)
					Expect(res.Status).To(BeElementOf(cred.want), "%s %s with token %q", name, path, steps.OrNone(cred.token))
				}
			}
			// The right token gets through, so the 401s above were about credentials.
			hs, err := gw.Raw("tok-alice").Initialize(ctx, r.Path("counter"))
			Expect(err).NotTo(HaveOccurred())
			conformance.Evidence("session with the right token", hs.SessionID)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("TRN-7", "an unsupported MCP-Protocol-Version header gets 400", func(ctx SpecContext) {
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			path := r.Path("counter")
			raw := gw.Raw("")
			hs, err := raw.Initialize(ctx, path)
			Expect(err).NotTo(HaveOccurred())
			raw.ProtocolVersion = "1999-01-01"
			res, err := raw.Post(ctx, path, hs.SessionID, raw.Request("tools/list", nil))
			Expect(err).NotTo(HaveOccurred())
			conformance.Evidencef("POST tools/list "+path+" with MCP-Protocol-Version 1999-01-01", "%d %s", res.Status, client.Clip(res.Body, 200))
			Expect(res.Status).To(Equal(400), "tools/list on %s with an unsupported protocol version", path)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("TRN-8", "a current go-sdk client connects and negotiates a session-bearing revision", func(ctx SpecContext) {
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			path := r.Path("counter")
			s := gw.Connect(ctx, path, client.Options{SDKDefault: true})
			conformance.Evidencef("negotiated on "+path, "revision %s, session %s", s.ProtocolVersion(), s.ID())
			// A target that declares 2026-07-28 may be negotiated into it:
			// then there is no session id, and the call below still works.
			want := sessionBearing
			if fixture.Target().ServesSessionless() {
				want = append(slices.Clone(want), targetconf.EraStateless)
			}
			Expect(s.ProtocolVersion()).To(BeElementOf(want), "negotiated revision on %s (the target's eras: %v)", path, fixture.Target().Eras)
			if s.ProtocolVersion() != targetconf.EraStateless && fixture.Target().MintsSessionIDs() {
				Expect(s.ID()).NotTo(BeEmpty(), "a session-bearing revision carries an Mcp-Session-Id (a gateway that mints none declares sessionIds: false)")
			}
			steps.IncrementTimes(ctx, s, r.Tools("counter"), 1)
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("TRN-9", "GET with a session id returns headers within 1 s (a stream) or 405", func(ctx SpecContext) {
			fixture.RequireSessionIDs()
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(fixture.Counter("counter"))})
			path := r.Path("counter")
			raw := gw.Raw("")
			hs, err := raw.Initialize(ctx, path)
			Expect(err).NotTo(HaveOccurred())
			res, err := raw.Get(ctx, path, hs.SessionID, getBound)
			Expect(err).NotTo(HaveOccurred(), "GET %s with a session id: no response headers within %s", path, getBound)
			conformance.Evidencef("GET "+path+" (session)", "%d after %s, Content-Type %q", res.Status, res.Elapsed.Round(time.Millisecond), res.Header.Get("Content-Type"))
			if res.Status == 405 {
				return
			}
			Expect(res.Status).To(Equal(200), "GET %s with a session id", path)
			Expect(res.Header.Get("Content-Type")).To(HavePrefix("text/event-stream"))
		})
	})

	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("TRN-10", "a tools/call whose client closes the request has its upstream call cancelled within 5 s", func(ctx SpecContext) {
			w := fixture.Wedge("w")
			gw := fixture.StartGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(w)})
			path := r.Path("w")
			raw := gw.Raw("")
			hs, err := raw.Initialize(ctx, path)
			Expect(err).NotTo(HaveOccurred())

			// The wedge's "block" returns only when cancelled; the client
			// closes its connection once the upstream is running the call.
			callCtx, giveUp := context.WithCancel(ctx)
			DeferCleanup(giveUp)
			type outcome struct {
				res *client.Response
				err error
			}
			answered := make(chan outcome, 1)
			call := raw.Request("tools/call", map[string]any{"name": r.Tool("w", "block"), "arguments": map[string]any{}})
			go func() {
				res, err := raw.PostHeaders(callCtx, path, hs.SessionID, call, time.Minute)
				answered <- outcome{res, err}
			}()
			var upstream string
			Eventually(ctx, func(g Gomega) {
				st, err := w.FetchStats(ctx)
				g.Expect(err).NotTo(HaveOccurred())
				upstream = ""
				for _, s := range st.Live {
					if s.Blocking > 0 {
						upstream = s.ID
					}
				}
				g.Expect(upstream).NotTo(BeEmpty(), "the call through %s has not reached the upstream yet", path)
			}).WithTimeout(cancelBound).WithPolling(20 * time.Millisecond).Should(Succeed())
			before, _ := w.Stats(ctx).Session(upstream)

			select {
			case o := <-answered:
				// Headers and first bytes came before the client gave up;
				// PostHeaders has closed the connection since.
				if o.err == nil && resumable(o.res.Body) {
					Skip(fmt.Sprintf("the answer on %s is a resumable event stream (event ids): the gateway may keep the call for a reconnect", path))
				}
				conformance.Evidencef("before the client closed "+path, "%v", describe(o.res, o.err))
			default:
				giveUp()
			}
			closed := time.Now()
			var o outcome
			Eventually(answered).WithTimeout(time.Second).Should(Receive(&o), "the client could not close its request")
			conformance.Evidencef("client side of the call on "+path, "closed: %v", describe(o.res, o.err))

			var after fakes.SessionStats
			Eventually(ctx, func(g Gomega) {
				st, err := w.FetchStats(ctx)
				g.Expect(err).NotTo(HaveOccurred())
				after, _ = st.Session(upstream)
				g.Expect(after.Cancelled).To(Equal(before.Cancelled+1), "the upstream has not seen the call cancelled")
				g.Expect(after.Blocking).To(Equal(before.Blocking - 1))
			}).WithTimeout(cancelBound).WithPolling(50*time.Millisecond).Should(Succeed(),
				"the call on %s whose client closed the request should be cancelled upstream within %s (upstream session %s)", path, cancelBound, steps.Short(upstream))
			conformance.Evidencef("upstream call of "+path, "cancelled %s after the client closed; upstream session %s %s",
				after.LastCancelled.Sub(closed).Round(time.Millisecond), steps.Short(upstream), orLive(after.EndReason))
			Expect(after.EndReason).To(BeEmpty(), "the call, not its upstream session, should be cancelled: the downstream session %s lives on", steps.Short(hs.SessionID))

			res, err := raw.CallTool(ctx, path, hs.SessionID, r.Tool("w", "get"), nil)
			Expect(err).NotTo(HaveOccurred())
			_, err = res.ToolValue()
			Expect(err).NotTo(HaveOccurred(), "the session should keep working on %s after the abandoned call", path)
		})
	})
})

// resumable reports whether the first bytes of an event stream carry an
// event id, which lets the client resume it (2025-11-25 priming events).
func resumable(body []byte) bool {
	for line := range strings.SplitSeq(string(body), "\n") {
		if strings.HasPrefix(line, "id:") {
			return true
		}
	}
	return false
}

func describe(res *client.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d %s %s", res.Status, res.Header.Get("Content-Type"), client.Clip(res.Body, 200))
}

func orLive(reason string) string {
	if reason == "" {
		return "still live"
	}
	return "ended: " + reason
}

func initializeBody(raw *client.Raw) []byte {
	return raw.Request("initialize", map[string]any{
		"protocolVersion": client.DefaultProtocolVersion,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "mcpconf-raw", "version": "v1"},
	})
}

// allowed splits Allow headers into method names.
func allowed(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Allow") {
		for _, m := range strings.Split(v, ",") {
			if m = strings.TrimSpace(m); m != "" && !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
