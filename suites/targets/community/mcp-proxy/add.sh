#!/bin/sh
# Upstream hook for mcp-proxy: add (or replace) one upstream. mcp-proxy
# only reads upstreams at start, so this records the upstream and restarts
# every replica (see replicas.sh). Only the id and URL are used: headers and
# TLS material from the JSON on stdin have no place here, since mcp-proxy's
# per-server headers are static config (a limit, noted in README.md).
set -eu
cat >/dev/null
STATE=${MCPPROXY_STATE:-/tmp/mcpconf-mcp-proxy}
mkdir -p "$STATE/upstreams"
printf '%s\n' "$MCPCONF_UPSTREAM_URL" >"$STATE/upstreams/$MCPCONF_UPSTREAM_ID"
exec sh ./replicas.sh restart
