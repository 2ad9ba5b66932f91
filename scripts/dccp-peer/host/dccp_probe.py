#!/usr/bin/env python3
"""One-packet DCCP probes for the interop harness (run inside the netns as root).

  dccp_probe.py raw --dst 10.77.0.2|fd77::2 [--src ADDR] --port P --service S
                    [--sport N] [--timeout 3] [--expect response|reset:N]
      send a DCCP-Request over a raw protocol-33 socket with a correct
      checksum and report the guest kernel's answer.
  dccp_probe.py udp --relay 127.0.0.1:6511 --port P --service S [...]
      the same as DCCP-UDP through the relay; also checks the inner checksum
      the relay wrote (RFC 4340 rule with the UDP leg's addresses).
  dccp_probe.py udp-server --listen 127.0.0.1:6512 [--reset-code 3] [--timeout 10]
      a DCCP-UDP "server" that answers the first Request with Reset(code), so
      a guest client going through the relay sees a refusal.

Output (one line):
  REPLY type=Response sport=5001 dport=41000 seq=.. ack=.. service=42 checksum=good
  REPLY type=Reset ... code=3 checksum=good
  NO-REPLY timeout=3
  REQUEST ... / SENT Reset code=3          (udp-server)
Exit status 0 when --expect is met (or, without --expect, when a reply came).
A Response is answered with Reset(Aborted) so no half-open connection stays
behind in the guest.
"""
import argparse
import ipaddress
import os
import random
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dccp_wire as w  # noqa: E402


def hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def fam(host):
    return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET


def report(p, ok_csum, extra=""):
    fields = ["type=%s" % p["type_name"], "sport=%d" % p["sport"], "dport=%d" % p["dport"],
              "seq=%d" % p["seq"]]
    if "ack" in p:
        fields.append("ack=%d" % p["ack"])
    if "service" in p:
        fields.append("service=%d" % p["service"])
    if "reset_code" in p:
        fields.append("code=%d" % p["reset_code"])
    fields.append("checksum=%s" % ("good" if ok_csum else "bad"))
    print("REPLY " + " ".join(fields) + extra, flush=True)


def met(p, expect):
    if p is None:
        return False
    if not expect:
        return True
    if expect == "response":
        return p["type_name"] == "Response"
    if expect.startswith("reset:"):
        return p["type_name"] == "Reset" and p.get("reset_code") == int(expect[6:])
    raise SystemExit("bad --expect %s" % expect)


def probe(a, send, recv):
    """send(pkt_without_checksum); recv(deadline) -> (pkt, checksum_ok) or None"""
    sport = a.sport or random.randint(20000, 60000)
    iss = random.getrandbits(47)
    send(w.build("Request", sport, a.port, iss, service=a.service))
    deadline = time.monotonic() + a.timeout
    while True:
        got = recv(deadline)
        if got is None:
            print("NO-REPLY timeout=%g" % a.timeout, flush=True)
            return None
        pkt, ok = got
        try:
            p = w.parse(pkt)
        except ValueError:
            continue
        if p["sport"] != a.port or p["dport"] != sport:
            continue
        report(p, ok)
        if p["type_name"] == "Response":
            send(w.build("Reset", sport, a.port, (iss + 1) % (1 << 48), ack=p["seq"], reset_code=2))
        return p if ok else None


def raw_mode(a):
    src = a.src or ("10.77.0.1" if fam(a.dst) == socket.AF_INET else "fd77::1")
    s = socket.socket(fam(a.dst), socket.SOCK_RAW, w.PROTO_DCCP)
    s.bind((src, 0))
    v4 = fam(a.dst) == socket.AF_INET
    dst = str(ipaddress.ip_address(a.dst))

    def send(pkt):
        s.sendto(w.with_checksum(pkt, src, dst), (dst, 0))

    def recv(deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                return None
            data, addr = s.recvfrom(65535)
            if addr[0] != dst:
                continue
            pkt = data[(data[0] & 0x0F) * 4:] if v4 else data
            return pkt, w.checksum_ok(pkt, dst, src)

    return probe(a, send, recv)


def udp_mode(a):
    relay = hostport(a.relay)
    s = socket.socket(fam(relay[0]), socket.SOCK_DGRAM)
    s.connect(relay)
    me = s.getsockname()[0]

    def send(pkt):
        s.send(w.with_checksum(pkt, me, relay[0]))

    def recv(deadline):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return None
        try:
            pkt = s.recv(65535)
        except ConnectionRefusedError:
            print("NO-REPLY error=ECONNREFUSED (is the relay running on %s?)" % a.relay, flush=True)
            return None
        return pkt, w.checksum_ok(pkt, relay[0], me)

    return probe(a, send, recv)


def udp_server_mode(a):
    listen = hostport(a.listen)
    s = socket.socket(fam(listen[0]), socket.SOCK_DGRAM)
    s.bind(listen)
    print("LISTENING %s:%d" % listen, flush=True)
    deadline = time.monotonic() + a.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            print("NO-REQUEST timeout=%g" % a.timeout, flush=True)
            return None
        pkt, addr = s.recvfrom(65535)
        try:
            p = w.parse(pkt)
        except ValueError:
            continue
        ok = w.checksum_ok(pkt, addr[0], listen[0])
        print("REQUEST from=%s:%d %s checksum=%s" % (addr[0], addr[1], w.describe(p),
                                                     "good" if ok else "bad"), flush=True)
        if p["type_name"] != "Request":
            continue
        rst = w.build("Reset", p["dport"], p["sport"], 1, ack=p["seq"], reset_code=a.reset_code)
        s.sendto(w.with_checksum(rst, listen[0], addr[0]), addr)
        print("SENT Reset code=%d" % a.reset_code, flush=True)
        return p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    for name in ("raw", "udp"):
        sp = sub.add_parser(name)
        if name == "raw":
            sp.add_argument("--dst", default="10.77.0.2")
            sp.add_argument("--src")
        else:
            sp.add_argument("--relay", default="127.0.0.1:6511")
        sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--service", type=lambda v: int(v, 0), default=42)
        sp.add_argument("--sport", type=int)
        sp.add_argument("--timeout", type=float, default=3.0)
        sp.add_argument("--expect")
    sp = sub.add_parser("udp-server")
    sp.add_argument("--listen", default="127.0.0.1:6512")
    sp.add_argument("--reset-code", type=int, default=3)
    sp.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args()
    if a.mode == "udp-server":
        sys.exit(0 if udp_server_mode(a) else 1)
    p = raw_mode(a) if a.mode == "raw" else udp_mode(a)
    sys.exit(0 if met(p, a.expect) else 1)


if __name__ == "__main__":
    main()
