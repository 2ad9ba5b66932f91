/**
 * A non-blocking UDP socket with mio's contract (`mio::net::UdpSocket`), plus
 * what mio leaves to socket2: reuse-port, buffer sizes, multicast for IPv4 and
 * IPv6, TOS/traffic class — and batched I/O (`sendBatch`/`recvBatch` on
 * `sendmmsg`/`recvmmsg`, UDP GSO and GRO where the kernel has them).
 *
 * Sends and receives return the byte count (with the source address for
 * `recvFrom`), `WouldBlock`, or an `IoError` value. On a connected socket the
 * kernel drops datagrams from other sources, and an ICMP error for an earlier
 * send (port unreachable) surfaces as `ConnectionRefused` on a later call.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as NetAddress from "effect/net/NetAddress"
import * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { isOk } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import { layout } from "../sys/layout.ts"
import { libc } from "../sys/libc.ts"
import * as sock from "../sys/socket.ts"
import { WouldBlock } from "../WouldBlock.ts"
import { type BatchOptions, checkBatchOptions } from "./internal/Batch.ts"
import { DatagramBase } from "./internal/DatagramBase.ts"
import type * as DatagramBaseModule from "./internal/DatagramBase.ts"
import * as open from "./internal/open.ts"
import { done, notBytes } from "./internal/SocketBase.ts"
import * as Resolver from "./Resolver.ts"
import * as SocketAddress from "./SocketAddress.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/UdpSocket"

/**
 * Options applied before `bind`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BindOptions {
  readonly reuseAddr?: boolean | undefined
  readonly reusePort?: boolean | undefined
  readonly onlyV6?: boolean | undefined
  readonly broadcast?: boolean | undefined
  readonly recvBufferSize?: number | undefined
  readonly sendBufferSize?: number | undefined
  readonly ttl?: number | undefined
  readonly tos?: number | undefined
  /** Buffers for `sendBatch`/`recvBatch` (allocated on first use). */
  readonly batch?: BatchOptions | undefined
}

/**
 * A multicast interface: an IPv4 interface address (`"192.168.1.5"`, or
 * Effect's `NetAddress.Ipv4Address`, as `NetAddress.MulticastInterface` has
 * it) for IPv4 groups, an interface index or name (`2`, `"eth0"`) for either
 * family.
 *
 * @since 0.1.0
 * @category models
 */
export type MulticastInterface = string | number | NetAddress.Ipv4Address

/**
 * @since 0.1.0
 * @category models
 */
export type ReceivedDatagram = DatagramBaseModule.ReceivedDatagram

/**
 * @since 0.1.0
 * @category models
 */
export type OutgoingDatagram = DatagramBaseModule.OutgoingDatagram

/**
 * @since 0.1.0
 * @category models
 */
export class UdpSocket extends DatagramBase {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId
  /**
   * Dissolves the association made by `connect` (`AF_UNSPEC`); the socket keeps
   * its local port. (Linux forgets a port the kernel picked — bound with port
   * 0, or by `connect` — when a UDP socket disconnects; it is bound again here.)
   *
   * @since 0.1.0
   */
  disconnect(): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("connect")
    const P = layout.sockaddrIn.port // the same offset in sockaddr_in6
    const named = sock.getsockname(this.fd)
    const port = isOk(named) ? (sock.addrOut.buf[P]! << 8) | sock.addrOut.buf[P + 1]! : 0
    const unspec = new Uint8Array(layout.sockaddrIn6.size)
    const e = done(sock.connect(this.fd, unspec, unspec.length), "connect")
    if (e !== undefined || port === 0) return e
    const after = sock.getsockname(this.fd)
    if (!isOk(after)) return IoError.fromFailure(after, "getsockname")
    const local = sock.addrOut.buf.slice(0, sock.addrOut.len)
    if (((local[P]! << 8) | local[P + 1]!) !== 0) return undefined
    // The address that remains is the one bind() was given (a wildcard keeps none).
    local[P] = port >> 8
    local[P + 1] = port & 0xff
    return done(sock.bind(this.fd, local, local.length), "bind")
  }

  /**
   * Sends `payload` as equal `segmentSize` datagrams (the last may be shorter)
   * to one destination: one UDP GSO `sendmsg` where the kernel supports it,
   * `sendmmsg` otherwise. Returns the datagrams sent.
   *
   * @since 0.1.0
   */
  sendSegments(
    payload: Uint8Array,
    segmentSize: number,
    target?: SocketAddress.Input
  ): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("sendmsg")
    if (!(payload instanceof Uint8Array)) return notBytes("sendmsg", payload)
    return this.batch().sendSegments(this.fd, payload, segmentSize, target === undefined ? undefined : this.target(target, "sendmsg"), this.traffic)
  }
  /**
   * Turns UDP GRO on or off: the kernel may then coalesce consecutive datagrams
   * of one flow, which `recvBatch` splits again. Returns whether GRO is on
   * (`false` where the kernel lacks it).
   *
   * @since 0.1.0
   */
  setGro(on: boolean): boolean | IoError.IoError {
    if (this.fd < 0) return IoError.closed("setsockopt")
    const bad = check.requiredBoolean("UDP_GRO", on)
    if (bad !== undefined) return IoError.make("InvalidInput", "setsockopt", bad)
    return this.batch().setGro(this.fd, on)
  }
  /** `SO_BROADCAST`. @since 0.1.0 */
  setBroadcast(on: boolean): IoError.IoError | undefined {
    return this.setBoolOpt(C.SOL_SOCKET, C.SO_BROADCAST, on, "SO_BROADCAST")
  }
  /** @since 0.1.0 */
  broadcast(): boolean | IoError.IoError {
    return this.getBoolOpt(C.SOL_SOCKET, C.SO_BROADCAST)
  }
  /** Joins a multicast group (IPv4 or IPv6, by the group's family). @since 0.1.0 */
  joinMulticast(group: string | NetAddress.IpAddress, iface?: MulticastInterface): IoError.IoError | undefined {
    return this.#membership(group, iface, true)
  }
  /** Leaves a multicast group. @since 0.1.0 */
  leaveMulticast(group: string | NetAddress.IpAddress, iface?: MulticastInterface): IoError.IoError | undefined {
    return this.#membership(group, iface, false)
  }
  /**
   * Path MTU discovery of the socket (`IP_MTU_DISCOVER`, and `IPV6_MTU_DISCOVER`
   * on an IPv6 socket): `"do"` sets Don't Fragment and refuses (`MessageTooLarge`)
   * a datagram over the path MTU the kernel knows; `"probe"` sets Don't Fragment
   * and ignores that knowledge, refusing only what the interface cannot carry —
   * a datagram too large for the path is then lost, never fragmented (what a
   * protocol probing sizes itself, RFC 8899, wants).
   *
   * @since 0.2.0
   */
  setPathMtuDiscovery(mode: "do" | "probe"): IoError.IoError | undefined {
    if (mode !== "do" && mode !== "probe") return IoError.make("InvalidInput", "setsockopt", `path MTU discovery is "do" or "probe", not ${check.show(mode)}`)
    const v4 = mode === "do" ? C.IP_PMTUDISC_DO : C.IP_PMTUDISC_PROBE
    if (this.domain !== C.AF_INET6) return this.setIntOpt(C.IPPROTO_IP, C.IP_MTU_DISCOVER, v4, "IP_MTU_DISCOVER", 0, 5)
    const e = this.setIntOpt(C.IPPROTO_IPV6, C.IPV6_MTU_DISCOVER, mode === "do" ? C.IPV6_PMTUDISC_DO : C.IPV6_PMTUDISC_PROBE, "IPV6_MTU_DISCOVER", 0, 5)
    // IPv4 peers of a dual-stack socket (mapped addresses) follow the IPv4 option.
    this.setIntOpt(C.IPPROTO_IP, C.IP_MTU_DISCOVER, v4, "IP_MTU_DISCOVER", 0, 5)
    return e
  }
  /**
   * The path MTU the kernel knows for the connected peer (`IP_MTU` / `IPV6_MTU`):
   * IP packet bytes, headers included (loopback: 65,536; Ethernet: 1,500).
   * A socket that is not connected answers `NotConnected`.
   *
   * @since 0.2.0
   */
  pathMtu(): number | IoError.IoError {
    return this.domain === C.AF_INET6 ? this.getIntOpt(C.IPPROTO_IPV6, C.IPV6_MTU) : this.getIntOpt(C.IPPROTO_IP, C.IP_MTU)
  }
  /** `IP_MULTICAST_LOOP` / `IPV6_MULTICAST_LOOP`, by the socket's family. @since 0.1.0 */
  setMulticastLoop(on: boolean): IoError.IoError | undefined {
    return this.domain === C.AF_INET6
      ? this.setBoolOpt(C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP, on, "IPV6_MULTICAST_LOOP")
      : this.setBoolOpt(C.IPPROTO_IP, C.IP_MULTICAST_LOOP, on, "IP_MULTICAST_LOOP")
  }
  /** @since 0.1.0 */
  multicastLoop(): boolean | IoError.IoError {
    return this.domain === C.AF_INET6
      ? this.getBoolOpt(C.IPPROTO_IPV6, C.IPV6_MULTICAST_LOOP)
      : this.getBoolOpt(C.IPPROTO_IP, C.IP_MULTICAST_LOOP)
  }
  /** `IP_MULTICAST_TTL` / `IPV6_MULTICAST_HOPS`, 0–255. @since 0.1.0 */
  setMulticastTtl(ttl: number): IoError.IoError | undefined {
    return this.domain === C.AF_INET6
      ? this.setIntOpt(C.IPPROTO_IPV6, C.IPV6_MULTICAST_HOPS, ttl, "multicast hops", 0, 255)
      : this.setIntOpt(C.IPPROTO_IP, C.IP_MULTICAST_TTL, ttl, "multicast TTL", 0, 255)
  }
  /** @since 0.1.0 */
  multicastTtl(): number | IoError.IoError {
    return this.domain === C.AF_INET6
      ? this.getIntOpt(C.IPPROTO_IPV6, C.IPV6_MULTICAST_HOPS)
      : this.getIntOpt(C.IPPROTO_IP, C.IP_MULTICAST_TTL)
  }
  /** The interface outgoing multicast leaves by. @since 0.1.0 */
  setMulticastInterface(iface: MulticastInterface): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("setsockopt")
    const bad = notInterface(iface, this.domain)
    if (bad !== undefined) return bad
    if (this.domain === C.AF_INET6) {
      const index = ifindex(iface)
      if (typeof index !== "number") return index
      return this.setIntOpt(C.IPPROTO_IPV6, C.IPV6_MULTICAST_IF, index, "interface index", 0, 0x7fffffff)
    }
    const mreq = mreqn(undefined, iface)
    if (mreq instanceof IoError.IoError) return mreq
    return done(sock.setsockopt(this.fd, C.IPPROTO_IP, C.IP_MULTICAST_IF, mreq, mreq.length), "setsockopt")
  }

  #membership(group: string | NetAddress.IpAddress, iface: MulticastInterface | undefined, join: boolean): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("setsockopt")
    const ip = typeof group === "string"
      ? NetAddress.ipFromString(group)
      : NetAddress.isIpAddress(group)
      ? Result.succeed(group)
      : Result.fail(undefined)
    if (Result.isFailure(ip) || !NetAddress.isMulticast(ip.success)) {
      return IoError.make(
        "InvalidInput",
        "setsockopt",
        `group ${check.show(group)} is not a multicast group address ("239.1.2.3", "ff02::1" or a NetAddress IpAddress)`
      )
    }
    if (this.domain === C.AF_INET && !NetAddress.isIpv4Address(ip.success)) {
      return IoError.make("InvalidInput", "setsockopt", `group ${check.show(group)} is an IPv6 group; this socket is IPv4`)
    }
    const bad = iface === undefined ? undefined : notInterface(iface, NetAddress.isIpv4Address(ip.success) ? C.AF_INET : C.AF_INET6)
    if (bad !== undefined) return bad
    if (NetAddress.isIpv4Address(ip.success)) {
      const mreq = mreqn(ip.success, iface)
      if (mreq instanceof IoError.IoError) return mreq
      return done(
        sock.setsockopt(this.fd, C.IPPROTO_IP, join ? C.IP_ADD_MEMBERSHIP : C.IP_DROP_MEMBERSHIP, mreq, mreq.length),
        "setsockopt"
      )
    }
    const index = iface === undefined ? 0 : ifindex(iface)
    if (typeof index !== "number") return index
    const L = layout.ipv6Mreq
    const mreq = new Uint8Array(L.size)
    mreq.set(NetAddress.ipv6ToOctets(ip.success), L.multiaddr)
    new DataView(mreq.buffer).setUint32(L.ifindex, index, true)
    return done(
      sock.setsockopt(this.fd, C.IPPROTO_IPV6, join ? C.IPV6_ADD_MEMBERSHIP : C.IPV6_DROP_MEMBERSHIP, mreq, mreq.length),
      "setsockopt"
    )
  }


}

/** Longest interface name (`IFNAMSIZ` less the terminating NUL). */
const IFNAME_MAX = 15

/**
 * Why `iface` is not a multicast interface — an index, a name or an IPv4
 * address — or `undefined`. Checked before any native call: `if_nametoindex`
 * would read a non-string (`null`, a `NetAddress` value) as a C string.
 */
const notInterface = (iface: unknown, domain: number): IoError.IoError | undefined => {
  const ok = typeof iface === "number"
    ? Number.isInteger(iface) && iface >= 0 && iface <= 0x7fffffff
    : typeof iface === "string"
    ? iface.length > 0 && !iface.includes("\0") && (iface.length <= IFNAME_MAX || Result.isSuccess(NetAddress.ipv4FromString(iface)))
    : NetAddress.isIpv4Address(iface) && domain === C.AF_INET
  return ok ? undefined : IoError.make(
    "InvalidInput",
    "setsockopt",
    domain === C.AF_INET
      ? `interface is an interface index, name ("eth0") or IPv4 address ("192.168.1.5" or a NetAddress Ipv4Address), not ${check.show(iface)}`
      : `interface of an IPv6 socket is an interface index or name ("eth0"), not ${check.show(iface)}`
  )
}

/** The index of an interface checked by `notInterface`. */
const ifindex = (iface: MulticastInterface): number | IoError.IoError => {
  if (typeof iface === "number") return iface
  if (typeof iface !== "string") {
    return IoError.make("InvalidInput", "setsockopt", `interface ${check.show(iface)} is an address; an interface index or name is needed here`)
  }
  const i = libc().if_nametoindex(iface)
  return i > 0 ? i : IoError.make("InvalidInput", "setsockopt", `interface ${check.show(iface)} is not a network interface here`)
}

/** `struct ip_mreqn` for a group and an interface (address, index or name). */
const mreqn = (group: NetAddress.Ipv4Address | undefined, iface: MulticastInterface | undefined): Uint8Array | IoError.IoError => {
  const L = layout.ipMreqn
  const b = new Uint8Array(L.size)
  if (group !== undefined) b.set(NetAddress.ipv4ToOctets(group), L.multiaddr)
  if (iface === undefined) return b
  if (NetAddress.isIpv4Address(iface)) {
    b.set(NetAddress.ipv4ToOctets(iface), L.address)
    return b
  }
  if (typeof iface === "string") {
    const ip = NetAddress.ipv4FromString(iface)
    if (Result.isSuccess(ip)) {
      b.set(NetAddress.ipv4ToOctets(ip.success), L.address)
      return b
    }
  }
  const index = ifindex(iface)
  if (typeof index !== "number") return index
  new DataView(b.buffer).setInt32(L.ifindex, index, true)
  return b
}

/** The first bad bind option, or `undefined`; checked before the socket opens. */
const checkBindOptions = (o: BindOptions | undefined): string | undefined =>
  check.object("options", o) ?? check.first(
    check.boolean("reuseAddr", o?.reuseAddr),
    check.boolean("reusePort", o?.reusePort),
    check.boolean("onlyV6", o?.onlyV6),
    check.boolean("broadcast", o?.broadcast),
    check.integer("recvBufferSize (SO_RCVBUF)", o?.recvBufferSize, 1, 2 ** 31 - 1),
    check.integer("sendBufferSize (SO_SNDBUF)", o?.sendBufferSize, 1, 2 ** 31 - 1),
    check.integer("ttl (IP_TTL)", o?.ttl, 1, 255),
    check.integer("tos (IP_TOS)", o?.tos, 0, 255),
    checkBatchOptions(o?.batch)
  )

/**
 * Binds a UDP socket; it closes with the Scope. A host name is resolved first
 * (`Resolver`), and its addresses are tried in order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bind = (
  address: SocketAddress.Input,
  options?: BindOptions
): Effect.Effect<UdpSocket, IoError.IoError, Scope.Scope> =>
  Effect.suspend(() => {
    const bad = checkBindOptions(options)
    if (bad !== undefined) return Effect.fail(IoError.make("InvalidInput", "bind", bad))
    return Resolver.withAddress(address, "bind", (at) => open.scoped(() => bindUnscoped(at, options)), { inet: true })
  })

/**
 * `bind` without a Scope: the caller owns the socket and must `close()` it.
 * It cannot wait for a lookup: a host name is `InvalidInput`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bindUnscoped = (address: SocketAddress.Input, options?: BindOptions): UdpSocket | IoError.IoError => {
  const at = open.resolveInet(address, "bind")
  if (at instanceof IoError.IoError) return at
  const bad = checkBindOptions(options)
  if (bad !== undefined) return IoError.make("InvalidInput", "bind", bad)
  const s = open.socket(at.domain, C.SOCK_DGRAM, 0)
  if (typeof s !== "number") return s
  const udp = new UdpSocket(s, at.domain, options?.batch)
  const steps: Array<() => IoError.IoError | undefined> = []
  const o = options
  if (o?.reuseAddr !== undefined) steps.push(() => udp.setReuseAddr(o.reuseAddr!))
  if (o?.reusePort !== undefined) steps.push(() => udp.setReusePort(o.reusePort!))
  if (o?.onlyV6 !== undefined) steps.push(() => udp.setOnlyV6(o.onlyV6!))
  if (o?.broadcast !== undefined) steps.push(() => udp.setBroadcast(o.broadcast!))
  if (o?.recvBufferSize !== undefined) steps.push(() => udp.setRecvBufferSize(o.recvBufferSize!))
  if (o?.sendBufferSize !== undefined) steps.push(() => udp.setSendBufferSize(o.sendBufferSize!))
  if (o?.ttl !== undefined) steps.push(() => udp.setTtl(o.ttl!))
  if (o?.tos !== undefined) steps.push(() => udp.setTos(o.tos!))
  steps.push(() => open.bind(s, at))
  return open.build(udp, steps)
}

/**
 * Adopts a UDP socket fd the caller owns (made non-blocking and close-on-exec);
 * closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFd = (fd: number, options?: { readonly batch?: BatchOptions }): Effect.Effect<UdpSocket, IoError.IoError, Scope.Scope> =>
  open.scoped(() => {
    const bad = check.object("options", options) ?? checkBatchOptions(options?.batch)
    if (bad !== undefined) return IoError.make("InvalidInput", "fromFd", bad)
    const d = open.adopt(fd, C.SOCK_DGRAM)
    return typeof d === "number" ? new UdpSocket(fd, d, options?.batch) : d
  })

/**
 * @since 0.1.0
 * @category guards
 */
export const isUdpSocket = (u: unknown): u is UdpSocket => u instanceof UdpSocket
