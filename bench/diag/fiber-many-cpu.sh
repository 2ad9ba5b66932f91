#!/usr/bin/env bash
# Where a server's time goes per message in the `many` case (10,000 idle + 100
# active TCP connections, 64 B ping-pong from the C many_client): the server's
# user and system CPU per message (from /proc/<pid>/stat) and its syscalls per
# message (perf's syscall tracepoints), over 2 s of traffic. Diagnostic, not
# part of `npm run bench`; needs the bundled peers (run the bench once) and perf.
#
#   bench/diag/fiber-many-cpu.sh <server: c|readiness|fiber|node> [idle]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
impl=$1 idle=${2:-10000}
dir=$(mktemp -d)
cd "$dir"
if [ "$impl" = c ]; then taskset -c 0 "$root/native/build/tcp_server" >srv.out &
else taskset -c 0 node "$root/bench/.build/tcp_rtt.mjs" --role server --impl "$impl" >srv.out &
fi
spid=$!
cleanup() { kill $spid 2>/dev/null || true; [ -n "${cpid:-}" ] && kill "$cpid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -s srv.out ] && break; sleep 0.05; done
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' srv.out | head -1)
mkfifo in
taskset -c 1 "$root/native/build/many_client" --port "$port" --idle "$idle" --active 100 --size 64 --secs 3 --warmup 0.5 <in >cli.out &
cpid=$!
exec 3>in
for _ in $(seq 600); do grep -q connected cli.out 2>/dev/null && break; sleep 0.1; done
echo go >&3
sleep 1
ticks() { awk '{print $14, $15}' "/proc/$spid/stat"; }
read -r u0 s0 < <(ticks)
t0=$(date +%s.%N)
ev=$(printf 'syscalls:sys_enter_%s,' epoll_wait epoll_pwait epoll_ctl recvfrom sendto read write writev)
perf stat -e "${ev%,}" -x, -o perf.out -p $spid -- sleep 2 2>/dev/null || true
read -r u1 s1 < <(ticks)
t1=$(date +%s.%N)
for _ in $(seq 100); do grep -q msgs_per_s cli.out 2>/dev/null && break; sleep 0.1; done
echo done >&3
exec 3>&-
rate=$(sed -n 's/.*"msgs_per_s":\([0-9.]*\).*/\1/p' cli.out | tail -1)
hz=$(getconf CLK_TCK)
awk -v r="$rate" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v t0="$t0" -v t1="$t1" -v hz="$hz" -v impl="$impl" 'BEGIN {
  dt = t1 - t0; m = r * dt
  printf "%s server: %d msgs/s, CPU %.0f%%, per message: user %.2f µs, system %.2f µs\n", impl, r, 100 * (u + s) / hz / dt, u / hz / m * 1e6, s / hz / m * 1e6
}'
grep -v '^#' perf.out | awk -F, -v r="$rate" 'NF > 2 && $1 > 0 { sub("syscalls:sys_enter_", "", $3); printf "  %-12s %.3f per message\n", $3, $1 / (r * 2) }'
