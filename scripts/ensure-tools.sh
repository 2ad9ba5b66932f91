#!/usr/bin/env bash
# Installs what the test suite needs and a fresh Debian machine may lack: a C
# compiler (native/probe.c), socat (a peer we did not write), tshark (the wire
# decoder that checks our DCCP packets). Runs before `npm test`.
# Without root it installs nothing and says what is missing; the tests that need it fail.
set -euo pipefail
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-tools: missing ${need[*]} and not root; install them with apt-get" >&2
  exit 0
fi
echo "ensure-tools: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark's package asks whether non-root users may capture: no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
