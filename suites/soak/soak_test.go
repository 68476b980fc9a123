package soak

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A goroutine profile in the debug=1 form: idle keep-alive connections on
// both sides are set aside, everything else counts.
const sampleProfile = `goroutine profile: total 14
5 @ 0x1 0x2
#	0x1	net/http.(*persistConn).readLoop+0x1	/go/src/net/http/transport.go:2300

5 @ 0x3 0x4
#	0x3	net/http.(*persistConn).writeLoop+0x1	/go/src/net/http/transport.go:2500

2 @ 0x5
#	0x5	net/http.(*conn).readRequest+0x1	/go/src/net/http/server.go:1000
#	0x6	net/http.(*conn).serve+0x1	/go/src/net/http/server.go:2000

1 @ 0x7
#	0x7	github.com/mcpgw/conformance/gateway.(*registry).expireLoop+0x1	/x.go:1

1 @ 0x8
#	0x8	runtime/pprof.writeGoroutineStacks+0x1	/y.go:1
`

func TestWorkingGoroutinesSetsIdleConnectionsAside(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/goroutine" || r.URL.Query().Get("debug") != "1" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(sampleProfile))
	}))
	defer srv.Close()
	n, err := workingGoroutines(context.Background(), strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("working goroutines = %d, want 2 (12 of the 14 are idle connections)", n)
	}
}

func TestReportFailsOnAnyFailedCheckAndSaysWhich(t *testing.T) {
	r := &Report{Started: time.Now(), Config: Short()}
	r.figure(PhaseLoad, "calls", "%d", 10)
	r.check(PhaseLoad, "no call failed", true, "0 errors")
	if len(r.Failed()) != 0 || !strings.Contains(r.Markdown(), "All 1 checks held.") {
		t.Fatalf("a report whose checks all held reads as failed:\n%s", r.Markdown())
	}
	r.check(PhaseStop, "no request waits on a frozen owner", false, "slowest ended after 30 s")
	failed := r.Failed()
	if len(failed) != 1 || failed[0].Phase != PhaseStop {
		t.Fatalf("Failed() = %+v, want the SIGSTOP check", failed)
	}
	md := r.Markdown()
	for _, want := range []string{"| SIGSTOP owner | no request waits on a frozen owner | **FAIL** | slowest ended after 30 s |", "1 of 2 checks failed."} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestLatencyQuantiles(t *testing.T) {
	var l latencies
	for i := 1; i <= 100; i++ {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	if got := l.quantile(0.5); got != 50*time.Millisecond {
		t.Errorf("p50 = %s, want 50ms", got)
	}
	if got := l.quantile(0.99); got != 99*time.Millisecond {
		t.Errorf("p99 = %s, want 99ms", got)
	}
	if got := l.max(); got != 100*time.Millisecond {
		t.Errorf("max = %s, want 100ms", got)
	}
	if got := (latencies{}).quantile(0.5); got != 0 {
		t.Errorf("p50 of nothing = %s, want 0", got)
	}
}

func TestPhaseKeys(t *testing.T) {
	for key, want := range map[string]string{"load": PhaseLoad, "stop": PhaseStop, "redis": PhaseRedis} {
		if got, ok := PhaseByKey(key); !ok || got != want {
			t.Errorf("PhaseByKey(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	if _, ok := PhaseByKey("nope"); ok {
		t.Error("PhaseByKey accepted an unknown key")
	}
}
