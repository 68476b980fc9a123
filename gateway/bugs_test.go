package gateway

import (
	"slices"
	"testing"
)

// TestBugPolicyFlipsExactlyItsHooks pins which hooks each emulated bug
// changes: BugNone answers every hook the correct way, and a bug differs
// from it in exactly the hooks listed here and in no other.
func TestBugPolicyFlipsExactlyItsHooks(t *testing.T) {
	d := &downstream{id: "session-1", identity: "alice"}
	bridge := &downstream{id: "bridge-1", identity: "alice", bridged: true}
	hooks := map[string]func(bugPolicy) any{
		"bridgeKey":                   func(p bugPolicy) any { return p.poolKey(bridge, "counter") },
		"checkSessionlessHeaders":     func(p bugPolicy) any { return p.checkSessionlessHeaders() },
		"shareListCache":              func(p bugPolicy) any { return p.shareListCache() },
		"poolKey":                     func(p bugPolicy) any { return p.poolKey(d, "counter") },
		"poolsOutliveSessions":        func(p bugPolicy) any { return p.poolsOutliveSessions() },
		"passThroughServers":          func(p bugPolicy) any { return p.passThroughServers() },
		"parkOnDelete":                func(p bugPolicy) any { return p.parkOnDelete() },
		"deleteEvictsIdentity":        func(p bugPolicy) any { return p.deleteEvictsIdentity() },
		"forwardCallerCredentials":    func(p bugPolicy) any { return p.forwardCallerCredentials() },
		"evictOnUpstreamChange":       func(p bugPolicy) any { return p.evictOnUpstreamChange() },
		"hangSessionlessGET":          func(p bugPolicy) any { return p.hangSessionlessGET() },
		"boundShutdownCloses":         func(p bugPolicy) any { return p.boundShutdownCloses() },
		"lookUpOtherReplicas":         func(p bugPolicy) any { return p.lookUpOtherReplicas() },
		"waitOnDeadOwner":             func(p bugPolicy) any { return p.waitOnDeadOwner() },
		"cancelAbandonedCalls":        func(p bugPolicy) any { return p.cancelAbandonedCalls() },
		"boundForwardWait":            func(p bugPolicy) any { return p.boundForwardWait() },
		"releaseClaimsAtDrainStart":   func(p bugPolicy) any { return p.releaseClaimsAtDrainStart() },
		"broadcastToUpstreamSessions": func(p bugPolicy) any { return p.broadcastToUpstreamSessions() },
		"matchAnswersByID":            func(p bugPolicy) any { return p.matchAnswersByID() },
		"forwardCancellations":        func(p bugPolicy) any { return p.forwardCancellations() },
		"shareListens":                func(p bugPolicy) any { return p.shareListens() },
		"holdUndeliverable":           func(p bugPolicy) any { return p.holdUndeliverable() },
	}
	want := map[Bug][]string{
		BugSharedUpstream:          {"passThroughServers", "poolKey", "poolsOutliveSessions"},
		BugNoEvictOnDelete:         {"parkOnDelete", "passThroughServers"},
		BugNoEvictOnUpdate:         {"evictOnUpstreamChange"},
		BugHangingGet:              {"hangSessionlessGET"},
		BugUnboundedShutdown:       {"boundShutdownCloses"},
		BugLocalLookup:             {"lookUpOtherReplicas"},
		BugDeadOwnerHang:           {"waitOnDeadOwner"},
		BugNoCancelOnDisconnect:    {"cancelAbandonedCalls"},
		BugFrozenOwnerHang:         {"boundForwardWait"},
		BugDeleteEvictsIdentity:    {"deleteEvictsIdentity"},
		BugForwardCredentials:      {"forwardCallerCredentials"},
		BugKeepClaimsWhileDraining: {"releaseClaimsAtDrainStart"},
		BugSharedBridge:            {"bridgeKey"},
		BugNoHeaderCheck:           {"checkSessionlessHeaders"},
		BugSharedPrivateCache:      {"shareListCache"},
		BugBroadcastNotifications:  {"broadcastToUpstreamSessions", "passThroughServers"},
		BugUnmappedIDs:             {"matchAnswersByID", "passThroughServers"},
		BugDropCancel:              {"forwardCancellations"},
		BugSharedListen:            {"shareListens"},
		BugHoldUndeliverable:       {"holdUndeliverable"},
	}

	correct := bugPolicy{bug: BugNone}
	if got := correct.poolKey(d, "counter"); got != (regKey{owner: d.id, upstream: "counter"}) {
		t.Errorf("BugNone pools by %+v, want the downstream session's own key", got)
	}
	flipped := func(b Bug) []string {
		var out []string
		for name, hook := range hooks {
			if hook(bugPolicy{bug: b}) != hook(correct) {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	if got := flipped(BugNone); len(got) != 0 {
		t.Errorf("BugNone flips %v", got)
	}
	for _, b := range Bugs {
		w, ok := want[b]
		if !ok {
			t.Errorf("%s: not in this table; list the hooks it flips", b)
			continue
		}
		if got := flipped(b); !slices.Equal(got, w) {
			t.Errorf("%s flips %v, want %v", b, got, w)
		}
	}
	if len(want) != len(Bugs) {
		t.Errorf("table lists %d bugs, Bugs has %d", len(want), len(Bugs))
	}
}

// TestCrossReplicaBugsNeedRedis: a bug that only shows across replicas must
// refuse to start without --redis rather than silently emulate nothing.
func TestCrossReplicaBugsNeedRedis(t *testing.T) {
	needRedis := []Bug{BugLocalLookup, BugDeadOwnerHang, BugFrozenOwnerHang, BugKeepClaimsWhileDraining}
	for _, b := range append([]Bug{BugNone}, Bugs...) {
		cfg := Config{Bug: b}
		err := cfg.applyDefaults()
		if want := slices.Contains(needRedis, b); (err != nil) != want {
			t.Errorf("%q without --redis: err = %v, want an error: %v", b, err, want)
		}
	}
}
