#!/bin/sh
# Upstream hook for docker/mcp-gateway: add (or replace) one upstream. In
# --static mode the gateway reads its catalog only at start, so this
# records the upstream and restarts every replica (see replicas.sh). Only
# the id and URL are used; the catalog's remote.headers could carry the
# JSON's headers, not done yet (README.md).
set -eu
cat >/dev/null
STATE=${DOCKERMCP_STATE:-/tmp/mcpconf-docker-mcp}
mkdir -p "$STATE/upstreams"
printf '%s\n' "$MCPCONF_UPSTREAM_URL" >"$STATE/upstreams/$MCPCONF_UPSTREAM_ID"
exec sh ./replicas.sh restart
