package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Progress must reach the client before the result of the call it is about
// (RTE-4), and a notification sent on a call's stream must not be lost
// when that call ends (RTE-7). go-sdk's client hands a call its response as
// soon as it is read, but queues notifications for a handler goroutine, so
// a handler may run after the call has returned and its downstream stream
// has closed. The gateway therefore takes the notifications it relays out
// of an upstream session's event streams as the SDK reads them: each is
// relayed there and then, in stream order, and the SDK sees an SSE comment
// in its place.

// streamRelayed are the notifications taken out of upstream streams.
var streamRelayed = map[string]bool{
	"notifications/progress":           true,
	"notifications/tools/list_changed": true,
	"notifications/resources/updated":  true,
}

// maxEventBytes bounds one buffered event; a longer one passes untouched.
const maxEventBytes = 1 << 20

// progressRelayClient returns c, with the event streams of its responses
// relayed through relay.
func progressRelayClient(c *http.Client, relay func(method string, params json.RawMessage)) *http.Client {
	out := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = progressRelayTransport{base: base, relay: relay}
	return &out
}

type progressRelayTransport struct {
	base  http.RoundTripper
	relay func(method string, params json.RawMessage)
}

func (t progressRelayTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp, err
	}
	resp.Body = &progressRelayBody{ReadCloser: resp.Body, relay: t.relay}
	return resp, nil
}

// progressRelayBody passes an event stream through event by event, taking
// out the progress notifications.
type progressRelayBody struct {
	io.ReadCloser
	relay   func(method string, params json.RawMessage)
	pending []byte // read, not yet a whole event
	out     []byte // processed, not yet returned
	err     error
}

func (b *progressRelayBody) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			if len(b.pending) > 0 {
				b.out, b.pending = b.pending, nil
				break
			}
			return 0, b.err
		}
		buf := make([]byte, 8<<10)
		n, err := b.ReadCloser.Read(buf)
		b.pending = append(b.pending, buf[:n]...)
		b.err = err
		b.drain()
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// drain moves every whole event from pending to out.
func (b *progressRelayBody) drain() {
	for {
		end, sep := eventEnd(b.pending)
		if end < 0 {
			if len(b.pending) > maxEventBytes {
				b.out, b.pending = append(b.out, b.pending...), nil
			}
			return
		}
		event := b.pending[:end+sep]
		b.pending = b.pending[end+sep:]
		if method, params, ok := relayedNotification(event); ok {
			b.relay(method, params)
			b.out = append(b.out, ":\n\n"...)
			continue
		}
		b.out = append(b.out, event...)
	}
}

// eventEnd finds the blank line ending the first event.
func eventEnd(b []byte) (int, int) {
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		if j := bytes.Index(b, []byte("\r\n\r\n")); j >= 0 && j < i {
			return j, 4
		}
		return i, 2
	}
	if j := bytes.Index(b, []byte("\r\n\r\n")); j >= 0 {
		return j, 4
	}
	return -1, 0
}

// eventData is the data of an event, its data lines joined.
func eventData(event []byte) []byte {
	var data []byte
	for line := range bytes.SplitSeq(event, []byte("\n")) {
		if d, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r"), []byte("data:")); ok {
			data = append(data, bytes.TrimSpace(d)...)
		}
	}
	return data
}

// relayedNotification returns the method and params of an event carrying
// a notification of streamRelayed.
func relayedNotification(event []byte) (string, json.RawMessage, bool) {
	if !bytes.Contains(event, []byte("notifications/")) {
		return "", nil, false
	}
	data := eventData(event)
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if json.Unmarshal(data, &msg) != nil || !streamRelayed[msg.Method] || len(msg.ID) > 0 {
		return "", nil, false
	}
	return msg.Method, msg.Params, true
}
