#!/bin/sh
# Upstream hook for mcp-proxy: add (or replace) one upstream on the spec's
# replicas. mcp-proxy only reads upstreams at start, so this records the
# upstream for each of them and restarts them (see replicas.sh). Only the
# id and URL are used: headers and TLS material from the JSON on stdin have
# no place here, since mcp-proxy's per-server headers are static config (a
# limit, noted in README.md).
. ./lib.sh
cat >/dev/null
ports=$(spec_ports)
for p in $ports; do
	mkdir -p "$STATE/upstreams/$p"
	printf '%s\n' "$MCPCONF_UPSTREAM_URL" >"$STATE/upstreams/$p/$ID"
done
exec sh ./replicas.sh restart $ports
