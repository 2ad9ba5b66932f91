#!/usr/bin/env bash
# Runs before `npm run bench` (the `prebench` script). The reliable-UDP loss
# benchmark (`npm run bench -- --only rudp-loss`) compares ours with two peers
# we did not write, both built on this machine:
#   - ENet: Debian's libenet-dev (our C driver native/enet_peer.c links against
#     it; no ENet source is in this repository);
#   - KCP: the npm package node-kcp (a devDependency: a native addon over
#     ikcp.c). npm 11 does not run its install script, and node-gyp would fetch
#     Node's headers from the network: it is built here against the headers of
#     the installed Node (/usr/include/node, --nodedir).
# When both are present it does nothing and prints nothing. Otherwise, as root,
# it installs libenet-dev with apt-get and builds node-kcp, saying so; without
# root it says what is missing (those benchmark variants then report themselves
# skipped).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -f /usr/include/enet/enet.h ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "ensure-bench-tools: installing libenet-dev with apt-get (ENet, a peer of the rudp-loss benchmark)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends libenet-dev >/dev/null
  else
    echo "ensure-bench-tools: ENet is missing; not root, so nothing is installed: apt-get install libenet-dev" >&2
  fi
fi
kcp="$root/node_modules/node-kcp"
if [ -d "$kcp" ] && [ ! -f "$kcp/build/Release/kcp.node" ]; then
  nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  if [ -f "$nodedir/include/node/node.h" ] && [ -f "$gyp" ]; then
    echo "ensure-bench-tools: building node-kcp against $nodedir/include/node (KCP, a peer of the rudp-loss benchmark)" >&2
    (cd "$kcp" && node "$gyp" rebuild --nodedir="$nodedir" >/dev/null 2>&1) || echo "ensure-bench-tools: node-kcp did not build" >&2
  else
    echo "ensure-bench-tools: node-kcp is not built and Node's headers or node-gyp are missing" >&2
  fi
fi
