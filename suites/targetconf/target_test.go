package targetconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultIsTheReferenceGateway(t *testing.T) {
	tg, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if tg.Driver != DriverProcess || tg.Gateway.Package != "./servers/gateway" || !tg.HasProfile("strict-405") || !tg.Has(AdminAPI) || tg.Strict ||
		!tg.Has(MultiReplica) || tg.Replicas < 2 {
		t.Fatalf("default target: %+v", tg)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	tg, err := Load(env(map[string]string{
		EnvGatewayBin:   "/opt/gw",
		EnvStrict:       "1",
		EnvEmulateBug:   "hanging-get",
		EnvCapabilities: "auth, multi-replica",
		EnvProfiles:     "none",
		EnvReplicas:     "3",
		EnvRedis:        "redis://10.0.0.1:6379/0",
		EnvRevision:     "2025-03-26",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if tg.Gateway.Bin != "/opt/gw" || !tg.Strict || tg.EmulateBug != "hanging-get" || tg.Replicas != 3 || tg.Redis == "" || tg.Revision != "2025-03-26" {
		t.Errorf("overrides not applied: %+v", tg)
	}
	if !tg.Has(Auth) || !tg.Has(MultiReplica) || tg.Has(AdminAPI) || len(tg.Profiles) != 0 {
		t.Errorf("capabilities/profiles: %v %v", tg.Capabilities, tg.Profiles)
	}
}

// Only a session-bearing revision the suites speak can be asked for.
func TestRevisionMustBeSessionBearing(t *testing.T) {
	for _, v := range []string{"2026-07-28", "2024-11-05", "latest"} {
		_, err := Load(env(map[string]string{EnvRevision: v}))
		if err == nil || !strings.Contains(err.Error(), EnvRevision) || !strings.Contains(err.Error(), "2025-06-18") {
			t.Errorf("%s=%s: %v, want an error naming the variable and the revisions", EnvRevision, v, err)
		}
	}
}

func TestTargetFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "other.yaml")
	doc := "name: other gateway\ndriver: process\ngateway: {bin: ./bin/gw, args: [--verbose]}\ncapabilities: [auth]\nprofiles: [strict-405]\nreadyTimeout: 3s\n"
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	tg, err := Load(env(map[string]string{EnvTarget: file}))
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name != "other gateway" || tg.Gateway.Bin != filepath.Join(dir, "bin/gw") || time.Duration(tg.ReadyTimeout) != 3*time.Second || tg.Has(AdminAPI) {
		t.Errorf("target file: %+v", tg)
	}
}

func TestBadTargetsAreRejected(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		doc string
		env map[string]string
	}{
		"unknown field":       {doc: "driver: process\ngateway: {bin: x}\ncolour: red\n"},
		"unknown driver":      {doc: "driver: kubernetes\n"},
		"no gateway":          {doc: "driver: process\n"},
		"unknown capability":  {env: map[string]string{EnvCapabilities: "teleport"}},
		"bad strict":          {env: map[string]string{EnvStrict: "sometimes"}},
		"bad replicas":        {env: map[string]string{EnvReplicas: "0"}},
		"one-replica cluster": {doc: "driver: process\ngateway: {bin: x}\ncapabilities: [multi-replica]\n"},
	} {
		e := map[string]string{}
		for k, v := range c.env {
			e[k] = v
		}
		if c.doc != "" {
			f := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
			if err := os.WriteFile(f, []byte(c.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			e[EnvTarget] = f
		}
		if _, err := Load(env(e)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestShapeDefaultsAreTheReferenceGateway(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain.yaml")
	if err := os.WriteFile(file, []byte("driver: process\ngateway: {bin: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, get := range map[string]func() (*Target, error){
		"no file":    func() (*Target, error) { return Load(env(nil)) },
		"plain file": func() (*Target, error) { return Load(env(map[string]string{EnvTarget: file})) },
		"in Go": func() (*Target, error) {
			tg := &Target{Name: "go", Driver: DriverProcess, Gateway: Gateway{Bin: "x"}, Replicas: 1}
			return tg, tg.validate()
		},
	} {
		tg, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// A target file's default era is the session one; the reference
		// gateway (no file) declares 2026-07-28 too.
		eras := EraSession
		if name == "no file" {
			eras = EraSession + "," + EraStateless
		}
		if tg.Ready != DefaultReady || tg.Alive != DefaultAlive || tg.Auth != DefaultAuth ||
			strings.Join(tg.Eras, ",") != eras || tg.SharedState != SharedRedis || !tg.ServesSessions() {
			t.Errorf("%s: %+v %+v %+v %v %q", name, tg.Ready, tg.Alive, tg.Auth, tg.Eras, tg.SharedState)
		}
	}
}

// A session-era gateway may mint no Mcp-Session-Id; the default is that it
// does.
func TestSessionIDs(t *testing.T) {
	for doc, want := range map[string]bool{"": true, "sessionIds: true\n": true, "sessionIds: false\n": false} {
		tg, err := load([]byte("driver: process\ngateway: {bin: x}\n"+doc), "/t/s.yaml")
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if tg.MintsSessionIDs() != want {
			t.Errorf("%q: MintsSessionIDs %v, want %v", doc, tg.MintsSessionIDs(), want)
		}
	}
}

func TestShapeFields(t *testing.T) {
	doc := `driver: process
gateway: {bin: x}
ready: {mcp: true}
alive: {path: /live}
auth: {mode: static-token, header: X-Api-Key, scheme: "", token: s3cret}
eras: ["2026-07-28"]
sharedState: none
`
	tg, err := load([]byte(doc), "/t/shape.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if tg.Ready != (Probe{MCP: true}) || tg.Alive != (Probe{Path: "/live", Status: 200}) {
		t.Errorf("probes: %+v %+v", tg.Ready, tg.Alive)
	}
	if tg.Auth != (AuthConfig{Mode: AuthStaticToken, Header: "X-Api-Key", Token: "s3cret"}) || tg.Auth.Credential("s3cret") != "s3cret" {
		t.Errorf("auth: %+v", tg.Auth)
	}
	if tg.ServesSessions() || tg.SharedState != SharedNone {
		t.Errorf("eras %v, sharedState %q", tg.Eras, tg.SharedState)
	}
	if got := DefaultAuth.Credential("t"); got != "Bearer t" {
		t.Errorf("default credential %q", got)
	}
}

// A refused shape names the field at fault.
func TestBadShapesNameTheField(t *testing.T) {
	for doc, field := range map[string]string{
		"ready: {status: 0}":                       "ready.status 0: want an HTTP status",
		"ready: {path: readyz}":                    "ready.path",
		"alive: {mcp: true, path: /x}":             "alive: mcp: true",
		"ready: {pth: /x}":                         `unknown field "pth" in ready or alive`,
		"auth: {mode: oauth}":                      "auth.mode",
		"auth: {mode: static-token}":               "auth.token",
		"auth: {token: x}":                         "auth.token",
		"auth: {header: 'Bad Header'}":             "auth.header",
		"auth: {mode: none}\ncapabilities: [auth]": "auth.mode none",
		"eras: [sessions]":                         "eras[0]",
		"eras: [session, session]":                 "eras[1]",
		"sharedState: etcd":                        "sharedState",
		"sharedState: none\nredis: redis://x:1/0":  "sharedState none",
		"auth: {mode: tokens-file, colour: red}":   `unknown field "colour" in auth`,
		"eras: ['2026-07-28']\nsessionIds: false":  "sessionIds is about the session era",
	} {
		_, err := load([]byte("driver: process\ngateway: {bin: x}\n"+doc+"\n"), "/t/bad.yaml")
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%q: want an error naming %q, got %v", doc, field, err)
		}
	}
}

func TestMessagesValidated(t *testing.T) {
	for want, msgs := range map[string][]string{
		`messages[0] "pigeons"`: {"pigeons"},
		"listed twice":          {MessageProgress, MessageProgress},
	} {
		err := (&Target{Name: "x", Messages: msgs}).validateMessages()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: err %v, want one naming %q", msgs, err, want)
		}
	}
	tg, err := Parse([]byte("name: x\nmessages: [progress]\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !tg.Relays(MessageProgress) || tg.Relays(MessageElicitation) || tg.validateMessages() != nil {
		t.Errorf("messages [progress]: relays %v", tg.Messages)
	}
	if !Reference().Relays(MessageElicitation) {
		t.Error("the reference target should relay every message")
	}
}
