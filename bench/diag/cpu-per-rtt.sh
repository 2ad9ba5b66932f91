#!/usr/bin/env bash
# CPU time per round trip of each side of a same-core TCP ping-pong (CPU 0), from
# /usr/bin/time (client) and /proc/<pid>/stat (server), with a short run's
# start-up cost subtracted. Diagnostic, not part of `npm run bench`.
#
#   bench/diag/cpu-per-rtt.sh <server: c|readiness|reactor|fiber|node> <client: same set> [rounds] [strategy]
#
# Needs `npm run bench` to have built native/build/ and bench/.build/ once.
set -euo pipefail
cd "$(dirname "$0")/../.."
simpl=$1 cimpl=$2 rounds=${3:-45000} strat=${4:-park}
out=$(mktemp)
if [ "$simpl" = c ]; then taskset -c 0 native/build/tcp_server >"$out" & else
  taskset -c 0 node bench/.build/tcp_rtt.mjs --role server --impl "$simpl" --strategy "$strat" >"$out" & fi
spid=$!
trap 'kill $spid 2>/dev/null; rm -f "$out" "$out.t"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$out" | head -1)
client() {
  if [ "$cimpl" = c ]; then /usr/bin/time -f "%U %S" -o "$out.t" taskset -c 0 native/build/tcp_client --port "$port" --rounds "$1" --warmup 3000
  else /usr/bin/time -f "%U %S" -o "$out.t" taskset -c 0 node bench/.build/tcp_rtt.mjs --role client --impl "$cimpl" --strategy "$strat" --port "$port" --rounds "$1" --warmup 3000; fi
}
ticks() { awk '{print $14 + $15}' /proc/$spid/stat; }
s0=$(ticks); client 5000 >/dev/null; c0=$(cat "$out.t"); s1=$(ticks)
res=$(client "$rounds"); c1=$(cat "$out.t"); s2=$(ticks)
python3 - "$res" "$c0" "$c1" "$s0" "$s1" "$s2" "$rounds" "$simpl" "$cimpl" <<'PY'
import json, sys
res, c0, c1, s0, s1, s2, n, simpl, cimpl = sys.argv[1:]
n = int(n) - 5000
r = json.loads(res)
u0, k0 = map(float, c0.split()); u1, k1 = map(float, c1.split())
client = ((u1 + k1) - (u0 + k0)) / n * 1e6
server = ((int(s2) - int(s1)) - (int(s1) - int(s0))) * 10000 / n  # 100 ticks/s
print(f"server {simpl}, client {cimpl}: RTT mean {r['mean_us']:.1f} µs (p50 {r['p50_us']:.1f}) | CPU per round trip: "
      f"client {client:.1f} µs (user {(u1 - u0) / n * 1e6:.1f}), server {server:.1f} µs, sum {client + server:.1f}")
PY
