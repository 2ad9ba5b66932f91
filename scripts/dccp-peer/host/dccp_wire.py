"""DCCP wire helpers for the interop harness's host-side tools (RFC 4340).

Only what the relay and the probe need: the generic header with 48-bit
sequence numbers (X=1), the per-type subheaders, and the checksum:

  checksum = ~(ones'-complement sum of pseudo-header + covered bytes)
  pseudo-header, IPv4: src(4) dst(4) zero(1) proto=33(1) length(2)
  pseudo-header, IPv6: src(16) dst(16) length(4) zero(3) next-header=33(1)
  length is always the WHOLE DCCP packet (header + options + data), even when
  coverage is partial; covered bytes = the header and options (Data Offset*4)
  plus, for CsCov=0, all data, else min((CsCov-1)*4, data length) bytes.
"""
import ipaddress
import struct

PROTO_DCCP = 33
TYPES = ["Request", "Response", "Data", "Ack", "DataAck", "CloseReq", "Close",
         "Reset", "Sync", "SyncAck"]
TYPE = {name: i for i, name in enumerate(TYPES)}
RESET_CODES = ["Unspecified", "Closed", "Aborted", "No Connection", "Packet Error",
               "Option Error", "Mandatory Error", "Connection Refused", "Bad Service Code",
               "Too Busy", "Bad Init Cookie", "Aggression Penalty"]


def csum16(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of data, already complemented."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src: str, dst: str, length: int) -> bytes:
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version != d.version:
        raise ValueError("mixed address families: %s %s" % (src, dst))
    if s.version == 4:
        return s.packed + d.packed + struct.pack("!BBH", 0, PROTO_DCCP, length)
    return s.packed + d.packed + struct.pack("!I3xB", length, PROTO_DCCP)


def coverage(pkt: bytes) -> int:
    """Bytes covered by the checksum (RFC 4340 9.2), clamped to the packet."""
    doff = pkt[4] * 4
    cscov = pkt[5] & 0x0F
    if cscov == 0:
        return len(pkt)
    return min(len(pkt), doff + (cscov - 1) * 4)


def checksum(pkt: bytes, src: str, dst: str) -> int:
    """The checksum pkt should carry when sent from src to dst."""
    body = bytearray(pkt[:coverage(pkt)])
    body[6:8] = b"\0\0"
    return csum16(pseudo_header(src, dst, len(pkt)) + bytes(body))


def with_checksum(pkt: bytes, src: str, dst: str) -> bytes:
    out = bytearray(pkt)
    out[6:8] = struct.pack("!H", checksum(pkt, src, dst))
    return bytes(out)


def with_zero_checksum(pkt: bytes) -> bytes:
    return bytes(pkt[:6]) + b"\0\0" + bytes(pkt[8:])


def checksum_ok(pkt: bytes, src: str, dst: str) -> bool:
    return len(pkt) >= 12 and struct.unpack("!H", pkt[6:8])[0] == checksum(pkt, src, dst)


def _u48(b: bytes) -> int:
    return int.from_bytes(b, "big")


def parse(pkt: bytes) -> dict:
    """Decode the generic header and the per-type fields. Raises ValueError."""
    if len(pkt) < 12:
        raise ValueError("short packet (%d bytes)" % len(pkt))
    sport, dport, doff, cc, csum, tx = struct.unpack("!HHBBHB", pkt[:9])
    ptype, x = (tx >> 1) & 0x0F, tx & 1
    p = {"sport": sport, "dport": dport, "doff": doff, "ccval": cc >> 4, "cscov": cc & 0x0F,
         "checksum": csum, "type": ptype, "x": x,
         "type_name": TYPES[ptype] if ptype < len(TYPES) else "Type%d" % ptype}
    if doff * 4 > len(pkt) or doff * 4 < (16 if x else 12):
        raise ValueError("bad Data Offset %d for %d bytes" % (doff, len(pkt)))
    if x:
        p["seq"] = _u48(pkt[10:16])
        off = 16
    else:
        p["seq"] = _u48(pkt[9:12])
        off = 12
    if ptype not in (TYPE["Request"], TYPE["Data"]):
        if x:
            p["ack"] = _u48(pkt[off + 2:off + 8])
            off += 8
        else:
            p["ack"] = _u48(pkt[off + 1:off + 4])
            off += 4
    if ptype in (TYPE["Request"], TYPE["Response"]):
        p["service"] = struct.unpack("!I", pkt[off:off + 4])[0]
        off += 4
    elif ptype == TYPE["Reset"]:
        p["reset_code"] = pkt[off]
        p["reset_data"] = bytes(pkt[off + 1:off + 4])
        off += 4
    p["options"] = bytes(pkt[off:doff * 4])
    p["payload"] = bytes(pkt[doff * 4:])
    return p


def build(ptype: str, sport: int, dport: int, seq: int, ack: int = None, service: int = None,
          reset_code: int = None, options: bytes = b"", payload: bytes = b"",
          cscov: int = 0, ccval: int = 0) -> bytes:
    """A packet with X=1 and a zero checksum field (fill it with with_checksum)."""
    t = TYPE[ptype]
    sub = b""
    if t not in (TYPE["Request"], TYPE["Data"]):
        sub += b"\0\0" + (ack or 0).to_bytes(6, "big")
    if t in (TYPE["Request"], TYPE["Response"]):
        sub += struct.pack("!I", service or 0)
    elif t == TYPE["Reset"]:
        sub += bytes([reset_code or 0, 0, 0, 0])
    if len(options) % 4:
        options += b"\0" * (4 - len(options) % 4)  # Padding option (0)
    doff = (16 + len(sub) + len(options)) // 4
    head = struct.pack("!HHBBHBB", sport, dport, doff, (ccval << 4) | cscov, 0, (t << 1) | 1, 0)
    return head + seq.to_bytes(6, "big") + sub + options + payload


def describe(p: dict) -> str:
    s = "%s %d>%d seq=%d" % (p["type_name"], p["sport"], p["dport"], p["seq"])
    if "ack" in p:
        s += " ack=%d" % p["ack"]
    if "service" in p:
        s += " service=%d" % p["service"]
    if "reset_code" in p:
        s += " code=%d" % p["reset_code"]
    if p["cscov"]:
        s += " cscov=%d" % p["cscov"]
    if p["payload"]:
        s += " data=%d" % len(p["payload"])
    return s
