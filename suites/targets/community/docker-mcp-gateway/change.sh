#!/bin/sh
# Upstream hook for docker/mcp-gateway: change an upstream. The same as
# add.sh: a restart is the only way a --static gateway takes a new URL, and
# it also drops every other session (see README.md).
exec sh ./add.sh
