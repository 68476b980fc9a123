package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
)

// Session ids are bearer credentials: whoever reads one from a log can
// drive that session (RTE-8). At info level and above the gateway's logs
// show a fingerprint instead, stable for one id so that lines of a session
// can still be followed; debug lines keep the id for local diagnosis.

// secretLogKeys are the attributes that carry a session id.
var secretLogKeys = map[string]bool{"session": true, "upstream_session": true}

// fingerprint names a secret without revealing it.
func fingerprint(secret string) string {
	if secret == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(sum[:6])
}

// redactingHandler fingerprints secretLogKeys on records at info and above.
type redactingHandler struct{ next slog.Handler }

func redactLogs(h slog.Handler) slog.Handler { return redactingHandler{next: h} }

func (h redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelInfo {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs fingerprints attributes fixed on a logger whatever the level:
// they go on every line it writes.
func (h redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = redactAttr(a)
	}
	return redactingHandler{next: h.next.WithAttrs(out)}
}

func (h redactingHandler) WithGroup(name string) slog.Handler {
	return redactingHandler{next: h.next.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	if secretLogKeys[a.Key] {
		return slog.String(a.Key, fingerprint(a.Value.Resolve().String()))
	}
	return a
}
