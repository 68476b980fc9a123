#!/bin/sh
# Upstream hook for docker/mcp-gateway: forget the upstream and restart
# every replica, so it is no longer in the catalog or --servers.
set -eu
cat >/dev/null
STATE=${DOCKERMCP_STATE:-/tmp/mcpconf-docker-mcp}
rm -f "$STATE/upstreams/$MCPCONF_UPSTREAM_ID"
exec sh ./replicas.sh restart
