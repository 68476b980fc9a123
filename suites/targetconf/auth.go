package targetconf

import (
	"fmt"
	"regexp"
	"slices"
)

// Auth modes: how the gateway tells identities apart.
const (
	// AuthTokensFile: the suite starts replicas with a file of TOKEN
	// IDENTITY lines (.AuthTokensFile) holding the tokens each spec asks for.
	AuthTokensFile = "tokens-file"
	// AuthStaticToken: the gateway knows one identity, Auth.Token, set up
	// by whoever configured it. Specs that need two identities skip.
	AuthStaticToken = "static-token"
	// AuthNone: the gateway has no auth; specs that need it skip.
	AuthNone = "none"
)

// AuthConfig is how the gateway authenticates clients and how clients send the
// credential.
//
//	auth: {mode: static-token, header: X-Api-Key, scheme: "", token: s3cret}
type AuthConfig struct {
	// Mode is tokens-file (default), static-token or none.
	Mode string `yaml:"mode"`
	// Header carries the credential (default Authorization).
	Header string `yaml:"header"`
	// Scheme prefixes the token in Header, e.g. Bearer (the default; ""
	// in a target file sends the token alone).
	Scheme string `yaml:"scheme"`
	// Token is the one identity's token (static-token only).
	Token string `yaml:"token,omitempty"`
}

// DefaultAuth is the reference gateway's: a tokens file, Authorization: Bearer.
var DefaultAuth = AuthConfig{Mode: AuthTokensFile, Header: "Authorization", Scheme: "Bearer"}

var authModes = []string{AuthTokensFile, AuthStaticToken, AuthNone}

// headerName is an HTTP field name (RFC 9110 token).
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func (t *Target) validateAuth() error {
	a := &t.Auth
	if a.Mode == "" {
		a.Mode = AuthTokensFile
	}
	if a.Header == "" {
		// A Target built in Go that leaves both out gets the default.
		a.Header = DefaultAuth.Header
		if a.Scheme == "" {
			a.Scheme = DefaultAuth.Scheme
		}
	}
	if !slices.Contains(authModes, a.Mode) {
		return fmt.Errorf("target %s: auth.mode %q: want one of %v", t.Name, a.Mode, authModes)
	}
	if !headerName.MatchString(a.Header) {
		return fmt.Errorf("target %s: auth.header %q: want an HTTP header name", t.Name, a.Header)
	}
	if !headerName.MatchString(a.Scheme) && a.Scheme != "" {
		return fmt.Errorf("target %s: auth.scheme %q: want one word such as Bearer, or \"\" for the token alone", t.Name, a.Scheme)
	}
	switch {
	case a.Mode == AuthStaticToken && a.Token == "":
		return fmt.Errorf("target %s: auth.token: auth.mode static-token needs the token of the gateway's one identity", t.Name)
	case a.Mode != AuthStaticToken && a.Token != "":
		return fmt.Errorf("target %s: auth.token is set but auth.mode is %s (only static-token takes a token)", t.Name, a.Mode)
	case a.Mode == AuthNone && t.Has(Auth):
		return fmt.Errorf("target %s: auth.mode none says the gateway has no auth, but capability auth is declared: drop one", t.Name)
	}
	return nil
}

// Credential is what a client sends for token: the value of Auth.Header.
func (a AuthConfig) Credential(token string) string {
	if a.Scheme == "" {
		return token
	}
	return a.Scheme + " " + token
}
