package mcpconf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/conformance/gateway"
	"github.com/mcpgw/conformance/suites/mcpconf"
	"github.com/mcpgw/conformance/suites/targetconf"
)

// adminHooks are upstream hooks written in Go: here they drive the
// reference gateway's admin API over HTTP, as an implementer's would drive
// their own gateway's API or configuration.
type adminHooks struct{ token string }

func (h adminHooks) Add(ctx context.Context, gw mcpconf.GatewayRef, u mcpconf.Upstream) (string, error) {
	return h.do(ctx, http.MethodPut, gw.URLs[0]+"/admin/upstreams/"+u.ID, u)
}

func (h adminHooks) Change(ctx context.Context, gw mcpconf.GatewayRef, u mcpconf.Upstream) (string, error) {
	return h.do(ctx, http.MethodPut, gw.URLs[0]+"/admin/upstreams/"+u.ID, u)
}

func (h adminHooks) Remove(ctx context.Context, gw mcpconf.GatewayRef, u mcpconf.Upstream) (string, error) {
	return h.do(ctx, http.MethodDelete, gw.URLs[0]+"/admin/upstreams/"+u.ID, nil)
}

func (h adminHooks) do(ctx context.Context, method, url string, body any) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return "", fmt.Errorf("%s %s: %s %s", method, url, resp.Status, msg)
	}
	return method + " " + url + ": " + resp.Status, nil
}

// startGateway runs the reference gateway in this process, as an
// implementer would start theirs, and stops it with the test.
func startGateway(t *testing.T, adminToken string) string {
	t.Helper()
	g, err := gateway.New(gateway.Config{
		ReplicaID:       "r1",
		AdminToken:      adminToken,
		ShutdownTimeout: time.Second,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Shutdown)
	return "http://" + ln.Addr().String()
}

// TestGatewayInProcess is what an implementer writes: their gateway, a
// target built in code, hooks in Go, and the suite run inside go test.
// Here the gateway is the reference one, in this process, and a subset of
// the requirements keeps the test short (drop LabelFilter to run all).
func TestGatewayInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs conformance specs")
	}
	url := startGateway(t, "s3cret")
	out := t.TempDir()
	mcpconf.Run(t, mcpconf.Config{
		Target: &mcpconf.Target{
			Name:     "reference gateway (in process)",
			Driver:   targetconf.DriverExternal,
			External: targetconf.External{Replicas: []targetconf.ExternalReplica{{URL: url}}},
			Profiles: []string{"strict-405"},
			// The reference gateway serves both eras by default.
			Eras: []string{targetconf.EraSession, targetconf.EraStateless},
		},
		Upstreams:   adminHooks{token: "s3cret"},
		LabelFilter: "ISO-1 || ISO-3 || EVI-1 || EVI-5 || EVI-7 || TRN-1 || TRN-1s || TRN-8 || SHD-1",
		OutDir:      out,
	})
	summary, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| target | reference gateway (in process) |",
		"| driver | external |",
		"| upstreams | registered via hooks; change via hooks, remove via hooks |",
		"| ISO-1 | MUST | pass |", "| EVI-5 | MUST | pass |", "| EVI-7 | MUST | pass |",
		"| SHD-1 | MUST | skip | external driver: the suite cannot signal",
	} {
		if !strings.Contains(string(summary), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, summary)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "report.html")); err != nil {
		t.Error(err)
	}
}
