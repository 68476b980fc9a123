#!/bin/sh
# Upstream hook for docker/mcp-gateway: add (or replace) one upstream on
# the spec's replicas. In --static mode the gateway reads its catalog only
# at start, so this records the upstream for each of them and restarts
# them (see replicas.sh). Only the id and URL are used; the catalog's
# remote.headers could carry the JSON's headers, not done yet (README.md).
. ./lib.sh
cat >/dev/null
ports=$(spec_ports)
for p in $ports; do
	mkdir -p "$STATE/upstreams/$p"
	printf '%s\n' "$MCPCONF_UPSTREAM_URL" >"$STATE/upstreams/$p/$ID"
done
exec sh ./replicas.sh restart $ports
