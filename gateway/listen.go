package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// subscriptions/listen (SEP-2575) for sessionless callers. A 2026-07-28
// client asks for notifications by POSTing subscriptions/listen; the answer
// is a long-lived event stream whose first message acknowledges the subset
// agreed and whose every later notification names the listen in
// _meta[subscriptionId] (the listen request's JSON-RPC id).
//
// The gateway serves a listen with one upstream 2026-07-28 listen per
// upstream of the route (a leg: one streaming POST, its own JSON-RPC id),
// opened for this listener alone. The client's acknowledgement is the union
// of what the legs acknowledged within ListenAckTimeout; a leg that fails
// or is late is left out (an upstream that does not serve 2026-07-28
// contributes nothing). Every notification a leg brings is retagged with
// the client's own id, its JSON type kept, and written with a deadline.
// The client leaving, shutdown or any accepted leg ending ends the whole
// listen; listens are bounded per replica and per identity.

const (
	methodListen       = "subscriptions/listen"
	notificationAck    = "notifications/subscriptions/acknowledged"
	metaSubscriptionID = mcp.MetaKeySubscriptionID
	// codeTooManyListens answers a listen past a limit (a server error in
	// JSON-RPC's implementation-defined range).
	codeTooManyListens = -32000
	// listenWriteTimeout bounds one write (and flush) to a listener: a
	// client that stops reading is dropped, not waited on.
	listenWriteTimeout = 10 * time.Second
	// listenHeartbeat is how often an idle listen stream gets an SSE
	// comment, so a client gone without a word is found by a failed write.
	listenHeartbeat = 25 * time.Second
	// listenQueue bounds the notifications waiting to be written to one
	// listener; a full queue holds the legs back (a leg's own reads stop).
	listenQueue = 64
)

// listens counts the open listen streams of a replica and holds their
// upstream legs, so that an upstream change or removal ends its legs.
type listens struct {
	mu         sync.Mutex
	total      int
	byIdentity map[string]int
	legs       map[*listenLeg]Upstream // the definition each leg was opened with
	legIDs     atomic.Int64            // the upstream JSON-RPC ids of the legs
}

func (l *listens) addLeg(leg *listenLeg, u Upstream) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.legs == nil {
		l.legs = map[*listenLeg]Upstream{}
	}
	l.legs[leg] = u
}

func (l *listens) dropLeg(leg *listenLeg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.legs, leg)
}

// endLegs ends the legs opened with a definition match picks, and says how
// many: their listens end too, and their clients listen again.
func (l *listens) endLegs(match func(Upstream) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for leg, u := range l.legs {
		if match(u) {
			leg.cancel()
			n++
		}
	}
	return n
}

// acquire takes a slot for identity, or says which limit is reached.
func (l *listens) acquire(identity string, max, perIdentity int) (release func(), err *jsonrpc.Error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= max {
		return nil, &jsonrpc.Error{Code: codeTooManyListens, Message: fmt.Sprintf("this replica has %d subscriptions/listen streams open, its limit; retry later or on another replica", max)}
	}
	if l.byIdentity[identity] >= perIdentity {
		return nil, &jsonrpc.Error{Code: codeTooManyListens, Message: fmt.Sprintf("this identity has %d subscriptions/listen streams open, its limit; close one first", perIdentity)}
	}
	if l.byIdentity == nil {
		l.byIdentity = map[string]int{}
	}
	l.total++
	l.byIdentity[identity]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.byIdentity[identity]--; l.byIdentity[identity] == 0 {
				delete(l.byIdentity, identity)
			}
		})
	}, nil
}

// listener is one client's listen stream: the notifications waiting to be
// written to it, and what ends it.
type listener struct {
	queue chan []byte     // JSON-RPC notifications, as the upstream sent them
	ctx   context.Context // ends with the listen
}

// push queues a notification, waiting while the queue is full for as long
// as both the listener and the leg (stop) live.
func (l *listener) push(stop <-chan struct{}, msg []byte) {
	select {
	case l.queue <- msg:
	case <-l.ctx.Done():
	case <-stop:
	}
}

// tryPush queues a notification unless the queue is full.
func (l *listener) tryPush(msg []byte) {
	select {
	case l.queue <- msg:
	default:
	}
}

// upstreamListen is a listener's subscription at one upstream: the leg
// whose acknowledgement answers it, what the listener asked for, when it
// ends (ended), and how to give it up (stop).
type upstreamListen struct {
	upstream string
	leg      *listenLeg
	want     mcp.NotificationSubscriptions
	ended    context.Context
	stop     func()
}

// listenLimitKey is whose per-identity listen limit a request counts
// against. Callers without a token are one identity to the gateway, but
// sharing one limit among them would let one anonymous client take every
// slot; each client address gets its own (behind a proxy that hides
// addresses, they still share one).
func listenLimitKey(r *http.Request, identity string) string {
	if identity != anonymous {
		return identity
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return anonymous + "@" + host
}

// serveListen answers a 2026-07-28 subscriptions/listen: validation of the
// revision's headers and _meta has run.
func (g *Gateway) serveListen(w http.ResponseWriter, r *http.Request, route, identity string, env *sessionlessEnvelope) {
	var p struct {
		Notifications *mcp.NotificationSubscriptions `json:"notifications"`
	}
	if len(env.Params) > 0 {
		if err := json.Unmarshal(env.Params, &p); err != nil {
			writeRPCErrorID(w, http.StatusBadRequest, env.ID, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "malformed subscriptions/listen params: " + err.Error()})
			return
		}
	}
	if p.Notifications == nil {
		writeRPCErrorID(w, http.StatusBadRequest, env.ID, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
			Message: "subscriptions/listen needs params.notifications (toolsListChanged, resourcesListChanged, promptsListChanged, resourceSubscriptions)"})
		return
	}
	release, limit := g.listens.acquire(listenLimitKey(r, identity), g.cfg.MaxListens, g.cfg.MaxListensPerIdentity)
	if limit != nil {
		w.Header().Set("Retry-After", "5")
		writeRPCErrorID(w, http.StatusTooManyRequests, env.ID, limit)
		return
	}
	defer release()
	g.metrics.listens.Inc()
	defer g.metrics.listens.Dec()

	ctx, end := context.WithCancel(r.Context())
	defer end()
	stopShutdown := context.AfterFunc(g.baseCtx, end)
	defer stopShutdown()
	l := &listener{queue: make(chan []byte, listenQueue), ctx: ctx}

	var subs []*upstreamListen
	for _, u := range g.routeUpstreams(route) {
		subs = append(subs, g.subscribe(l, route, u, *p.Notifications))
	}
	defer func() {
		for _, s := range subs {
			s.stop()
		}
	}()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	write := func(b []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(listenWriteTimeout)) // not every writer has deadlines
		if _, err := w.Write(b); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil {
			return err
		}
		_ = rc.SetWriteDeadline(time.Time{})
		return nil
	}
	if write(nil) != nil {
		return
	}

	agreed, live := g.awaitAcks(ctx, route, subs)
	if ctx.Err() != nil {
		return
	}
	ack, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": notificationAck, "params": map[string]any{
		"notifications": agreed, "_meta": map[string]json.RawMessage{metaSubscriptionID: env.ID}}})
	if write(sseEvent(ack)) != nil {
		return
	}
	final, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": env.ID, "result": map[string]any{
		"resultType": "complete", "_meta": map[string]json.RawMessage{metaSubscriptionID: env.ID}}})
	if !subscribesToAnything(agreed) {
		// Nothing agreed, nothing will come: the listen ends at once, as
		// go-sdk's own server ends it.
		write(sseEvent(final))
		return
	}
	// Any accepted leg ending ends the listen: the client re-listens.
	for _, s := range live {
		stop := context.AfterFunc(s.ended, end)
		defer stop()
	}
	g.log.Info("subscriptions/listen open", "identity", identity, "route", g.shape.routePath(route), "upstreams", len(live))

	heartbeat := time.NewTicker(listenHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			if r.Context().Err() == nil {
				// Shutdown or an upstream leg ended: tell the client the
				// listen is over, as a server does when it ends one.
				write(sseEvent(final))
			}
			return
		case msg := <-l.queue:
			out, err := retag(msg, env.ID)
			if err != nil {
				g.log.Warn("dropping a malformed notification from an upstream listen", "err", err)
				continue
			}
			if write(sseEvent(out)) != nil {
				return
			}
		case <-heartbeat.C:
			if write([]byte(":\n\n")) != nil {
				return
			}
		}
	}
}

// routeUpstreams lists the upstreams a route reaches.
func (g *Gateway) routeUpstreams(route string) []Upstream {
	return g.upstreamsFor(&downstream{route: route})
}

// subscribe opens the listener's subscription at upstream u: its own leg,
// or under shared-listen a place on the route's shared one.
func (g *Gateway) subscribe(l *listener, route string, u Upstream, want mcp.NotificationSubscriptions) *upstreamListen {
	if g.policy.shareListens() {
		return g.sharedListens.join(g, l, route, u, want)
	}
	leg := g.openLeg(l.ctx, u, want, l.push)
	return &upstreamListen{upstream: u.ID, leg: leg, want: want, ended: leg.ended, stop: leg.stop}
}

// awaitAcks waits, within ListenAckTimeout in all, for each subscription's
// acknowledgement and returns their union and the subscriptions that
// acknowledged; the others are stopped and logged.
func (g *Gateway) awaitAcks(ctx context.Context, route string, subs []*upstreamListen) (mcp.NotificationSubscriptions, []*upstreamListen) {
	agreed := mcp.NotificationSubscriptions{ResourceSubscriptions: []string{}}
	var live []*upstreamListen
	timer := time.NewTimer(g.cfg.ListenAckTimeout)
	defer timer.Stop()
	late := false
	for _, s := range subs {
		if !late {
			select {
			case <-s.leg.acked:
			case <-s.leg.done:
			case <-timer.C:
				late = true
			case <-ctx.Done():
				return agreed, nil
			}
		}
		select {
		case <-s.leg.acked:
			// A leg that agreed to nothing brings nothing, and its end
			// (at once) must not end the listen.
			if got := intersect(s.want, s.leg.ack); subscribesToAnything(got) {
				union(&agreed, got)
				live = append(live, s)
			} else {
				s.stop()
			}
			continue
		default:
		}
		s.stop()
		if late {
			g.log.Warn("upstream did not acknowledge subscriptions/listen in time; leaving it out", "upstream", s.upstream, "route", g.shape.routePath(route), "timeout", g.cfg.ListenAckTimeout.String())
		} else {
			g.log.Info("upstream refused subscriptions/listen; leaving it out", "upstream", s.upstream, "route", g.shape.routePath(route), "err", s.leg.err)
		}
	}
	return agreed, live
}

func subscribesToAnything(n mcp.NotificationSubscriptions) bool {
	return n.ToolsListChanged || n.PromptsListChanged || n.ResourcesListChanged || len(n.ResourceSubscriptions) > 0
}

// union adds b's subscriptions to a.
func union(a *mcp.NotificationSubscriptions, b mcp.NotificationSubscriptions) {
	a.ToolsListChanged = a.ToolsListChanged || b.ToolsListChanged
	a.PromptsListChanged = a.PromptsListChanged || b.PromptsListChanged
	a.ResourcesListChanged = a.ResourcesListChanged || b.ResourcesListChanged
	for _, uri := range b.ResourceSubscriptions {
		if !slices.Contains(a.ResourceSubscriptions, uri) {
			a.ResourceSubscriptions = append(a.ResourceSubscriptions, uri)
		}
	}
}

// intersect is what of want an upstream agreed to.
func intersect(want, agreed mcp.NotificationSubscriptions) mcp.NotificationSubscriptions {
	out := mcp.NotificationSubscriptions{
		ToolsListChanged:     want.ToolsListChanged && agreed.ToolsListChanged,
		PromptsListChanged:   want.PromptsListChanged && agreed.PromptsListChanged,
		ResourcesListChanged: want.ResourcesListChanged && agreed.ResourcesListChanged,
	}
	for _, uri := range want.ResourceSubscriptions {
		if slices.Contains(agreed.ResourceSubscriptions, uri) {
			out.ResourceSubscriptions = append(out.ResourceSubscriptions, uri)
		}
	}
	return out
}

// covers reports whether have asks for everything want does.
func covers(have, want mcp.NotificationSubscriptions) bool {
	if want.ToolsListChanged && !have.ToolsListChanged || want.PromptsListChanged && !have.PromptsListChanged || want.ResourcesListChanged && !have.ResourcesListChanged {
		return false
	}
	for _, uri := range want.ResourceSubscriptions {
		if !slices.Contains(have.ResourceSubscriptions, uri) {
			return false
		}
	}
	return true
}

// retag sets a notification's _meta subscriptionId to the client's listen
// id, exactly as the client wrote it (a number stays a number).
func retag(msg []byte, id json.RawMessage) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return nil, err
	}
	params := map[string]json.RawMessage{}
	if raw, ok := m["params"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &params); err != nil {
			return nil, err
		}
	}
	meta := map[string]json.RawMessage{}
	if raw, ok := params["_meta"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, err
		}
	}
	meta[metaSubscriptionID] = id
	var err error
	if params["_meta"], err = json.Marshal(meta); err != nil {
		return nil, err
	}
	if m["params"], err = json.Marshal(params); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func sseEvent(data []byte) []byte {
	out := make([]byte, 0, len(data)+24)
	out = append(out, "event: message\ndata: "...)
	out = append(out, data...)
	return append(out, "\n\n"...)
}

// listenLeg is one upstream 2026-07-28 listen. acked is closed once the
// upstream acknowledged (ack then holds what it agreed to); done once the
// leg ended (err then says why); ended is cancelled as the leg ends.
type listenLeg struct {
	acked  chan struct{}
	ack    mcp.NotificationSubscriptions
	done   chan struct{}
	err    error
	ended  context.Context
	cancel context.CancelFunc // ends the leg
	stop   func()             // ends the leg and waits for it
}

// errLegEnded is how a leg ends when its upstream ends the listen.
var errLegEnded = errors.New("the upstream ended the listen")

// openLeg starts a leg at u asking for want, under ctx. deliver gets each
// notification after the acknowledgement, and stop, closed when the leg is
// ending, to stop waiting on.
func (g *Gateway) openLeg(ctx context.Context, u Upstream, want mcp.NotificationSubscriptions, deliver func(stop <-chan struct{}, msg []byte)) *listenLeg {
	ctx, cancel := context.WithCancel(ctx)
	leg := &listenLeg{acked: make(chan struct{}), done: make(chan struct{}), ended: ctx, cancel: cancel}
	leg.stop = func() { cancel(); <-leg.done }
	id := g.listens.legIDs.Add(1)
	g.listens.addLeg(leg, u)
	go func() {
		defer close(leg.done)
		defer cancel()
		defer g.listens.dropLeg(leg)
		leg.err = g.runLeg(ctx, u, id, want, leg, deliver)
	}()
	return leg
}

func (g *Gateway) runLeg(ctx context.Context, u Upstream, id int64, want mcp.NotificationSubscriptions, leg *listenLeg, deliver func(<-chan struct{}, []byte)) error {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": methodListen,
		"params": map[string]any{"notifications": want, "_meta": modernMeta(nil)}})
	if err != nil {
		return err
	}
	// The connection and response headers are bounded; the stream is not.
	dial, cancelDial := context.WithCancel(ctx)
	late := time.AfterFunc(g.cfg.ListenAckTimeout, cancelDial)
	resp, release, err := g.modernPost(dial, u, methodListen, "", body)
	if !late.Stop() && err == nil {
		release()
		cancelDial()
		return fmt.Errorf("no answer within %s", g.cfg.ListenAckTimeout)
	}
	if err != nil {
		cancelDial()
		return err
	}
	defer release()
	defer cancelDial()
	// A body is only read; closing it is what unblocks the read at once
	// when the listen ends (the upstream pool lingers on a body otherwise).
	stop := context.AfterFunc(ctx, func() { resp.Body.Close() })
	defer stop()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxModernResponse))
		if msg, err := modernResponse(resp.Header.Get("Content-Type"), raw); err == nil && msg.Error != nil {
			return fmt.Errorf("status %d, JSON-RPC error %d: %s", resp.StatusCode, msg.Error.Code, msg.Error.Message)
		}
		return fmt.Errorf("status %d, %s, not an event stream: %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	events := bufio.NewReaderSize(resp.Body, 8<<10)
	first := true
	for {
		data, err := readEvent(events, maxModernResponse)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if data == nil {
			continue // a comment or an event without data
		}
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			Result json.RawMessage `json:"result"`
			Error  *jsonrpc.Error  `json:"error"`
		}
		if err := json.Unmarshal(data, &msg); err != nil {
			return fmt.Errorf("malformed message on the listen stream: %v", err)
		}
		if first {
			if msg.Error != nil {
				return fmt.Errorf("JSON-RPC error %d: %s", msg.Error.Code, msg.Error.Message)
			}
			var p struct {
				Notifications mcp.NotificationSubscriptions `json:"notifications"`
			}
			if msg.Method != notificationAck || json.Unmarshal(msg.Params, &p) != nil {
				return fmt.Errorf("the first message on the listen stream is %q, not %s", msg.Method, notificationAck)
			}
			leg.ack = p.Notifications
			close(leg.acked)
			first = false
			continue
		}
		switch {
		case msg.Result != nil || msg.Error != nil:
			return errLegEnded
		case msg.Method != "" && len(msg.ID) == 0:
			deliver(ctx.Done(), data)
		}
		// Requests on a listen stream have nobody to answer them: dropped.
	}
}

// readEvent reads one server-sent event and returns its data (nil when it
// has none: a comment), refusing events larger than max.
func readEvent(r *bufio.Reader, max int) ([]byte, error) {
	var data []byte
	size, fields := 0, false
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: read it whole, within the bound.
			rest, rerr := r.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), rest...), rerr
		}
		if size += len(line); size > max {
			return nil, fmt.Errorf("an event on the listen stream exceeds %d bytes", max)
		}
		if err != nil {
			return nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if !fields {
				continue // blank lines between events
			}
			return data, nil
		}
		fields = true
		if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(d, []byte(" "))...)
		}
	}
}
