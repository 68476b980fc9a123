#!/bin/sh
# Upstream hook for Unla: remove an upstream by pushing its config with
# deletedAt set (Unla drops a config of that tenant and name), then wait
# until /<id>/mcp is gone (404 "Invalid prefix").
. ./lib.sh
cat >/dev/null
RELOAD_URLS=$ALL_RELOAD_URLS
post_config "$(printf '{"name":"%s","tenant":"default","deletedAt":"%s"}' "$ID" "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"
wait_route gone
