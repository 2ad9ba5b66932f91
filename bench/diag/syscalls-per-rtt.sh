#!/usr/bin/env bash
# Syscalls a TCP ping-pong client makes, same core (CPU 0), against the C epoll
# server or one of ours, counted with perf's syscall tracepoints (negligible
# overhead, unlike strace). Diagnostic, not part of `npm run bench`.
#
#   bench/diag/syscalls-per-rtt.sh <client: c|readiness|reactor|fiber|node> [rounds] [server: c|readiness|reactor|fiber|node]
set -euo pipefail
cd "$(dirname "$0")/../.."
impl=$1 rounds=${2:-20000} server=${3:-c}
out=$(mktemp)
if [ "$server" = c ]; then taskset -c 0 native/build/tcp_server >"$out" &
else taskset -c 0 node bench/.build/tcp_rtt.mjs --role server --impl "$server" >"$out" &
fi
spid=$!
trap 'kill $spid 2>/dev/null; rm -f "$out" "$out.p"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$out" | head -1)
ev=$(printf 'syscalls:sys_enter_%s,' epoll_wait epoll_pwait epoll_ctl recvfrom sendto read write writev)
if [ "$impl" = c ]; then cmd=(native/build/tcp_client --port "$port" --rounds "$rounds" --warmup 3000)
else cmd=(node bench/.build/tcp_rtt.mjs --role client --impl "$impl" --port "$port" --rounds "$rounds" --warmup 3000); fi
perf stat -e "${ev%,}" -x, -o "$out.p" taskset -c 0 "${cmd[@]}"
echo "client $impl, server $server: syscalls for $((rounds + 3000)) round trips:"
grep -v '^#' "$out.p" | awk -F, 'NF > 2 { sub("syscalls:sys_enter_", "", $3); printf "  %-12s %8d\n", $3, $1 }'
