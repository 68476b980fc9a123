// Package gateway is the reference MCP gateway: a downstream Streamable HTTP
// front, a registry holding exactly one upstream session per (downstream
// session, upstream), eviction, an admin API and bounded shutdown.
//
// It exists to pass the conformance suites in suites/ and, with
// Config.Bug set, to reproduce the session bugs those suites must catch.
package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Config is everything a gateway replica needs. Zero values get defaults in New.
type Config struct {
	// Upstreams is the initial upstream set; the admin API can change it.
	Upstreams []Upstream
	// ReplicaID names this replica in logs, metrics and /admin/sessions.
	ReplicaID string
	// ShutdownTimeout is the grace of each close phase; a whole shutdown
	// takes at most twice this plus a small constant.
	ShutdownTimeout time.Duration
	// SessionTimeout expires idle downstream sessions (and their upstream sessions).
	SessionTimeout time.Duration
	// Tokens maps bearer token -> identity. Nil or empty turns auth off.
	Tokens map[string]string
	// AdminToken guards /admin/*. Empty turns the admin API off.
	AdminToken string
	// RedisURL turns on cross-replica ownership; empty = single replica.
	RedisURL string
	// AdvertiseURL is the base URL other replicas forward requests to.
	AdvertiseURL string
	// ClusterSecret authenticates replica-to-replica requests. Required with RedisURL.
	ClusterSecret string
	// OwnershipTTL is how long a session claim lives without a refresh. Default 10 s.
	OwnershipTTL time.Duration
	// HeartbeatTTL is how long a replica counts as alive without a heartbeat. Default 3 s.
	HeartbeatTTL time.Duration

	// Shape is the gateway's routes, tool names and readiness path; the
	// zero Shape is the reference gateway's.
	Shape Shape

	// Bug reproduces one known gateway bug. BugNone in normal use.
	Bug Bug
	// Logger receives structured logs; nil means slog.Default().
	Logger *slog.Logger

	// MaxBodyBytes bounds a request body (413 past it). Default 4 MiB.
	MaxBodyBytes int64
	// ConnectTimeout bounds opening one upstream session. Default 10 s.
	ConnectTimeout time.Duration
	// ProbeAfterIdle: an upstream session unused this long is pinged before
	// reuse and rebuilt if the ping fails. Default 30 s.
	ProbeAfterIdle time.Duration
	// BodyTimeout bounds reading a POST body once its headers are in: a
	// body that does not arrive in time gets 408. Default 10 s; negative = none.
	BodyTimeout time.Duration
	// ForwardTimeout bounds how long a request forwarded to the session's
	// owner replica waits for the owner's response headers (504 past it).
	// Keep it above CallTimeout: a /mcp call is answered only when done.
	// A frozen owner is found out sooner, by its heartbeat lapsing.
	// Default 5 min 30 s; negative = none.
	ForwardTimeout time.Duration
	// CallTimeout bounds one upstream call (tools/call, tools/list, or a
	// pass-through POST carrying a request): past it the call is cancelled
	// upstream and the client gets an error. Default 5 min; negative = none.
	CallTimeout time.Duration
	// MaxListens bounds the 2026-07-28 subscriptions/listen streams open on
	// this replica, MaxListensPerIdentity those of one identity (listen.go).
	// Defaults 256 and 16.
	MaxListens, MaxListensPerIdentity int
	// ListenAckTimeout bounds the wait for the upstreams' acknowledgements
	// of a listen; an upstream that has not acknowledged by then is left
	// out. Default 5 s.
	ListenAckTimeout time.Duration
}

const (
	defaultShutdownTimeout = 5 * time.Second
	defaultSessionTimeout  = 30 * time.Minute
	defaultMaxBodyBytes    = 4 << 20
	defaultConnectTimeout  = 10 * time.Second
	defaultProbeAfterIdle  = 30 * time.Second
	defaultOwnershipTTL    = 10 * time.Second
	defaultHeartbeatTTL    = 3 * time.Second
	defaultBodyTimeout     = 10 * time.Second
	defaultForwardTimeout  = 5*time.Minute + 30*time.Second
	defaultCallTimeout     = 5 * time.Minute
	defaultMaxListens      = 256
	defaultMaxListensPerID = 16
	defaultListenAck       = 5 * time.Second
)

func (c *Config) applyDefaults() error {
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = defaultShutdownTimeout
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = defaultSessionTimeout
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = defaultMaxBodyBytes
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = defaultConnectTimeout
	}
	if c.ProbeAfterIdle <= 0 {
		c.ProbeAfterIdle = defaultProbeAfterIdle
	}
	if c.BodyTimeout == 0 {
		c.BodyTimeout = defaultBodyTimeout
	}
	if c.ForwardTimeout == 0 {
		c.ForwardTimeout = defaultForwardTimeout
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = defaultCallTimeout
	}
	if c.MaxListens <= 0 {
		c.MaxListens = defaultMaxListens
	}
	if c.MaxListensPerIdentity <= 0 {
		c.MaxListensPerIdentity = defaultMaxListensPerID
	}
	if c.ListenAckTimeout <= 0 {
		c.ListenAckTimeout = defaultListenAck
	}
	if c.OwnershipTTL <= 0 {
		c.OwnershipTTL = defaultOwnershipTTL
	}
	if c.HeartbeatTTL <= 0 {
		c.HeartbeatTTL = defaultHeartbeatTTL
	}
	if c.RedisURL != "" {
		if c.ClusterSecret == "" {
			return fmt.Errorf("--redis needs --cluster-secret: replicas forward requests to each other and must authenticate them")
		}
		if c.AdvertiseURL == "" {
			return fmt.Errorf("--redis needs an advertise URL other replicas can reach")
		}
	} else if c.Bug.needsCluster() {
		return fmt.Errorf("--emulate-bug=%s needs cross-replica ownership: set --redis", c.Bug)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ReplicaID == "" {
		host, _ := os.Hostname()
		c.ReplicaID = host + "-" + randomID()[:8]
	}
	seen := map[string]bool{}
	for i := range c.Upstreams {
		if err := c.Upstreams[i].Validate(); err != nil {
			return err
		}
		if seen[c.Upstreams[i].ID] {
			return fmt.Errorf("duplicate upstream id %q", c.Upstreams[i].ID)
		}
		seen[c.Upstreams[i].ID] = true
	}
	return nil
}

// LoadTokens reads an auth tokens file: one "TOKEN IDENTITY" pair per line,
// blank lines and lines starting with # ignored.
func LoadTokens(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read auth tokens: %w", err)
	}
	tokens := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("auth tokens %s:%d: want \"TOKEN IDENTITY\", got %d fields", path, n, len(fields))
		}
		tokens[fields[0]] = fields[1]
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read auth tokens: %w", err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("auth tokens %s: no tokens (leave --auth-tokens empty to turn auth off)", path)
	}
	return tokens, nil
}
