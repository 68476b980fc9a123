package steps

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/client"
	"github.com/mcpgw/conformance/suites/conformance"
	"github.com/mcpgw/conformance/suites/driver"
	"github.com/mcpgw/conformance/suites/fixture"
)

// Via is one downstream session as seen through one replica: a raw client
// for that replica carrying the session's token and revision.
type Via struct {
	// Replica is the replica id the requests go to.
	Replica string
	// Raw talks to that replica.
	Raw *client.Raw
	// Session is the downstream session id.
	Session string
	// Endpoint is where the session reaches the upstream its calls go to.
	fixture.Endpoint
}

// InitializeOn opens a downstream session by hand at e on replica i of gw
// (the replica that will own it) and returns it as seen through that
// replica.
func InitializeOn(ctx context.Context, gw *fixture.Gateway, e fixture.Endpoint, i int, token string) Via {
	GinkgoHelper()
	raw := gw.RawAt(i, token)
	raw.IDs = new(atomic.Int64)
	hs, err := raw.Initialize(ctx, e.Path)
	Expect(err).NotTo(HaveOccurred(), "initialize on replica %s", gw.Replica(i).ID())
	return Via{Replica: gw.Replica(i).ID(), Raw: raw, Session: hs.SessionID, Endpoint: e}
}

// At is the same session seen through replica i of gw: same token, revision
// and JSON-RPC id sequence, another replica.
func (v Via) At(gw *fixture.Gateway, i int) Via {
	raw := gw.RawAt(i, v.Raw.Token)
	raw.ProtocolVersion, raw.IDs, raw.Timeout = v.Raw.ProtocolVersion, v.Raw.IDs, v.Raw.Timeout
	return Via{Replica: gw.Replica(i).ID(), Raw: raw, Session: v.Session, Endpoint: v.Endpoint}
}

// Call calls the upstream's tool (its own name: "get") at the session's
// endpoint and returns the counter value; any other answer fails the spec,
// naming the replica and the session.
func (v Via) Call(ctx context.Context, tool string, args map[string]any) int {
	GinkgoHelper()
	n, err := v.TryCall(ctx, tool, args)
	Expect(err).NotTo(HaveOccurred())
	return n
}

// TryCall is Call returning the error instead of failing.
func (v Via) TryCall(ctx context.Context, tool string, args map[string]any) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	tool = v.Tools.Name(tool)
	res, err := v.Raw.CallTool(cctx, v.Path, v.Session, tool, args)
	if err != nil {
		return 0, fmt.Errorf("session %s via replica %s: %s: %w", Short(v.Session), v.Replica, tool, err)
	}
	n, err := res.ToolValue()
	if err != nil {
		return 0, fmt.Errorf("session %s via replica %s: %s: %w", Short(v.Session), v.Replica, tool, err)
	}
	return n, nil
}

// IncrementTimes calls increment {by: 1} n times through this replica and
// records the values seen.
func (v Via) IncrementTimes(ctx context.Context, n int) {
	GinkgoHelper()
	var seen []int
	for range n {
		seen = append(seen, v.Call(ctx, "increment", map[string]any{"by": 1}))
	}
	conformance.Evidence(fmt.Sprintf("session %s via %s: %s x%d", Short(v.Session), v.Replica, v.Tools.Name("increment"), n), fmt.Sprint(seen))
}

// RecordOwnership attaches, as evidence named "ownership <when>", which
// replica holds which downstream session and its upstream sessions (from
// each replica's GET /admin/sessions), and returns it by replica id.
func RecordOwnership(ctx context.Context, gw *fixture.Gateway, when string) map[string]fixture.Held {
	own := gw.Ownership(ctx)
	if own == nil {
		return nil
	}
	ids := make([]string, 0, len(own))
	for id := range own {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	for _, id := range ids {
		h := own[id]
		if h.Sessions == nil {
			fmt.Fprintf(&b, "%s: %s\n", id, h.Unavailable)
			continue
		}
		fmt.Fprintf(&b, "%s holds %d session(s)", id, len(h.Sessions))
		if h.Unavailable != "" {
			b.WriteString(" (" + h.Unavailable + ")")
		}
		for _, s := range h.Sessions {
			b.WriteString("\n  " + s)
		}
		b.WriteString("\n")
	}
	conformance.Evidence("ownership "+when, strings.TrimRight(b.String(), "\n"))
	return own
}

// ProcessState is the state letter the kernel shows for replica r's process
// (/proc/<pid>/stat: "R" running, "S" sleeping, "T" stopped, ...), for specs
// that must know a signal has been taken, not only sent.
func ProcessState(r driver.Replica) (string, error) {
	pid, err := r.Pid()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	// pid (comm) state ...: comm may hold spaces and parentheses, so the
	// state follows the last ")".
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 || i+2 >= len(data) {
		return "", fmt.Errorf("/proc/%d/stat: unexpected %q", pid, data)
	}
	return string(data[i+2 : i+3]), nil
}
