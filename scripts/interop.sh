#!/usr/bin/env bash
# npm run test:interop — effect-mio's DCCP against Linux's own (6.1, in QEMU).
#
# Installs what the peer needs (qemu, kmod, cpio, tshark…), builds and boots the
# kernel peer (scripts/dccp-peer), runs test/interop inside its network
# namespace, and stops the peer whatever happens. Needs root (netns, tap, raw
# sockets). A peer that was already running is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
peer=scripts/dccp-peer/peer.sh

if [ "$(id -u)" != 0 ]; then
  echo "test:interop: needs root (network namespace, tap device, raw sockets)" >&2
  exit 1
fi

bash "$peer" install
was_running=0
if bash "$peer" status >/dev/null 2>&1; then was_running=1; fi
if [ "$was_running" = 0 ]; then
  bash "$peer" start
  trap 'bash "$peer" stop >/dev/null 2>&1 || true' EXIT
fi
eval "$(bash "$peer" env)"
export MIO_DCCP_NS MIO_DCCP_TAP MIO_DCCP_HOST4 MIO_DCCP_GUEST4 MIO_DCCP_HOST6 MIO_DCCP_GUEST6 MIO_DCCP_CTL_PORT
bash "$peer" exec npx vitest run --config vitest.interop.config.ts "$@"
