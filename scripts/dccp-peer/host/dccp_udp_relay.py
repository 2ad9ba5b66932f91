#!/usr/bin/env python3
"""Translate DCCP-UDP (RFC 6773) to native DCCP (IP protocol 33) and back, so a
DCCP-UDP implementation on the host can talk to the guest's kernel DCCP,
which only speaks native DCCP.

Run it inside the peer's network namespace, as root (raw socket):

    peer.sh relay [--listen 127.0.0.1:6511] [--server-udp 127.0.0.1:6512]
                  [--udp-inner-checksum rfc4340|zero] [--quiet]
    (peer.sh adds --guest 10.77.0.2 --local 10.77.0.1; pass --guest fd77::2
     --local fd77::1 for an IPv6 native leg)

It prints "relay: ready ..." once both sockets are open, one line per packet
unless --quiet, and a summary on SIGTERM/SIGINT.

Forwarding
  UDP -> native: every datagram arriving on --listen is a DCCP packet (the UDP
    payload is the unchanged DCCP header, options and data). The relay
    remembers the UDP sender under the packet's DCCP port pair
    (source port = the UDP side's DCCP port, destination = the guest's port),
    replaces the DCCP checksum and sends the packet from --local to --guest on
    a raw protocol-33 socket. Nothing else is changed.
  native -> UDP: every protocol-33 packet from --guest goes to the UDP address
    remembered for its port pair (destination port, source port). A pair not
    seen yet is a connection the guest opens: a Request for it is sent to
    --server-udp (and the pair then belongs to that address); anything else
    for an unknown pair is dropped and counted ("unroutable").
  Datagrams shorter than 12 bytes or with an impossible Data Offset are
  dropped and counted ("malformed").

Checksums (exactly)
  native leg (always): the DCCP checksum is recomputed as RFC 4340 section 9
    requires for native DCCP: pseudo-header of the native leg (--local and
    --guest, protocol 33, the whole DCCP length), over the header + options
    and the data the packet's CsCov covers (CsCov=0: all data; n>0: the first
    (n-1)*4 data bytes). CsCov itself is forwarded unchanged.
  UDP -> native: the inner checksum of the incoming DCCP-UDP packet is NOT
    verified and never causes a drop (UDP's own checksum protects that leg);
    it is only classified for the log as "inner=rfc4340" (correct for the UDP
    leg's addresses with the protocol-33 pseudo-header), "inner=zero" or
    "inner=other".
  native -> UDP: --udp-inner-checksum rfc4340 (default) fills the DCCP
    checksum exactly like the native one but with the UDP leg's addresses
    (the relay's UDP source address and the receiver's address, protocol 33,
    whole DCCP length, coverage per CsCov); "zero" sets the field to 0. The
    UDP checksum itself is computed by the kernel (a normal UDP socket).
  The guest's native checksum is not checked (a bad one would be dropped by
  the kernel anyway, and nothing else sends protocol 33 into the tap).
"""
import argparse
import ipaddress
import os
import select
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dccp_wire as w  # noqa: E402


def hostport(s: str):
    host, _, port = s.rpartition(":")
    host = host.strip("[]")
    ipaddress.ip_address(host)
    return host, int(port)


def family(host: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET


class Relay:
    def __init__(self, a):
        self.a = a
        self.listen = hostport(a.listen)
        self.server_udp = hostport(a.server_udp)
        self.udp = socket.socket(family(self.listen[0]), socket.SOCK_DGRAM)
        self.udp.bind(self.listen)
        self.raw = socket.socket(family(a.guest), socket.SOCK_RAW, w.PROTO_DCCP)
        self.raw.bind((a.local, 0))
        self.v4_native = family(a.guest) == socket.AF_INET
        self.owner = {}  # (udp-side DCCP port, guest DCCP port) -> UDP address
        self.src_for = {}  # UDP destination -> our UDP source address (for the inner checksum)
        self.stats = {"udp_to_native": 0, "native_to_udp": 0, "unroutable": 0, "malformed": 0,
                      "inner_rfc4340": 0, "inner_zero": 0, "inner_other": 0}

    def log(self, msg: str):
        if not self.a.quiet:
            print("relay: " + msg, flush=True)

    def udp_source(self, dst):
        """The local address the kernel uses for UDP datagrams to dst."""
        src = self.src_for.get(dst)
        if src is None:
            if self.listen[0] not in ("0.0.0.0", "::"):
                src = self.listen[0]
            else:
                probe = socket.socket(family(dst[0]), socket.SOCK_DGRAM)
                probe.connect(dst)
                src = probe.getsockname()[0]
                probe.close()
            self.src_for[dst] = src
        return src

    def from_udp(self):
        pkt, addr = self.udp.recvfrom(65535)
        addr = addr[:2]
        try:
            p = w.parse(pkt)
        except ValueError as e:
            self.stats["malformed"] += 1
            self.log("udp>native drop from %s:%d: %s" % (addr[0], addr[1], e))
            return
        inner = ("zero" if p["checksum"] == 0 else
                 "rfc4340" if w.checksum_ok(pkt, addr[0], self.udp_source(addr)) else "other")
        self.stats["inner_" + inner] += 1
        self.owner[(p["sport"], p["dport"])] = addr
        self.raw.sendto(w.with_checksum(pkt, self.a.local, self.a.guest), (self.a.guest, 0))
        self.stats["udp_to_native"] += 1
        self.log("udp>native %s len=%d from=%s:%d inner=%s" % (w.describe(p), len(pkt), addr[0], addr[1], inner))

    def from_native(self):
        data, addr = self.raw.recvfrom(65535)
        if addr[0] != self.a.guest:
            return
        pkt = data[(data[0] & 0x0F) * 4:] if self.v4_native else data  # IPv4 raw reads include the IP header
        try:
            p = w.parse(pkt)
        except ValueError as e:
            self.stats["malformed"] += 1
            self.log("native>udp drop: %s" % e)
            return
        key = (p["dport"], p["sport"])
        to = self.owner.get(key)
        if to is None:
            if p["type"] != w.TYPE["Request"]:
                self.stats["unroutable"] += 1
                self.log("native>udp drop %s: no UDP peer for this port pair" % w.describe(p))
                return
            to = self.owner[key] = self.server_udp
        if self.a.udp_inner_checksum == "zero":
            out = w.with_zero_checksum(pkt)
        else:
            out = w.with_checksum(pkt, self.udp_source(to), to[0])
        self.udp.sendto(out, to)
        self.stats["native_to_udp"] += 1
        self.log("native>udp %s len=%d to=%s:%d" % (w.describe(p), len(pkt), to[0], to[1]))

    def run(self):
        print("relay: ready listen=%s:%d guest=%s local=%s server-udp=%s:%d inner-checksum=%s"
              % (*self.listen, self.a.guest, self.a.local, *self.server_udp, self.a.udp_inner_checksum),
              flush=True)
        while True:
            ready, _, _ = select.select([self.udp, self.raw], [], [])
            for sock in ready:
                try:
                    (self.from_udp if sock is self.udp else self.from_native)()
                except OSError as e:  # e.g. ICMP errors reported on the UDP socket
                    self.log("%s error: %s" % ("udp" if sock is self.udp else "raw", e))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", default="127.0.0.1:6511", help="UDP address for DCCP-UDP (default %(default)s)")
    ap.add_argument("--guest", default="10.77.0.2", help="the kernel DCCP peer (default %(default)s)")
    ap.add_argument("--local", default="10.77.0.1", help="our native-leg address (default %(default)s)")
    ap.add_argument("--server-udp", default="127.0.0.1:6512",
                    help="where Requests from the guest to unknown ports go (default %(default)s)")
    ap.add_argument("--udp-inner-checksum", choices=["rfc4340", "zero"], default="rfc4340")
    ap.add_argument("--quiet", action="store_true", help="no per-packet log lines")
    a = ap.parse_args()
    if family(a.guest) != family(a.local):
        ap.error("--guest and --local must be the same address family")
    a.guest, a.local = str(ipaddress.ip_address(a.guest)), str(ipaddress.ip_address(a.local))
    relay = Relay(a)

    def finish(signum, frame):
        print("relay: stopped " + " ".join("%s=%d" % kv for kv in relay.stats.items()), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    relay.run()


if __name__ == "__main__":
    main()
