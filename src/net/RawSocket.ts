/**
 * A non-blocking raw IP socket (`SOCK_RAW`) for one IP protocol — beyond mio,
 * for protocols the kernel does not speak any more (DCCP over IP protocol 33).
 * Opening one needs `CAP_NET_RAW`; without it `open` fails with kind
 * `PermissionDenied`.
 *
 * The kernel writes the IP header on send. On receive, an IPv4 raw socket
 * returns the packet *with* its IP header (strip `ihl × 4` bytes), an IPv6 raw
 * socket without it. A raw socket receives every packet of its protocol that
 * reaches the host (filtered by its bound address and, once connected, by the
 * peer address). Addresses carry port 0.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as IoError from "../IoError.ts"
import * as C from "../sys/constants.ts"
import type { BatchOptions } from "./internal/Batch.ts"
import { DatagramBase } from "./internal/DatagramBase.ts"
import * as open_ from "./internal/open.ts"
import * as SocketAddress from "./SocketAddress.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/RawSocket"

/**
 * @since 0.1.0
 * @category models
 */
export interface OpenOptions {
  readonly family: "ipv4" | "ipv6"
  /** The IP protocol number (1–254, not 255). */
  readonly protocol: number
  /** Receive only packets sent to this address (`"10.0.0.1:0"`; the port is ignored). */
  readonly bind?: SocketAddress.Input | undefined
  /** Receive only packets from this address, and send to it by default. */
  readonly connect?: SocketAddress.Input | undefined
  readonly recvBufferSize?: number | undefined
  readonly sendBufferSize?: number | undefined
  readonly batch?: BatchOptions | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export class RawSocket extends DatagramBase {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId
  /** The IP protocol this socket carries. @since 0.1.0 */
  readonly protocol: number

  /** @internal */
  constructor(fd: number, domain: number, protocol: number, batch?: BatchOptions) {
    super(fd, domain, batch)
    this.protocol = protocol
  }
}

/**
 * `open` without a Scope: the caller owns the socket and must `close()` it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const openUnscoped = (options: OpenOptions): RawSocket | IoError.IoError => {
  const { family, protocol } = options
  if (!Number.isInteger(protocol) || protocol < 1 || protocol > 254) {
    return IoError.make("InvalidInput", "socket", `an IP protocol number is from 1 to 254, not ${protocol}`)
  }
  if (family !== "ipv4" && family !== "ipv6") return IoError.make("InvalidInput", "socket", `family is ipv4 or ipv6, not ${String(family)}`)
  const domain = family === "ipv6" ? C.AF_INET6 : C.AF_INET
  const s = open_.socket(domain, C.SOCK_RAW, protocol)
  if (typeof s !== "number") {
    return s.kind === "PermissionDenied"
      ? IoError.make("PermissionDenied", "socket", "raw IP sockets need CAP_NET_RAW (run as root or grant the capability)")
      : s
  }
  const raw = new RawSocket(s, domain, protocol, options.batch)
  const steps: Array<() => IoError.IoError | undefined> = []
  if (options.recvBufferSize !== undefined) steps.push(() => raw.setRecvBufferSize(options.recvBufferSize!))
  if (options.sendBufferSize !== undefined) steps.push(() => raw.setSendBufferSize(options.sendBufferSize!))
  if (options.bind !== undefined) {
    const bindTo = options.bind
    steps.push(() => {
      const at = SocketAddress.resolve(bindTo, "bind")
      if (at instanceof IoError.IoError) return at
      if (at.domain !== domain) return IoError.make("InvalidInput", "bind", `not an ${family} address`, SocketAddress.format(at.address))
      return open_.bind(s, at)
    })
  }
  if (options.connect !== undefined) {
    const to = options.connect
    steps.push(() => raw.connect(to))
  }
  return open_.build(raw, steps)
}

/**
 * Opens a raw socket for one IP protocol; closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (options: OpenOptions): Effect.Effect<RawSocket, IoError.IoError, Scope.Scope> =>
  open_.scoped(() => openUnscoped(options))

/**
 * @since 0.1.0
 * @category guards
 */
export const isRawSocket = (u: unknown): u is RawSocket => u instanceof RawSocket
