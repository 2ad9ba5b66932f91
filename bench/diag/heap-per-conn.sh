#!/usr/bin/env bash
# Per-connection JS heap of an echo server, by object kind: heap snapshots of the
# server before and after N idle connections (each carried one message), diffed.
# Diagnostic, not part of `npm run bench`.
#
#   bench/diag/heap-per-conn.sh <server: readiness|fiber|node> [connections]
#
# With KEEP=<dir> the two snapshots are copied there, for
# bench/diag/heap-retainers.cjs (which objects are new, and what holds each).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
impl=$1 n=${2:-2000}
dir=$(mktemp -d)
cd "$dir"
taskset -c 0 node --heapsnapshot-signal=SIGUSR1 "$root/bench/.build/tcp_rtt.mjs" --role server --impl "$impl" >srv.out &
spid=$!
cleanup() { kill $spid 2>/dev/null || true; [ -n "${cpid:-}" ] && kill "$cpid" 2>/dev/null || true; [ -n "${KEEP:-}" ] && cp "$dir"/*.heapsnapshot "$KEEP"/; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -s srv.out ] && break; sleep 0.05; done
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' srv.out | head -1)
kill -USR1 $spid
settled() { # the snapshot file exists and stopped growing
  local f prev=-1 size
  for _ in $(seq 600); do
    f=$(ls Heap*.$1.heapsnapshot 2>/dev/null | head -1)
    if [ -n "$f" ]; then size=$(stat -c %s "$f"); [ "$size" = "$prev" ] && [ "$size" -gt 0 ] && return 0; prev=$size; fi
    sleep 0.5
  done
  return 1
}
settled 001
mkfifo in
taskset -c 1 "$root/native/build/many_client" --port "$port" --idle "$n" --active 1 --secs 0.2 --warmup 0.1 <in >cli.out &
cpid=$!
exec 3>in
for _ in $(seq 300); do grep -q connected cli.out 2>/dev/null && break; sleep 0.1; done
kill -USR1 $spid
settled 002
echo go >&3; echo done >&3; exec 3>&-
node --max-old-space-size=4096 "$root/bench/diag/heap-diff.cjs" Heap*.001.heapsnapshot Heap*.002.heapsnapshot $((n + 1))
