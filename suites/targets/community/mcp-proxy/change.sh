#!/bin/sh
# Upstream hook for mcp-proxy: change an upstream. The same as add.sh: a
# restart is the only way mcp-proxy takes a new URL. A restart also drops
# its upstream session for every other upstream and every downstream
# client of those replicas, which is more than a change should do (see
# README.md).
exec sh ./add.sh
