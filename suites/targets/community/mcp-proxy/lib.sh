# Shared by the mcp-proxy hooks. spec_ports: the ports of the spec's
# replicas (MCPCONF_GATEWAY_URLS, http://127.0.0.1:<port> each).
set -eu
STATE=${MCPPROXY_STATE:-/tmp/mcpconf-mcp-proxy}
ID=$MCPCONF_UPSTREAM_ID

spec_ports() {
	for u in ${MCPCONF_GATEWAY_URLS:-$MCPCONF_GATEWAY_URL}; do
		p=${u##*:}
		echo "${p%%/*}"
	done
}
