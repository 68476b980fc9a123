package gateway

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// frozenOwner registers, in mr, a replica that accepts connections and never
// answers (a stopped process: the kernel still accepts), owning session sid.
// It returns how many connections it has accepted.
func frozenOwner(t *testing.T, mr *miniredis.Miniredis, id, sid string) *atomic.Int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			accepted.Add(1)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	mr.Set(keyReplicaPrefix+id, "http://"+ln.Addr().String())
	mr.Set(sessionKey(sid), id)
	return &accepted
}

// startReplica runs one gateway on mr with cfg's cluster fields filled in.
func startReplica(t *testing.T, mr *miniredis.Miniredis, cfg Config) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	url := "http://" + ts.Listener.Addr().String()
	cfg.Logger, cfg.RedisURL, cfg.AdvertiseURL, cfg.ClusterSecret = testLogger(t), "redis://"+mr.Addr(), url, clusterSecret
	cfg.ShutdownTimeout, cfg.HeartbeatTTL = time.Second, 600*time.Millisecond
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = g.Handler()
	ts.Start()
	t.Cleanup(func() { g.Shutdown(); ts.CloseClientConnections(); ts.Close() })
	return url
}

// pingVia sends a ping for sid through base, waiting at most within.
func pingVia(t *testing.T, base, sid string, within time.Duration) (int, string, error) {
	req, _ := http.NewRequestWithContext(ctxT(t, within), http.MethodPost, base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	for k, v := range with(postHeaders, headerSessionID, sid) {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String(), nil
}

func TestForwardToAFrozenOwnerEndsWhenItsHeartbeatLapses(t *testing.T) {
	_, url := fakeUpstream(t)
	mr, rs := startReplicas(t, 1, []Upstream{{ID: "counter", URL: url + "/mcp"}}, BugNone)
	const sid = "FROZENOWNERSESSION"
	accepted := frozenOwner(t, mr, "frozen", sid)
	type answer struct {
		status int
		body   string
		err    error
		at     time.Time
	}
	done := make(chan answer, 1)
	go func() {
		status, body, err := pingVia(t, rs[0].url, sid, 10*time.Second)
		done <- answer{status, body, err, time.Now()}
	}()
	eventually(t, 5*time.Second, "the forward reached the frozen owner", func() bool { return accepted.Load() > 0 })
	lapsed := time.Now()
	mr.Del(keyReplicaPrefix + "frozen") // the heartbeat lapses
	a := <-done
	if a.err != nil {
		t.Fatalf("forward to a frozen owner: %v", a.err)
	}
	if a.status != http.StatusNotFound {
		t.Fatalf("forward to a frozen owner whose heartbeat lapsed: %d %s, want 404", a.status, a.body)
	}
	if took := a.at.Sub(lapsed); took > 2*time.Second {
		t.Fatalf("404 came %v after the heartbeat lapsed", took)
	}
	if mr.Exists(sessionKey(sid)) {
		t.Fatal("the frozen owner's claim should be dropped")
	}
}

func TestForwardToAFrozenLiveOwnerEndsAtTheForwardTimeout(t *testing.T) {
	_, url := fakeUpstream(t)
	mr := miniredis.RunT(t)
	const forwardTimeout = 500 * time.Millisecond
	base := startReplica(t, mr, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}, ReplicaID: "r1", ForwardTimeout: forwardTimeout})
	const sid = "FROZENOWNERSESSION"
	frozenOwner(t, mr, "frozen", sid) // its heartbeat stays: only the deadline can end the wait
	start := time.Now()
	status, body, err := pingVia(t, base, sid, 10*time.Second)
	if err != nil {
		t.Fatalf("forward to a frozen owner: %v", err)
	}
	if status != http.StatusGatewayTimeout || !strings.Contains(body, "forward-timeout") {
		t.Fatalf("forward to a frozen owner: %d %q, want 504 naming --forward-timeout", status, body)
	}
	if took := time.Since(start); took > forwardTimeout+time.Second {
		t.Fatalf("504 took %v with a forward timeout of %v", took, forwardTimeout)
	}
}
