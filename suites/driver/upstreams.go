package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Upstream is one upstream MCP server as a gateway is told about it: the
// --upstreams file entry and the admin API body of CONTRACT.md.
type Upstream struct {
	ID          string            `json:"id"`
	URL         string            `json:"url"`
	Transport   string            `json:"transport,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	TLS         *UpstreamTLS      `json:"tls,omitempty"`
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
}

// UpstreamTLS is the TLS material used to reach an upstream.
type UpstreamTLS struct {
	CAFile             string `json:"ca_file,omitempty"`
	CertFile           string `json:"cert_file,omitempty"`
	KeyFile            string `json:"key_file,omitempty"`
	ServerName         string `json:"server_name,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
}

// AdminAPI changes a reference-style gateway's upstreams at run time through
// /admin/upstreams (CONTRACT.md). Every call is bounded by Timeout.
type AdminAPI struct {
	BaseURL string // replica base URL, e.g. http://127.0.0.1:8080
	Token   string
	Timeout time.Duration // per call; default 5 s
}

// AdminResult is an admin API answer.
type AdminResult struct {
	Status int    `json:"-"`
	Body   []byte `json:"-"`
	// Evicted and ConnectChanged are decoded from the body when present.
	Evicted        int  `json:"evicted"`
	ConnectChanged bool `json:"connectChanged"`
}

// Put creates or replaces an upstream (201 created, 200 replaced).
func (a *AdminAPI) Put(ctx context.Context, u Upstream) (*AdminResult, error) {
	// A replica in a container sees no host file: give it the TLS files first.
	if err := shareUpstreamFiles(ctx, a.BaseURL, u); err != nil {
		return nil, err
	}
	body, err := json.Marshal(u)
	if err != nil {
		return nil, err
	}
	res, err := a.do(ctx, http.MethodPut, "/admin/upstreams/"+url.PathEscape(u.ID), body)
	if err == nil && res.Status != http.StatusOK && res.Status != http.StatusCreated {
		err = fmt.Errorf("PUT /admin/upstreams/%s on %s: status %d: %s", u.ID, a.BaseURL, res.Status, bytes.TrimSpace(res.Body))
	}
	return res, err
}

// Delete removes an upstream (200, or 404 when unknown).
func (a *AdminAPI) Delete(ctx context.Context, id string) (*AdminResult, error) {
	res, err := a.do(ctx, http.MethodDelete, "/admin/upstreams/"+url.PathEscape(id), nil)
	if err == nil && res.Status != http.StatusOK {
		err = fmt.Errorf("DELETE /admin/upstreams/%s on %s: status %d: %s", id, a.BaseURL, res.Status, bytes.TrimSpace(res.Body))
	}
	return res, err
}

// Sessions reads GET /admin/sessions.
func (a *AdminAPI) Sessions(ctx context.Context) (*AdminSessions, error) {
	res, err := a.do(ctx, http.MethodGet, "/admin/sessions", nil)
	if err != nil {
		return nil, err
	}
	if res.Status != http.StatusOK {
		return nil, fmt.Errorf("GET /admin/sessions on %s: status %d: %s", a.BaseURL, res.Status, bytes.TrimSpace(res.Body))
	}
	var s AdminSessions
	if err := json.Unmarshal(res.Body, &s); err != nil {
		return nil, fmt.Errorf("GET /admin/sessions on %s: %w", a.BaseURL, err)
	}
	return &s, nil
}

// AdminSessions is GET /admin/sessions: which downstream session holds which
// upstream session on one replica.
type AdminSessions struct {
	Replica  string `json:"replica"`
	Sessions []struct {
		ID        string `json:"id"`
		Identity  string `json:"identity"`
		Route     string `json:"route"`
		Upstreams []struct {
			Upstream        string `json:"upstream"`
			UpstreamSession string `json:"upstreamSession"`
		} `json:"upstreams"`
	} `json:"sessions"`
}

func (a *AdminAPI) do(ctx context.Context, method, path string, body []byte) (*AdminResult, error) {
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	if a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s on %s: %w", method, path, a.BaseURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s on %s: read body: %w", method, path, a.BaseURL, err)
	}
	res := &AdminResult{Status: resp.StatusCode, Body: data}
	_ = json.Unmarshal(data, res) // evicted/connectChanged when present
	return res, nil
}
