// Package counter is a stateful fake upstream MCP server: every upstream
// session holds its own counter, and GET /stats tells the suites exactly which
// sessions exist, how they ended and what headers arrived.
//
// The wedge fake reuses it through Hooks, so both share one implementation.
package counter

import (
	"crypto/rand"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options configures a counter fake.
type Options struct {
	// Logger receives the fake's logs; nil discards them.
	Logger *slog.Logger
	// Name names this instance (the upstream id it is known by) in its
	// resource template, counter://<name>/{name}, so that two fakes behind
	// one gateway expose different templates: a gateway may refuse two
	// servers sharing one (docker/mcp-gateway does). Empty: a random name.
	Name string
}

// Hooks are the points where a fake built on the counter (the wedge) changes
// its behaviour. The counter itself sets none.
type Hooks struct {
	// Tools registers extra tools on the MCP server.
	Tools func(c *Server, srv *mcp.Server)
	// Intercept sees each /mcp request after it has been recorded and checked
	// against ended sessions, before the SDK handles it. It returns true when
	// it has taken the request over.
	Intercept func(c *Server, w http.ResponseWriter, r *http.Request) bool
}

// Server is a running counter fake. Serve it with Handler; stop it with Close.
type Server struct {
	log   *slog.Logger
	hooks Hooks
	mcp   *mcp.Server
	sdk   http.Handler
	// modern serves the sessionless 2026-07-28 revision (stateless.go).
	modern        *mcp.Server
	modernHandler http.Handler
	handler       http.Handler
	st            state
	rte           routingState // the routing tools' part of /stats (rte_tools.go)
	template      string       // its resources' URI template (ResourceTemplate)

	done      chan struct{} // closed when Close starts: releases every wedge
	closeOnce sync.Once
	inflight  sync.WaitGroup // /mcp requests being served
	closers   sync.WaitGroup // session closes started by DropSessions
}

// New returns a counter fake.
func New(opts Options) *Server {
	return NewWithHooks(opts, Hooks{})
}

// NewWithHooks returns a counter fake whose behaviour the hooks adjust.
func NewWithHooks(opts Options, hooks Hooks) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		log:   log,
		hooks: hooks,
		done:  make(chan struct{}),
		st:    newState(),
		// One template for both eras' servers of this instance.
		template: ResourceTemplate(opts.Name),
	}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "counter", Version: "v1"}, &mcp.ServerOptions{Logger: log, SetCacheable: privateToolList})
	s.mcp.AddReceivingMiddleware(s.observe)
	s.addCounterTools(s.mcp)
	s.addEraTools(s.mcp)
	s.addRoutingTools(s.mcp)
	s.modernHandler = s.newModernHandler()
	if hooks.Tools != nil {
		hooks.Tools(s, s.mcp)
		hooks.Tools(s, s.modern)
	}
	s.sdk = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp }, &mcp.StreamableHTTPOptions{
		Logger: log,
		// Containers reach the fake by alias hostnames, not localhost.
		DisableLocalhostProtection: true,
	})
	s.handler = s.routes()
	return s
}

// ResourceTemplate is the URI template of the resources of the instance
// named name: counter://<name>/{name}, the name reduced to what a URI host
// may hold (lower-case letters, digits, '-'); an empty one is random.
func ResourceTemplate(name string) string {
	host := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, name)
	if host == "" {
		host = "i" + strings.ToLower(rand.Text()[:10])
	}
	return "counter://" + host + "/{name}"
}

// Handler serves /mcp, GET /stats and POST /control/drop-sessions.
func (s *Server) Handler() http.Handler { return s.handler }

// Done is closed when Close starts; anything a hook blocks must end on it.
func (s *Server) Done() <-chan struct{} { return s.done }

// Logger is the fake's logger, for hooks.
func (s *Server) Logger() *slog.Logger { return s.log }
