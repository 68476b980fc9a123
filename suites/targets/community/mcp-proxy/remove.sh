#!/bin/sh
# Upstream hook for mcp-proxy: remove an upstream from every replica that
# has it and restart those, so its route and its upstream session are gone.
. ./lib.sh
cat >/dev/null
ports=
for f in "$STATE"/upstreams/*/"$ID"; do
	[ -f "$f" ] || continue
	rm -f "$f"
	p=$(basename "$(dirname "$f")")
	ports="$ports $p"
done
[ -n "$ports" ] || exit 0
exec sh ./replicas.sh restart $ports
