/**
 * Socket addresses as effect-mio takes and returns them: Effect's own
 * `effect/net` `NetAddress` values for IPv4, IPv6 and Unix paths, plus the two
 * Linux Unix-socket forms `effect/net` has no value for — abstract names and
 * unnamed sockets.
 *
 * String forms accepted wherever an address is: `"127.0.0.1:8080"`,
 * `"[::1]:0"`, `"[fe80::1%eth0]:80"` (zone by name or number), `"/tmp/x.sock"`
 * or `"./x.sock"` (a path), `"@name"` (an abstract name). Only numeric IP
 * literals are accepted: there is no DNS lookup at this level.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as NetAddress from "effect/net/NetAddress"
import * as Result from "effect/Result"
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { libc } from "../sys/libc.ts"
import { decodeSockAddr, encodeSockAddr, sameBytes, type SockAddr, SOCKADDR_MAX } from "../sys/sockaddr.ts"

/**
 * A Linux abstract Unix socket name (`"@name"`): no file, gone when the last
 * socket bound to it closes.
 *
 * @since 0.1.0
 * @category models
 */
export class UnixAbstractAddress extends Data.TaggedClass("UnixAbstractAddress")<{
  /** The name's bytes, after the leading NUL. */
  readonly bytes: Uint8Array
}> {
  /** The name as text (UTF-8, lossy for names that are not). */
  get name(): string {
    return new TextDecoder().decode(this.bytes)
  }
  override toString(): string {
    return `@${this.name}`
  }
}

/**
 * The address of an unbound Unix socket (a `socketpair` end, an unbound client).
 *
 * @since 0.1.0
 * @category models
 */
export class UnixUnnamedAddress extends Data.TaggedClass("UnixUnnamedAddress")<{}> {
  override toString(): string {
    return "(unnamed)"
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export type SocketAddress =
  | NetAddress.InetAddress
  | NetAddress.UnixPathAddress
  | UnixAbstractAddress
  | UnixUnnamedAddress

/**
 * What an address argument may be.
 *
 * @since 0.1.0
 * @category models
 */
export type Input = string | SocketAddress

/**
 * An abstract name.
 *
 * @since 0.1.0
 * @category constructors
 */
export const abstract = (name: string | Uint8Array): UnixAbstractAddress =>
  new UnixAbstractAddress({
    // Anything else is kept as it is, for `parse` (and every address argument) to refuse.
    bytes: typeof name === "string" ? new TextEncoder().encode(name) : name instanceof Uint8Array ? Uint8Array.from(name) : name
  })

/**
 * The unnamed address.
 *
 * @since 0.1.0
 * @category constants
 */
export const unnamed: UnixUnnamedAddress = new UnixUnnamedAddress()

/**
 * @since 0.1.0
 * @category guards
 */
export const isInet = (a: SocketAddress): a is NetAddress.InetAddress =>
  a._tag === "InetAddressV4" || a._tag === "InetAddressV6"

/**
 * @since 0.1.0
 * @category guards
 */
export const isUnix = (a: SocketAddress): a is NetAddress.UnixPathAddress | UnixAbstractAddress | UnixUnnamedAddress =>
  !isInet(a)

/**
 * `"127.0.0.1:80"`, `"[::1]:80"`, `"/tmp/x"`, `"@name"`, `"(unnamed)"`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (a: SocketAddress): string => {
  switch (a._tag) {
    case "InetAddressV4":
    case "InetAddressV6":
      return NetAddress.formatInet(a)
    case "UnixPathAddress":
      return a.path
    case "UnixAbstractAddress":
    case "UnixUnnamedAddress":
      return a.toString()
  }
}

const zoned = /^\[([^\]%]+)%([^\]]+)\]:(\d+)$/

/**
 * Parses an address argument, or explains why it is not one (kind `InvalidInput`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (input: Input, syscall = "address"): SocketAddress | IoError.IoError => {
  if (typeof input !== "string") {
    return isWellFormed(input)
      ? input
      : IoError.make(
        "InvalidInput",
        syscall,
        `${check.show(input)} is not a socket address (a string such as "127.0.0.1:80", "/path" or "@name", or a NetAddress InetAddress or UnixPathAddress)`
      )
  }
  if (input.startsWith("@")) return abstract(input.slice(1))
  if (input.startsWith("/") || input.startsWith(".")) return NetAddress.unixPathAddress(input)
  let text = input
  const m = zoned.exec(input)
  if (m !== null && !/^\d+$/.test(m[2]!)) {
    // A zone given by interface name: resolve it to its index, as getaddrinfo does.
    const index = libc().if_nametoindex(m[2]!)
    if (index === 0) return IoError.make("InvalidInput", syscall, `${check.show(input)}: no network interface named ${m[2]}`, input)
    text = `[${m[1]}%${index}]:${m[3]}`
  }
  const r = NetAddress.inetAddressFromString(text)
  return Result.isSuccess(r)
    ? r.success
    : IoError.make("InvalidInput", syscall, `${check.show(input)} is not an address: ${r.failure.message} (IP literals only, no DNS)`, input)
}

const isPort = (n: unknown): boolean => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 65535

/**
 * Whether an address object is one of ours and complete — untyped callers
 * hand over objects with only a `_tag`, which the encoder cannot use.
 */
const isWellFormed = (a: unknown): a is SocketAddress => {
  if (typeof a !== "object" || a === null) return false
  const o = a as { readonly _tag?: unknown; readonly address?: unknown; readonly port?: unknown; readonly scopeId?: unknown }
  switch (o._tag) {
    case "InetAddressV4":
      return NetAddress.isInetAddressV4(a) && NetAddress.isIpv4Address(o.address) && isPort(o.port)
    case "InetAddressV6":
      return NetAddress.isInetAddressV6(a) && NetAddress.isIpv6Address(o.address) && isPort(o.port) &&
        typeof o.scopeId === "number" && Number.isInteger(o.scopeId) && o.scopeId >= 0 && o.scopeId <= 0xffffffff
    case "UnixPathAddress":
      return NetAddress.isUnixPathAddress(a) && typeof (a as NetAddress.UnixPathAddress).path === "string"
    case "UnixAbstractAddress":
      return (a as UnixAbstractAddress).bytes instanceof Uint8Array
    case "UnixUnnamedAddress":
      return true
    default:
      return false
  }
}

/** The sys-level form of an address. @internal */
export const toSockAddr = (a: SocketAddress): SockAddr => {
  switch (a._tag) {
    case "InetAddressV4":
      return { family: "inet4", ip: Uint8Array.from(NetAddress.ipv4ToOctets(a.address)), port: a.port }
    case "InetAddressV6":
      return {
        family: "inet6",
        ip: Uint8Array.from(NetAddress.ipv6ToOctets(a.address)),
        port: a.port,
        flowinfo: 0,
        scopeId: a.scopeId
      }
    case "UnixPathAddress":
      return { family: "unix", path: a.path }
    case "UnixAbstractAddress":
      return { family: "abstract", name: a.bytes }
    case "UnixUnnamedAddress":
      return { family: "unnamed" }
  }
}

/** The address for a sys-level form. @internal */
export const fromSockAddr = (s: SockAddr): SocketAddress => {
  switch (s.family) {
    case "inet4":
      return NetAddress.inetAddressUnsafe(NetAddress.ipv4FromBytesUnsafe(s.ip), s.port)
    case "inet6": {
      const ip = NetAddress.ipv6FromBytesUnsafe(s.ip)
      const r = NetAddress.inetAddressV6(ip, s.port, { scopeId: s.scopeId })
      return Result.isSuccess(r) ? r.success : NetAddress.inetAddressUnsafe(ip, s.port)
    }
    case "unix":
      return NetAddress.unixPathAddress(s.path)
    case "abstract":
      return new UnixAbstractAddress({ bytes: s.name })
    case "unnamed":
      return unnamed
  }
}

/**
 * An address encoded for the kernel, kept with its source so that repeated
 * sends to one destination encode once.
 *
 * @internal
 */
export interface Encoded {
  readonly address: SocketAddress
  readonly bytes: Uint8Array
  readonly length: number
  /** `AF_INET`, `AF_INET6` or `AF_UNIX`. */
  readonly domain: number
}

/** Encodes an address, or explains why it cannot be (kind `InvalidInput`). @internal */
export const encode = (a: SocketAddress, syscall: string): Encoded | IoError.IoError => {
  const bytes = new Uint8Array(SOCKADDR_MAX)
  const length = encodeSockAddr(toSockAddr(a), bytes)
  if (typeof length === "string") return IoError.make("InvalidInput", syscall, `${check.show(format(a))}: ${length}`, format(a))
  return { address: a, bytes, length, domain: bytes[0]! | (bytes[1]! << 8) }
}

/** Parses and encodes an address argument. @internal */
export const resolve = (input: Input, syscall: string): Encoded | IoError.IoError => {
  const a = parse(input, syscall)
  return a instanceof IoError.IoError ? a : encode(a, syscall)
}

/**
 * Decodes kernel-filled address bytes, returning the previous result when the
 * bytes are the same as last time (a receive loop from one peer decodes once).
 *
 * @since 0.1.0
 * @category models
 */
export class Decoder {
  readonly #last = new Uint8Array(SOCKADDR_MAX)
  #lastLen = -1
  #lastAddress: SocketAddress = unnamed

  decode(buf: Uint8Array, len: number, offset = 0): SocketAddress {
    if (sameBytes(buf, offset, len, this.#last, this.#lastLen)) return this.#lastAddress
    const bytes = offset === 0 ? buf : buf.subarray(offset, offset + len)
    const s = decodeSockAddr(bytes, len)
    const a = s === undefined ? unnamed : fromSockAddr(s)
    this.#last.set(bytes.subarray(0, len))
    this.#lastLen = len
    this.#lastAddress = a
    return a
  }
}
