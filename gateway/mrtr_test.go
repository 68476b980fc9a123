package gateway

import (
	"slices"
	"testing"
)

// TestMRTRPassesThroughAndIsBoundToIdentity: a sessionless call of an MRTR
// tool answers input_required with the upstream's requestState unchanged;
// the retry completes it; another identity presenting the state reaches no
// upstream. With the binding dropped (mrtrUnbound) bob's retry completes
// alice's call: the failing case VER-6 must catch.
func TestMRTRPassesThroughAndIsBoundToIdentity(t *testing.T) {
	for _, unbound := range []bool{false, true} {
		t.Run(map[bool]string{false: "bound", true: "unbound"}[unbound], func(t *testing.T) {
			srv, up := fakeUpstream(t)
			g := startGateway(t, Config{
				Upstreams: []Upstream{{ID: "counter", URL: up + "/mcp"}},
				Tokens:    map[string]string{"tok-alice": "alice", "tok-bob": "bob"},
			})
			g.mrtrUnbound = unbound
			url := g.URL + "/mcp"
			first := modernCall(t, url, "tok-alice", "tools/call", map[string]any{"name": "counter.confirm", "arguments": map[string]any{}}, nil)
			if first.Status != 200 || first.Error != nil || first.Result["resultType"] != "input_required" {
				t.Fatalf("first round: status %d error %+v result %v", first.Status, first.Error, first.Result)
			}
			state, _ := first.Result["requestState"].(string)
			st := srv.Stats().Modern.MRTR
			if state == "" || !slices.Contains(st.States, state) {
				t.Fatalf("no requestState (%q) or none issued upstream (%+v)", state, st)
			}
			retry := map[string]any{"name": "counter.confirm", "arguments": map[string]any{}, "requestState": state,
				"inputResponses": map[string]any{"confirm": map[string]any{"action": "accept", "content": map[string]any{"ok": true}}}}
			bob := modernCall(t, url, "tok-bob", "tools/call", retry, nil)
			after := srv.Stats().Modern.MRTR
			bobGotThrough := bob.Error == nil && bob.Result["isError"] != true
			if bobGotThrough != unbound {
				t.Fatalf("bob's retry with alice's requestState: error %+v result %v (unbound %v)", bob.Error, bob.Result, unbound)
			}
			if !unbound {
				if after.Issued != st.Issued || after.Completed != st.Completed || after.Refused != st.Refused {
					t.Fatalf("bob's refused retry reached the upstream: %+v then %+v", st, after)
				}
				done := modernCall(t, url, "tok-alice", "tools/call", retry, nil)
				if done.Error != nil || done.Result["resultType"] != "complete" || srv.Stats().Modern.MRTR.Completed != 1 {
					t.Fatalf("alice's retry: error %+v result %v stats %+v", done.Error, done.Result, srv.Stats().Modern.MRTR)
				}
			}
		})
	}
}
