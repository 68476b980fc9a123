package gateway

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The progress relay takes progress events out of a stream in order and
// passes every other byte through, whatever the read sizes.
func TestProgressRelayBodyTakesOutProgressInOrder(t *testing.T) {
	stream := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p\",\"progress\":1}}\n\n" +
		"event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\"notifications/progress\"}}\r\n\r\n" +
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":2}}\n\n" +
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}\n\n"
	var relayed []float64
	var sawResultBeforeRelay bool
	body := &progressRelayBody{ReadCloser: io.NopCloser(iotest.OneByteReader(strings.NewReader(stream))), relay: func(method string, params json.RawMessage) {
		var p mcp.ProgressNotificationParams
		if method != "notifications/progress" || json.Unmarshal(params, &p) != nil {
			t.Errorf("relayed %s %s", method, params)
		}
		relayed = append(relayed, p.Progress)
	}}
	var out strings.Builder
	buf := make([]byte, 7)
	for {
		n, err := body.Read(buf)
		out.Write(buf[:n])
		if strings.Contains(out.String(), `"result"`) && len(relayed) < 2 {
			sawResultBeforeRelay = true
		}
		if err != nil {
			break
		}
	}
	if len(relayed) != 2 || relayed[0] != 1 || relayed[1] != 2 || sawResultBeforeRelay {
		t.Fatalf("relayed %v (result before relay: %v)", relayed, sawResultBeforeRelay)
	}
	got := out.String()
	if strings.Count(got, "notifications/progress") != 1 || !strings.Contains(got, `"notifications/message"`) || !strings.HasSuffix(got, "\"id\":3,\"result\":{}}\n\n") {
		t.Errorf("passed through:\n%q", got)
	}
}
