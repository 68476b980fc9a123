#!/bin/sh
# Upstream hook: add one upstream to the gateway under test.
#
# The suite runs this with the upstream as JSON on stdin
#   {"id":"counter","url":"http://127.0.0.1:41234/mcp","name":"counter", ...}
# and in the environment:
#   MCPCONF_HOOK          add | change | remove
#   MCPCONF_UPSTREAM_ID   the upstream's id (tools on /mcp are <id>.<tool>)
#   MCPCONF_UPSTREAM_URL  its MCP endpoint
#   MCPCONF_GATEWAY_URL   base URL of the first replica of the spec
#   MCPCONF_GATEWAY_URLS  base URLs of every replica of the spec
#   MCPCONF_ADMIN_TOKEN   external.adminToken of the target file
# Exit 0 when the gateway serves the upstream. Output is kept as evidence.
#
# This one drives the reference gateway's admin API; for another gateway,
# turn the JSON into whatever its API or config reload takes.
set -eu
curl -fsS --max-time 10 -X PUT \
  -H "Authorization: Bearer ${MCPCONF_ADMIN_TOKEN}" \
  -H 'Content-Type: application/json' \
  --data-binary @- \
  "${MCPCONF_GATEWAY_URL}/admin/upstreams/${MCPCONF_UPSTREAM_ID}"
