#!/bin/bash
# Hand reproductions for TBXark/mcp-proxy (see RESULTS.md).
# Needs bin/counter and bin/wedge (make build) and the gateway binary (README.md); uses
# its own ports and state directory, so it can run beside a suite run.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../mcp-curl.sh"
W=$(cd "$HERE/../../../.." && pwd); D=$HERE
export MCPPROXY_BIN=${MCPPROXY_BIN:-/work/scratch/bin/mcp-proxy} MCPPROXY_STATE=/tmp/repro-mcp-proxy MCPPROXY_PORTS="19221" MCPPROXY_AUTH_PORTS="19231" MCPPROXY_TOKENS="tok-alice tok-bob"
rm -rf $MCPPROXY_STATE
$W/bin/counter --listen 127.0.0.1:19121 >/dev/null 2>&1 & C=$!
$W/bin/counter --listen 127.0.0.1:19122 >/dev/null 2>&1 & C2=$!
$W/bin/wedge --listen 127.0.0.1:19123 >/dev/null 2>&1 & WG=$!
cd $D && sh replicas.sh start
echo '{}' | MCPCONF_HOOK=add MCPCONF_UPSTREAM_ID=counter MCPCONF_UPSTREAM_URL=http://127.0.0.1:19121/mcp MCPCONF_GATEWAY_URLS="http://127.0.0.1:19221 http://127.0.0.1:19231" sh ./add.sh
U=http://127.0.0.1:19221/counter/mcp
echo '## ISO-1: two clients, each with its own initialize; A increments 5 times, B 3 times'
A=$(mcp_init $U); B=$(mcp_init $U); echo "Mcp-Session-Id minted: A='$A' B='$B'"
for i in 1 2 3 4 5; do mcp_call $U "$A" increment >/dev/null; done
for i in 1 2 3; do mcp_call $U "$B" increment >/dev/null; done
echo "A get: $(mcp_call $U "$A" get)"; echo "B get: $(mcp_call $U "$B" get)"
echo "upstream /stats: initializes=$(curl -s http://127.0.0.1:19121/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["initializes"], "live sessions:", [(s["id"][:8], s["value"]) for s in d["live"]])')"
echo '## ISO-2: the same with one token (auth replica), alice twice'
AUTH='Authorization: Bearer tok-alice'; U2=http://127.0.0.1:19231/counter/mcp
A=$(mcp_init $U2); B=$(mcp_init $U2)
mcp_call $U2 "$A" reset >/dev/null; for i in 1 2 3 4 5; do mcp_call $U2 "$A" increment >/dev/null; done; for i in 1 2 3; do mcp_call $U2 "$B" increment >/dev/null; done
echo "alice A get: $(mcp_call $U2 "$A" get)"; echo "alice B get: $(mcp_call $U2 "$B" get)"
AUTH='X-None: 1'
echo '## RTE-4, RTE-7: progress and notifications from the upstream'
echo 'slow with progressToken "p", 3 steps; every SSE event on the call stream:'
curl -s -H "$H1" -H "$H2" $U -d '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"slow","arguments":{"steps":3},"_meta":{"progressToken":"p"}}}' | sed -n -e 's/^data: /  /p' -e t -e 's/^{/  {/p' | cut -c1-160
curl -s --max-time 4 -H "$H2" $U > /tmp/repro-proxy-get.out 2>&1 & G=$!
sleep 1
echo "notify tools, same request: $(curl -s -H "$H1" -H "$H2" $U -d '{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"notify","arguments":{"kind":"tools"}}}' | cut -c1-160)"
echo "notify resources, same request: $(curl -s -H "$H1" -H "$H2" $U -d '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"notify","arguments":{"kind":"resources"}}}' | cut -c1-160)"
wait $G; echo "GET on the route, 4 s: $(head -c 200 /tmp/repro-proxy-get.out)"
P=
echo '## RTE-5: 16 callers at once, ids 1 and "1" alternating; the id each answer came back under'
for i in $(seq 0 15); do
  if [ $((i % 2)) = 0 ]; then id=1; else id='"1"'; fi
  ( r=$(curl -s -H "$H1" -H "$H2" $U -d "{\"jsonrpc\":\"2.0\",\"id\":$id,\"method\":\"tools/call\",\"params\":{\"name\":\"get\",\"arguments\":{}}}")
    echo "caller $i sent id $id, got id $(printf '%s' "$r" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["id"]))')" ) & P="$P $!"
done; wait $P
echo '## TRN-6: tokens on the auth replica'
for tok in '' tok-wrong tok-alice; do
	curl -s -o /dev/null -w "token '$tok': %{http_code}\n" -H "$H1" -H "$H2" ${tok:+-H "Authorization: Bearer $tok"} $U2 -d '{"jsonrpc":"2.0","id":1,"method":"ping"}'
done
echo '## ISO-7: a caller Cookie (and Authorization on the open replica) on a tools/call'
curl -s -o /dev/null -H "$H1" -H "$H2" -H 'Cookie: mcpconf_session=caller-secret' -H 'Authorization: Bearer caller-token' $U \
	-d '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"get","arguments":{}}}'
echo "headers the upstream got on its last request: $(curl -s http://127.0.0.1:19121/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); h=d["headers"][-1]["headers"]; print({k: v for k, v in h.items() if k in ("Cookie", "Authorization")})')"
echo '## TRN-7: tools/list with MCP-Protocol-Version: 1999-01-01'
curl -s -o /dev/null -w "%{http_code}\n" -H "$H1" -H "$H2" -H 'MCP-Protocol-Version: 1999-01-01' $U -d '{"jsonrpc":"2.0","id":5,"method":"tools/list"}'
echo '## SEC-3: the bodies {"jsonrpc":"2.0"} (neither request nor response) and null'
for body in '{"jsonrpc":"2.0"}' 'null'; do
	curl -s -w " -> status %{http_code}\n" -H "$H1" -H "$H2" $U -d "$body"
done
echo '## SEC-5: a 16 MiB initialize body'
head -c $((16<<20)) /dev/zero | tr '\0' x | sed 's/^/{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"big","version":"/; s/$/"}}}/' > /tmp/repro-proxy-big.json
curl -s -o /tmp/repro-proxy-big.out -w 'status %{http_code}\n' -H "$H1" -H "$H2" $U --data-binary @/tmp/repro-proxy-big.json; head -c 120 /tmp/repro-proxy-big.out; echo
echo '## TRN-10: the client gives up on block after 2 s'
echo '{}' | MCPCONF_HOOK=add MCPCONF_UPSTREAM_ID=w MCPCONF_UPSTREAM_URL=http://127.0.0.1:19123/mcp MCPCONF_GATEWAY_URLS="http://127.0.0.1:19221" sh ./add.sh
curl -s --max-time 2 -o /dev/null -H "$H1" -H "$H2" http://127.0.0.1:19221/w/mcp -d '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"block","arguments":{}}}'; echo "curl exit $? (28 = our timeout)"
sleep 6; echo "wedge /stats 6 s later: $(curl -s http://127.0.0.1:19123/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print([{k: s.get(k) for k in ("id","blocking","cancelled")} for s in d["live"]])')"
echo '## EVI-5: change the URL of counter to a second counter (the change hook: new config, restart)'
st() { curl -s http://127.0.0.1:$1/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print([s["id"][:8] for s in d["live"]], "ended:", [(s["id"][:8], s.get("endReason")) for s in d["ended"]])'; }
echo "old counter before: live $(st 19121)"
echo '{}' | MCPCONF_HOOK=change MCPCONF_UPSTREAM_ID=counter MCPCONF_UPSTREAM_URL=http://127.0.0.1:19122/mcp MCPCONF_GATEWAY_URLS="http://127.0.0.1:19221 http://127.0.0.1:19231" sh ./change.sh
echo "increment after the change: $(mcp_call $U '' increment)"
sleep 3; echo "3 s later, old counter: live $(st 19121)"; echo "new counter: live $(st 19122)"
echo '## EVI-7: remove the upstream (the remove hook: new config without it, restart)'
echo "live upstream sessions before (new counter): $(curl -s http://127.0.0.1:19122/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print([s["id"][:8] for s in d["live"]], "ended:", [(s["id"][:8], s.get("endReason")) for s in d["ended"]])')"
echo '{}' | MCPCONF_UPSTREAM_ID=counter sh ./remove.sh
curl -s -o /dev/null -w "POST /counter/mcp after removal: %{http_code}\n" -H "$H1" -H "$H2" $U -d '{"jsonrpc":"2.0","id":1,"method":"ping"}'
sleep 3; echo "3 s later, live upstream sessions (new counter): $(curl -s http://127.0.0.1:19122/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print([s["id"][:8] for s in d["live"]], "ended:", [(s["id"][:8], s.get("endReason")) for s in d["ended"]])')"
echo '## EVI-5, EVI-7: does a stopped replica close its upstream session? 10 restarts of one replica with one upstream'
echo '{}' | MCPCONF_HOOK=add MCPCONF_UPSTREAM_ID=counter MCPCONF_UPSTREAM_URL=http://127.0.0.1:19121/mcp MCPCONF_GATEWAY_URLS="http://127.0.0.1:19221" sh ./add.sh
n0=$(curl -s http://127.0.0.1:19121/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["live"]), len(d["ended"]))')
for i in $(seq 1 10); do sh replicas.sh restart 19221; done; sleep 3
echo "counter (live, ended) before: ($n0); 3 s after 10 restarts: $(curl -s http://127.0.0.1:19121/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["live"]), len(d["ended"]), "end reasons:", sorted(set(s.get("endReason") for s in d["ended"])))')"
echo "replica log, restarts that logged 'Shutting down' for counter: $(grep -c '<counter> Shutting down' $MCPPROXY_STATE/19221.log)"
sh replicas.sh stop; kill $C $C2 $WG
