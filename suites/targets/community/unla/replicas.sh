#!/bin/sh
# Start or stop the Unla replicas the suite talks to, and the Redis they
# share sessions through. Unla binds every interface (":<port>") with no
# host setting, so run this ONLY inside a network namespace of its own,
# together with the suite (README.md):
#
#   unshare -n sh -c 'ip link set lo up; sh replicas.sh start && mcpconf run ...; sh replicas.sh stop'
#
#   UNLA_BIN    Unla's mcp-gateway binary (built outside this repository)
#   UNLA_SRC    a checkout of Unla: it must run from internal/core, which
#               holds the assets/templates it loads at start
#   UNLA_STATE  working directory: logs, pids, sqlite files (default
#               /tmp/mcpconf-unla)
#
# Replica i listens on 1930i, its /_reload notifier on 1939i (target.yaml
# lists both); Redis on 127.0.0.1:6379.
set -eu
STATE=${UNLA_STATE:-/tmp/mcpconf-unla}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$STATE"

stop_pid() {
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	kill "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	rm -f "$1"
}

case "${1:-}" in
start)
	: "${UNLA_BIN:?set UNLA_BIN to Unla's mcp-gateway binary}"
	: "${UNLA_SRC:?set UNLA_SRC to a checkout of Unla (its internal/core holds assets/templates)}"
	redis-server --port 6379 --bind 127.0.0.1 --save "" >"$STATE/redis.log" 2>&1 &
	echo $! >"$STATE/redis.pid"
	i=0
	until redis-cli -p 6379 ping >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt 100 ] || { echo "redis did not start; see $STATE/redis.log" >&2; exit 1; }
		sleep 0.1
	done
	for n in 1 2 3; do
		rm -f "$STATE/unla$n.db"
		(
			cd "$UNLA_SRC/internal/core"
			UNLA_PORT=1930$n UNLA_RELOAD_PORT=1939$n UNLA_SESSION_STORE=redis \
				UNLA_PID="$STATE/unla$n.gwpid" UNLA_DB="$STATE/unla$n.db" \
				exec "$UNLA_BIN" -c "$HERE/gateway.yaml"
		) >"$STATE/unla$n.log" 2>&1 &
		echo $! >"$STATE/unla$n.pid"
	done
	for n in 1 2 3; do
		i=0
		until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:1930$n/health_check")" = 200 ]; do
			i=$((i + 1)); [ $i -lt 150 ] || { echo "replica :1930$n not healthy; see $STATE/unla$n.log" >&2; exit 1; }
			sleep 0.1
		done
	done
	;;
stop)
	for n in 1 2 3; do stop_pid "$STATE/unla$n.pid"; done
	stop_pid "$STATE/redis.pid"
	;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
