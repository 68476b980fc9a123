package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options tune Connect.
type Options struct {
	// Token is sent when set, as Credential says (default
	// "Authorization: Bearer <Token>").
	Token string
	// Credential is how Token is sent.
	Credential Credential
	// ProtocolVersion asks for one revision (empty: DefaultProtocolVersion,
	// a session-bearing one).
	ProtocolVersion string
	// SDKDefault leaves the revision to the SDK, as an application would:
	// a current go-sdk probes 2026-07-28 with server/discover first and
	// falls back to initialize (TRN-8).
	SDKDefault bool
	// NoStandaloneSSE skips the GET stream the SDK opens after initialize.
	NoStandaloneSSE bool
	// Client sets the go-sdk client's handlers (elicitation, sampling,
	// progress, notifications) and capabilities; nil for none.
	Client *mcp.ClientOptions
	// Roots are what the client answers roots/list with (go-sdk declares
	// the roots capability unless Client.Capabilities leaves it out).
	Roots []*mcp.Root
}

// Session is an initialized go-sdk client session with a gateway endpoint.
type Session struct {
	*mcp.ClientSession
	// Endpoint is the URL the session was opened on.
	Endpoint string
	// Token is the token the session sends, if any, as Credential says.
	Token      string
	Credential Credential
}

// Authorize puts the session's token into h, as its requests carry it.
func (s *Session) Authorize(h http.Header) { s.Credential.set(h, s.Token) }

// Connect opens a session on endpoint (a gateway's /mcp or
// /servers/{id}/mcp URL). Give ctx a deadline: it bounds the handshake.
func Connect(ctx context.Context, endpoint string, opts Options) (*Session, error) {
	hc := &http.Client{Transport: http.DefaultTransport}
	if opts.Token != "" {
		hc.Transport = withToken{token: opts.Token, cred: opts.Credential, next: http.DefaultTransport}
	}
	transport := &mcp.StreamableClientTransport{
		Endpoint:             endpoint,
		HTTPClient:           hc,
		MaxRetries:           -1, // a failure is evidence, not something to paper over
		DisableStandaloneSSE: opts.NoStandaloneSSE,
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "mcpconf", Version: "v1"}, opts.Client)
	if len(opts.Roots) > 0 {
		c.AddRoots(opts.Roots...)
	}
	sopts := &mcp.ClientSessionOptions{ProtocolVersion: cmpOr(opts.ProtocolVersion, DefaultProtocolVersion)}
	if opts.SDKDefault {
		sopts = nil
	}
	cs, err := c.Connect(ctx, transport, sopts)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", endpoint, err)
	}
	return &Session{ClientSession: cs, Endpoint: endpoint, Token: opts.Token, Credential: opts.Credential}, nil
}

// Server is the serverInfo the gateway answered initialize with.
func (s *Session) Server() ServerInfo {
	res := s.InitializeResult()
	if res == nil || res.ServerInfo == nil {
		return ServerInfo{}
	}
	return ServerInfo{Name: res.ServerInfo.Name, Version: res.ServerInfo.Version}
}

// ProtocolVersion is the revision negotiated at initialize.
func (s *Session) ProtocolVersion() string {
	if r := s.InitializeResult(); r != nil {
		return r.ProtocolVersion
	}
	return ""
}

// ToolError is a tool call that completed with isError set.
type ToolError struct {
	Tool    string
	Message string
}

func (e *ToolError) Error() string { return fmt.Sprintf("tool %s failed: %s", e.Tool, e.Message) }

// Call calls a tool and returns the "value" of its structured result (the
// counter fakes' contract). A protocol error or a tool error is an error.
func (s *Session) Call(ctx context.Context, tool string, args map[string]any) (int, error) {
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return 0, fmt.Errorf("session %s: call %s: %w", s.ID(), tool, err)
	}
	if res.IsError {
		return 0, &ToolError{Tool: tool, Message: textOf(res)}
	}
	v, err := valueOf(res)
	if err != nil {
		return 0, fmt.Errorf("session %s: call %s: %w", s.ID(), tool, err)
	}
	return v, nil
}

// Increment calls <prefix>increment with {by} and returns the new value.
// prefix is "counter." on /mcp (tools are <upstream>.<tool>) and "" on
// /servers/{id}/mcp.
func (s *Session) Increment(ctx context.Context, prefix string, by int) (int, error) {
	return s.Call(ctx, prefix+"increment", map[string]any{"by": by})
}

// Get calls <prefix>get and returns the value.
func (s *Session) Get(ctx context.Context, prefix string) (int, error) {
	return s.Call(ctx, prefix+"get", nil)
}

// valueOf reads the counter contract from a tool result, as
// Response.ToolValue does: structured content, or failing that text content.
func valueOf(res *mcp.CallToolResult) (int, error) {
	var structured json.RawMessage
	if res.StructuredContent != nil {
		data, err := json.Marshal(res.StructuredContent)
		if err != nil {
			return 0, err
		}
		structured = data
	}
	var texts []string
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			texts = append(texts, t.Text)
		}
	}
	if v, ok := counterValue(structured, texts); ok {
		return v, nil
	}
	return 0, errors.New("result carries no {\"value\": N}: " + textOf(res))
}

func textOf(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	if len(parts) == 0 {
		return "(no text content)"
	}
	return strings.Join(parts, " ")
}

// withToken sends every request of a session with its token.
type withToken struct {
	token string
	cred  Credential
	next  http.RoundTripper
}

func (b withToken) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	b.cred.set(r.Header, b.token)
	return b.next.RoundTrip(r)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
