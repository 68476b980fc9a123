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
#   MCPPROXY_STATE  working directory: upstream lists, configs, logs, pids
#   MCPPROXY_PORTS  one loopback port per replica (default 19201 19202 19203)
#   MCPPROXY_TOKENS space-separated bearer tokens; empty = no auth
#   MCPPROXY_AUTH_PORTS ports of replicas started with MCPPROXY_TOKENS
#                   (default 19211 19212 19213)
#
# "start" saves these settings in the state directory and starts every
# replica with no upstream; "restart PORT..." (what the hooks run, with only
# MCPPROXY_STATE set) reads them back and restarts the replicas named.
#
# Each replica has its own upstream set, $STATE/upstreams/<port>/<id> (the
# URL on one line): a hook gives an upstream only to the replicas of its
# spec (MCPCONF_GATEWAY_URLS). mcp-proxy opens its upstream session when it
# starts, so an upstream configured on all six replicas would show the
# spec's fake six upstream sessions where the spec's replicas hold one.
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

servers_json() { # port
	sep=
	for f in "$STATE/upstreams/$1"/*; do
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
 "mcpServers": {$(servers_json "$1")}}
JSON
}

is_auth() { # port
	for a in $AUTH_PORTS; do [ "$a" = "$1" ] && return 0; done
	return 1
}

# stop_all ports...: SIGTERM every replica at once, then wait for all of
# them (a graceful shutdown can wait seconds on open GET streams; one at a
# time, six replicas made every hook slow).
stop_all() {
	pids=
	for p in "$@"; do
		pidf="$STATE/$p.pid"
		[ -f "$pidf" ] || continue
		pid=$(cat "$pidf")
		kill "$pid" 2>/dev/null || true
		pids="$pids $pid"
		rm -f "$pidf"
	done
	for pid in $pids; do
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	done
}

start_one() { # port
	tokens=
	is_auth "$1" && tokens=$TOKENS
	mkdir -p "$STATE/upstreams/$1"
	config "$1" "$tokens" >"$STATE/$1.json"
	setsid "$MCPPROXY_BIN" --config "$STATE/$1.json" --expand-env=false \
		>>"$STATE/$1.log" 2>&1 </dev/null &
	echo $! >"$STATE/$1.pid"
}

# A replica is up when it answers HTTP at all (404 on / is its only
# answer before an upstream route exists), and serves /<id>/mcp for every
# upstream in its set: mcp-proxy registers a route only once it has
# connected to that upstream. An upstream it cannot reach (a fake a failed
# spec left behind) gets no route: wait for the hook's own upstream only.
wait_one() { # port
	auth=
	is_auth "$1" && auth="Authorization: Bearer ${TOKENS%% *}"
	i=0
	until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "replica :$1 not listening" >&2; return 1; }
		sleep 0.1
	done
	id=${MCPCONF_UPSTREAM_ID:-}
	[ -n "$id" ] && [ -f "$STATE/upstreams/$1/$id" ] || return 0
	i=0
	until curl -sf -o /dev/null --max-time 1 -H "$auth" \
		-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
		-d '{"jsonrpc":"2.0","id":1,"method":"ping"}' "http://127.0.0.1:$1/$id/mcp"; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "replica :$1 does not serve /$id/mcp" >&2; return 1; }
		sleep 0.1
	done
}

restart() { # ports...
	stop_all "$@"
	for p in "$@"; do start_one "$p"; done
	for p in "$@"; do wait_one "$p"; done
}

case "${1:-}" in
start)
	cat >"$STATE/settings" <<SETTINGS
MCPPROXY_BIN='$MCPPROXY_BIN'
MCPPROXY_PORTS='$PORTS'
MCPPROXY_AUTH_PORTS='$AUTH_PORTS'
MCPPROXY_TOKENS='$TOKENS'
SETTINGS
	# A new run starts with no upstreams: the suite adds its own.
	rm -rf "$STATE/upstreams"
	restart $PORTS $AUTH_PORTS
	;;
restart)
	shift
	[ $# -gt 0 ] || set -- $PORTS $AUTH_PORTS
	restart "$@"
	;;
stop)
	stop_all $PORTS $AUTH_PORTS
	;;
*)
	echo "usage: $0 start|restart [port...]|stop" >&2
	exit 2
	;;
esac
