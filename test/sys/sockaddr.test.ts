/**
 * Pure unit tests of the sockaddr codec (src/sys/sockaddr.ts) against the
 * layouts of layout.ts (which probe.test.ts checks against the headers), and of
 * the address strings `SocketAddress.parse` takes.
 */
import { assert, describe, it } from "@effect/vitest"
import * as NetAddress from "effect/net/NetAddress"
import * as IoError from "../../src/IoError.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as C from "../../src/sys/constants.ts"
import { libc } from "../../src/sys/libc.ts"
import {
  ABSTRACT_NAME_MAX,
  decodeSockAddr,
  encodeSockAddr,
  type SockAddr,
  SOCKADDR_MAX,
  UNIX_PATH_MAX
} from "../../src/sys/sockaddr.ts"
import { expectIoError } from "../util/expect.ts"

/** Encodes into a buffer full of garbage; returns the bytes the kernel would get. */
const encode = (a: SockAddr): Array<number> => {
  const out = new Uint8Array(SOCKADDR_MAX).fill(0xee)
  const n = encodeSockAddr(a, out)
  if (typeof n === "string") return assert.fail(n)
  return [...out.subarray(0, n)]
}
const refuse = (a: SockAddr, text: string): void => {
  const n = encodeSockAddr(a, new Uint8Array(SOCKADDR_MAX))
  assert.isString(n)
  assert.include(n as string, text)
}
const decode = (bytes: ReadonlyArray<number>, len = bytes.length) => {
  const buf = new Uint8Array(SOCKADDR_MAX)
  buf.set(bytes)
  return decodeSockAddr(buf, len)
}
const u8 = (...b: Array<number>) => new Uint8Array(b)
const ascii = (s: string) => [...new TextEncoder().encode(s)]

describe("sockaddr codec: IPv4", () => {
  it("sockaddr_in: family (host order), port (network order), address, zero padding", () => {
    assert.deepStrictEqual(
      encode({ family: "inet4", ip: u8(127, 0, 0, 1), port: 8080 }),
      [C.AF_INET, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    )
  })

  it("round trip", () => {
    const bytes = encode({ family: "inet4", ip: u8(10, 1, 2, 3), port: 65535 })
    assert.deepStrictEqual(decode(bytes), { family: "inet4", ip: u8(10, 1, 2, 3), port: 65535 })
  })

  it("refuses a bad port or address", () => {
    for (const port of [65536, -1, 1.5, Number.NaN]) {
      refuse({ family: "inet4", ip: u8(1, 2, 3, 4), port }, "out of range 0..65535")
    }
    refuse({ family: "inet4", ip: u8(1, 2, 3), port: 1 }, "4 bytes")
  })

  it("a truncated sockaddr_in decodes to nothing", () => {
    const bytes = encode({ family: "inet4", ip: u8(1, 2, 3, 4), port: 1 })
    assert.isUndefined(decode(bytes, 7))
    assert.isDefined(decode(bytes, 8))
  })
})

describe("sockaddr codec: IPv6", () => {
  const ip = Uint8Array.from({ length: 16 }, (_, i) => i + 1)

  it("sockaddr_in6: flow info in network order, scope id in host order", () => {
    assert.deepStrictEqual(
      encode({ family: "inet6", ip, port: 443, flowinfo: 0x000abcde, scopeId: 0x01020304 }),
      [C.AF_INET6, 0, 0x01, 0xbb, 0x00, 0x0a, 0xbc, 0xde, ...ip, 0x04, 0x03, 0x02, 0x01]
    )
  })

  it("round trip with flow info and scope id", () => {
    const a: SockAddr = { family: "inet6", ip, port: 1, flowinfo: 0xfffff, scopeId: 0xffffffff }
    assert.deepStrictEqual(decode(encode(a)), a)
  })

  it("a 24-byte sockaddr_in6 (no scope id, RFC 2133) decodes with scope 0; shorter is truncated", () => {
    const bytes = encode({ family: "inet6", ip, port: 1, flowinfo: 0, scopeId: 9 })
    assert.deepStrictEqual(decode(bytes, 24), { family: "inet6", ip, port: 1, flowinfo: 0, scopeId: 0 })
    assert.isUndefined(decode(bytes, 23))
  })

  it("refuses an out-of-range port, scope id or flow info, or a short address", () => {
    refuse({ family: "inet6", ip, port: 70000, flowinfo: 0, scopeId: 0 }, "port 70000")
    refuse({ family: "inet6", ip, port: 1, flowinfo: 0, scopeId: 2 ** 32 }, "scope id")
    refuse({ family: "inet6", ip, port: 1, flowinfo: 0, scopeId: -1 }, "scope id")
    refuse({ family: "inet6", ip, port: 1, flowinfo: -1, scopeId: 0 }, "flow info")
    refuse({ family: "inet6", ip: u8(1, 2, 3, 4), port: 1, flowinfo: 0, scopeId: 0 }, "16 bytes")
  })
})

describe("sockaddr codec: Unix", () => {
  it("a path: family, the bytes, a terminating NUL (length = 2 + bytes + 1)", () => {
    assert.deepStrictEqual(encode({ family: "unix", path: "/tmp/x" }), [C.AF_UNIX, 0, ...ascii("/tmp/x"), 0])
  })

  it("paths decode with or without the NUL the kernel may append", () => {
    const bytes = encode({ family: "unix", path: "/tmp/x" })
    assert.deepStrictEqual(decode(bytes), { family: "unix", path: "/tmp/x" })
    assert.deepStrictEqual(decode(bytes, bytes.length - 1), { family: "unix", path: "/tmp/x" })
  })

  it("the longest path is 107 bytes (UTF-8 bytes, not characters); 108 is refused", () => {
    assert.strictEqual(UNIX_PATH_MAX, 107)
    const longest = "/" + "a".repeat(106)
    const bytes = encode({ family: "unix", path: longest })
    assert.strictEqual(bytes.length, 110)
    assert.deepStrictEqual(decode(bytes), { family: "unix", path: longest })
    refuse({ family: "unix", path: longest + "a" }, "at most 107 bytes, not 108")
    refuse({ family: "unix", path: "/" + "é".repeat(54) }, "not 109") // 54 two-byte characters
  })

  it("a kernel path of the full 108 bytes without NUL decodes", () => {
    const path = "/" + "b".repeat(107)
    assert.deepStrictEqual(decode([C.AF_UNIX, 0, ...ascii(path)]), { family: "unix", path })
  })

  it("refuses an empty path and a path with a NUL", () => {
    refuse({ family: "unix", path: "" }, "not empty")
    refuse({ family: "unix", path: "/tmp/a\u0000b" }, "no NUL")
  })

  it("abstract names: a leading NUL, the bytes as given (NULs included), no terminator", () => {
    const name = u8(0x61, 0, 0x62, 0)
    const bytes = encode({ family: "abstract", name })
    assert.deepStrictEqual(bytes, [C.AF_UNIX, 0, 0, 0x61, 0, 0x62, 0])
    assert.deepStrictEqual(decode(bytes), { family: "abstract", name })
  })

  it("abstract names: empty, and the longest (107 bytes); 108 is refused", () => {
    assert.strictEqual(ABSTRACT_NAME_MAX, 107)
    assert.deepStrictEqual(decode(encode({ family: "abstract", name: u8() })), { family: "abstract", name: u8() })
    const longest = new Uint8Array(107).fill(0x7a)
    const bytes = encode({ family: "abstract", name: longest })
    assert.strictEqual(bytes.length, 110)
    assert.deepStrictEqual(decode(bytes), { family: "abstract", name: longest })
    refuse({ family: "abstract", name: new Uint8Array(108) }, "at most 107 bytes, not 108")
  })

  it("unnamed: just the family (autobind on bind); decodes from a 2-byte address", () => {
    assert.deepStrictEqual(encode({ family: "unnamed" }), [C.AF_UNIX, 0])
    assert.deepStrictEqual(decode([C.AF_UNIX, 0]), { family: "unnamed" })
  })
})

describe("sockaddr codec: what is not an address", () => {
  it("fewer than 2 bytes, more bytes than the buffer, or an unknown family", () => {
    assert.isUndefined(decode([], 0))
    assert.isUndefined(decode([C.AF_INET], 1))
    assert.isUndefined(decodeSockAddr(new Uint8Array(4), 16))
    assert.isUndefined(decode([17, 0, 0, 0, 0, 0, 0, 0], 8)) // AF_PACKET
    assert.isUndefined(decode([C.AF_UNSPEC, 0, 0, 0], 4))
  })

  it("the Decoder turns what it cannot decode into the unnamed address", () => {
    const d = new SocketAddress.Decoder()
    assert.strictEqual(d.decode(new Uint8Array(SOCKADDR_MAX), 0)._tag, "UnixUnnamedAddress")
    const bytes = new Uint8Array(SOCKADDR_MAX)
    bytes.set(encode({ family: "inet4", ip: u8(127, 0, 0, 1), port: 9 }))
    const first = d.decode(bytes, 16)
    assert.strictEqual(SocketAddress.format(first), "127.0.0.1:9")
    assert.strictEqual(d.decode(bytes, 16), first, "the same bytes decode once")
    bytes[3] = 10
    assert.strictEqual(SocketAddress.format(d.decode(bytes, 16)), "127.0.0.1:10")
  })
})

describe("SocketAddress.parse", () => {
  const ok = (input: string) => {
    const a = SocketAddress.parse(input)
    if (a instanceof IoError.IoError) return assert.fail(a.message)
    return a
  }

  it("IPv4 and IPv6 literals with a port", () => {
    const v4 = ok("127.0.0.1:8080")
    assert.strictEqual(v4._tag, "InetAddressV4")
    assert.strictEqual(SocketAddress.format(v4), "127.0.0.1:8080")
    const v6 = ok("[::1]:0")
    assert.strictEqual(v6._tag, "InetAddressV6")
    assert.strictEqual(SocketAddress.format(v6), "[::1]:0")
    assert.strictEqual(SocketAddress.format(ok("[::ffff:1.2.3.4]:5")), "[::ffff:1.2.3.4]:5")
    assert.strictEqual(SocketAddress.format(ok("0.0.0.0:65535")), "0.0.0.0:65535")
  })

  it("zones: by number, or by interface name resolved to its index", () => {
    const lo = libc().if_nametoindex("lo")
    assert.isAbove(lo, 0)
    const byName = ok("[fe80::1%lo]:80")
    assert.strictEqual(byName._tag, "InetAddressV6")
    assert.strictEqual((byName as NetAddress.InetAddressV6).scopeId, lo)
    assert.strictEqual(SocketAddress.format(byName), `[fe80::1%${lo}]:80`)
    assert.strictEqual((ok("[fe80::1%7]:80") as NetAddress.InetAddressV6).scopeId, 7)
    const e = expectIoError(SocketAddress.parse("[fe80::1%nosuchif0]:80"), "InvalidInput", "nosuchif0")
    assert.strictEqual(e.address, "[fe80::1%nosuchif0]:80")
    expectIoError(SocketAddress.parse("[fe80::1%]:80"), "InvalidInput")
  })

  it("the zone reaches the kernel as sin6_scope_id", () => {
    const e = SocketAddress.encode(ok("[fe80::1%lo]:80"), "test")
    if (e instanceof IoError.IoError) return assert.fail(e.message)
    assert.strictEqual(e.domain, C.AF_INET6)
    assert.strictEqual(new DataView(e.bytes.buffer).getUint32(24, true), libc().if_nametoindex("lo"))
  })

  it("Unix paths (absolute or ./relative), abstract names, unnamed", () => {
    const p = ok("/tmp/x.sock")
    assert.strictEqual(p._tag, "UnixPathAddress")
    assert.strictEqual(SocketAddress.format(p), "/tmp/x.sock")
    assert.strictEqual(ok("./x.sock")._tag, "UnixPathAddress")
    assert.strictEqual(ok("../x.sock")._tag, "UnixPathAddress")
    const a = ok("@name")
    assert.strictEqual(a._tag, "UnixAbstractAddress")
    assert.deepStrictEqual([...(a as SocketAddress.UnixAbstractAddress).bytes], ascii("name"))
    assert.strictEqual(SocketAddress.format(a), "@name")
    assert.strictEqual(SocketAddress.format(SocketAddress.abstract(u8(0x61, 0))), "@a\u0000")
    assert.strictEqual(SocketAddress.format(SocketAddress.unnamed), "(unnamed)")
  })

  it("address values pass through unchanged", () => {
    const v = NetAddress.inetAddressUnsafe(NetAddress.ipv4FromBytesUnsafe(u8(1, 2, 3, 4)), 5)
    assert.strictEqual(SocketAddress.parse(v), v)
    assert.strictEqual(SocketAddress.parse(SocketAddress.unnamed), SocketAddress.unnamed)
    const abs = SocketAddress.abstract("x")
    assert.strictEqual(SocketAddress.parse(abs), abs)
  })

  it("bad ports: missing, out of range, signed, padded, hex, trailing junk", () => {
    for (const s of ["127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:0x50", "127.0.0.1:80 ", "[::1]", "[::1]:99999"]) {
      const e = expectIoError(SocketAddress.parse(s, "bind"), "InvalidInput")
      assert.strictEqual(e.syscall, "bind")
      assert.strictEqual(e.address, s)
    }
  })

  it("hostnames and malformed literals are refused: IP literals only, no DNS", () => {
    for (const s of ["localhost:80", "example.com:443", "::1:80", "256.1.1.1:80", "1.2.3:80", "127.000.000.001:80", " 127.0.0.1:80", "", "x.sock"]) {
      expectIoError(SocketAddress.parse(s), "InvalidInput")
    }
    assert.include(expectIoError(SocketAddress.parse("localhost:80"), "InvalidInput").message, "no DNS")
  })

  it("values that are not addresses are refused, not thrown", () => {
    for (const v of [null, undefined, 42, {}, { _tag: "Nope" }]) {
      expectIoError(SocketAddress.parse(v as unknown as SocketAddress.Input), "InvalidInput")
    }
  })
})
