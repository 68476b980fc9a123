#!/bin/sh
# Upstream hook for Unla: add or replace one upstream by pushing its MCP
# config to every replica's /_reload, then wait until /<id>/mcp serves it.
# Unla's proxied server takes a type, a URL and a startup policy only:
# headers and TLS material from the JSON on stdin cannot be passed on.
# policy onStart: Unla keeps one upstream session open from the moment the
# config lands. (onDemand, in Unla's example config, opens and closes an
# upstream session around every tool call: see RESULTS.md.)
. ./lib.sh
cat >/dev/null
post_config "$(printf '{"name":"%s","tenant":"default","routers":[{"server":"%s","prefix":"/%s"}],"mcpServers":[{"type":"streamable-http","name":"%s","url":"%s","policy":"onStart"}]}' \
	"$ID" "$ID" "$ID" "$ID" "$MCPCONF_UPSTREAM_URL")"
wait_route served
