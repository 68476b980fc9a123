package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/conformance/fakes"
)

const adminToken = "admin-secret"

func adminPut(t *testing.T, gw *testGateway, u Upstream) putUpstreamResponse {
	t.Helper()
	body, _ := json.Marshal(u)
	status, _, resp := rawRequest(t, http.MethodPut, gw.URL+"/admin/upstreams/"+u.ID, map[string]string{"Authorization": "Bearer " + adminToken}, string(body))
	if status != 200 && status != 201 {
		t.Fatalf("PUT upstream: %d %s", status, resp)
	}
	var out putUpstreamResponse
	if err := json.Unmarshal([]byte(resp), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUpstreamChanges(t *testing.T) {
	type statser interface{ Stats() fakes.Stats }
	setup := func(t *testing.T, bug Bug) (*testGateway, statser, statser, string) {
		oldC, oldURL := fakeUpstream(t)
		newC, newURL := fakeUpstream(t)
		gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: oldURL + "/mcp", Name: "Counter"}}, AdminToken: adminToken, Bug: bug})
		return gw, oldC, newC, newURL
	}
	t.Run("connect change evicts", func(t *testing.T) {
		gw, oldC, newC, newURL := setup(t, BugNone)
		cs := connect(t, gw.URL+"/mcp", "")
		increment(t, cs, "counter.increment", 3)
		if r := adminPut(t, gw, Upstream{ID: "counter", URL: newURL + "/mcp"}); !r.ConnectChanged || r.Evicted != 1 {
			t.Fatalf("PUT response %+v, want connectChanged and 1 evicted", r)
		}
		eventually(t, 3*time.Second, "old upstream session ended", func() bool { return len(oldC.Stats().Ended) == 1 })
		if got := callValue(t, cs, "counter.get", nil); got != 0 {
			t.Fatalf("after the URL change read %d, want 0 from the new upstream", got)
		}
		if st := newC.Stats(); st.Initializes != 1 {
			t.Fatalf("new upstream saw %d initializes, want 1", st.Initializes)
		}
	})
	t.Run("emulated no-evict-on-update keeps the old session", func(t *testing.T) {
		gw, oldC, newC, newURL := setup(t, BugNoEvictOnUpdate)
		cs := connect(t, gw.URL+"/mcp", "")
		increment(t, cs, "counter.increment", 3)
		adminPut(t, gw, Upstream{ID: "counter", URL: newURL + "/mcp"})
		if got := callValue(t, cs, "counter.get", nil); got != 3 {
			t.Fatalf("the bug should keep using the old upstream (3), read %d", got)
		}
		if len(oldC.Stats().Ended) != 0 || newC.Stats().Initializes != 0 {
			t.Fatal("the bug should neither end the old session nor open a new one")
		}
	})
	t.Run("cosmetic change keeps sessions", func(t *testing.T) {
		gw, oldC, _, _ := setup(t, BugNone)
		cs := connect(t, gw.URL+"/mcp", "")
		increment(t, cs, "counter.increment", 3)
		cur, _ := gw.upstreams.get("counter")
		cur.Name, cur.Description = "Renamed", "new words"
		if r := adminPut(t, gw, cur); r.ConnectChanged || r.Evicted != 0 {
			t.Fatalf("PUT response %+v, want no eviction", r)
		}
		if got := callValue(t, cs, "counter.get", nil); got != 3 {
			t.Fatalf("read %d, want 3", got)
		}
		if st := oldC.Stats(); st.Initializes != 1 {
			t.Fatalf("upstream saw %d initializes, want 1", st.Initializes)
		}
	})
	t.Run("removal evicts and leaves others working", func(t *testing.T) {
		gw, oldC, _, newURL := setup(t, BugNone)
		adminPut(t, gw, Upstream{ID: "other", URL: newURL + "/mcp"})
		cs := connect(t, gw.URL+"/mcp", "")
		increment(t, cs, "counter.increment", 1)
		increment(t, cs, "other.increment", 2)
		status, _, body := rawRequest(t, http.MethodDelete, gw.URL+"/admin/upstreams/counter", map[string]string{"Authorization": "Bearer " + adminToken}, "")
		if status != 200 || !strings.Contains(body, `"evicted": 1`) {
			t.Fatalf("DELETE upstream: %d %s", status, body)
		}
		eventually(t, 3*time.Second, "removed upstream's session ended", func() bool { return len(oldC.Stats().Ended) == 1 })
		_, err := cs.CallTool(ctxT(t, 5*time.Second), callParams("counter.get"))
		if err == nil || !strings.Contains(err.Error(), "not configured") {
			t.Fatalf("calling a removed upstream: %v, want a clear error", err)
		}
		if got := callValue(t, cs, "other.get", nil); got != 2 {
			t.Fatalf("other upstream read %d, want 2", got)
		}
	})
}

func TestAdminNeedsItsToken(t *testing.T) {
	gw, _ := counterGateway(t, BugNone)
	if status, _, _ := rawRequest(t, http.MethodGet, gw.URL+"/admin/sessions", nil, ""); status != 404 {
		t.Fatalf("admin off: %d, want 404", status)
	}
	_, url := fakeUpstream(t)
	on := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}, AdminToken: adminToken})
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer nope"}} {
		if status, _, _ := rawRequest(t, http.MethodGet, on.URL+"/admin/upstreams", h, ""); status != 401 {
			t.Fatalf("admin with %v: %d, want 401", h, status)
		}
	}
	cs := connect(t, on.URL+"/mcp", "")
	increment(t, cs, "counter.increment", 1)
	status, _, body := rawRequest(t, http.MethodGet, on.URL+"/admin/sessions", map[string]string{"Authorization": "Bearer " + adminToken}, "")
	var view sessionsView
	if status != 200 || json.Unmarshal([]byte(body), &view) != nil {
		t.Fatalf("sessions: %d %s", status, body)
	}
	if len(view.Sessions) != 1 || view.Sessions[0].ID != cs.ID() || len(view.Sessions[0].Upstreams) != 1 || view.Sessions[0].Upstreams[0].UpstreamSession == "" {
		t.Fatalf("sessions view %+v", view)
	}
	status, _, body = rawRequest(t, http.MethodPut, on.URL+"/admin/upstreams/bad", map[string]string{"Authorization": "Bearer " + adminToken}, `{"url":"ftp://x"}`)
	if status != 400 || !strings.Contains(body, "http(s)") {
		t.Fatalf("bad upstream: %d %s", status, body)
	}
}

func TestParseUpstreams(t *testing.T) {
	list, err := ParseUpstreams([]byte("- id: a\n  url: http://127.0.0.1:1/mcp\n  headers: {X-Key: v}\n- {id: b, url: 'https://h/mcp', transport: sse}\n"))
	if err != nil || len(list) != 2 || list[0].Transport != TransportStreamable || list[1].Transport != TransportSSE {
		t.Fatalf("ParseUpstreams = %+v, %v", list, err)
	}
	if _, err := ParseUpstreams([]byte(`[{"id":"a","url":"http://h/mcp"},{"id":"a","url":"http://h/mcp"}]`)); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("duplicate ids: %v", err)
	}
	if _, err := ParseUpstreams([]byte(`[{"id":"a.b","url":"http://h/mcp"}]`)); err == nil {
		t.Fatal("an id with a dot must be rejected: it would split tool names wrongly")
	}
	if _, err := ParseUpstreams([]byte(`[{"id":"a","url":"http://h/mcp","colour":"red"}]`)); err == nil {
		t.Fatal("unknown fields must be rejected")
	}
	if list, err := ParseUpstreams(nil); err != nil || len(list) != 0 {
		t.Fatalf("empty file: %v, %v", list, err)
	}
	a := Upstream{ID: "a", URL: "http://h/mcp", Name: "A"}
	b := a
	b.Name, b.Description, b.Tags = "B", "d", []string{"t"}
	if a.connectKey() != b.connectKey() {
		t.Fatal("cosmetic fields must not change the connect key")
	}
	b.Headers = map[string]string{"Authorization": "Bearer x"}
	if a.connectKey() == b.connectKey() {
		t.Fatal("headers must change the connect key")
	}
}
