/**
 * Socket addresses as effect-mio takes and returns them: Effect's own
 * `effect/net` `NetAddress` values for IPv4, IPv6 and Unix paths, plus the two
 * Linux Unix-socket forms `effect/net` has no value for — abstract names and
 * unnamed sockets.
 *
 * Accepted wherever an address is (`Input`): strings — `"127.0.0.1:8080"`,
 * `"[::1]:0"`, `"[fe80::1%eth0]:80"` (zone by name or number),
 * `"localhost:7000"` (a host name), `"/tmp/x.sock"` or `"./x.sock"` (a path),
 * `"@name"` (an abstract name) — Effect's `NetAddress` values, Effect's
 * `InetAddressInput` parts (`{ address, port }`), `{ host, port }` (as
 * `node:net` and Effect's `Host.HostPortParts` take it), Effect's `Host.HostPort`
 * values and `{ path }`.
 *
 * Host names are resolved by the constructors that are Effects (see
 * `Resolver`); `parse` and the synchronous calls (`sendTo`, `connect` of a
 * datagram socket, the `…Unscoped` constructors) cannot wait for a lookup and
 * refuse a host name with an `InvalidInput` error naming it.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Host from "effect/net/Host"
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
 * What an address argument may be: a string (`"127.0.0.1:80"`, `"[::1]:80"`,
 * `"localhost:7000"`, `"/path.sock"`, `"@name"`), an address value, Effect's
 * `NetAddress.SocketAddress.Input` (`{ address, port, scopeId? }`, `{ path }`),
 * or a host and port (`{ host, port }`, Effect's `Host.HostPort`). `address` and
 * `host` may be an IP literal, a `NetAddress` IP address or a host name.
 *
 * @since 0.1.0
 * @category models
 */
export type Input =
  | string
  | SocketAddress
  | NetAddress.InetAddressParts
  | NetAddress.UnixPathAddressParts
  | Host.HostPortInput

/**
 * A host name and a port, still to be resolved (`"localhost:7000"`,
 * `{ host: "example.com", port: 443 }`).
 *
 * @since 0.2.0
 * @category models
 */
export class HostName extends Data.TaggedClass("HostName")<{
  /** The normalized name (lower case, IDNA). */
  readonly host: Host.DomainName
  readonly port: number
}> {
  override toString(): string {
    return `${this.host}:${this.port}`
  }
}

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
 * Parses an address argument, or explains why it is not one (kind
 * `InvalidInput`). A host name is refused: this call cannot wait for a lookup
 * (`classify` keeps it; the Effect constructors resolve it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (input: Input, syscall = "address"): SocketAddress | IoError.IoError => {
  const a = classify(input, syscall)
  return a instanceof HostName ? hostNameRefused(input, a, syscall) : a
}

/**
 * Parses an address argument keeping host names for a resolver: an address, a
 * `HostName`, or an `InvalidInput` error naming the input.
 *
 * @since 0.2.0
 * @category constructors
 */
export const classify = (input: Input, syscall = "address"): SocketAddress | HostName | IoError.IoError => {
  if (typeof input === "string") return fromString(input, syscall)
  if (typeof input !== "object" || input === null || "_tag" in input) {
    if (Host.isHostPort(input)) return fromHost(input.host, input.port, undefined, input, syscall)
    return isWellFormed(input) ? input : notAnAddress(input, syscall)
  }
  const o = input as { readonly host?: unknown; readonly address?: unknown; readonly path?: unknown; readonly port?: unknown; readonly scopeId?: unknown }
  if ("host" in o && !("address" in o) && !("path" in o)) return fromHost(o.host, o.port, undefined, input, syscall)
  if ("address" in o && !("host" in o) && !("path" in o)) return fromHost(o.address, o.port, o.scopeId, input, syscall)
  if ("path" in o && !("host" in o) && !("address" in o) && typeof o.path === "string") return NetAddress.unixPathAddress(o.path)
  return notAnAddress(input, syscall)
}

const notAnAddress = (input: unknown, syscall: string): IoError.IoError =>
  IoError.make(
    "InvalidInput",
    syscall,
    `${check.show(input)} is not a socket address (a string such as "127.0.0.1:80", "localhost:80", "/path" or "@name", a NetAddress InetAddress or UnixPathAddress, { address, port }, { host, port } or { path })`
  )

/** The error of a synchronous call given a host name. @internal */
export const hostNameRefused = (input: unknown, name: HostName, syscall: string): IoError.IoError =>
  IoError.make(
    "InvalidInput",
    syscall,
    `${check.show(input)} names a host (${name.host}), and this synchronous call does no DNS lookup: give an IP literal, or resolve the name first (the Effect constructors do, through AddressResolver)`,
    name.toString()
  )

const fromString = (input: string, syscall: string): SocketAddress | HostName | IoError.IoError => {
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
  if (Result.isSuccess(r)) return r.success
  const named = Host.hostPortFromString(input)
  if (Result.isSuccess(named) && Host.isDomainName(named.success.host)) {
    return new HostName({ host: named.success.host, port: named.success.port })
  }
  const why = Result.isFailure(named) && !input.startsWith("[") ? named.failure.message : r.failure.message
  return IoError.make(
    "InvalidInput",
    syscall,
    `${check.show(input)} is not an address: ${why} (host:port, [IPv6]:port, /path or @name)`,
    input
  )
}

/**
 * `{ host, port }` / `{ address, port, scopeId? }` / `Host.HostPort`: the host
 * may be a `NetAddress` IP address, octets, an IP literal (an IPv6 one with a
 * zone), or a host name.
 */
const fromHost = (
  host: unknown,
  port: unknown,
  scopeId: unknown,
  input: unknown,
  syscall: string
): SocketAddress | HostName | IoError.IoError => {
  const bad = (why: string) => IoError.make("InvalidInput", syscall, `${check.show(input)} is not an address: ${why}`)
  if (!isPort(port)) return bad(`port is an integer from 0 to 65535, not ${check.show(port)}`)
  if (scopeId !== undefined && !(typeof scopeId === "number" && Number.isInteger(scopeId) && scopeId >= 0 && scopeId <= 0xffffffff)) {
    return bad(`scopeId is an integer from 0 to 2^32 - 1, not ${check.show(scopeId)}`)
  }
  const p = port as number
  if (typeof host === "string") {
    const literal = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
    if (literal.includes(":")) {
      // An IPv6 literal, perhaps with a zone: parse it as "[ip%zone]:port".
      const zone = scopeId === undefined || literal.includes("%") ? "" : `%${scopeId}`
      const a = fromString(`[${literal}${zone}]:${p}`, syscall)
      return a instanceof IoError.IoError ? bad(`${check.show(host)} is not an IPv6 address`) : a
    }
    const ip = NetAddress.ipv4FromString(literal)
    if (Result.isSuccess(ip)) return NetAddress.inetAddressUnsafe(ip.success, p)
    const name = Host.domainNameFromString(literal)
    return Result.isSuccess(name)
      ? new HostName({ host: name.success, port: p })
      : bad(`${check.show(host)} is not an IP address or a host name (${name.failure.message})`)
  }
  if (Host.isDomainName(host)) return new HostName({ host, port: p })
  const ip = NetAddress.isIpAddress(host)
    ? Result.succeed(host)
    : Array.isArray(host) || host instanceof Uint8Array
    ? NetAddress.ipFromInput(host as NetAddress.IpAddressInput)
    : undefined
  if (ip === undefined || Result.isFailure(ip)) {
    return bad(`the host is an IP address, an IP literal or a host name, not ${check.show(host)}`)
  }
  if (NetAddress.isIpv4Address(ip.success)) return NetAddress.inetAddressUnsafe(ip.success, p)
  const v6 = NetAddress.inetAddressV6(ip.success, p, { scopeId: (scopeId as number | undefined) ?? 0 })
  return Result.isSuccess(v6) ? v6.success : bad(v6.failure.message)
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
