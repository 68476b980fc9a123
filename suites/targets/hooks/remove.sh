#!/bin/sh
# Upstream hook: remove an upstream (its upstream sessions must close). The
# suite also calls it for every upstream a spec leaves registered, because
# external replicas outlive the spec. Same stdin and environment as add.sh;
# only MCPCONF_UPSTREAM_ID matters here.
set -eu
curl -fsS --max-time 10 -X DELETE \
  -H "Authorization: Bearer ${MCPCONF_ADMIN_TOKEN}" \
  "${MCPCONF_GATEWAY_URL}/admin/upstreams/${MCPCONF_UPSTREAM_ID}"
