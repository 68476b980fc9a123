package gateway

import (
	"net/http"
	"testing"
	"time"
)

// Redis coming back empty (a restart without persistence, a flush) drops
// every claim until the owners re-claim their sessions. A lookup in that
// window must not turn a live session into a 404: the client would drop it.
func TestALiveSessionSurvivesRedisComingBackEmpty(t *testing.T) {
	_, url := fakeUpstream(t)
	mr, rs := startReplicas(t, 2, []Upstream{{ID: "counter", URL: url + "/mcp"}}, BugNone)
	sid := openSession(t, rs[0].url)
	if _, v := rawCall(t, rs[1].url, sid, "counter.increment"); v != 1 {
		t.Fatalf("call through the non-owner read %d, want 1", v)
	}
	mr.FlushAll()
	var statuses []int
	eventually(t, 5*time.Second, "the session served through the non-owner again", func() bool {
		status, v := rawCall(t, rs[1].url, sid, "counter.get")
		statuses = append(statuses, status)
		if status == http.StatusNotFound {
			t.Fatalf("a live session got 404 after Redis came back empty (answers so far: %v)", statuses)
		}
		return status == http.StatusOK && v == 1
	})
	// Once the owners have had time to re-claim, an unknown session is 404.
	eventually(t, 5*time.Second, "an unknown session answered 404 once the directory settled", func() bool {
		status, _ := rawCall(t, rs[1].url, "NOSUCHSESSION", "counter.get")
		return status == http.StatusNotFound
	})
}
