#!/usr/bin/env bash
# Builds the benchmark's C reference programs: every native/*.c except probe.c
# (the layout probe, built by its own test) into native/build/<name>, with -O2.
# Idempotent: a program is rebuilt only when its source or common.h is newer.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build"
cc="${CC:-cc}"
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "native/build.sh: no C compiler found ('$cc'); install gcc (apt-get install gcc) or set CC" >&2
  exit 1
fi
mkdir -p "$out"
built=0
for src in "$here"/*.c; do
  name="$(basename "$src" .c)"
  [ "$name" = "probe" ] && continue
  bin="$out/$name"
  if [ -x "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$here/common.h" ] && [ "$bin" -nt "$0" ]; then
    continue
  fi
  "$cc" -O2 -Wall -Wextra -std=gnu11 -o "$bin.tmp" "$src" -lm
  mv -f "$bin.tmp" "$bin"
  built=$((built + 1))
done
echo "native/build.sh: $built program(s) built in $out" >&2
