package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// readBody reads a POST body whole, within the size bound and the body
// deadline, and puts it back on r for whoever serves the request next. It
// answers the client itself and returns false when the body cannot be had.
// It runs before the request counts against its session, so a trickling
// body never keeps a session busy.
func (g *Gateway) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	// The deadline is the connection's, set per request so that long-lived
	// GET streams are unaffected; it is lifted once the body is in, or the
	// server's read of the idle connection would end a long call.
	rc := http.NewResponseController(w)
	if g.cfg.BodyTimeout > 0 {
		if rc.SetReadDeadline(time.Now().Add(g.cfg.BodyTimeout)) == nil {
			defer rc.SetReadDeadline(time.Time{})
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.cfg.MaxBodyBytes))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", g.cfg.MaxBodyBytes))
			return nil, false
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.Header().Set("Connection", "close")
			httpError(w, http.StatusRequestTimeout, fmt.Sprintf("request body did not arrive within %v (--body-timeout)", g.cfg.BodyTimeout))
			return nil, false
		}
		httpError(w, http.StatusBadRequest, "reading request body: "+err.Error())
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return body, true
}

// maxExactID is the largest integer id every hop echoes exactly: go-sdk
// reads numeric ids as float64, so larger ones come back changed.
const maxExactID = 1 << 53

// inspectIDs counts the calls (requests expecting an answer) in a JSON-RPC
// body, one message or a batch, and finds a numeric id that would not come
// back exactly as sent: not a plain integer, or beyond ±2^53. A client
// could not match the answer to its request, so such a request is refused
// before it goes anywhere. A body that does not parse is left to the next
// hop, which answers it as before.
func inspectIDs(body []byte) (calls int, bad *jsonrpc.Error) {
	for _, m := range envelopes(body) {
		if !exactID(m.ID) {
			return 0, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: fmt.Sprintf(
				"JSON-RPC id %s cannot be echoed exactly: use a string, or an integer from -%d to %d", m.ID, maxExactID, maxExactID)}
		}
		if m.isCall() {
			calls++
		}
	}
	return calls, nil
}

// envelope is what the gateway reads of a JSON-RPC message.
type envelope struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

// isCall reports whether the message is a request that expects an answer.
func (m envelope) isCall() bool { return m.Method != "" && len(m.ID) > 0 && string(m.ID) != "null" }

// envelopes reads the messages of a JSON-RPC body, one message or a batch;
// nothing if it does not parse.
func envelopes(body []byte) []envelope {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var batch []envelope
		if json.Unmarshal(body, &batch) != nil {
			return nil
		}
		return batch
	}
	var one envelope
	if json.Unmarshal(body, &one) != nil {
		return nil
	}
	return []envelope{one}
}

// exactID reports whether a raw id is absent, null, a string or an integer
// within ±2^53 written plainly. Other kinds (true, {}) are left to the SDK.
func exactID(id json.RawMessage) bool {
	if len(id) == 0 || (id[0] != '-' && (id[0] < '0' || id[0] > '9')) {
		return true
	}
	digits := id
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 16 || (digits[0] == '0' && len(digits) > 1) {
		return false
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false // a fraction or an exponent
		}
		n = n*10 + int64(c-'0')
	}
	return n <= maxExactID
}
