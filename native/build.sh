#!/usr/bin/env bash
# Builds the benchmark's C reference programs: every native/*.c except probe.c
# (the layout probe, built by its own test) into native/build/<name>, with -O2.
# Idempotent: a program is rebuilt only when its source or common.h is newer.
# A source may name extra libraries on a line `// LIBS: -lfoo`; when that
# library's development files are missing (ENet's libenet-dev: scripts/ensure-bench-tools.sh
# installs it), the program is skipped with a note and the benchmark variants
# that need it report themselves skipped.
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
  libs="$(sed -n 's|^// LIBS: ||p' "$src" | head -1)"
  if [ -n "$libs" ] && ! echo 'int main(void){return 0;}' | "$cc" -x c - -o /dev/null $libs >/dev/null 2>&1; then
    echo "native/build.sh: skipping $name (needs $libs; run scripts/ensure-bench-tools.sh)" >&2
    rm -f "$bin"
    continue
  fi
  "$cc" -O2 -Wall -Wextra -std=gnu11 -o "$bin.tmp" "$src" $libs -lm
  mv -f "$bin.tmp" "$bin"
  built=$((built + 1))
done
echo "native/build.sh: $built program(s) built in $out" >&2
