#!/bin/bash
# Hand reproductions for AmoyLab/Unla (see RESULTS.md). Run inside unshare -n.
# Needs bin/counter and bin/wedge (make build), the Unla binary and checkout
# (README.md): unshare -n bash repro.sh (Unla and its Redis bind their fixed ports).
set -u
ip link set lo up
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../mcp-curl.sh"
W=$(cd "$HERE/../../../.." && pwd); D=$HERE
export UNLA_BIN=${UNLA_BIN:-/work/scratch/unla/bin/unla-mcp-gateway} UNLA_SRC=${UNLA_SRC:-/work/scratch/unla/src} UNLA_STATE=${UNLA_STATE:-/tmp/repro-unla}
cd $D && sh replicas.sh start || exit 1
$W/bin/counter --listen 127.0.0.1:19131 >/dev/null 2>&1 & C=$!
$W/bin/counter --listen 127.0.0.1:19133 >/dev/null 2>&1 & C2=$!
$W/bin/wedge --listen 127.0.0.1:19132 >/dev/null 2>&1 & WG=$!
G="http://127.0.0.1:19301 http://127.0.0.1:19302"
export UNLA_RELOAD_URLS="http://127.0.0.1:19391 http://127.0.0.1:19392 http://127.0.0.1:19393"
echo '{}' | MCPCONF_UPSTREAM_ID=counter MCPCONF_UPSTREAM_URL=http://127.0.0.1:19131/mcp MCPCONF_GATEWAY_URLS="$G" sh ./add.sh >/dev/null
echo '{}' | MCPCONF_UPSTREAM_ID=w MCPCONF_UPSTREAM_URL=http://127.0.0.1:19132/mcp MCPCONF_GATEWAY_URLS="http://127.0.0.1:19301" sh ./add.sh >/dev/null
stats() { curl -s http://127.0.0.1:$1/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print("initializes", d["initializes"], "live", [(s["id"][:8], s["value"]) for s in d["live"]], "ended", [(s["id"][:8], s.get("endReason")) for s in d["ended"]])'; }
U=http://127.0.0.1:19301/counter/mcp
echo '## TRN-8: initialize asking 2025-06-18'
curl -s -H "$H1" -H "$H2" $U -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"repro","version":"1"}}}' | grep -o '"protocolVersion":"[^"]*"'
echo "upstream before any session: $(stats 19131)"
echo '## ISO-1: sessions A and B; A increments 5 times, B 3 times'
A=$(mcp_init $U); B=$(mcp_init $U); echo "A=$A B=$B"
for i in 1 2 3 4 5; do mcp_call $U $A increment >/dev/null; done; for i in 1 2 3; do mcp_call $U $B increment >/dev/null; done
echo "A get: $(mcp_call $U $A get)"; echo "B get: $(mcp_call $U $B get)"
echo "upstream: $(stats 19131)"
echo '## EVI-1 / EVI-3: DELETE session A, then a new session C reads the counter'
curl -s -o /dev/null -w "DELETE A: %{http_code}\n" -X DELETE -H "Mcp-Session-Id: $A" $U
sleep 3; echo "upstream 3 s after DELETE: $(stats 19131)"
C3=$(mcp_init $U); echo "new session C get: $(mcp_call $U $C3 get)"
echo '## XPD-1: session C (minted on r1) increments twice via r1, three times via r2 (sessions shared through Redis)'
U2=http://127.0.0.1:19302/counter/mcp
mcp_call $U $C3 reset >/dev/null; mcp_call $U2 $C3 reset >/dev/null
for i in 1 2; do mcp_call $U $C3 increment >/dev/null; done; for i in 1 2 3; do mcp_call $U2 $C3 increment >/dev/null; done
echo "get via r1: $(mcp_call $U $C3 get)"; echo "get via r2: $(mcp_call $U2 $C3 get)"
echo '## XPD-2: session X minted on r1, two increments, DELETE through r2; then X on r1 and r2, and the upstream sessions'
X=$(mcp_init $U); for i in 1 2; do mcp_call $U $X increment >/dev/null; done
echo "upstream before the DELETE: $(stats 19131)"
curl -s -o /dev/null -w "DELETE X via r2: %{http_code}\n" -X DELETE -H "Mcp-Session-Id: $X" $U2
for u in $U $U2; do curl -s -w " -> status %{http_code}\n" -H "$H1" -H "$H2" -H "Mcp-Session-Id: $X" $u -d '{"jsonrpc":"2.0","id":3,"method":"tools/list"}' | tail -c 120; done
sleep 3; echo "upstream 3 s after the DELETE: $(stats 19131)"
echo '## TRN-7: tools/list with MCP-Protocol-Version: 1999-01-01'
curl -s -o /dev/null -w "%{http_code}\n" -H "$H1" -H "$H2" -H "Mcp-Session-Id: $C3" -H 'MCP-Protocol-Version: 1999-01-01' $U -d '{"jsonrpc":"2.0","id":5,"method":"tools/list"}'
echo '## SEC-3: {"jsonrpc":"1.0",...} in a session'
curl -s -w "\nstatus %{http_code}\n" -H "$H1" -H "$H2" -H "Mcp-Session-Id: $C3" $U -d '{"jsonrpc":"1.0","id":1,"method":"tools/list"}' | head -c 300; echo
echo '## SEC-2: three session ids (UUID version nibble)'
for i in 1 2 3; do mcp_init $U; done
echo '## SEC-5: a 16 MiB initialize body'
head -c $((16<<20)) /dev/zero | tr '\0' x | sed 's/^/{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"big","version":"/; s/$/"}}}/' > /tmp/repro-unla-big.json
curl -s -o /tmp/repro-unla-big.out -w 'status %{http_code}\n' -H "$H1" -H "$H2" $U --data-binary @/tmp/repro-unla-big.json; head -c 160 /tmp/repro-unla-big.out; echo
echo '## EVI-5: change the URL of counter (to a second counter) on r1 and r2'
echo "old upstream before: $(stats 19131)"
echo '{}' | MCPCONF_UPSTREAM_ID=counter MCPCONF_UPSTREAM_URL=http://127.0.0.1:19133/mcp MCPCONF_GATEWAY_URLS="$G" sh ./change.sh >/dev/null
mcp_call $U $C3 increment >/dev/null
sleep 3; echo "old upstream 3 s after the change: $(stats 19131)"; echo "new upstream: $(stats 19133)"
echo '## TRN-10: the client gives up on block after 2 s'
UW=http://127.0.0.1:19301/w/mcp; SW=$(mcp_init $UW)
curl -s --max-time 2 -o /dev/null -H "$H1" -H "$H2" -H "Mcp-Session-Id: $SW" $UW -d '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"block","arguments":{}}}'; echo "curl exit $? (28 = our timeout)"
sleep 6; echo "wedge /stats 6 s later: $(curl -s http://127.0.0.1:19132/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print([{k: s.get(k) for k in ("id","blocking","cancelled")} for s in d["live"]])')"
echo '## RTE-6: a wait call (id 7), then notifications/cancelled for id 7 in the same session'
S6=$(mcp_init $U)
curl -s --max-time 8 -o /dev/null -H "$H1" -H "$H2" -H "Mcp-Session-Id: $S6" $U -d '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"wait","arguments":{"tag":"one-7"}}}' & P6=$!
sleep 1
curl -s -w ' -> status %{http_code}\n' -H "$H1" -H "$H2" -H "Mcp-Session-Id: $S6" $U -d '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"repro"}}'
sleep 2; echo "upstream waits 2 s later: $(curl -s http://127.0.0.1:19131/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print([w for s in d["live"] for w in ((s.get("routing") or {}).get("waits") or [])])' | cut -c1-300)"
kill $P6 2>/dev/null; wait $P6 2>/dev/null
echo '## RTE-5: 16 sessions at once, ids 1 and "1" alternating; the id each answer came back under'
P=; for i in $(seq 0 15); do
  if [ $((i % 2)) = 0 ]; then id=1; else id='"1"'; fi
  ( s=$(mcp_init $U); r=$(curl -s -H "$H1" -H "$H2" -H "Mcp-Session-Id: $s" $U -d "{\"jsonrpc\":\"2.0\",\"id\":$id,\"method\":\"tools/call\",\"params\":{\"name\":\"get\",\"arguments\":{}}}" | sed -n -e 's/^data: //p' -e t -e '/^{/p')
    echo "session $i sent id $id, got id $(printf '%s' "$r" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["id"]))')" ) & P="$P $!"
done; wait $P
sh replicas.sh stop; kill $C $C2 $WG
