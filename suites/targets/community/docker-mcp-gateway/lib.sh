# Shared by the docker/mcp-gateway hooks. spec_ports: the ports of the spec's
# replicas (MCPCONF_GATEWAY_URLS, http://127.0.0.1:<port> each).
set -eu
STATE=${DOCKERMCP_STATE:-/tmp/mcpconf-docker-mcp}
ID=$MCPCONF_UPSTREAM_ID

spec_ports() {
	for u in ${MCPCONF_GATEWAY_URLS:-$MCPCONF_GATEWAY_URL}; do
		p=${u##*:}
		echo "${p%%/*}"
	done
}
