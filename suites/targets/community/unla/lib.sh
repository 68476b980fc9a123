# Shared by the Unla hooks. Unla takes a whole MCP config (one per upstream
# here: name, router prefix and proxied server all named after the id) on
# POST /_reload of each replica's notifier port, answers 200 at once and
# applies it later (or logs a validation error), so after posting we poll
# the route until it shows the change.
#
# An add or change goes only to the spec's replicas (MCPCONF_GATEWAY_URLS):
# each replica that has an upstream holds its own upstream session, and the
# spec's fake should see those of the spec's replicas only. A replica's
# notifier port is its port + 90 (replicas.sh). A remove goes to every
# replica (UNLA_RELOAD_URLS, set in target.yaml), wherever the id was.
set -eu
ALL_RELOAD_URLS=${UNLA_RELOAD_URLS:-http://127.0.0.1:19391}
GATEWAYS=${MCPCONF_GATEWAY_URLS:-$MCPCONF_GATEWAY_URL}
ID=$MCPCONF_UPSTREAM_ID
RELOAD_URLS=
for g in $GATEWAYS; do
	port=${g##*:}
	port=${port%%/*}
	RELOAD_URLS="$RELOAD_URLS ${g%:*}:$((port + 90))"
done

post_config() { # json
	for u in $RELOAD_URLS; do
		curl -fsS --max-time 5 -H 'Content-Type: application/json' \
			--data-binary "$1" "$u/_reload"
		echo
	done
}

# route_status gateway-base: "gone" when Unla does not serve /<id>/mcp
# (404 with "Invalid prefix" in the body), "served" for any other answer
# (a sessionless ping is 404 "Session not found" there), "down" when
# nothing answers. A ping opens no session, so polling leaves nothing.
route_status() {
	body=$(curl -s --max-time 2 \
		-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
		-d '{"jsonrpc":"2.0","id":1,"method":"ping"}' "$1/$ID/mcp") || { echo down; return; }
	case "$body" in
	*"Invalid prefix"*) echo gone ;;
	*) echo served ;;
	esac
}

# wait_route served|gone: until every replica says so, for at most ~8 s.
wait_route() {
	for g in $GATEWAYS; do
		i=0
		while :; do
			st=$(route_status "$g")
			[ "$st" = "$1" ] && break
			i=$((i + 1))
			[ $i -lt 80 ] || { echo "$g/$ID/mcp is not $1 (last status $st)" >&2; return 1; }
			sleep 0.1
		done
	done
}
