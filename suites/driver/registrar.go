package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/mcpgw/conformance/suites/child"
)

// GatewayRef is what a Registrar is told about the gateway of a spec.
type GatewayRef struct {
	// URLs are the base URLs of the spec's replicas, r1 first.
	URLs []string
	// AdminToken is the bearer token of the admin API ("" when there is none).
	AdminToken string
}

// Registrar tells a running gateway about upstreams: the suite calls Add for
// each upstream of a spec once its replicas are ready (when the target
// registers upstreams at run time), Change and Remove when a spec changes
// them, and, for replicas the suite did not start, Remove for each one still
// registered when the spec ends. Each method returns one line of evidence for
// the report (may be empty) and an error that says what went wrong.
type Registrar interface {
	Add(ctx context.Context, gw GatewayRef, u Upstream) (string, error)
	Change(ctx context.Context, gw GatewayRef, u Upstream) (string, error)
	Remove(ctx context.Context, gw GatewayRef, u Upstream) (string, error)
}

// AdminRegistrar registers upstreams through the reference admin API
// (PUT and DELETE /admin/upstreams/{id}) of the first replica.
type AdminRegistrar struct{}

// Add creates the upstream.
func (AdminRegistrar) Add(ctx context.Context, gw GatewayRef, u Upstream) (string, error) {
	return adminPut(ctx, gw, u)
}

// Change replaces the upstream.
func (AdminRegistrar) Change(ctx context.Context, gw GatewayRef, u Upstream) (string, error) {
	return adminPut(ctx, gw, u)
}

// Remove deletes the upstream.
func (AdminRegistrar) Remove(ctx context.Context, gw GatewayRef, u Upstream) (string, error) {
	if len(gw.URLs) == 0 {
		return "", errors.New("admin API: no replica")
	}
	res, err := (&AdminAPI{BaseURL: gw.URLs[0], Token: gw.AdminToken}).Delete(ctx, u.ID)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("DELETE /admin/upstreams/%s on %s: %d, evicted %d", u.ID, gw.URLs[0], res.Status, res.Evicted), nil
}

func adminPut(ctx context.Context, gw GatewayRef, u Upstream) (string, error) {
	if len(gw.URLs) == 0 {
		return "", errors.New("admin API: no replica")
	}
	res, err := (&AdminAPI{BaseURL: gw.URLs[0], Token: gw.AdminToken}).Put(ctx, u)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("PUT /admin/upstreams/%s on %s: %d, connect changed %v, evicted %d", u.ID, gw.URLs[0], res.Status, res.ConnectChanged, res.Evicted), nil
}

// Hook environment variables: what a hook command is told besides the
// upstream JSON on its stdin.
const (
	HookEnvOp          = "MCPCONF_HOOK"         // add, change or remove
	HookEnvUpstreamID  = "MCPCONF_UPSTREAM_ID"  // the upstream's id
	HookEnvUpstreamURL = "MCPCONF_UPSTREAM_URL" // the upstream's MCP endpoint
	HookEnvGatewayURL  = "MCPCONF_GATEWAY_URL"  // base URL of the first replica
	HookEnvGatewayURLs = "MCPCONF_GATEWAY_URLS" // base URLs of every replica of the spec, space-separated
	HookEnvAdminToken  = "MCPCONF_ADMIN_TOKEN"  // admin token ("" when none)
	HookEnvTimeout     = "MCPCONF_HOOK_TIMEOUT" // the hook's deadline, e.g. 10s
)

// HookCommands registers upstreams by running commands, so that any gateway
// can be wired without Go code. Each command gets the upstream as JSON on
// stdin (the gateway/CONTRACT.md upstream format: {id, url, transport,
// headers, tls, name, description, tags}) and the MCPCONF_HOOK* variables
// above; exit status 0 means done. A command that outlives Timeout is killed
// with its process group.
type HookCommands struct {
	// AddCmd, ChangeCmd and RemoveCmd are argument vectors; an empty one is
	// not available.
	AddCmd, ChangeCmd, RemoveCmd []string
	// Dir is the working directory (the target file's directory).
	Dir string
	// Env is extra environment for every command.
	Env map[string]string
	// Timeout bounds each command (default 10 s).
	Timeout time.Duration
}

// Add runs the add command.
func (h *HookCommands) Add(ctx context.Context, gw GatewayRef, u Upstream) (string, error) {
	return h.run(ctx, "add", h.AddCmd, gw, u)
}

// Change runs the change command.
func (h *HookCommands) Change(ctx context.Context, gw GatewayRef, u Upstream) (string, error) {
	return h.run(ctx, "change", h.ChangeCmd, gw, u)
}

// Remove runs the remove command.
func (h *HookCommands) Remove(ctx context.Context, gw GatewayRef, u Upstream) (string, error) {
	return h.run(ctx, "remove", h.RemoveCmd, gw, u)
}

// maxHookOutput bounds what is kept of a hook's output.
const maxHookOutput = 8 << 10

func (h *HookCommands) run(ctx context.Context, op string, argv []string, gw GatewayRef, u Upstream) (string, error) {
	if len(argv) == 0 {
		return "", fmt.Errorf("upstream hook %s: no command configured (upstreams.%s in the target file)", op, op)
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	body, err := json.Marshal(u)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = h.Dir
	cmd.Stdin = bytes.NewReader(body)
	out := child.NewLogBuffer(0)
	cmd.Stdout, cmd.Stderr = out, out
	first := ""
	if len(gw.URLs) > 0 {
		first = gw.URLs[0]
	}
	cmd.Env = append(os.Environ(),
		HookEnvOp+"="+op,
		HookEnvUpstreamID+"="+u.ID,
		HookEnvUpstreamURL+"="+u.URL,
		HookEnvGatewayURL+"="+first,
		HookEnvGatewayURLs+"="+strings.Join(gw.URLs, " "),
		HookEnvAdminToken+"="+gw.AdminToken,
		HookEnvTimeout+"="+timeout.String(),
	)
	for k, v := range h.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	setHookProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start).Round(time.Millisecond)
	output := hookDetail(out.String())
	desc := fmt.Sprintf("hook %s %s (%s)", op, u.ID, strings.Join(argv, " "))
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return "", fmt.Errorf("%s: still running after %s, killed; output:\n%s", desc, timeout, output)
	case err != nil:
		return "", fmt.Errorf("%s: %w after %s; output:\n%s", desc, err, took, output)
	}
	return fmt.Sprintf("%s: exit 0 after %s; %s", desc, took, output), nil
}
