#!/usr/bin/env bash
# selftest.sh — end-to-end check of the DCCP interop peer: boots it, checks the
# guest's kernel DCCP against its own servers (through the control port), raw
# DCCP from the host netns (captured and decoded by tshark), and the DCCP-UDP
# relay in both directions. Prints PASS/FAIL per check, exits 1 on any failure.
# Stops the peer at the end if it started it (MIO_DCCP_KEEP=1 keeps it up).
# Environment: as peer.sh (MIO_DCCP_NS, MIO_DCCP_CACHE, ...).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEER="$HERE/peer.sh"
eval "$(bash "$PEER" env)"
TMP=$(mktemp -d /tmp/mio-dccp-selftest.XXXXXX)
RELAY_PORT=16511 UDP_SERVER_PORT=16512 # not the defaults, so a relay someone else runs does not clash
T0=$(date +%s%N)
passed=0 failed=0 started=0 bg_pids=()

elapsed() { local ms=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%03ds' $((ms / 1000)) $((ms % 1000)); }
pass() { passed=$((passed + 1)); echo "PASS  $1"; }
fail() {
	failed=$((failed + 1)); echo "FAIL  $1"
	[ -s "$TMP/out" ] && sed 's/^/      | /' "$TMP/out" | head -n 30
	return 0
}

# check NAME REGEX... -- CMD...: passes when CMD output matches every REGEX
# (grep -E, line by line). CMD's exit status is ignored; use "rc=N" as a regex
# to require one (the status is appended to the output as "rc=N").
check() {
	local name=$1; shift
	local pats=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do pats+=("$1"); shift; done
	shift
	timeout 60 "$@" > "$TMP/out" 2>&1
	echo "rc=$?" >> "$TMP/out"
	local p
	for p in "${pats[@]}"; do
		grep -qE -- "$p" "$TMP/out" || { fail "$name (no match for /$p/)"; return 1; }
	done
	pass "$name"
}

kill_bg() {
	local pid
	for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${bg_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	bg_pids=()
}

cleanup() {
	kill_bg
	if [ "$started" = 1 ] && [ "${MIO_DCCP_KEEP:-0}" != 1 ]; then timeout 30 bash "$PEER" stop; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait until FILE contains REGEX, at most SECONDS
wait_for_line() {
	local file=$1 re=$2 deadline=$((SECONDS + $3))
	until grep -qE -- "$re" "$file" 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}


echo "== setup"
timeout 900 bash "$PEER" install || { echo "FAIL  install"; exit 1; }
if bash "$PEER" status >/dev/null 2>&1; then
	echo "note: the peer (netns $MIO_DCCP_NS) is already running; it will be left running"
else
	t=$(date +%s%N)
	if ! timeout 900 bash "$PEER" start; then echo "FAIL  start"; exit 1; fi
	started=1
	echo "      start took $(elapsed "$t") (boot $(cat "$MIO_DCCP_CACHE/run/$MIO_DCCP_NS/boot-seconds")s)"
fi
check "status reports a reachable guest" 'control: reachable' 'rc=0' -- bash "$PEER" status
check "ctl returns the guest command's status" '^rc=3$' -- bash "$PEER" ctl 'echo hi; exit 3'
check "guest kernel has DCCP with CCIDs 2 and 3" '^kernel=6\.1\.' '^ccids=2,3$' -- bash "$PEER" ctl 'kpeer info'

echo "== guest kernel DCCP client -> guest kernel DCCP servers (loopback in the guest)"
for lo in 127.0.0.1 ::1; do
	check "[$lo] 5001 service 42: echo, CCID 2" 'service=42 tx_ccid=2 rx_ccid=2' \
		'^ECHO n=3 len=7 .*match=yes data=hello-3$' '^RESULT ok=3/3$' 'rc=0' -- \
		bash "$PEER" ctl "kpeer client $lo 5001 42 3 hello-{n}"
	check "[$lo] 5001 service 0x4543484f (ECHO): echo" 'service=1162037327 ' '^RESULT ok=2/2$' -- \
		bash "$PEER" ctl "kpeer client $lo 5001 0x4543484f 2 echo-{n}"
	check "[$lo] 5003 service 42: echo, CCID 3" 'tx_ccid=3 rx_ccid=3' '^RESULT ok=3/3$' -- \
		bash "$PEER" ctl "kpeer client $lo 5003 42 3 tfrc-{n}"
	check "[$lo] 5004: greeting, then the server closes (CloseReq)" \
		'^DATA n=1 len=22 data=hello\\x20from\\x20kernel\\x20dccp$' '^RESULT ok=1/1 end=eof$' -- \
		bash "$PEER" ctl "kpeer read $lo 5004 42"
	check "[$lo] 5005: greeting, then the server closes (SERVER_TIMEWAIT, Close)" \
		'^DATA n=1 len=22 data=hello\\x20from\\x20kernel\\x20dccp$' '^RESULT ok=1/1 end=eof$' -- \
		bash "$PEER" ctl "kpeer read $lo 5005 42"
	check "[$lo] 5006: echo with partial checksums (cscov=1 both ends)" '^RESULT ok=3/3$' -- \
		bash "$PEER" ctl "kpeer client $lo 5006 42 3 partial-{n} 0 5000 cscov=1"
	check "[$lo] 5009: discard" '^RESULT ok=20/20$' -- bash "$PEER" ctl "kpeer send $lo 5009 42 20 junk-{n}"
	local_port=$(sed -n 's/^CONNECTED local=.*:\([0-9]*\) peer=.*/\1/p' "$TMP/out")
	check "[$lo] 5009: the server counted 20 datagrams" "^port=5009 peer=.*:$local_port .* datagrams=20 " -- \
		bash "$PEER" ctl 'sleep 0.3; cat /run/kpeer/connections'
	check "[$lo] 5002: nothing listens -> Reset(No Connection) -> ECONNREFUSED" \
		'^RESULT error=ECONNREFUSED stage=connect .*reset_hint=3,7$' -- bash "$PEER" ctl "kpeer client $lo 5002 42 1 x"
	check "[$lo] 5001 with service 7 -> Reset(Bad Service Code) -> EBADRQC" \
		'^RESULT error=EBADRQC stage=connect .*reset_hint=8$' -- bash "$PEER" ctl "kpeer client $lo 5001 7 1 x"
done

echo "== host netns raw DCCP -> guest kernel (checksums checked by the probe and by tshark)"
capture=0
if command -v tshark >/dev/null; then
	bash "$PEER" exec tshark -q -i "$MIO_DCCP_TAP" -f 'ip proto 33 or ip6 proto 33' -a duration:120 \
		-w "$TMP/dccp.pcapng" > "$TMP/tshark.log" 2>&1 &
	bg_pids+=($!); tshark_pid=$!
	if wait_for_line "$TMP/tshark.log" "Capturing on" 20; then capture=1; else echo "note: tshark did not start; no capture"; fi
else
	echo "note: tshark missing; no capture (peer.sh install adds it)"
fi
for v in 4 6; do
	if [ $v = 4 ]; then dst=$MIO_DCCP_GUEST4; else dst=$MIO_DCCP_GUEST6; fi
	check "[ipv$v] raw Request to 5001 -> Response" '^REPLY type=Response sport=5001 .*service=42 checksum=good' 'rc=0' -- \
		bash "$PEER" probe raw --dst "$dst" --port 5001 --service 42 --expect response
	check "[ipv$v] raw Request to 5002 -> Reset code 3" '^REPLY type=Reset sport=5002 .*code=3 checksum=good' 'rc=0' -- \
		bash "$PEER" probe raw --dst "$dst" --port 5002 --service 42 --expect reset:3
	check "[ipv$v] raw Request to 5001, service 99 -> Reset code 8" '^REPLY type=Reset .*code=8 checksum=good' 'rc=0' -- \
		bash "$PEER" probe raw --dst "$dst" --port 5001 --service 99 --expect reset:8
done

echo "== DCCP-UDP relay <-> guest kernel"
bash "$PEER" relay --listen "127.0.0.1:$RELAY_PORT" --server-udp "127.0.0.1:$UDP_SERVER_PORT" > "$TMP/relay.log" 2>&1 &
bg_pids+=($!)
if wait_for_line "$TMP/relay.log" '^relay: ready' 10; then
	pass "relay started"
	check "[udp] Request via relay to 5001 -> Response (inner checksum good)" '^REPLY type=Response sport=5001 .*checksum=good' 'rc=0' -- \
		bash "$PEER" probe udp --relay "127.0.0.1:$RELAY_PORT" --port 5001 --service 42 --expect response
	check "[udp] Request via relay to 5002 -> Reset code 3" '^REPLY type=Reset .*code=3 checksum=good' 'rc=0' -- \
		bash "$PEER" probe udp --relay "127.0.0.1:$RELAY_PORT" --port 5002 --expect reset:3
	bash "$PEER" probe udp-server --listen "127.0.0.1:$UDP_SERVER_PORT" --reset-code 3 --timeout 20 > "$TMP/udpsrv.log" 2>&1 &
	bg_pids+=($!)
	wait_for_line "$TMP/udpsrv.log" '^LISTENING' 10
	check "[udp] guest client -> relay -> DCCP-UDP server answering Reset(3) -> ECONNREFUSED" \
		'^RESULT error=ECONNREFUSED stage=connect' -- bash "$PEER" ctl "kpeer client $MIO_DCCP_HOST4 6000 42 1 x 0 5000"
	check "[udp] the DCCP-UDP server got the guest's Request with a good inner checksum" \
		'^REQUEST from=127.0.0.1:[0-9]+ Request [0-9]+>6000 .*service=42 checksum=good' '^SENT Reset code=3' -- \
		cat "$TMP/udpsrv.log"
else
	fail "relay started"; cat "$TMP/relay.log"
fi

if [ $capture = 1 ]; then
	sleep 0.5
	kill -INT "$tshark_pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$tshark_pid" 2>/dev/null || break; sleep 0.1; done
	tshark -r "$TMP/dccp.pcapng" -T fields -E separator=' ' -e frame.number -e dccp.type -e dccp.checksum.status \
		> "$TMP/frames" 2>/dev/null
	total=$(wc -l < "$TMP/frames")
	good=$(awk 'NF == 3 && $3 == 1' "$TMP/frames" | wc -l)
	types=$(awk '{print $2}' "$TMP/frames" | sort -un | tr '\n' ' ')
	# 6 probes with 3 frames (Request, Response, Reset) or 2; 2 relayed probes; 2 relayed guest frames
	cp "$TMP/frames" "$TMP/out"
	if [ "$total" -ge 16 ] && [ "$good" = "$total" ] && [ "$types" = "0 1 7 " ]; then
		pass "tshark decodes all $total captured frames as DCCP with checksum Good (types: Request Response Reset)"
	else
		fail "tshark: $good of $total frames are DCCP with checksum Good, types [$types]"
	fi
fi
kill_bg

echo "== $passed passed, $failed failed in $(elapsed "$T0")"
[ "$failed" = 0 ]
