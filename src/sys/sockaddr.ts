/**
 * Pure `sockaddr` codecs: IPv4, IPv6 (flow info and scope id), Unix filesystem
 * paths, Linux abstract names and unnamed Unix sockets. No syscalls; these
 * work on byte arrays and are unit-tested against the layouts in `layout.ts`.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import { AF_INET, AF_INET6, AF_UNIX } from "./constants.ts"
import { layout } from "./layout.ts"

/** A socket address as the kernel sees it. @internal */
export type SockAddr =
  | { readonly family: "inet4"; readonly ip: Uint8Array; readonly port: number }
  | {
    readonly family: "inet6"
    readonly ip: Uint8Array
    readonly port: number
    readonly flowinfo: number
    readonly scopeId: number
  }
  | { readonly family: "unix"; readonly path: string }
  | { readonly family: "abstract"; readonly name: Uint8Array }
  | { readonly family: "unnamed" }

/** Room for any address we encode or the kernel returns. @internal */
export const SOCKADDR_MAX = layout.sockaddrStorage

/** Longest Unix path in bytes, without the terminating NUL. @internal */
export const UNIX_PATH_MAX = layout.sockaddrUn.pathMax - 1

/** Longest abstract name in bytes (the leading NUL is not counted). @internal */
export const ABSTRACT_NAME_MAX = layout.sockaddrUn.pathMax - 1

const utf8 = new TextEncoder()
const utf8d = new TextDecoder("utf-8", { fatal: false })

/**
 * Encodes `addr` into `out` (at least `SOCKADDR_MAX` bytes) and returns the
 * address length to pass to the kernel, or a reason string when the address
 * cannot be encoded (a path or name too long, a port or scope out of range).
 *
 * @internal
 */
export const encodeSockAddr = (addr: SockAddr, out: Uint8Array): number | string => {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength)
  switch (addr.family) {
    case "inet4": {
      const L = layout.sockaddrIn
      if (addr.ip.length !== 4) return "an IPv4 address has 4 bytes"
      if (!isPort(addr.port)) return `port ${addr.port} is out of range 0..65535`
      out.fill(0, 0, L.size)
      dv.setUint16(L.family, AF_INET, true)
      dv.setUint16(L.port, addr.port, false)
      out.set(addr.ip, L.addr)
      return L.size
    }
    case "inet6": {
      const L = layout.sockaddrIn6
      if (addr.ip.length !== 16) return "an IPv6 address has 16 bytes"
      if (!isPort(addr.port)) return `port ${addr.port} is out of range 0..65535`
      if (!isU32(addr.scopeId)) return `scope id ${addr.scopeId} is out of range`
      if (!isU32(addr.flowinfo)) return `flow info ${addr.flowinfo} is out of range`
      out.fill(0, 0, L.size)
      dv.setUint16(L.family, AF_INET6, true)
      dv.setUint16(L.port, addr.port, false)
      dv.setUint32(L.flowinfo, addr.flowinfo, false)
      out.set(addr.ip, L.addr)
      dv.setUint32(L.scopeId, addr.scopeId, true)
      return L.size
    }
    case "unix": {
      const L = layout.sockaddrUn
      const path = utf8.encode(addr.path)
      if (path.length === 0) return "a Unix socket path is not empty"
      if (path.length > UNIX_PATH_MAX) return `a Unix socket path has at most ${UNIX_PATH_MAX} bytes, not ${path.length}`
      if (path.includes(0)) return "a Unix socket path has no NUL byte"
      dv.setUint16(L.family, AF_UNIX, true)
      out.set(path, L.path)
      out[L.path + path.length] = 0
      return L.path + path.length + 1
    }
    case "abstract": {
      const L = layout.sockaddrUn
      if (addr.name.length > ABSTRACT_NAME_MAX) {
        return `an abstract name has at most ${ABSTRACT_NAME_MAX} bytes, not ${addr.name.length}`
      }
      dv.setUint16(L.family, AF_UNIX, true)
      out[L.path] = 0
      out.set(addr.name, L.path + 1)
      return L.path + 1 + addr.name.length
    }
    case "unnamed": {
      dv.setUint16(layout.sockaddrUn.family, AF_UNIX, true)
      return layout.sockaddrUn.path
    }
  }
}

/**
 * Decodes the `len` bytes of a kernel-filled `sockaddr` in `buf`. Returns
 * `undefined` for a family this codec does not know or a truncated address.
 *
 * @internal
 */
export const decodeSockAddr = (buf: Uint8Array, len: number): SockAddr | undefined => {
  if (len < 2 || len > buf.length) return undefined
  const family = buf[0]! | (buf[1]! << 8)
  switch (family) {
    case AF_INET: {
      const L = layout.sockaddrIn
      if (len < L.addr + 4) return undefined
      return { family: "inet4", ip: buf.slice(L.addr, L.addr + 4), port: (buf[L.port]! << 8) | buf[L.port + 1]! }
    }
    case AF_INET6: {
      const L = layout.sockaddrIn6
      if (len < L.addr + 16) return undefined
      const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
      return {
        family: "inet6",
        ip: buf.slice(L.addr, L.addr + 16),
        port: (buf[L.port]! << 8) | buf[L.port + 1]!,
        flowinfo: dv.getUint32(L.flowinfo, false),
        scopeId: len >= L.scopeId + 4 ? dv.getUint32(L.scopeId, true) : 0
      }
    }
    case AF_UNIX: {
      const L = layout.sockaddrUn
      if (len <= L.path) return { family: "unnamed" }
      if (buf[L.path] === 0) return { family: "abstract", name: buf.slice(L.path + 1, len) }
      let end = L.path
      while (end < len && buf[end] !== 0) end++
      return { family: "unix", path: utf8d.decode(buf.subarray(L.path, end)) }
    }
    default:
      return undefined
  }
}

/** `true` when two kernel addresses are byte-for-byte equal (cheap cache check). @internal */
export const sameBytes = (a: Uint8Array, aOffset: number, aLen: number, b: Uint8Array, bLen: number): boolean => {
  if (aLen !== bLen) return false
  for (let i = 0; i < aLen; i++) if (a[aOffset + i] !== b[i]) return false
  return true
}

const isPort = (n: number) => Number.isInteger(n) && n >= 0 && n <= 65535
const isU32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff
