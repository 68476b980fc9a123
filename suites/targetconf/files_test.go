package targetconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpgw/conformance/suites/launch"
)

// The example target files shipped in suites/targets must load as they are.
func TestShippedTargetFilesLoad(t *testing.T) {
	files, err := filepath.Glob("../targets/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("want the shipped targets in suites/targets, got %v (%v)", files, err)
	}
	seen := map[string]*Target{}
	for _, f := range files {
		tg, err := Load(env(map[string]string{EnvTarget: f}))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		seen[filepath.Base(f)] = tg
	}
	if p := seen["reference-process.yaml"]; p != nil {
		args, _, err := launch.Render(p.Gateway.Args, p.Gateway.Env, launch.Data{Listen: "127.0.0.1:9", UpstreamsFile: "/u.json", ReplicaID: "r1"})
		if err != nil || strings.Join(args, " ") != "--listen=127.0.0.1:9 --upstreams=/u.json --replica-id=r1" {
			t.Errorf("reference-process.yaml renders %q (%v) for a replica without Redis, auth or timeouts", args, err)
		}
	}
	if e := seen["external.yaml"]; e != nil {
		if e.Replicas != 3 || len(e.External.Auth.Identities) < 50 || e.Upstreams.Register != RegisterHooks || !e.HasHook("remove") {
			t.Errorf("external.yaml: replicas %d, %d identities, register %q", e.Replicas, len(e.External.Auth.Identities), e.Upstreams.Register)
		}
		if via, _ := e.UpstreamChanges("change"); via != RegisterHooks {
			t.Errorf("external.yaml changes upstreams via %q, want hooks", via)
		}
	}
	if c := seen["reference-container.yaml"]; c != nil && c.Driver != DriverContainer {
		t.Errorf("reference-container.yaml: driver %q", c.Driver)
	}
}

// The shape targets (suites/targets/shapes, make conformance-shapes) load,
// and each hands the reference gateway its shape flags as the gateway reads
// them: a literal {{ reaches --tool-name.
func TestShapeTargetFilesLoad(t *testing.T) {
	want := map[string]string{
		"default.yaml":        "--aggregate-route=/mcp --server-route=/servers/{id}/mcp --tool-name={{.Upstream}}.{{.Tool}} --readiness-path=/readyz",
		"aggregate-only.yaml": "--server-route= --tool-name={{.Upstream}}__{{.Tool}} --readiness-path=/ready",
		"server-only.yaml":    "--aggregate-route= --server-route=/{id}/mcp",
		"stateless.yaml":      "--eras=2026-07-28",
	}
	repoGateway, _ := filepath.Abs("../../bin/gateway") // as ginkgo runs, from this package's directory
	files, _ := filepath.Glob("../targets/shapes/*.yaml")
	if len(files) != len(want) {
		t.Fatalf("shape targets %v, want %d", files, len(want))
	}
	for _, f := range files {
		tg, err := Load(env(map[string]string{EnvTarget: f}))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		args, _, err := launch.Render(tg.Gateway.Args, tg.Gateway.Env, launch.Sample())
		if got := strings.Join(args, " "); err != nil || got != want[filepath.Base(f)] {
			t.Errorf("%s renders %q (%v), want %q", f, got, err, want[filepath.Base(f)])
		}
		if tg.Gateway.Bin != repoGateway {
			t.Errorf("%s: gateway.bin is %q, want the repository's %s", f, tg.Gateway.Bin, repoGateway)
		}
	}
}

// The community targets (real gateways, suites/targets/community/*) load as
// committed, with the shape their RESULTS.md was recorded with: hooks, and
// the routes each gateway really serves.
func TestCommunityTargetFilesLoad(t *testing.T) {
	want := map[string]string{ // directory -> the first route's path for upstream u1
		"docker-mcp-gateway": "/mcp",
		"mcp-proxy":          "/u1/mcp",
		"unla":               "/u1/mcp",
	}
	files, _ := filepath.Glob("../targets/community/*/target.yaml")
	if len(files) != len(want) {
		t.Fatalf("community targets %v, want %d", files, len(want))
	}
	for _, f := range files {
		tg, err := Load(env(map[string]string{EnvTarget: f}))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		r := tg.Routes.Aggregate
		if r == nil {
			r = tg.Routes.Server
		}
		p, _ := r.PathFor("u1")
		if dir := filepath.Base(filepath.Dir(f)); p != want[dir] || tg.Driver != DriverExternal || !tg.HasHook("remove") {
			t.Errorf("%s: driver %q, route %q (want %q), remove hook %v", f, tg.Driver, p, want[dir], tg.HasHook("remove"))
		}
	}
}

// A bad target file names the field, what is wrong and what is allowed.
func TestBadTargetFilesSayWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.txt")
	if err := os.WriteFile(tokens, []byte("tok-alice alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const ext = "driver: external\nexternal: {replicas: [http://127.0.0.1:1]}\n"
	const hooks = "upstreams: {add: ./add.sh, remove: ./remove.sh}\n"
	for name, c := range map[string]struct{ doc, want string }{
		"misspelt top-level field": {"driver: process\ngateway: {bin: x}\nreplcias: 3\n",
			`unknown field "replcias" in the top level (allowed: name, driver, gateway, replicas,`},
		"misspelt upstreams field": {"driver: process\ngateway: {bin: x}\nupstreams: {add: x, delete: y}\n",
			`unknown field "delete" in upstreams (allowed: register, add, change, remove, env, timeout)`},
		"misspelt external field": {"driver: external\nexternal: {urls: [http://x:1]}\n",
			`unknown field "urls" in external (allowed: replicas, auth, adminToken)`},
		"bad register": {"driver: process\ngateway: {bin: x}\nupstreams: {register: api}\n",
			`upstreams.register: "api" is not allowed (allowed: file, admin-api, hooks)`},
		"hooks without add": {"driver: process\ngateway: {bin: x}\nupstreams: {register: hooks, remove: x}\n",
			"upstreams.register is hooks but upstreams.add is empty"},
		"admin-api without capability": {"driver: process\ngateway: {bin: x}\nupstreams: {register: admin-api}\n",
			"does not declare the admin-api capability"},
		"bad hook command": {"driver: process\ngateway: {bin: x}\nupstreams: {add: {run: x}}\n",
			"a hook command is a string (run with sh -c) or a list of arguments"},
		"external without replicas": {"driver: external\n" + hooks,
			"the external driver needs external.replicas"},
		"external bad URL": {"driver: external\nexternal: {replicas: [127.0.0.1:8080]}\n" + hooks,
			`external.replicas[0]: "127.0.0.1:8080" is not a base URL (want http://host:port)`},
		"external with signals": {ext + hooks + "capabilities: [signals]\n",
			"capability signals: the external driver cannot signal or kill replicas it did not start"},
		"external without registration": {ext,
			"so it needs upstreams.add and upstreams.remove (hook commands) or the admin-api capability"},
		"external with a file": {ext + "upstreams: {register: file}\n",
			"the external driver cannot write an upstreams file"},
		"external admin-api without token": {ext + "capabilities: [admin-api]\n",
			"capability admin-api on the external driver needs external.adminToken"},
		"external auth without replicas": {ext + hooks + "capabilities: [auth]\n",
			"capability auth on the external driver needs external.auth.replicas"},
		"external auth without tokens": {"driver: external\nexternal: {replicas: [http://h:1], auth: {replicas: [http://h:2]}}\n" + hooks + "capabilities: [auth]\n",
			"needs external.auth.tokens"},
		"external auth tokens missing": {"driver: external\nexternal: {replicas: [http://h:1], auth: {tokens: nope.txt, replicas: [http://h:2]}}\n" + hooks + "capabilities: [auth]\n",
			"external.auth.tokens: open"},
		"external cluster of one": {ext + hooks + "capabilities: [multi-replica]\n",
			"declares multi-replica but runs 1 replica(s)"},
		"replicas on a process target": {"driver: process\ngateway: {bin: x}\nexternal: {replicas: [http://h:1]}\n",
			"external: replicas are listed but the driver is process"},
		"misspelt template field": {"driver: process\ngateway: {bin: x, args: [\"--port={{.Prot}}\"]}\n",
			`gateway.args[0] "--port={{.Prot}}"`},
		"broken template": {"driver: process\ngateway: {bin: x, env: {GW_PORT: \"{{.Port\"}}\n",
			`gateway.env.GW_PORT "{{.Port"`},
		"negative hook timeout": {"driver: process\ngateway: {bin: x}\nupstreams: {timeout: -1s}\n",
			"upstreams.timeout: -1s is negative"},
	} {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
		if err := os.WriteFile(f, []byte(c.doc), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(env(map[string]string{EnvTarget: f}))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error\n  %v\nwant it to contain\n  %s", name, err, c.want)
		}
	}
}

func TestTemplateErrorsListTheFields(t *testing.T) {
	err := launch.Check([]string{"{{.Prot}}"}, nil)
	if err == nil || !strings.Contains(err.Error(), ".Port") || !strings.Contains(err.Error(), ".UpstreamsFile") {
		t.Errorf("want an error listing the template fields, got %v", err)
	}
}

func TestExternalTargetInGo(t *testing.T) {
	tg := &Target{
		Driver:       DriverExternal,
		External:     External{Replicas: []ExternalReplica{{URL: "http://127.0.0.1:1"}, {URL: "http://127.0.0.1:2"}}},
		Capabilities: []Capability{MultiReplica},
		Upstreams:    Upstreams{InGo: true},
	}
	if err := tg.validate(); err != nil {
		t.Fatal(err)
	}
	if tg.Replicas != 2 || tg.External.Replicas[1].ID != "r2" || tg.Upstreams.Register != RegisterHooks {
		t.Errorf("defaults: replicas %d, ids %+v, register %q", tg.Replicas, tg.External.Replicas, tg.Upstreams.Register)
	}
}

func TestRelativeTargetPathIsFoundFromASuiteDirectory(t *testing.T) {
	// As ginkgo runs a suite: in its package directory, with the path
	// written from the repository root.
	tg, err := Load(env(map[string]string{EnvTarget: "suites/targets/external.yaml"}))
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(tg.Dir) || filepath.Base(tg.Dir) != "targets" {
		t.Errorf("target dir %q", tg.Dir)
	}
}
