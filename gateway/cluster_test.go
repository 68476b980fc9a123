package gateway

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/mcpgw/conformance/fakes/wedge"
	"go.uber.org/goleak"
)

const clusterSecret = "cluster-secret"

// replica is one gateway of a test cluster, served on its own listener so
// that stopping its server really refuses connections.
type replica struct {
	g   *Gateway
	url string
	ts  *httptest.Server
}

// startReplicas runs n gateways sharing one miniredis.
func startReplicas(t *testing.T, n int, upstreams []Upstream, bug Bug) (*miniredis.Miniredis, []*replica) {
	t.Helper()
	mr := miniredis.RunT(t)
	var out []*replica
	for i := range n {
		ts := httptest.NewUnstartedServer(nil)
		url := "http://" + ts.Listener.Addr().String()
		g, err := New(Config{
			Upstreams: upstreams, ReplicaID: fmt.Sprintf("r%d", i+1), Logger: testLogger(t),
			RedisURL: "redis://" + mr.Addr(), AdvertiseURL: url, ClusterSecret: clusterSecret,
			AdminToken: adminToken, ShutdownTimeout: time.Second, HeartbeatTTL: 600 * time.Millisecond, Bug: bug,
		})
		if err != nil {
			t.Fatal(err)
		}
		ts.Config.Handler = g.Handler()
		ts.Start()
		t.Cleanup(func() { g.Shutdown(); ts.CloseClientConnections(); ts.Close() })
		out = append(out, &replica{g: g, url: url, ts: ts})
	}
	return mr, out
}

// openSession initializes a session by hand on base and returns its id.
func openSession(t *testing.T, base string) string {
	t.Helper()
	sid := rawInitialize(t, base+"/mcp")
	rawRequest(t, http.MethodPost, base+"/mcp", with(postHeaders, headerSessionID, sid), `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return sid
}

// rawCall calls tool through base for session sid; it returns the HTTP status
// and, on success, the counter value of the result.
func rawCall(t *testing.T, base, sid, tool string) (int, int) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"` + tool + `","arguments":{}}}`
	status, _, resp := rawRequest(t, http.MethodPost, base+"/mcp", with(postHeaders, headerSessionID, sid), body)
	if status != http.StatusOK {
		return status, -1
	}
	// The body is a JSON response, or an SSE stream whose data line is one.
	for line := range strings.Lines(resp) {
		line = strings.TrimSpace(line)
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok && !strings.HasPrefix(line, "{") {
			continue
		}
		if !ok {
			data = line
		}
		var msg struct {
			Result struct {
				StructuredContent struct{ Value int } `json:"structuredContent"`
			}
			Error *struct{ Message string }
		}
		if err := json.Unmarshal([]byte(data), &msg); err != nil || msg.Error != nil {
			t.Fatalf("call %s via %s: %s", tool, base, data)
		}
		return status, msg.Result.StructuredContent.Value
	}
	t.Fatalf("call %s via %s: no result in %q", tool, base, resp)
	return 0, 0
}

func TestASessionIsServedThroughAnyReplica(t *testing.T) {
	c, url := fakeUpstream(t)
	_, rs := startReplicas(t, 3, []Upstream{{ID: "counter", URL: url + "/mcp"}}, BugNone)
	sid := openSession(t, rs[0].url)
	for range 2 {
		rawCall(t, rs[0].url, sid, "counter.increment")
	}
	for range 3 {
		rawCall(t, rs[1].url, sid, "counter.increment")
	}
	if _, v := rawCall(t, rs[2].url, sid, "counter.get"); v != 5 {
		t.Fatalf("2 increments via r1 and 3 via r2 read %d via r3, want 5", v)
	}
	if st := c.Stats(); st.Initializes != 1 {
		t.Fatalf("upstream saw %d initializes, want 1 (the session stays on its owner)", st.Initializes)
	}
	// DELETE through a non-owner ends it everywhere.
	if status, _, body := rawRequest(t, http.MethodDelete, rs[1].url+"/mcp", map[string]string{headerSessionID: sid}, ""); status != http.StatusNoContent {
		t.Fatalf("DELETE via non-owner: %d %s", status, body)
	}
	eventually(t, 3*time.Second, "upstream session ended", func() bool { return len(c.Stats().Ended) == 1 })
	for _, r := range rs {
		if status, _ := rawCall(t, r.url, sid, "counter.get"); status != http.StatusNotFound {
			t.Fatalf("after DELETE, %s answers %d, want 404", r.g.cfg.ReplicaID, status)
		}
	}
}

func TestEmulatedLocalLookupLosesSessionsOnOtherReplicas(t *testing.T) {
	_, url := fakeUpstream(t)
	_, rs := startReplicas(t, 2, []Upstream{{ID: "counter", URL: url + "/mcp"}}, BugLocalLookup)
	sid := openSession(t, rs[0].url)
	if status, _ := rawCall(t, rs[1].url, sid, "counter.increment"); status != http.StatusNotFound {
		t.Fatalf("the emulated bug should answer 404 on the non-owner, got %d", status)
	}
}

func TestDeadOwnerGets404AtOnce(t *testing.T) {
	_, url := fakeUpstream(t)
	mr, rs := startReplicas(t, 2, []Upstream{{ID: "counter", URL: url + "/mcp"}}, BugNone)
	sid := openSession(t, rs[0].url)
	rawCall(t, rs[0].url, sid, "counter.increment")
	// The owner dies without a word: its listener goes, its claim stays.
	rs[0].ts.CloseClientConnections()
	rs[0].ts.Close()
	start := time.Now()
	if status, _ := rawCall(t, rs[1].url, sid, "counter.get"); status != http.StatusNotFound {
		t.Fatalf("session of a dead owner: %d, want 404", status)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("404 took %v", took)
	}
	if mr.Exists(sessionKey(sid)) {
		t.Fatal("the dead owner's claim should be dropped")
	}
	// New sessions work at once.
	fresh := openSession(t, rs[1].url)
	if _, v := rawCall(t, rs[1].url, fresh, "counter.increment"); v != 1 {
		t.Fatalf("new session read %d, want 1", v)
	}
}

func TestShutdownReleasesOwnership(t *testing.T) {
	_, url := fakeUpstream(t)
	mr, rs := startReplicas(t, 2, []Upstream{{ID: "counter", URL: url + "/mcp"}}, BugNone)
	sid := openSession(t, rs[0].url)
	if !mr.Exists(sessionKey(sid)) {
		t.Fatal("no claim for the new session")
	}
	rs[0].g.Shutdown()
	if mr.Exists(sessionKey(sid)) || mr.Exists(keyReplicaPrefix+"r1") {
		t.Fatal("shutdown should release claims and the heartbeat")
	}
	if status, _ := rawCall(t, rs[1].url, sid, "counter.get"); status != http.StatusNotFound {
		t.Fatalf("after the owner's shutdown: %d, want 404", status)
	}
}

// A replica kept draining by a wedged upstream DELETE has given up its
// claims already, so the others answer 404 for its sessions meanwhile
// (SHD-5); keep-claims-while-draining holds them until the drain ends.
func TestDrainingReplicaReleasesItsClaimsAtOnce(t *testing.T) {
	_, curl := fakeUpstream(t)
	_, wurl := wedgeUpstream(t, wedge.Delete)
	upstreams := []Upstream{{ID: "counter", URL: curl + "/mcp"}, {ID: "w", URL: wurl}}
	for _, bug := range []Bug{BugNone, BugKeepClaimsWhileDraining} {
		t.Run(cmp.Or(string(bug), "correct"), func(t *testing.T) {
			mr, rs := startReplicas(t, 2, upstreams, bug)
			sid := openSession(t, rs[0].url)
			rawCall(t, rs[0].url, sid, "w.increment")
			done := make(chan struct{})
			go func() { rs[0].g.Shutdown(); close(done) }()
			deadline := time.Now().Add(300 * time.Millisecond)
			for mr.Exists(sessionKey(sid)) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond) // polling Redis, bounded by deadline
			}
			held := mr.Exists(sessionKey(sid))
			select {
			case <-done:
				t.Fatal("shutdown ended at once: the wedged DELETE should keep the replica draining")
			default:
			}
			if want := bug == BugKeepClaimsWhileDraining; held != want {
				t.Errorf("claim held 300 ms into the drain: %v, want %v", held, want)
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("shutdown did not end within 5 s")
			}
			if mr.Exists(sessionKey(sid)) {
				t.Error("the claim outlived the shutdown")
			}
		})
	}
}

func TestUpstreamChangeEvictsOnEveryReplica(t *testing.T) {
	oldC, oldURL := fakeUpstream(t)
	_, newURL := fakeUpstream(t)
	_, rs := startReplicas(t, 2, []Upstream{{ID: "counter", URL: oldURL + "/mcp"}}, BugNone)
	a, b := openSession(t, rs[0].url), openSession(t, rs[1].url)
	rawCall(t, rs[0].url, a, "counter.increment")
	rawCall(t, rs[1].url, b, "counter.increment")
	body := `{"url":"` + newURL + `/mcp"}`
	if status, _, resp := rawRequest(t, http.MethodPut, rs[0].url+"/admin/upstreams/counter", map[string]string{"Authorization": "Bearer " + adminToken}, body); status != 200 {
		t.Fatalf("PUT: %d %s", status, resp)
	}
	eventually(t, 3*time.Second, "both replicas' old upstream sessions ended", func() bool { return len(oldC.Stats().Ended) == 2 })
	if _, v := rawCall(t, rs[1].url, b, "counter.get"); v != 0 {
		t.Fatalf("r2 still reaches the old upstream (read %d)", v)
	}
}

func TestForwardedRequestsNeedTheClusterSecret(t *testing.T) {
	_, url := fakeUpstream(t)
	_, rs := startReplicas(t, 1, []Upstream{{ID: "counter", URL: url + "/mcp"}}, BugNone)
	sid := openSession(t, rs[0].url)
	h := with(postHeaders, headerSessionID, sid, headerForwardedBy, "r9", headerClusterSecret, "guess")
	if status, _, _ := rawRequest(t, http.MethodPost, rs[0].url+"/mcp", h, `{"jsonrpc":"2.0","id":1,"method":"ping"}`); status != http.StatusForbidden {
		t.Fatalf("forwarded request with a wrong secret: %d, want 403", status)
	}
}

func TestRedisOutageKeepsLocalSessionsAndRecovers(t *testing.T) {
	_, url := fakeUpstream(t)
	mr, rs := startReplicas(t, 2, []Upstream{{ID: "counter", URL: url + "/mcp"}}, BugNone)
	local := openSession(t, rs[0].url)
	rawCall(t, rs[0].url, local, "counter.increment")
	mr.Close()
	if _, v := rawCall(t, rs[0].url, local, "counter.increment"); v != 2 {
		t.Fatalf("local session during the outage read %d, want 2", v)
	}
	status, _, body := rawRequest(t, http.MethodPost, rs[1].url+"/mcp", with(postHeaders, headerSessionID, local), `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "Redis") {
		t.Fatalf("lookup during the outage: %d %q, want 503 naming Redis", status, body)
	}
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	// Redis came back empty: the owner's heartbeat re-claims its session.
	eventually(t, 5*time.Second, "session served through r2 after Redis returned", func() bool {
		status, v := rawCall(t, rs[1].url, local, "counter.get")
		return status == 200 && v == 2
	})
}

func TestEmulatedDeadOwnerHangWaitsOnTheDeadReplica(t *testing.T) {
	_, url := fakeUpstream(t)
	_, rs := startReplicas(t, 2, []Upstream{{ID: "counter", URL: url + "/mcp"}}, BugDeadOwnerHang)
	sid := openSession(t, rs[0].url)
	rs[0].ts.CloseClientConnections()
	rs[0].ts.Close()
	ctx := ctxT(t, 800*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, rs[1].url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	for k, v := range with(postHeaders, headerSessionID, sid) {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the emulated bug should leave the request waiting, got %d", resp.StatusCode)
	}
}

func TestClusteredReplicaLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	defer mr.Close()
	c := counter.New(counter.Options{})
	up := httptest.NewServer(c.Handler())
	defer func() { up.CloseClientConnections(); up.Close(); c.Close() }()
	var gws []*Gateway
	var servers []*httptest.Server
	for i := range 2 {
		ts := httptest.NewUnstartedServer(nil)
		g, err := New(Config{Upstreams: []Upstream{{ID: "counter", URL: up.URL + "/mcp"}}, ReplicaID: fmt.Sprintf("leak%d", i),
			RedisURL: "redis://" + mr.Addr(), AdvertiseURL: "http://" + ts.Listener.Addr().String(), ClusterSecret: clusterSecret,
			ShutdownTimeout: 300 * time.Millisecond, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		ts.Config.Handler = g.Handler()
		ts.Start()
		gws, servers = append(gws, g), append(servers, ts)
	}
	sid := openSession(t, servers[0].URL)
	rawCall(t, servers[1].URL, sid, "counter.increment") // forwarded
	for i, g := range gws {
		g.Shutdown()
		servers[i].CloseClientConnections()
		servers[i].Close()
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}
