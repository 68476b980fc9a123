package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// A session-era client may POST a call accepting only application/json:
// it offers no event stream for that call, so nothing the upstream sends
// about the call (elicitation, sampling, roots/list, progress) can travel
// with it. go-sdk would refuse such a POST with 400; the gateway serves it
// instead, as the transport allows a server to answer a request with one
// JSON object: the SDK answers in an event stream as usual, the front
// passes on only the response(s), as JSON, and the call is marked so that
// a server-to-client request about it goes to the session's GET stream
// (liveCalls.find), or, when there is none, fails at once (RTE-3). Its
// POSTs of notifications and answers are served too (202, no body).
// Its initialize is still go-sdk's to refuse.

// headerNoStream marks, for the SDK handler, a POST whose client offers no
// stream. The front sets or removes it on every POST it hands the SDK, so a
// client cannot set it; it never leaves the gateway.
const headerNoStream = "Mcpgw-No-Stream"

// noStreamKey marks a call's context: its client offers no stream.
type noStreamKey struct{}

// maxNoStreamResponse bounds the response(s) a no-stream POST collects.
const maxNoStreamResponse = 16 << 20

// offersNoStream reports whether a POST accepts JSON but no event stream.
// An Accept that allows neither is left to the SDK's 400.
func offersNoStream(h http.Header) bool {
	jsonOK, streamOK := false, false
	for _, v := range h.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			media, _, _ := strings.Cut(part, ";")
			switch strings.ToLower(strings.TrimSpace(media)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*", "*/*":
				streamOK = true
			}
		}
	}
	return jsonOK && !streamOK
}

// jsonOnlyWriter turns the SDK's event-stream answer to a POST into the one
// JSON body (or JSON array, for a batch) of its responses; anything else
// the SDK writes (an error status, a JSON body) passes unchanged.
type jsonOnlyWriter struct {
	w         http.ResponseWriter
	status    int
	sse       bool
	pending   []byte // read, not yet a whole event
	responses [][]byte
	size      int
	overflow  bool
}

func (j *jsonOnlyWriter) Header() http.Header { return j.w.Header() }

func (j *jsonOnlyWriter) WriteHeader(code int) {
	if j.status != 0 {
		return
	}
	j.status = code
	j.sse = code == http.StatusOK && strings.HasPrefix(j.w.Header().Get("Content-Type"), "text/event-stream")
	if !j.sse {
		j.w.WriteHeader(code)
	}
}

func (j *jsonOnlyWriter) Write(p []byte) (int, error) {
	if j.status == 0 {
		j.WriteHeader(http.StatusOK)
	}
	if !j.sse {
		return j.w.Write(p)
	}
	j.pending = append(j.pending, p...)
	for {
		end, sep := eventEnd(j.pending)
		if end < 0 {
			break
		}
		j.take(eventData(j.pending[:end]))
		j.pending = j.pending[end+sep:]
	}
	if len(j.pending) > maxEventBytes {
		j.overflow, j.pending = true, nil
	}
	return len(p), nil
}

// take keeps an event's message if it is a response; requests and
// notifications have nowhere to go.
func (j *jsonOnlyWriter) take(data []byte) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(data, &m) != nil || m.Method != "" || len(m.ID) == 0 {
		return
	}
	if j.size += len(data); j.size > maxNoStreamResponse {
		j.overflow = true
		return
	}
	j.responses = append(j.responses, bytes.Clone(data))
}

// Flush passes through only what is not being collected.
func (j *jsonOnlyWriter) Flush() {
	if j.status != 0 && !j.sse {
		_ = http.NewResponseController(j.w).Flush()
	}
}

func (j *jsonOnlyWriter) Unwrap() http.ResponseWriter { return j.w }

// finish writes the collected response(s), once the SDK is done.
func (j *jsonOnlyWriter) finish() {
	if !j.sse {
		return
	}
	h := j.w.Header()
	h.Del("Connection")
	h.Del("Cache-Control")
	var body []byte
	switch {
	case j.overflow:
		httpError(j.w, http.StatusBadGateway, "the response exceeds what a JSON answer may carry")
		return
	case len(j.responses) == 0:
		httpError(j.w, http.StatusBadGateway, "the call ended without a response")
		return
	case len(j.responses) == 1:
		body = j.responses[0]
	default:
		body = append(append([]byte("["), bytes.Join(j.responses, []byte(","))...), ']')
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	j.w.WriteHeader(http.StatusOK)
	_, _ = j.w.Write(body)
}
