package gateway

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLogsFingerprintSessionIDsAtInfo(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(redactLogs(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.With("session", "fixed-secret").Info("a", "upstream_session", "up-secret", "upstream", "counter")
	log.Warn("b", "session", "warn-secret")
	log.Debug("c", "session", "debug-id")
	out := buf.String()
	for _, secret := range []string{"fixed-secret", "up-secret", "warn-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows %q in clear:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, fingerprint("up-secret")) || !strings.Contains(out, `"upstream":"counter"`) {
		t.Errorf("fingerprint or other attributes missing:\n%s", out)
	}
	if !strings.Contains(out, "debug-id") {
		t.Errorf("debug lines keep the id:\n%s", out)
	}
}
