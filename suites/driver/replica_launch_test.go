package driver

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpgw/conformance/suites/launch"
)

// launchConfig is a replica with every setting the contract carries.
func launchConfig() ReplicaConfig {
	return ReplicaConfig{
		ID:              "r2",
		Upstreams:       []Upstream{{ID: "c", URL: "https://127.0.0.1:9/mcp", TLS: &UpstreamTLS{CAFile: "/host/ca.pem"}}},
		Redis:           "redis://127.0.0.1:6379/0",
		ShutdownTimeout: 1500 * time.Millisecond,
		SessionTimeout:  2 * time.Second,
		Tokens:          map[string]string{"tok-b": "bob", "tok-a": "alice"},
		AdminToken:      "adm",
		ClusterSecret:   "sec",
		EmulateBug:      "shared-upstream",
		Args:            []string{"--port={{.Port}}", "{{if .SessionTimeout}}--idle={{ms .SessionTimeout}}{{end}}"},
		Env:             map[string]string{"GW_UP": "{{.UpstreamsFile}}", "GW_DIR": "{{.Dir}}", "MCPGW_EMULATE_BUG": "overridden"},
	}
}

// TestLaunchContract checks the MCPGW_* environment, the files and the
// template data of one replica for each placement: a child process (files
// in its directory, loopback) and a container (files under /etc/mcpgw,
// listening on every interface, reached by its alias).
func TestLaunchContract(t *testing.T) {
	for _, tc := range []struct {
		name           string
		place          Placement
		upFile, tokens string
		port           int
	}{
		{"process", Placement{Listen: "127.0.0.1:4100", URL: "http://127.0.0.1:4100", FileDir: "/tmp/r2", Dir: "/tmp/r2"}, "/tmp/r2/upstreams.json", "/tmp/r2/tokens.txt", 4100},
		{"container", Placement{Listen: "0.0.0.0:8080", URL: "http://replica-1-ab12:8080", FileDir: containerFileDir}, "/etc/mcpgw/upstreams.json", "/etc/mcpgw/tokens.txt", 8080},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := BuildLaunch(launchConfig(), tc.place)
			if err != nil {
				t.Fatal(err)
			}
			wantEnv := map[string]string{
				"MCPGW_LISTEN":           tc.place.Listen,
				"MCPGW_REPLICA_ID":       "r2",
				"MCPGW_UPSTREAMS":        tc.upFile,
				"MCPGW_REDIS":            "redis://127.0.0.1:6379/0",
				"MCPGW_ADVERTISE_URL":    tc.place.URL,
				"MCPGW_SHUTDOWN_TIMEOUT": "1.5s",
				"MCPGW_SESSION_TIMEOUT":  "2s",
				"MCPGW_AUTH_TOKENS":      tc.tokens,
				"MCPGW_ADMIN_TOKEN":      "adm",
				"MCPGW_CLUSTER_SECRET":   "sec",
				"MCPGW_EMULATE_BUG":      "overridden", // the target's gateway.env has the last word
				"GW_UP":                  tc.upFile,
			}
			if tc.place.Dir != "" {
				wantEnv["GW_DIR"] = tc.place.Dir // an empty rendering is dropped
			}
			if len(l.Env) != len(wantEnv) {
				t.Errorf("env has %d variables, want %d: %v", len(l.Env), len(wantEnv), l.Env)
			}
			for k, v := range wantEnv {
				if l.Env[k] != v {
					t.Errorf("env %s = %q, want %q", k, l.Env[k], v)
				}
			}
			if got, want := strings.Join(l.Args, " "), fmt.Sprintf("--port=%d --idle=2000", tc.port); got != want {
				t.Errorf("args %q", got)
			}
			if len(l.Files) != 3 {
				t.Fatalf("files: %+v, want the upstreams file, the CA file and the tokens file", l.Files)
			}
			up, ca, tok := l.Files[0], l.Files[1], l.Files[2]
			if up.Path != tc.upFile || !strings.Contains(string(up.Bytes), `"ca_file": "/host/ca.pem"`) {
				t.Errorf("upstreams file %s:\n%s", up.Path, up.Bytes)
			}
			if ca.Path != "/host/ca.pem" || ca.HostPath != "/host/ca.pem" {
				t.Errorf("TLS file: %+v, want the host's file at the same path", ca)
			}
			if tok.Path != tc.tokens || string(tok.Bytes) != "# written by the conformance suite\ntok-a alice\ntok-b bob\n" {
				t.Errorf("tokens file %s:\n%s", tok.Path, tok.Bytes)
			}
			host, _, _ := strings.Cut(tc.place.Listen, ":")
			want := launch.Data{
				Listen: tc.place.Listen, Host: host, Port: tc.port, URL: tc.place.URL, ReplicaID: "r2",
				UpstreamsFile: tc.upFile, Redis: "redis://127.0.0.1:6379/0", AdvertiseURL: tc.place.URL,
				ClusterSecret: "sec", ShutdownTimeout: 1500 * time.Millisecond, SessionTimeout: 2 * time.Second,
				AuthTokensFile: tc.tokens, AdminToken: "adm", EmulateBug: "shared-upstream", Dir: tc.place.Dir,
			}
			if l.Data != want {
				t.Errorf("template data\n got %+v\nwant %+v", l.Data, want)
			}
		})
	}
}

// TestLaunchOfAPlainReplica: zero settings stay out of the environment,
// and the upstreams file is always there (an empty list).
func TestLaunchOfAPlainReplica(t *testing.T) {
	l, err := BuildLaunch(ReplicaConfig{}, Placement{Listen: "127.0.0.1:4100", URL: "http://127.0.0.1:4100", FileDir: "/d"})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Env) != 2 || l.Env["MCPGW_UPSTREAMS"] != "/d/upstreams.json" || l.Env["MCPGW_LISTEN"] != "127.0.0.1:4100" {
		t.Errorf("env %v, want MCPGW_LISTEN and MCPGW_UPSTREAMS only", l.Env)
	}
	if len(l.Files) != 1 || string(l.Files[0].Bytes) != "[]" || l.Data.AdvertiseURL != "" || l.Args != nil {
		t.Errorf("launch %+v", l)
	}
	if _, err := BuildLaunch(ReplicaConfig{}, Placement{Listen: "nowhere"}); err == nil {
		t.Error("a listen address without a port must be refused")
	}
}

// TestLaunchPlacement checks that each driver places the same files: a
// process replica's are written to its directory (the host's TLS files are
// read where they are), a container's become files copied in at their
// paths.
func TestLaunchPlacement(t *testing.T) {
	dir := t.TempDir()
	l, err := BuildLaunch(launchConfig(), Placement{Listen: "127.0.0.1:4100", URL: "http://127.0.0.1:4100", FileDir: dir, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := placeFiles(l.Files); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{UpstreamsFileName, TokensFileName} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if env := l.EnvList([]string{"HOME=/h"}); env[0] != "HOME=/h" || !strings.HasPrefix(env[1], "GW_DIR=") || len(env) != len(l.Env)+1 {
		t.Errorf("EnvList: %v", env)
	}

	l, err = BuildLaunch(launchConfig(), Placement{Listen: "0.0.0.0:8080", URL: "http://replica-1-ab12:8080", FileDir: containerFileDir})
	if err != nil {
		t.Fatal(err)
	}
	files := containerFiles(l.Files)
	if len(files) != 3 {
		t.Fatalf("container files: %+v", files)
	}
	if files[0].ContainerFilePath != "/etc/mcpgw/upstreams.json" || files[0].Reader == nil {
		t.Errorf("upstreams file: %+v", files[0])
	}
	if files[1].ContainerFilePath != "/host/ca.pem" || files[1].HostFilePath != "/host/ca.pem" {
		t.Errorf("TLS file: %+v", files[1])
	}
	if b, _ := io.ReadAll(files[2].Reader); files[2].ContainerFilePath != "/etc/mcpgw/tokens.txt" || !strings.Contains(string(b), "tok-a alice") {
		t.Errorf("tokens file %s: %q", files[2].ContainerFilePath, b)
	}
}
