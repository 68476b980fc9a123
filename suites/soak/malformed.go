package soak

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mcpgw/conformance/suites/client"
)

// malformedCase is one category of bad input: how to send it once.
type malformedCase struct {
	name string
	send func(ctx context.Context, c *cluster, sid string) (int, error)
}

func post(body []byte, header map[string]string) func(ctx context.Context, c *cluster, sid string) (int, error) {
	return func(ctx context.Context, c *cluster, sid string) (int, error) {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("Accept", "application/json, text/event-stream")
		for k, v := range header {
			if v == "{sid}" {
				v = sid
			}
			h.Set(k, v)
		}
		raw := &client.Raw{Base: c.replicas[0].URL(), Timeout: c.cfg.RequestTimeout}
		resp, err := raw.Do(ctx, http.MethodPost, mcpPath, h, body)
		if err != nil {
			return 0, err
		}
		return resp.Status, nil
	}
}

// wire sends a hand-made request (bytes net/http refuses to send).
func wire(format string) func(ctx context.Context, c *cluster, sid string) (int, error) {
	return func(ctx context.Context, c *cluster, sid string) (int, error) {
		host := strings.TrimPrefix(c.replicas[0].URL(), "http://")
		req := strings.ReplaceAll(format, "{host}", host)
		resp, err := client.Wire(ctx, host, []byte(req), c.cfg.RequestTimeout)
		if err != nil {
			return 0, err
		}
		return resp.Status, nil
	}
}

func toolsCall(params string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":` + params + `}`)
}

var withSession = map[string]string{client.HeaderSession: "{sid}"}

func malformedCases() []malformedCase {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	return []malformedCase{
		{"session id oversized", post(toolsCall(`{"name":"counter.get"}`), map[string]string{client.HeaderSession: strings.Repeat("a", 8192)})},
		{"session id non-ASCII", wire("POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: s\xc3\xa9ssion\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")},
		{"session id control character", wire("POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: ab\x01cd\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")},
		{"body not JSON", post([]byte("not json at all"), withSession)},
		{"body truncated", post([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/ca`), withSession)},
		{"body empty", post(nil, withSession)},
		{"body invalid UTF-8", post([]byte("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\xfe\"}"), withSession)},
		{"body nested 100000 deep", post([]byte(deep), withSession)},
		{"empty batch", post([]byte(`[]`), withSession)},
		{"jsonrpc version wrong", post([]byte(`{"jsonrpc":"1.0","id":1,"method":"tools/list"}`), withSession)},
		{"method missing", post([]byte(`{"jsonrpc":"2.0","id":1}`), withSession)},
		{"method not a string", post([]byte(`{"jsonrpc":"2.0","id":1,"method":42}`), withSession)},
		{"id an object", post([]byte(`{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}`), withSession)},
		{"id beyond 64 bits", post([]byte(`{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"tools/list"}`), withSession)},
		{"params not an object", post([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1,2]}`), withSession)},
		{"tools/call without a name", post(toolsCall(`{}`), withSession)},
		{"tools/call name not a string", post(toolsCall(`{"name":{"x":1}}`), withSession)},
		{"tools/call arguments not an object", post(toolsCall(`{"name":"counter.increment","arguments":"five"}`), withSession)},
		{"tools/call unknown tool", post(toolsCall(`{"name":"nope.nothing"}`), withSession)},
		{"content type wrong", post(toolsCall(`{"name":"counter.get"}`), map[string]string{client.HeaderSession: "{sid}", "Content-Type": "text/plain"})},
		{"protocol version unsupported", post(toolsCall(`{"name":"counter.get"}`), map[string]string{client.HeaderSession: "{sid}", client.HeaderProtocol: "1999-01-01"})},
		{"body over 4 MiB", post(append(append([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"counter.increment","arguments":{"pad":"`), bytes.Repeat([]byte("x"), 5<<20)...), `"}}}`...), withSession)},
		{"unknown method on /mcp", wire("PATCH /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")},
		{"path traversal", wire("GET /servers/../../admin/sessions HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")},
	}
}

// phaseMalformed sends every category of bad input, rounds times, while a
// canary session keeps calling: no 5xx, no crash, the canary unharmed.
func phaseMalformed(ctx context.Context, c *cluster, rep *Report) error {
	cfg := c.cfg
	canary, err := c.openSession(ctx, 0)
	if err != nil {
		return err
	}
	cases := malformedCases()
	fiveXX := map[string]int{}
	noAnswer := map[string]int{}
	sent := 0
	var canaryErrs int
	for round := range cfg.MalformedRounds {
		for _, mc := range cases {
			status, err := mc.send(ctx, c, canary.id)
			sent++
			switch {
			case err != nil:
				noAnswer[mc.name]++
			case status >= 500:
				fiveXX[mc.name]++
			}
		}
		if o := canary.increment(ctx, 0); o.err != nil || o.value != canary.want+1 {
			canaryErrs++
		} else {
			canary.want++
		}
		if round%20 == 0 && ctx.Err() != nil {
			break
		}
	}
	alive := c.replicas[0].Running()
	ready := false
	if alive {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.replicas[0].URL()+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			ready = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
		cancel()
	}
	rep.figure(PhaseMalformed, "malformed requests", "%d in %d categories", sent, len(cases))
	rep.check(PhaseMalformed, "no 5xx", len(fiveXX) == 0, "%s", describeCounts(fiveXX))
	rep.check(PhaseMalformed, "every malformed request answered", len(noAnswer) == 0, "%s", describeCounts(noAnswer))
	rep.check(PhaseMalformed, "the replica stays up and the canary session keeps working", alive && ready && canaryErrs == 0,
		"running %v, ready %v, canary: %d failed calls of %d", alive, ready, canaryErrs, cfg.MalformedRounds)
	return nil
}

func describeCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
