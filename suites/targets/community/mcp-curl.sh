# Shared by the repro.sh scripts here: a tiny curl MCP client for the hand
# reproductions in RESULTS.md. AUTH: an extra header line, e.g.
# "Authorization: Bearer tok-alice".
H1='Content-Type: application/json'
H2='Accept: application/json, text/event-stream'
AUTH=${AUTH:-X-None: 1}
# mcp_init URL -> prints the Mcp-Session-Id ("" if none), sends initialized
mcp_init() {
	sid=$(curl -s -D - -o /dev/null -H "$H1" -H "$H2" -H "$AUTH" "$1" \
		-d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"repro","version":"1"}}}' |
		awk 'tolower($1)=="mcp-session-id:"{print $2}' | tr -d '\r')
	curl -s -o /dev/null -H "$H1" -H "$H2" -H "$AUTH" ${sid:+-H "Mcp-Session-Id: $sid"} "$1" \
		-d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	echo "$sid"
}
# mcp_call URL SID TOOL ARGS-JSON -> prints the result line (data: ...)
mcp_call() {
	curl -s -H "$H1" -H "$H2" -H "$AUTH" ${2:+-H "Mcp-Session-Id: $2"} "$1" \
		-d "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"$3\",\"arguments\":${4:-{\}}}}" |
		sed -n -e 's/^data: //p' -e t -e '/^{/p'
}
