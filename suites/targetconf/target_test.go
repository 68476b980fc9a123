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
	}))
	if err != nil {
		t.Fatal(err)
	}
	if tg.Gateway.Bin != "/opt/gw" || !tg.Strict || tg.EmulateBug != "hanging-get" || tg.Replicas != 3 || tg.Redis == "" {
		t.Errorf("overrides not applied: %+v", tg)
	}
	if !tg.Has(Auth) || !tg.Has(MultiReplica) || tg.Has(AdminAPI) || len(tg.Profiles) != 0 {
		t.Errorf("capabilities/profiles: %v %v", tg.Capabilities, tg.Profiles)
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
