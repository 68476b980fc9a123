package driver

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/mcpgw/conformance/suites/launch"
)

// ReplicaConfig is one replica's settings, passed as the MCPGW_* environment
// twins of the flags in README.md ("Flags"). Zero fields are left to the gateway's
// defaults.
type ReplicaConfig struct {
	// Bin is the gateway binary (process driver).
	Bin string
	// Dir holds the files written for a process replica (upstreams, tokens).
	// Empty: a new temporary directory, left for the caller's cleanup.
	Dir string
	// ID is --replica-id.
	ID string
	// Upstreams are written to the --upstreams file.
	Upstreams []Upstream
	// Redis is --redis (empty: single replica, in-memory ownership).
	Redis string
	// AdvertiseURL is --advertise-url, the base URL other replicas forward
	// to. Empty with Redis set: the replica's own URL, known only once its
	// address is chosen.
	AdvertiseURL string
	// ShutdownTimeout is --shutdown-timeout.
	ShutdownTimeout time.Duration
	// SessionTimeout is --session-timeout.
	SessionTimeout time.Duration
	// Tokens (token -> identity) are written to the --auth-tokens file; nil = auth off.
	Tokens map[string]string
	// AdminToken is --admin-token (empty = admin API off).
	AdminToken string
	// ClusterSecret is --cluster-secret.
	ClusterSecret string
	// EmulateBug is --emulate-bug.
	EmulateBug string
	// Args and Env are the target's argument and environment templates
	// (suites/launch).
	Args []string
	Env  map[string]string
	// ReadyTimeout bounds the wait for Ready (default 15 s).
	ReadyTimeout time.Duration
	// Ready says when the replica is up (nil: DefaultReady, GET /readyz 200).
	Ready Probe
}

// Placement is where a replica runs, as far as its launch is concerned.
type Placement struct {
	// Listen is the host:port it serves on.
	Listen string
	// URL is its own base URL as other replicas reach it: the default
	// advertise URL and the templates' .URL.
	URL string
	// FileDir is the directory it reads its files from (Launch.Files).
	FileDir string
	// Dir is a directory it may write to (the templates' .Dir; "" for none).
	Dir string
}

// Launch is everything one replica is started with: the MCPGW_*
// environment plus the target's rendered gateway.env, its rendered
// gateway.args, the files it reads and the template data they were
// rendered from. BuildLaunch makes it; a driver only places it (writes the
// files where the replica reads them, then starts it with Args and Env).
type Launch struct {
	Env   map[string]string
	Args  []string
	Files []LaunchFile
	Data  launch.Data
}

// LaunchFile is one file a replica reads.
type LaunchFile struct {
	// Path is where the replica reads it (the value its Env and Data give).
	Path string
	// Bytes is its content, unless HostPath is set.
	Bytes []byte
	// HostPath, when set, is a file of the test machine to place at Path
	// (the TLS material an upstream definition names, at the same path).
	HostPath string
}

// Names of the files a replica is given, under Placement.FileDir.
const (
	UpstreamsFileName = "upstreams.json"
	TokensFileName    = "tokens.txt"
)

// BuildLaunch makes the launch of the replica cfg describes, placed at p.
// Every MCPGW_* variable and every file is decided here, once for every
// driver (README.md, "Flags").
func BuildLaunch(cfg ReplicaConfig, p Placement) (Launch, error) {
	host, portStr, err := net.SplitHostPort(p.Listen)
	if err != nil {
		return Launch{}, fmt.Errorf("replica %s: listen address %q: %w", cfg.ID, p.Listen, err)
	}
	port, _ := strconv.Atoi(portStr)
	l := Launch{
		Env: map[string]string{"MCPGW_LISTEN": p.Listen},
		Data: launch.Data{
			Listen: p.Listen, Host: host, Port: port, URL: p.URL,
			ReplicaID: cfg.ID, Redis: cfg.Redis, ClusterSecret: cfg.ClusterSecret,
			ShutdownTimeout: cfg.ShutdownTimeout, SessionTimeout: cfg.SessionTimeout,
			AdminToken: cfg.AdminToken, EmulateBug: cfg.EmulateBug, Dir: p.Dir,
		},
	}
	set := func(k, v string) {
		if v != "" {
			l.Env[k] = v
		}
	}
	set("MCPGW_REPLICA_ID", cfg.ID)

	ups := cfg.Upstreams
	if ups == nil {
		ups = []Upstream{}
	}
	upJSON, err := json.MarshalIndent(ups, "", "  ")
	if err != nil {
		return Launch{}, fmt.Errorf("replica %s: upstreams file: %w", cfg.ID, err)
	}
	l.Data.UpstreamsFile = path.Join(p.FileDir, UpstreamsFileName)
	l.Files = append(l.Files, LaunchFile{Path: l.Data.UpstreamsFile, Bytes: upJSON})
	set("MCPGW_UPSTREAMS", l.Data.UpstreamsFile)
	for _, f := range tlsPaths(ups) {
		l.Files = append(l.Files, LaunchFile{Path: f, HostPath: f})
	}

	if cfg.Redis != "" {
		l.Data.AdvertiseURL = cfg.AdvertiseURL
		if l.Data.AdvertiseURL == "" {
			l.Data.AdvertiseURL = p.URL
		}
		set("MCPGW_REDIS", cfg.Redis)
		set("MCPGW_ADVERTISE_URL", l.Data.AdvertiseURL)
	}
	if cfg.ShutdownTimeout > 0 {
		set("MCPGW_SHUTDOWN_TIMEOUT", cfg.ShutdownTimeout.String())
	}
	if cfg.SessionTimeout > 0 {
		set("MCPGW_SESSION_TIMEOUT", cfg.SessionTimeout.String())
	}
	if len(cfg.Tokens) > 0 {
		l.Data.AuthTokensFile = path.Join(p.FileDir, TokensFileName)
		l.Files = append(l.Files, LaunchFile{Path: l.Data.AuthTokensFile, Bytes: tokensFile(cfg.Tokens)})
		set("MCPGW_AUTH_TOKENS", l.Data.AuthTokensFile)
	}
	set("MCPGW_ADMIN_TOKEN", cfg.AdminToken)
	set("MCPGW_CLUSTER_SECRET", cfg.ClusterSecret)
	set("MCPGW_EMULATE_BUG", cfg.EmulateBug)

	args, extra, err := launch.Render(cfg.Args, cfg.Env, l.Data)
	if err != nil {
		return Launch{}, fmt.Errorf("replica %s: %w", cfg.ID, err)
	}
	l.Args = args
	maps.Copy(l.Env, extra) // the target's gateway.env has the last word
	return l, nil
}

// EnvList is Env as KEY=VALUE lines in key order, appended to base.
func (l Launch) EnvList(base []string) []string {
	out := append([]string(nil), base...)
	for _, k := range slices.Sorted(maps.Keys(l.Env)) {
		out = append(out, k+"="+l.Env[k])
	}
	return out
}

// tokensFile is the --auth-tokens file: "TOKEN IDENTITY" lines.
func tokensFile(tokens map[string]string) []byte {
	b := []byte("# written by the conformance suite\n")
	for _, tok := range slices.Sorted(maps.Keys(tokens)) {
		b = fmt.Appendf(b, "%s %s\n", tok, tokens[tok])
	}
	return b
}

// tlsPaths lists the files the upstreams' TLS settings name.
func tlsPaths(ups []Upstream) []string {
	var out []string
	for _, u := range ups {
		if u.TLS == nil {
			continue
		}
		for _, p := range []string{u.TLS.CAFile, u.TLS.CertFile, u.TLS.KeyFile} {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
