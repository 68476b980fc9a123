#!/bin/sh
# Upstream hook for mcp-proxy: remove an upstream: forget it and restart
# every replica, so its route and its upstream session are gone.
set -eu
cat >/dev/null
STATE=${MCPPROXY_STATE:-/tmp/mcpconf-mcp-proxy}
rm -f "$STATE/upstreams/$MCPCONF_UPSTREAM_ID"
exec sh ./replicas.sh restart
