#!/bin/sh
# Upstream hook: replace an upstream the gateway already has (new URL,
# headers or TLS material must close its upstream sessions; a new name,
# description or tags must not). Same stdin and environment as add.sh.
set -eu
curl -fsS --max-time 10 -X PUT \
  -H "Authorization: Bearer ${MCPCONF_ADMIN_TOKEN}" \
  -H 'Content-Type: application/json' \
  --data-binary @- \
  "${MCPCONF_GATEWAY_URL}/admin/upstreams/${MCPCONF_UPSTREAM_ID}"
