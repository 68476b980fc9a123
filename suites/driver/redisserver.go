package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/mcpgw/conformance/suites/child"
)

// RedisServer is a real redis-server child process on a free loopback port
// with persistence off (no snapshots, no append-only file): a throwaway Redis for
// checking the gateway against the real thing rather than miniredis.
type RedisServer struct {
	addr string
	dir  string
	proc *child.Process
}

// StartRedisServer starts bin (e.g. "redis-server" or /usr/bin/redis-server)
// on a free loopback port and waits up to timeout for it to answer PING. A
// port taken between choosing and binding is retried on another port.
func StartRedisServer(ctx context.Context, bin string, timeout time.Duration) (*RedisServer, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("redis server %q: %w (Debian: apt-get install redis-server)", bin, err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := startRedisServerOnce(ctx, path, timeout)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	return nil, lastErr
}

func startRedisServerOnce(ctx context.Context, bin string, timeout time.Duration) (*RedisServer, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "mcpconf-redis-")
	if err != nil {
		return nil, err
	}
	proc, err := child.Start(child.Options{
		Path: bin, Name: "redis-server", DieWithParent: true,
		Args: []string{
			"--bind", "127.0.0.1", "--port", port,
			"--save", "", "--appendonly", "no", "--dir", dir,
			"--daemonize", "no", "--loglevel", "notice",
		},
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &RedisServer{addr: addr, dir: dir, proc: proc}
	if err := WaitRedis(ctx, addr, timeout, proc); err != nil {
		s.Close()
		if strings.Contains(s.Log(), "Address already in use") {
			return nil, errAddrInUse
		}
		return nil, fmt.Errorf("redis-server on %s: %w\n--- its log ---\n%s", addr, err, tail(s.Log(), 4000))
	}
	return s, nil
}

// Addr is host:port.
func (s *RedisServer) Addr() string { return s.addr }

// URL is the redis:// URL of database db.
func (s *RedisServer) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.addr, db) }

// Log returns what the server wrote so far.
func (s *RedisServer) Log() string { return s.proc.Log() }

// Close stops the server: SIGTERM, SIGKILL after 2 s, and removes its
// directory. It returns within about 7 s whatever the process does.
func (s *RedisServer) Close() {
	s.proc.Stop(2 * time.Second)
	os.RemoveAll(s.dir)
}
