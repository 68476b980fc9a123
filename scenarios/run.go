package scenarios

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mcpgw/conformance/suites/client"
)

// Result is the outcome of one replay.
type Result struct {
	Scenario string
	// Expectations checked and the ones that failed.
	Checked  int
	Failures []string
	// Err is set when a step could not run at all (connect, call, delete).
	Err error
}

// OK reports whether every step ran and every expectation held.
func (r *Result) OK() bool { return r.Err == nil && len(r.Failures) == 0 }

// Summary is the result line of a transcript.
func (r *Result) Summary() string {
	switch {
	case r.Err != nil:
		return "result: ERROR: " + r.Err.Error()
	case len(r.Failures) > 0:
		return fmt.Sprintf("result: FAIL (%d of %d expectations failed)", len(r.Failures), r.Checked)
	default:
		return fmt.Sprintf("result: PASS (%d expectations held)", r.Checked)
	}
}

// Options tune a replay.
type Options struct {
	// StepTimeout bounds each step (default 10 s).
	StepTimeout time.Duration
	// Client, when set, rewrites the options of each session the scenario
	// opens: how the gateway under test takes a token (the fixture's
	// Gateway.Options).
	Client func(client.Options) client.Options
	// Route and Tool, when set, map the scenario's route and tool names
	// (written for the reference gateway: /mcp, <upstream>.<tool>) to the
	// gateway under test's.
	Route func(route string) string
	Tool  func(name string) string
}

// Run replays the scenario against the gateway at baseURL, writing the
// transcript to out. It closes every session it opened before returning.
func Run(ctx context.Context, sc *Scenario, baseURL string, out io.Writer, opts Options) *Result {
	if opts.StepTimeout <= 0 {
		opts.StepTimeout = 10 * time.Second
	}
	res := &Result{Scenario: sc.Name}
	fmt.Fprintf(out, "scenario %s: %s (requirement %s)\n", sc.Name, sc.Title, sc.Requirement)
	fmt.Fprintf(out, "gateway %s\n", baseURL)
	sessions := map[string]*client.Session{}
	defer func() {
		for _, s := range sessions {
			_ = s.Close()
		}
	}()
	for i, st := range sc.Steps {
		n := i + 1
		sctx, cancel := context.WithTimeout(ctx, opts.StepTimeout*time.Duration(max(1, st.Times)))
		err := runStep(sctx, sc, st, n, baseURL, sessions, res, out, opts)
		cancel()
		if err != nil {
			res.Err = fmt.Errorf("step %d: %w", n, err)
			fmt.Fprintf(out, "  %2d  %-28s ERROR %v\n", n, describe(st), err)
			break
		}
	}
	fmt.Fprintln(out, res.Summary())
	return res
}

func runStep(ctx context.Context, sc *Scenario, st Step, n int, baseURL string, sessions map[string]*client.Session, res *Result, out io.Writer, opts Options) error {
	switch {
	case st.Open != "":
		route := st.Route
		if route == "" {
			route = sc.Route
		}
		if opts.Route != nil {
			route = opts.Route(route)
		}
		copts := client.Options{Token: st.Token, NoStandaloneSSE: true}
		if opts.Client != nil {
			copts = opts.Client(copts)
		}
		s, err := client.Connect(ctx, baseURL+route, copts)
		if err != nil {
			return err
		}
		sessions[st.Open] = s
		fmt.Fprintf(out, "  %2d  %-28s session %s  revision %s\n", n, describe(st), shortID(s.ID()), s.ProtocolVersion())
	case st.Call != "":
		s := sessions[st.Session]
		var values []string
		last := 0
		tool := st.Call
		if opts.Tool != nil {
			tool = opts.Tool(tool)
		}
		for range max(1, st.Times) {
			v, err := s.Call(ctx, tool, st.Args)
			if err != nil {
				return err
			}
			last = v
			values = append(values, fmt.Sprint(v))
		}
		line := fmt.Sprintf("  %2d  %-28s %s", n, describe(st), strings.Join(values, " "))
		if st.Expect != nil {
			res.Checked++
			if last == *st.Expect {
				line += fmt.Sprintf("   expected %d  ok", *st.Expect)
			} else {
				line += fmt.Sprintf("   expected %d  MISMATCH", *st.Expect)
				res.Failures = append(res.Failures, fmt.Sprintf("step %d: session %s %s read %d, expected %d", n, st.Session, st.Call, last, *st.Expect))
			}
		}
		fmt.Fprintln(out, line)
	case st.Delete != "":
		s := sessions[st.Delete]
		status, err := deleteSession(ctx, s)
		if err != nil {
			return err
		}
		_ = s.Close() // the session is gone; this only releases the client
		delete(sessions, st.Delete)
		fmt.Fprintf(out, "  %2d  %-28s session %s  -> %d\n", n, describe(st), shortID(s.ID()), status)
	}
	return nil
}

// deleteSession sends DELETE for the session by hand, so the transcript can
// show the status code.
func deleteSession(ctx context.Context, s *client.Session) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.Endpoint, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set(client.HeaderSession, s.ID())
	req.Header.Set(client.HeaderProtocol, s.ProtocolVersion())
	s.Authorize(req.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("DELETE session %s: status %d", s.ID(), resp.StatusCode)
	}
	return resp.StatusCode, nil
}

func describe(st Step) string {
	switch {
	case st.Open != "":
		return "open " + st.Open
	case st.Delete != "":
		return "delete " + st.Delete
	default:
		s := st.Session + " " + st.Call
		if st.Times > 1 {
			s += fmt.Sprintf(" x%d", st.Times)
		}
		return s
	}
}

func shortID(id string) string {
	if len(id) > 10 {
		return id[:10] + "…"
	}
	return id
}
