#!/usr/bin/env bash
# Runs before `npm test` (the `pretest` script). The test suite talks to real
# programs it does not ship; on a fresh Debian machine some may be missing:
#   - a C compiler (gcc, libc6-dev): builds native/probe.c, which prints struct
#     sizes and constants from the system headers that test/sys compares with src/sys;
#   - socat: a peer we did not write, for the TCP/UDP/Unix interoperability tests;
#   - tshark: the wire decoder that checks our DCCP packets (test/dccp/tshark.test.ts);
#   - openssl: makes the TLS tests' throwaway certificates and is their peer we did
#     not write (s_server, s_client) (test/socket/tls*.test.ts, bench --only tls).
# When all are present it does nothing and prints nothing. Otherwise, as root, it
# installs the missing ones with apt-get and says so; without root it installs
# nothing and says what is missing (the tests that need it then fail).
set -euo pipefail
need=()
why=()
if ! command -v cc >/dev/null 2>&1; then need+=(gcc libc6-dev); why+=("a C compiler for native/probe.c"); fi
if ! command -v socat >/dev/null 2>&1; then need+=(socat); why+=("socat, a peer for the interop tests"); fi
if ! command -v tshark >/dev/null 2>&1; then need+=(tshark); why+=("tshark, to decode our DCCP packets"); fi
if ! command -v openssl >/dev/null 2>&1; then need+=(openssl); why+=("openssl, for the TLS tests' certificates and peers"); fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
reasons=$(IFS=';'; echo "${why[*]}" | sed 's/;/; /g')
if [ "$(id -u)" != "0" ]; then
  echo "ensure-tools: the tests need ${reasons}; not root, so nothing is installed: apt-get install ${need[*]}" >&2
  exit 0
fi
echo "ensure-tools: installing ${need[*]} with apt-get (${reasons})" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark's package asks whether non-root users may capture: no.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
