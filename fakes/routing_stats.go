package fakes

import (
	"encoding/json"
	"time"
)

// RoutingStats is what one upstream session saw of the messages a gateway
// must route inside a session (the RTE requirements): the requests it sent
// the client and their answers, the progress it reported, the calls of
// "wait" and the cancellations that reached it, the notifications it sent.
// Every list is bounded by MaxRoutingRecords (the oldest dropped).
type RoutingStats struct {
	// Nonce is the session's own random token: every elicitation, sampling
	// request and progress message of the session carries it, so a client
	// that sees another session's nonce saw another session's message.
	Nonce string `json:"nonce"`
	// Requests lists the server-to-client requests of "ask", "sample" and
	// "roots".
	Requests []ClientRequestRecord `json:"requests,omitempty"`
	// Progress counts the progress notifications "slow" sent, and
	// ProgressTokens the token of each "slow" call (JSON, as received).
	Progress       int               `json:"progress,omitempty"`
	ProgressTokens []json.RawMessage `json:"progressTokens,omitempty"`
	// Waits lists the calls of "wait", by the tag the caller gave.
	Waits []WaitRecord `json:"waits,omitempty"`
	// Cancellations lists the notifications/cancelled the session received.
	Cancellations []CancelRecord `json:"cancellations,omitempty"`
	// Notified lists the notifications "notify" sent, by method.
	Notified []string `json:"notified,omitempty"`
}

// ClientRequestRecord is one server-to-client request and how it ended.
type ClientRequestRecord struct {
	Method string `json:"method"` // elicitation/create, sampling/createMessage or roots/list
	// Outcome is "pending" (sent, not ended yet), "answered" (Action and
	// Answer say what; for roots/list Answer is the root URIs, space
	// separated) or "error" (Error).
	Outcome string    `json:"outcome"`
	Action  string    `json:"action,omitempty"`
	Answer  string    `json:"answer,omitempty"`
	Error   string    `json:"error,omitempty"`
	Sent    time.Time `json:"sent"`
	Ended   time.Time `json:"ended,omitzero"`
}

// WaitRecord is one call of "wait".
type WaitRecord struct {
	Tag string `json:"tag"`
	// RequestID is the JSON-RPC id the call arrived under, as sent.
	RequestID json.RawMessage `json:"requestId,omitempty"`
	Started   time.Time       `json:"started"`
	Ended     time.Time       `json:"ended,omitzero"`
	// Cancelled: the call ended because it was cancelled.
	Cancelled bool `json:"cancelled,omitempty"`
}

// CancelRecord is one notifications/cancelled as received.
type CancelRecord struct {
	RequestID json.RawMessage `json:"requestId"`
	At        time.Time       `json:"at"`
}

// MaxRoutingRecords bounds each list of RoutingStats.
const MaxRoutingRecords = 256

// Wait returns the session's call of "wait" tagged tag.
func (r *RoutingStats) Wait(tag string) (WaitRecord, bool) {
	if r == nil {
		return WaitRecord{}, false
	}
	for _, w := range r.Waits {
		if w.Tag == tag {
			return w, true
		}
	}
	return WaitRecord{}, false
}

// Clone is a deep copy.
func (r *RoutingStats) Clone() *RoutingStats {
	if r == nil {
		return nil
	}
	c := *r
	c.Requests = append([]ClientRequestRecord(nil), r.Requests...)
	c.ProgressTokens = append([]json.RawMessage(nil), r.ProgressTokens...)
	c.Waits = append([]WaitRecord(nil), r.Waits...)
	c.Cancellations = append([]CancelRecord(nil), r.Cancellations...)
	c.Notified = append([]string(nil), r.Notified...)
	return &c
}
