package targetconf

import (
	"os"
	"path/filepath"
	"testing"
)

func TestContainerDefaultsAndOverrides(t *testing.T) {
	tg, err := Load(env(map[string]string{EnvDriver: DriverContainer}))
	if err != nil {
		t.Fatal(err)
	}
	if tg.Container.Port != DefaultContainerPort || tg.Gateway.Image != "" || tg.Gateway.Package == "" {
		t.Errorf("container defaults: %+v", tg)
	}
	tg, err = Load(env(map[string]string{
		EnvDriver:       DriverContainer,
		EnvGatewayImage: "ghcr.io/me/gw:1",
		EnvRedisImage:   "redis:7",
		EnvCounterImage: "c:1",
		EnvWedgeImage:   "w:1",
		EnvNetwork:      "net1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if tg.Gateway.Image != "ghcr.io/me/gw:1" || tg.Container.RedisImage != "redis:7" || tg.Container.CounterImage != "c:1" ||
		tg.Container.WedgeImage != "w:1" || tg.Container.Network != "net1" {
		t.Errorf("container overrides not applied: %+v", tg)
	}
}

func TestContainerTargetFile(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		doc string
		ok  bool
	}{
		"image":        {"driver: container\ngateway: {image: my/gw:2}\ncontainer: {port: 9000, redisImage: redis:7}\n", true},
		"no gateway":   {"driver: container\n", false},
		"bad port":     {"driver: container\ngateway: {image: my/gw:2}\ncontainer: {port: 70000}\n", false},
		"unknown knob": {"driver: container\ngateway: {image: my/gw:2}\ncontainer: {ports: 1}\n", false},
	} {
		f := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(f, []byte(c.doc), 0o600); err != nil {
			t.Fatal(err)
		}
		tg, err := Load(env(map[string]string{EnvTarget: f}))
		if c.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", name, err, c.ok)
			continue
		}
		if c.ok && (tg.Gateway.Image != "my/gw:2" || tg.Container.Port != 9000 || tg.Container.RedisImage != "redis:7") {
			t.Errorf("%s: %+v", name, tg)
		}
	}
}
