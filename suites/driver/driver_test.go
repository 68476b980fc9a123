package driver

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The test binary doubles as a fake gateway: with DRIVER_FAKE_GATEWAY set it
// serves /readyz on MCPGW_LISTEN and reacts to SIGTERM as the mode says.
func TestMain(m *testing.M) {
	if mode := os.Getenv("DRIVER_FAKE_GATEWAY"); mode != "" {
		fakeGateway(mode)
		return
	}
	os.Exit(m.Run())
}

func fakeGateway(mode string) {
	ln, err := net.Listen("tcp", os.Getenv("MCPGW_LISTEN"))
	if err != nil {
		os.Stderr.WriteString("listen: " + err.Error() + "\n")
		os.Exit(2)
	}
	// SIGTERM is caught before /readyz answers: the driver may signal as
	// soon as the replica is ready.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	os.Stderr.WriteString("fake gateway up; upstreams=" + os.Getenv("MCPGW_UPSTREAMS") + " bug=" + os.Getenv("MCPGW_EMULATE_BUG") +
		" args=" + strings.Join(os.Args[1:], " ") + " gwport=" + os.Getenv("GW_PORT") +
		" redis=" + os.Getenv("MCPGW_REDIS") + " advertise=" + os.Getenv("MCPGW_ADVERTISE_URL") + "\n")
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	switch mode {
	case "exit-early":
		os.Exit(3)
	case "stubborn":
		for range sigs {
			os.Stderr.WriteString("ignoring SIGTERM\n")
		}
	default:
		<-sigs
		os.Exit(0)
	}
}

func startFake(t *testing.T, mode string) (Replica, error) {
	t.Helper()
	return StartReplica(context.Background(), ReplicaConfig{
		Bin:          os.Args[0],
		Dir:          t.TempDir(),
		ID:           "r1",
		Upstreams:    []Upstream{{ID: "counter", URL: "http://127.0.0.1:1/mcp"}},
		EmulateBug:   "shared-upstream",
		Env:          map[string]string{"DRIVER_FAKE_GATEWAY": mode},
		ReadyTimeout: 5 * time.Second,
	})
}

func TestReplicaStartsAndStopsGracefully(t *testing.T) {
	r, err := startFake(t, "graceful")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Log(), "bug=shared-upstream") || !strings.Contains(r.Log(), "upstreams.json") {
		t.Errorf("the MCPGW_* environment did not reach the replica; log:\n%s", r.Log())
	}
	exit, killed := r.Stop(3 * time.Second)
	if killed || exit.Code != 0 {
		t.Errorf("Stop: %s, killed=%v; want a clean exit 0 on SIGTERM", exit, killed)
	}
}

func TestClusteredReplicaAdvertisesItsOwnURL(t *testing.T) {
	r, err := StartReplica(context.Background(), ReplicaConfig{
		Bin:          os.Args[0],
		Dir:          t.TempDir(),
		ID:           "r2",
		Redis:        "redis://127.0.0.1:1/0",
		Env:          map[string]string{"DRIVER_FAKE_GATEWAY": "graceful"},
		ReadyTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(3 * time.Second)
	if want := "redis=redis://127.0.0.1:1/0 advertise=" + r.URL() + "\n"; !strings.Contains(r.Log(), want) {
		t.Errorf("want %q in the replica's environment; log:\n%s", want, r.Log())
	}
}

func TestStubbornReplicaIsKilledAfterGrace(t *testing.T) {
	r, err := startFake(t, "stubborn")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	exit, killed := r.Stop(300 * time.Millisecond)
	if !killed || exit.Signal == "" {
		t.Errorf("Stop: %s, killed=%v; want SIGKILL after the grace", exit, killed)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Stop took %s", d)
	}
	if _, err := r.WaitExit(time.Millisecond); err != nil {
		t.Errorf("WaitExit after Stop: %v", err)
	}
}

func TestReplicaThatExitsEarlyReportsItsLog(t *testing.T) {
	_, err := startFake(t, "exit-early")
	if err == nil || !strings.Contains(err.Error(), "exited before ready") || !strings.Contains(err.Error(), "fake gateway up") {
		t.Fatalf("want an 'exited before ready' error carrying the log, got %v", err)
	}
}

func TestWaitExitHasADeadline(t *testing.T) {
	r, err := startFake(t, "graceful")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(time.Second)
	if _, err := r.WaitExit(50 * time.Millisecond); err == nil {
		t.Fatal("WaitExit returned nil for a running replica")
	}
}

func TestEmbeddedRedisExpiresKeysInRealTime(t *testing.T) {
	r, err := StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Set(ctx, "owner:s1", "r1", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		n, err := c.Exists(ctx, "owner:s1").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a key with a 300ms TTL still exists after 3s: the clock does not advance")
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestRealRedisServerStartsFlushesAndStops(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("no redis-server on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := StartRedisServer(ctx, "redis-server", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opts, err := redis.ParseURL(s.URL(3))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.Set(ctx, "mcpgw:upstreams", "left over", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := FlushRedis(ctx, s.URL(3), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(ctx, "mcpgw:upstreams").Result(); err != nil || n != 0 {
		t.Fatalf("after FlushRedis: exists=%d err=%v", n, err)
	}
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("Close took %s", d)
	}
	if conn, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		conn.Close()
		t.Error("the server still accepts connections after Close")
	}
}
