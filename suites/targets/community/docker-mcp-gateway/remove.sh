#!/bin/sh
# Upstream hook for docker/mcp-gateway: forget the upstream on every
# replica that has it and restart those, so it is no longer in their
# catalog or --servers.
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
