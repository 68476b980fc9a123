// Package wedge is the counter fake with chosen operations made to hang for
// real, so suites can prove a gateway bounds every upstream wait.
//
// Everything a mode blocks is released by Close (and, for HTTP-level wedges,
// by the client going away), so tests end without leaked goroutines.
package wedge

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/mcpgw/conformance/fakes"
	"github.com/mcpgw/conformance/fakes/counter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Mode names one wedged operation.
type Mode string

const (
	// Delete: DELETE /mcp never answers. The session stays live, since the
	// delete never completed.
	Delete Mode = "delete"
	// Call: tool "hang" never returns and ignores cancellation.
	Call Mode = "call"
	// Initialize: an initialize request never gets even response headers.
	Initialize Mode = "initialize"
	// Get: a GET /mcp stream opens (200, headers flushed) and never sends.
	Get Mode = "get"
)

// Modes lists every valid mode, in documentation order.
var Modes = []Mode{Delete, Call, Initialize, Get}

// ParseModes reads a comma separated list such as "delete,call". Empty
// input means no wedge; blanks around names are ignored.
func ParseModes(s string) ([]Mode, error) {
	var out []Mode
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		m := Mode(name)
		if !slices.Contains(Modes, m) {
			return nil, fmt.Errorf("unknown wedge mode %q (valid: %s)", name, validModes())
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

func validModes() string {
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

// Options configures a wedge fake.
type Options struct {
	// Logger receives the fake's logs; nil discards them.
	Logger *slog.Logger
	// Modes are the operations to wedge; none makes it a plain counter.
	Modes []Mode
	// Name names the instance, as counter.Options.Name does.
	Name string
}

// Server is a running wedge fake.
type Server struct {
	c     *counter.Server
	modes []Mode
}

// New returns a wedge fake: the counter plus the tools "hang" and "block"
// and the modes.
func New(opts Options) *Server {
	s := &Server{modes: slices.Clone(opts.Modes)}
	s.c = counter.NewWithHooks(counter.Options{Logger: opts.Logger, Name: opts.Name}, counter.Hooks{
		Tools: func(c *counter.Server, srv *mcp.Server) {
			s.addHang(c, srv)
			addBlock(c, srv)
		},
		Intercept: s.intercept,
	})
	return s
}

func (s *Server) has(m Mode) bool { return slices.Contains(s.modes, m) }

// Handler serves /mcp, GET /stats and POST /control/drop-sessions.
func (s *Server) Handler() http.Handler { return s.c.Handler() }

// Stats is a deep copy of what GET /stats serves.
func (s *Server) Stats() fakes.Stats { return s.c.Stats() }

// DropSessions forgets every live session, as a restart would.
func (s *Server) DropSessions() { s.c.DropSessions() }

// Close releases every wedged request and ends all sessions. Idempotent.
func (s *Server) Close() { s.c.Close() }
