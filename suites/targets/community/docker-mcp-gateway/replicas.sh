#!/bin/sh
# Start, restart or stop the docker/mcp-gateway replicas the suite talks to.
#
# Standalone (no Docker daemon, no Docker Desktop) the gateway must run in
# --static mode, and --static turns its file watching off: it reads its
# catalog once. So adding, changing or removing an upstream means rewriting
# the catalog and restarting the process; the hooks do that through this
# script. Start it by hand once before the suite (see README.md).
#
#   DOCKERMCP_BIN    the docker-mcp binary (built outside this repository)
#   DOCKERMCP_STATE  working directory: upstream list, HOME, logs, pids
#   DOCKERMCP_PORTS  one loopback port per replica (default 19401 19402 19403)
#   DOCKERMCP_TOKEN  MCP_GATEWAY_AUTH_TOKEN of the auth replicas
#   DOCKERMCP_AUTH_PORTS ports of replicas started with that token
#                    (default 19411 19412 19413)
#
# "start" saves these settings in the state directory and starts every
# replica with no upstream; "restart PORT..." (what the hooks run, with only
# DOCKERMCP_STATE set) and "stop" read them back.
set -eu
STATE=${DOCKERMCP_STATE:-/tmp/mcpconf-docker-mcp}
if [ "${1:-}" != start ] && [ -f "$STATE/settings" ]; then
	. "$STATE/settings"
fi
: "${DOCKERMCP_BIN:?set DOCKERMCP_BIN to the docker-mcp binary}"
PORTS=${DOCKERMCP_PORTS:-19401 19402 19403}
AUTH_PORTS=${DOCKERMCP_AUTH_PORTS:-19411 19412 19413}
TOKEN=${DOCKERMCP_TOKEN:-tok-alice}
# The gateway reads catalogs only under $HOME/.docker/mcp/catalogs/ (it
# refuses a --catalog path elsewhere), one per replica here; a HOME of
# our own keeps the user's Docker config (and its feature flags) out.
HOME_DIR=$STATE/home
CATALOGS=$HOME_DIR/.docker/mcp/catalogs
mkdir -p "$STATE/upstreams" "$CATALOGS"

# Each replica has its own upstream set, $STATE/upstreams/<port>/<id> (the
# URL on one line), and its own catalog: a hook gives an upstream only to
# the replicas of its spec (MCPCONF_GATEWAY_URLS) and restarts only those.
# Every upstream is a "remote" server of that name; --servers enables them
# all (and, as a side effect, turns the dynamic mcp-add/mcp-find tools off).
# Each gets prefix <id>, so its tools show as <id>__<tool> on /mcp: without
# a prefix, two upstreams with the same tools (two counters) would collide.
write_catalog() { # port
	names=
	mkdir -p "$STATE/upstreams/$1"
	{
		echo "registry:"
		for f in "$STATE/upstreams/$1"/*; do
			[ -f "$f" ] || continue
			id=$(basename "$f")
			names="$names${names:+,}$id"
			printf '  %s:\n    type: remote\n    prefix: %s\n    remote:\n      url: %s\n      transport_type: streamable-http\n' \
				"$id" "$id" "$(cat "$f")"
		done
	} >"$CATALOGS/suite-$1.yaml"
	SERVERS=$names
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
	write_catalog "$1"
	tok=
	is_auth "$1" && tok=$TOKEN
	set -- "$1" "$tok"
	: >"$STATE/empty.env"
	(
		export HOME="$HOME_DIR" DOCKER_MCP_IN_CONTAINER=1 DOCKER_MCP_ALLOW_INSECURE_REMOTE_URLS=1
		if [ -n "$2" ]; then export MCP_GATEWAY_AUTH_TOKEN="$2"; else unset MCP_GATEWAY_AUTH_TOKEN; fi
		auth=--allow-unauthenticated
		[ -n "$2" ] && auth=
		exec setsid "$DOCKERMCP_BIN" gateway run --transport streaming \
			--host 127.0.0.1 --port "$1" --static $auth \
			--catalog "$CATALOGS/suite-$1.yaml" ${SERVERS:+--servers "$SERVERS"} \
			--secrets "$STATE/empty.env" --verify-signatures=false \
			>>"$STATE/$1.log" 2>&1 </dev/null
	) &
	echo $! >"$STATE/$1.pid"
}

# Up when /health answers 200 within 30 s (the gateway reports healthy once its
# configuration is loaded).
wait_one() {
	i=0
	until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$1/health")" = 200 ]; do
		i=$((i + 1)); [ $i -lt 300 ] || { echo "replica :$1 not healthy; see $STATE/$1.log" >&2; return 1; }
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
DOCKERMCP_BIN='$DOCKERMCP_BIN'
DOCKERMCP_PORTS='$PORTS'
DOCKERMCP_AUTH_PORTS='$AUTH_PORTS'
DOCKERMCP_TOKEN='$TOKEN'
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
