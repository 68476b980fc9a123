package client

import "net/http"

// Credential is how a client sends its token. The zero value is
// "Authorization: Bearer <token>".
type Credential struct {
	// Header carries the token ("" = Authorization, with Scheme Bearer).
	Header string
	// Scheme prefixes the token in Header ("" = the token alone, once
	// Header is set).
	Scheme string
}

// set puts token into h as c says; an empty token sends nothing.
func (c Credential) set(h http.Header, token string) {
	if token == "" {
		return
	}
	name, scheme := c.Header, c.Scheme
	if name == "" {
		name, scheme = "Authorization", "Bearer"
	}
	if scheme != "" {
		token = scheme + " " + token
	}
	h.Set(name, token)
}
