package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpgw/conformance/fakes"
)

// An id the gateway cannot echo exactly must be refused with a clear 400
// before anything reaches an upstream; an id it can echo comes back as sent.
func TestJSONRPCIdsComeBackExactlyOrAreRefused(t *testing.T) {
	c, url := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}})
	for _, route := range []string{"/mcp", "/servers/counter/mcp"} {
		endpoint := gw.URL + route
		cs := connect(t, endpoint, "")
		tool := "increment"
		if route == "/mcp" {
			tool = "counter.increment"
		}
		callValue(t, cs, tool, nil)
		callsBefore := totalCalls(c.Stats().Live)
		for _, id := range []string{"12345678901234567890", "-9223372036854775809", "9007199254740993", "1.5", "1e3"} {
			t.Run(route+" id "+id, func(t *testing.T) {
				for _, body := range []string{
					`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + tool + `","arguments":{}}}`,
					`{"jsonrpc":"2.0","id":` + id + `,"method":"ping"}`,
				} {
					status, _, resp := rawRequest(t, http.MethodPost, endpoint, with(postHeaders, headerSessionID, cs.ID()), body)
					expectExactOrRefused(t, id, status, resp)
				}
				status, _, resp := rawRequest(t, http.MethodPost, endpoint, postHeaders, strings.Replace(initializeBody, `"id":1`, `"id":`+id, 1))
				expectExactOrRefused(t, id, status, resp)
			})
		}
		if got := totalCalls(c.Stats().Live); got != callsBefore {
			t.Fatalf("%s: the upstream served %d calls with unrepresentable ids", route, got-callsBefore)
		}
		for _, id := range []string{`"abc"`, "9007199254740992", "-42", "0"} {
			body := `{"jsonrpc":"2.0","id":` + id + `,"method":"ping"}`
			status, _, resp := rawRequest(t, http.MethodPost, endpoint, with(postHeaders, headerSessionID, cs.ID()), body)
			if status != http.StatusOK || !echoes(resp, id) {
				t.Fatalf("%s: id %s: %d %s, want 200 echoing it", route, id, status, resp)
			}
		}
	}
}

func expectExactOrRefused(t *testing.T, id string, status int, resp string) {
	t.Helper()
	if status == http.StatusOK && echoes(resp, id) {
		return
	}
	var msg struct {
		Error *struct {
			Code    int
			Message string
		}
	}
	if status != http.StatusBadRequest || json.Unmarshal([]byte(resp), &msg) != nil || msg.Error == nil || msg.Error.Code != -32600 || !strings.Contains(msg.Error.Message, "id") {
		t.Fatalf("id %s: %d %q, want it echoed exactly or a 400 JSON-RPC -32600 naming the id", id, status, resp)
	}
}

// echoes reports whether a JSON or SSE response carries the id as sent.
func echoes(resp, id string) bool {
	for line := range strings.Lines(resp) {
		line = strings.TrimPrefix(strings.TrimSpace(line), "data: ")
		var msg struct{ ID json.RawMessage }
		if json.Unmarshal([]byte(line), &msg) == nil && string(msg.ID) == id {
			return true
		}
	}
	return false
}

func totalCalls(live []fakes.SessionStats) int {
	n := 0
	for _, s := range live {
		n += s.Calls
	}
	return n
}
