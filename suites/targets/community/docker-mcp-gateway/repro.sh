#!/bin/bash
# Hand reproductions for docker/mcp-gateway (see RESULTS.md).
# Needs bin/counter and bin/wedge (make build) and the gateway binary (README.md); uses
# its own ports and state directory, so it can run beside a suite run.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../mcp-curl.sh"
W=$(cd "$HERE/../../../.." && pwd); D=$HERE
export DOCKERMCP_BIN=${DOCKERMCP_BIN:-/work/scratch/bin/docker-mcp} DOCKERMCP_STATE=/tmp/repro-docker DOCKERMCP_PORTS="19421 19422" DOCKERMCP_AUTH_PORTS="19431"
rm -rf $DOCKERMCP_STATE
$W/bin/counter --listen 127.0.0.1:19111 --name counter >/dev/null 2>&1 & C=$!
$W/bin/wedge --listen 127.0.0.1:19112 --name w >/dev/null 2>&1 & WG=$!
$W/bin/counter --listen 127.0.0.1:19113 --name c2 >/dev/null 2>&1 & C2=$!
# wait_up PORT: until the fake answers /stats (5 s at most)
wait_up() { i=0; until curl -s -o /dev/null --max-time 1 http://127.0.0.1:$1/stats; do i=$((i + 1)); [ $i -lt 50 ] || return 1; sleep 0.1; done; }
wait_up 19111; wait_up 19112; wait_up 19113
cd $D && sh replicas.sh start
hook() { echo '{}' | MCPCONF_HOOK=add MCPCONF_UPSTREAM_ID=$1 MCPCONF_UPSTREAM_URL=$2 MCPCONF_GATEWAY_URLS="${3:-http://127.0.0.1:19421 http://127.0.0.1:19422 http://127.0.0.1:19431}" sh ./add.sh; }
# The counter and a second counter c2 on A (and the counter on the auth replica), the wedge on B.
# Each fake exposes its own resource template counter://<name>/{name}; the gateway refuses to load
# two servers with the same one, so two counters on one replica need distinct --name.
hook counter http://127.0.0.1:19111/mcp "http://127.0.0.1:19421 http://127.0.0.1:19431"; hook w http://127.0.0.1:19112/mcp http://127.0.0.1:19422
hook c2 http://127.0.0.1:19113/mcp http://127.0.0.1:19421
A=http://127.0.0.1:19421/mcp B=http://127.0.0.1:19422/mcp
echo '## XPD: a session minted on replica A, used through replica B'
S=$(mcp_init $A); echo "session on A: $S"
echo "increment via A: $(mcp_call $A $S counter__increment)"
echo -n "increment via B: "; curl -s -o /dev/null -w '%{http_code} ' -H "$H1" -H "$H2" -H "Mcp-Session-Id: $S" $B -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"counter__increment","arguments":{}}}'; curl -s -H "$H1" -H "$H2" -H "Mcp-Session-Id: $S" $B -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"counter__increment","arguments":{}}}'; echo
echo '## SEC-5: a 16 MiB tools/call body'
head -c $((16<<20)) /dev/zero | tr '\0' x | sed 's/^/{"jsonrpc":"2.0","id":3,"method":"tools\/call","params":{"name":"counter__increment","arguments":{"pad":"/; s/$/"}}}/' > /tmp/repro-big.json
curl -s -o /tmp/repro-big.out -w 'status %{http_code}, body %{size_download} bytes\n' -H "$H1" -H "$H2" -H "Mcp-Session-Id: $S" $A --data-binary @/tmp/repro-big.json; head -c 200 /tmp/repro-big.out; echo
echo '## SEC-5: a 16 MiB initialize without a session (what the suite sends)'
head -c $((16<<20)) /dev/zero | tr '\0' x | sed 's/^/{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"repro","version":"1"},"_meta":{"pad":"/; s/$/"}}}/' > /tmp/repro-big.json
curl -s -o /tmp/repro-big.out -w 'status %{http_code}, body %{size_download} bytes\n' -H "$H1" -H "$H2" $A --data-binary @/tmp/repro-big.json; head -c 160 /tmp/repro-big.out; echo
echo "replica A /health after it: $(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19421/health)"
echo '## TRN-10: the client gives up on w__block after 2 s; does the upstream see the call cancelled?'
SB=$(mcp_init $B)
curl -s --max-time 2 -o /dev/null -H "$H1" -H "$H2" -H "Mcp-Session-Id: $SB" $B -d '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"w__block","arguments":{}}}'; echo "curl exit $? (28 = our timeout)"
# Poll the wedge's /stats until the call shows as cancelled, for 6 s at most.
wstats() { curl -s http://127.0.0.1:19112/stats | python3 -c 'import json,sys; d=json.load(sys.stdin); print([{k: s.get(k) for k in ("id","blocking","cancelled")} for s in d["live"]])'; }
i=0; while [ $i -lt 60 ] && ! wstats | grep -q "'cancelled': [^N]"; do i=$((i + 1)); sleep 0.1; done
echo "wedge /stats after $((i / 10)).$((i % 10)) s: $(wstats)"
echo '## TRN-6: a wrong token on the auth replica'
curl -s -o /dev/null -w 'no token: %{http_code}\n' -H "$H1" -H "$H2" http://127.0.0.1:19431/mcp -d '{"jsonrpc":"2.0","id":1,"method":"ping"}'
curl -s -o /dev/null -w 'Bearer tok-wrong: %{http_code}\n' -H "$H1" -H "$H2" -H 'Authorization: Bearer tok-wrong' http://127.0.0.1:19431/mcp -d '{"jsonrpc":"2.0","id":1,"method":"ping"}'
echo '## RTE: elicitation, sampling, progress and notifications from a remote upstream'
# A client that declares elicitation and sampling, as RTE-1/RTE-2 do.
E=$(curl -s -D - -o /dev/null -H "$H1" -H "$H2" $A -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"elicitation":{},"sampling":{}},"clientInfo":{"name":"repro","version":"1"}}}' | awk 'tolower($1)=="mcp-session-id:"{print $2}' | tr -d '\r')
curl -s -o /dev/null -H "$H1" -H "$H2" -H "Mcp-Session-Id: $E" $A -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
echo "counter__ask (elicitation): $(mcp_call $A $E counter__ask)"
echo "counter__sample (sampling): $(mcp_call $A $E counter__sample)"
echo 'counter__slow with progressToken "p", 3 steps; every SSE event on the call stream:'
curl -s -H "$H1" -H "$H2" -H "Mcp-Session-Id: $E" $A -d '{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"counter__slow","arguments":{"steps":3},"_meta":{"progressToken":"p"}}}' | sed -n 's/^data: /  /p' | cut -c1-160
rm -f /tmp/repro-docker-get.hdr
curl -s --max-time 4 -D /tmp/repro-docker-get.hdr -H "$H2" -H "Mcp-Session-Id: $E" $A > /tmp/repro-docker-get.out & G=$!
# until the GET stream's response headers have arrived (2 s at most)
i=0; until grep -q '^HTTP' /tmp/repro-docker-get.hdr 2>/dev/null; do i=$((i + 1)); [ $i -lt 20 ] || break; sleep 0.1; done
echo "counter__notify tools: $(mcp_call $A $E counter__notify '{"kind":"tools"}' | cut -c1-160)"
echo "counter__notify resources: $(mcp_call $A $E counter__notify '{"kind":"resources"}' | cut -c1-160)"
wait $G; echo "GET stream of the session, 4 s: $(grep -c '^data:' /tmp/repro-docker-get.out) messages $(sed -n 's/^data: //p' /tmp/repro-docker-get.out | cut -c1-120)"
echo '## EVI-7: remove c2 from replica A (our hook restarts A); does the session keep counter__increment?'
S7=$(mcp_init $A); echo "session on A: $S7"
echo "counter__increment: $(mcp_call $A $S7 counter__increment)"
echo "c2__increment: $(mcp_call $A $S7 c2__increment)"
echo '{}' | MCPCONF_HOOK=remove MCPCONF_UPSTREAM_ID=c2 MCPCONF_GATEWAY_URLS=http://127.0.0.1:19421 sh ./remove.sh; echo "remove.sh exit $?"
echo -n "counter__increment after the removal: "; curl -s -w ' (status %{http_code})' -H "$H1" -H "$H2" -H "Mcp-Session-Id: $S7" $A -d '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"counter__increment","arguments":{}}}'; echo
S8=$(mcp_init $A); echo "a new session: $(mcp_call $A $S8 counter__increment)"
sh replicas.sh stop; kill $C $WG $C2
