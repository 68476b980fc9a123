package targetconf

import (
	"fmt"
	"slices"
)

// Eras of the downstream protocol a gateway serves.
const (
	// EraSession: the session-bearing revisions 2025-03-26 .. 2025-11-25
	// (Mcp-Session-Id).
	EraSession = "session"
	// EraStateless: the 2026-07-28 revision, without sessions.
	EraStateless = "2026-07-28"
)

var eras = []string{EraSession, EraStateless}

// Shared state between replicas.
const (
	// SharedRedis: replicas share ownership through Redis (the target's
	// redis, or one the suite starts per spec).
	SharedRedis = "redis"
	// SharedNone: replicas are started with no shared state at all; the
	// cross-replica specs still run and judge them.
	SharedNone = "none"
)

// ServesSessions reports whether the target serves a session-bearing era.
func (t *Target) ServesSessions() bool { return slices.Contains(t.Eras, EraSession) }

// MintsSessionIDs reports whether the gateway gives each session-era client
// an Mcp-Session-Id (sessionIds, default true).
func (t *Target) MintsSessionIDs() bool { return t.SessionIDs == nil || *t.SessionIDs }

// ServesSessionless reports whether the target serves 2026-07-28.
func (t *Target) ServesSessionless() bool { return slices.Contains(t.Eras, EraStateless) }

func (t *Target) validateState() error {
	if len(t.Eras) == 0 {
		t.Eras = []string{EraSession}
	}
	for i, e := range t.Eras {
		if !slices.Contains(eras, e) {
			return fmt.Errorf("target %s: eras[%d] %q: want %q or %q", t.Name, i, e, EraSession, EraStateless)
		}
		if slices.Contains(t.Eras[:i], e) {
			return fmt.Errorf("target %s: eras[%d] %q is listed twice", t.Name, i, e)
		}
	}
	if t.SessionIDs != nil && !t.ServesSessions() {
		return fmt.Errorf("target %s: sessionIds is about the session era, which eras does not list", t.Name)
	}
	switch t.SharedState {
	case "":
		t.SharedState = SharedRedis
	case SharedRedis:
	case SharedNone:
		if t.Redis != "" {
			return fmt.Errorf("target %s: sharedState none starts replicas without shared state, but redis (or %s) names one: drop one", t.Name, EnvRedis)
		}
	default:
		return fmt.Errorf("target %s: sharedState %q: want %s or %s", t.Name, t.SharedState, SharedRedis, SharedNone)
	}
	return t.validateMessages()
}
