package gateway

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// trickle opens a raw connection to base and POSTs a tools/call for sid
// whose body arrives one byte every 100 ms, until the test ends or the
// gateway closes the connection. It returns the connection, to read the
// answer from.
func trickle(t *testing.T, base, path, sid string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	body := `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"counter.get","arguments":{}}}`
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Protocol-Version: 2025-06-18\r\n%s: %s\r\nContent-Length: %d\r\n\r\n",
		path, headerSessionID, sid, len(body))
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < len(body); i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	return conn
}

func TestASlowBodyIsCutAt408(t *testing.T) {
	_, url := fakeUpstream(t)
	const bodyTimeout = 500 * time.Millisecond
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}, BodyTimeout: bodyTimeout})
	sid := openSession(t, gw.URL)
	conn := trickle(t, gw.URL, "/mcp", sid)
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a trickling body within 5s: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("trickling body: %d, want 408", resp.StatusCode)
	}
	if took := time.Since(start); took > bodyTimeout+time.Second {
		t.Fatalf("408 took %v with a body timeout of %v", took, bodyTimeout)
	}
	if _, v := rawCall(t, gw.URL, sid, "counter.increment"); v != 1 {
		t.Fatalf("the session after a cut body read %d, want 1", v)
	}
}

func TestASlowBodyDoesNotKeepItsSessionBusy(t *testing.T) {
	_, url := fakeUpstream(t)
	gw := startGateway(t, Config{Upstreams: []Upstream{{ID: "counter", URL: url + "/mcp"}}, SessionTimeout: 300 * time.Millisecond})
	for _, route := range []string{"/mcp", "/servers/counter/mcp"} {
		sid := rawInitialize(t, gw.URL+route)
		trickle(t, gw.URL, route, sid)
		eventually(t, 3*time.Second, route+": the session expired while a body trickled in", func() bool { return !gw.sessions.has(sid) })
	}
}
