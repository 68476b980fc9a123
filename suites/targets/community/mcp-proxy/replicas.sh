#!/bin/sh
# Start, restart or stop the mcp-proxy replicas the suite talks to.
#
# mcp-proxy reads its upstreams once, at start, from a JSON config file and
# has no admin API and no reload, so the only way to add, change or remove
# an upstream at run time is to rewrite that file and restart the process.
# The hooks do exactly that through this script; start it by hand once
# before the suite (see README.md).
#
#   MCPPROXY_BIN    the mcp-proxy binary (built outside this repository)
#   MCPPROXY_STATE  working directory: upstream list, configs, logs, pids
#   MCPPROXY_PORTS  one loopback port per replica (default 19201 19202 19203)
#   MCPPROXY_TOKENS space-separated bearer tokens; empty = no auth
#   MCPPROXY_AUTH_PORTS ports of replicas started with MCPPROXY_TOKENS
#                   (default 19211 19212 19213)
#
# "start" saves these settings in the state directory; "restart" (what the
# hooks run, with only MCPPROXY_STATE set) reads them back.
set -eu
STATE=${MCPPROXY_STATE:-/tmp/mcpconf-mcp-proxy}
if [ "${1:-}" != start ] && [ -f "$STATE/settings" ]; then
	. "$STATE/settings"
fi
: "${MCPPROXY_BIN:?set MCPPROXY_BIN to the mcp-proxy binary}"
PORTS=${MCPPROXY_PORTS:-19201 19202 19203}
AUTH_PORTS=${MCPPROXY_AUTH_PORTS:-19211 19212 19213}
TOKENS=${MCPPROXY_TOKENS:-}
mkdir -p "$STATE/upstreams"

# One file per upstream in $STATE/upstreams/<id>: its URL on one line.
servers_json() {
	sep=
	for f in "$STATE"/upstreams/*; do
		[ -f "$f" ] || continue
		printf '%s"%s": {"transportType": "streamable-http", "url": "%s"}' \
			"$sep" "$(basename "$f")" "$(cat "$f")"
		sep=,
	done
}

tokens_json() {
	sep=
	for t in $1; do printf '%s"%s"' "$sep" "$t"; sep=,; done
}

config() { # port tokens
	cat <<JSON
{"mcpProxy": {"baseURL": "http://127.0.0.1:$1", "addr": "127.0.0.1:$1",
  "name": "mcp-proxy", "version": "suite", "type": "streamable-http",
  "options": {"logEnabled": true, "authTokens": [$(tokens_json "$2")]}},
 "mcpServers": {$(servers_json)}}
JSON
}

stop_one() {
	pidf="$STATE/$1.pid"
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	kill "$pid" 2>/dev/null || true
	# mcp-proxy shuts down within 5s on SIGTERM; wait for the port to free.
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	rm -f "$pidf"
}

start_one() { # port tokens
	config "$1" "$2" >"$STATE/$1.json"
	setsid "$MCPPROXY_BIN" --config "$STATE/$1.json" --expand-env=false \
		>>"$STATE/$1.log" 2>&1 </dev/null &
	echo $! >"$STATE/$1.pid"
}

# A replica is up when it answers HTTP at all (404 on / is its only
# answer before an upstream route exists), and each listed upstream is up
# when its route answers an initialize: routes appear only once mcp-proxy
# has connected to that upstream.
wait_one() { # port token
	auth=
	[ -n "$2" ] && auth="Authorization: Bearer $2"
	i=0
	until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "replica :$1 not listening" >&2; return 1; }
		sleep 0.1
	done
	for f in "$STATE"/upstreams/*; do
		[ -f "$f" ] || continue
		id=$(basename "$f")
		i=0
		until curl -sf -o /dev/null --max-time 1 -H "$auth" \
			-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
			-d '{"jsonrpc":"2.0","id":1,"method":"ping"}' "http://127.0.0.1:$1/$id/mcp"; do
			i=$((i + 1)); [ $i -lt 100 ] || { echo "replica :$1 does not serve /$id/mcp" >&2; return 1; }
			sleep 0.1
		done
	done
}

case "${1:-}" in
start | restart)
	if [ "$1" = start ]; then
		cat >"$STATE/settings" <<SETTINGS
MCPPROXY_BIN='$MCPPROXY_BIN'
MCPPROXY_PORTS='$PORTS'
MCPPROXY_AUTH_PORTS='$AUTH_PORTS'
MCPPROXY_TOKENS='$TOKENS'
SETTINGS
	fi
	for p in $PORTS $AUTH_PORTS; do stop_one "$p"; done
	for p in $PORTS; do start_one "$p" ""; done
	for p in $AUTH_PORTS; do start_one "$p" "$TOKENS"; done
	for p in $PORTS; do wait_one "$p" ""; done
	first=${TOKENS%% *}
	for p in $AUTH_PORTS; do wait_one "$p" "$first"; done
	;;
stop)
	for p in $PORTS $AUTH_PORTS; do stop_one "$p"; done
	;;
*)
	echo "usage: $0 start|restart|stop" >&2
	exit 2
	;;
esac
