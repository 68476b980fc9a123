package versions

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/fixture"
)

// VER-9: subscriptions/listen (SEP-2575) through the gateway. Two listeners
// of two identities, open at once under the same JSON-RPC id value (the
// number 7 and the string "7"), each subscribe to a resource URI of their
// own; the upstream's "publish" then announces each URI. Every listener must
// see the acknowledgement first, then its own URI's resources/updated tagged
// with its own id (its JSON type kept), and never the other's.

const (
	// listenBound bounds a listen's response headers and its
	// acknowledgement.
	listenBound = 10 * time.Second
	// notifyBound bounds a published notification's way to its listener.
	notifyBound = 10 * time.Second
	// listenQuiet is how long a listener must stay free of the other's
	// notifications once both have arrived.
	listenQuiet = time.Second
)

// listener is one side of the VER-9 spec.
type listener struct {
	who, token string
	id         any    // the listen's JSON-RPC id, as sent
	idJSON     string // and as it must come back
	uri        string
	stream     *client.Stream
}

var _ = conformance.Describe("VER", func() {
	fixture.ForEachRoute(func(r fixture.Route) {
		r.It("VER-9", `two identities listen at once under the same id value (7 and "7"): each is acknowledged first and gets only its own resources/updated, tagged with its own id`, func(ctx SpecContext) {
			up := fixture.Counter("counter")
			gw := fixture.StartSessionlessGateway(ctx, fixture.GatewayOptions{Upstreams: fixture.Upstreams(up), Tokens: twoIdentities})
			path, publish := r.Path("counter"), r.Tool("counter", "publish")
			nonce := strings.ToLower(rand.Text()[:12])
			ls := []*listener{
				{who: "alice", token: "tok-alice", id: 7, idJSON: "7", uri: "counter://ver9-alice-" + nonce},
				{who: "bob", token: "tok-bob", id: "7", idJSON: `"7"`, uri: "counter://ver9-bob-" + nonce},
			}
			for _, l := range ls {
				l.open(ctx, gw.Modern(l.token), path)
			}
			conformance.Evidence("upstream after both listens", upstreamListens(ctx, up))

			for _, l := range ls {
				conformance.Precondition("VER-2", func() {
					resp, err := gw.Modern(l.token).Send(ctx, path, client.ModernRequest{Method: "tools/call",
						Params: map[string]any{"name": publish, "arguments": map[string]any{"uri": l.uri}}})
					Expect(err).NotTo(HaveOccurred(), "a sessionless tools/call of %s", publish)
					var res struct {
						IsError bool `json:"isError"`
					}
					Expect(resp.Result(&res)).To(Succeed(), "a sessionless tools/call of %s (%s)", publish, l.uri)
					Expect(res.IsError).To(BeFalse(), "%s %s: %s", publish, l.uri, client.Clip(resp.Body, 300))
				})
			}
			conformance.Precondition("VER-2", func() {
				Expect(up.Stats(ctx).Modern.Published).To(ContainElements(ls[0].uri, ls[1].uri), "the sessionless tools/call of %s reached the upstream", publish)
			})
			upstream := upstreamListens(ctx, up)
			conformance.Evidence("upstream after both publishes", upstream)

			Eventually(ctx, func(g Gomega) {
				for _, l := range ls {
					g.Expect(l.updates()).To(ContainElement(l.uri+" "+l.idJSON),
						"%s got no notifications/resources/updated for its %s tagged with its own id %s; its stream: %s; upstream: %s",
						l.who, l.uri, l.idJSON, client.Clip(l.stream.Received(), 600), upstream)
				}
			}).WithTimeout(notifyBound).WithPolling(50 * time.Millisecond).Should(Succeed())
			Consistently(ctx, func(g Gomega) {
				for _, l := range ls {
					for _, u := range l.updates() {
						g.Expect(u).To(Equal(l.uri+" "+l.idJSON), "%s (listen id %s, subscribed to %s) was sent a notification of another listener", l.who, l.idJSON, l.uri)
					}
				}
			}).WithTimeout(listenQuiet).WithPolling(50 * time.Millisecond).Should(Succeed())
			for _, l := range ls {
				conformance.Evidence(l.who+"'s notifications", strings.Join(l.updates(), "; "))
			}
		})
	})
})

// open starts l's listen, subscribed to l.uri, and checks that the first
// message is the acknowledgement naming l's id and agreeing to l.uri. A
// listen the gateway does not open fails VER-9: the target declares the
// profile it belongs to.
func (l *listener) open(ctx context.Context, m *client.Modern, path string) {
	GinkgoHelper()
	s, err := m.Listen(ctx, path, l.id, map[string]any{"resourceSubscriptions": []string{l.uri}}, listenBound)
	Expect(err).NotTo(HaveOccurred(), "%s's subscriptions/listen on %s", l.who, path)
	DeferCleanup(s.Close)
	l.stream = s
	what := fmt.Sprintf("%s's subscriptions/listen (id %s) on %s", l.who, l.idJSON, path)
	if s.Status != http.StatusOK || !strings.HasPrefix(s.Header.Get("Content-Type"), "text/event-stream") {
		select { // the body, for the evidence: bounded, it may never end
		case <-s.Ended():
		case <-time.After(2 * time.Second):
		}
		conformance.Evidencef(what, "%d %s %s", s.Status, s.Header.Get("Content-Type"), client.Clip(s.Received(), 300))
		Fail(fmt.Sprintf("%s was not opened: %d %s (want 200 and an event stream)", what, s.Status, client.Clip(s.Received(), 300)))
	}
	var first client.Message
	Eventually(ctx, func(g Gomega) {
		msgs := s.Messages()
		g.Expect(msgs).NotTo(BeEmpty(), "no message on the stream yet")
		first = msgs[0]
	}).WithTimeout(listenBound).WithPolling(50*time.Millisecond).Should(Succeed(), "%s: no message within %s", what, listenBound)
	conformance.Evidencef(what+": first message", "%s", client.Clip(s.Received(), 400))
	Expect(first.Error).To(BeNil(), "%s answered with an error", what)
	Expect(first.Method).To(Equal(client.NotificationAck), "%s: the first message must be the acknowledgement", what)
	var ack struct {
		Notifications struct {
			ResourceSubscriptions []string `json:"resourceSubscriptions"`
		} `json:"notifications"`
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	Expect(json.Unmarshal(first.Params, &ack)).To(Succeed(), "%s: the acknowledgement's params", what)
	Expect(string(ack.Meta[client.MetaSubscriptionID])).To(Equal(l.idJSON), "%s: the acknowledgement must carry the listen's own id as %s, its JSON type kept", what, client.MetaSubscriptionID)
	Expect(ack.Notifications.ResourceSubscriptions).To(Equal([]string{l.uri}), "%s: the acknowledgement must agree to the one resource subscribed", what)
}

// updates lists the notifications on l's stream after its acknowledgement
// as "uri subscriptionId" (the id as JSON).
func (l *listener) updates() []string {
	var out []string
	for _, m := range l.stream.Messages() {
		if m.Method == "" || m.Method == client.NotificationAck {
			continue
		}
		var p struct {
			URI  string                     `json:"uri"`
			Meta map[string]json.RawMessage `json:"_meta"`
		}
		_ = json.Unmarshal(m.Params, &p)
		if m.Method != "notifications/resources/updated" {
			p.URI = m.Method
		}
		out = append(out, p.URI+" "+string(p.Meta[client.MetaSubscriptionID]))
	}
	return out
}

// upstreamListens is the upstream's own account of listens and publishes,
// so that a failure says whether the upstream sent the notification.
func upstreamListens(ctx context.Context, up *fixture.Fake) string {
	GinkgoHelper()
	st := up.Stats(ctx).Modern
	return fmt.Sprintf("listens opened %d, open %d, subscribed %v; published %v", st.Listens, st.ListensOpen, st.Subscribed, st.Published)
}
