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
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import * as C from "../sys/constants.ts"
import { type BatchOptions, checkBatchOptions } from "./internal/Batch.ts"
import { DatagramBase } from "./internal/DatagramBase.ts"
import * as open_ from "./internal/open.ts"
import * as Resolver from "./Resolver.ts"
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

/** `input` resolved as an address of the socket's family, or the error naming it. */
const inFamily = (input: SocketAddress.Input, syscall: string, domain: number, family: string): SocketAddress.Encoded | IoError.IoError => {
  const a = SocketAddress.resolve(input, syscall)
  if (a instanceof IoError.IoError || a.domain === domain) return a
  return IoError.make("InvalidInput", syscall, `${check.show(input)} is not an ${family} address`, SocketAddress.format(a.address))
}

/** The first bad option, or `undefined`; checked before the socket opens. */
const checkOptions = (o: OpenOptions): string | undefined =>
  check.requiredObject("options", o) ?? check.first(
    o.family === "ipv4" || o.family === "ipv6" ? undefined : `family is "ipv4" or "ipv6", not ${check.show(o.family)}`,
    check.requiredInteger("protocol", o.protocol, 1, 254),
    check.integer("recvBufferSize (SO_RCVBUF)", o.recvBufferSize, 1, 2 ** 31 - 1),
    check.integer("sendBufferSize (SO_SNDBUF)", o.sendBufferSize, 1, 2 ** 31 - 1),
    checkBatchOptions(o.batch)
  )

/**
 * `open` without a Scope: the caller owns the socket and must `close()` it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const openUnscoped = (options: OpenOptions): RawSocket | IoError.IoError => {
  const bad = checkOptions(options)
  if (bad !== undefined) return IoError.make("InvalidInput", "socket", bad)
  const { family, protocol } = options
  const domain = family === "ipv6" ? C.AF_INET6 : C.AF_INET
  const at = options.bind === undefined ? undefined : inFamily(options.bind, "bind", domain, family)
  if (at instanceof IoError.IoError) return at
  const to = options.connect === undefined ? undefined : inFamily(options.connect, "connect", domain, family)
  if (to instanceof IoError.IoError) return to
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
  if (at !== undefined) steps.push(() => open_.bind(s, at))
  if (to !== undefined) steps.push(() => raw.connect(to.address))
  return open_.build(raw, steps)
}

/**
 * Opens a raw socket for one IP protocol; closed with the Scope. Host names
 * in `bind` and `connect` are resolved first (`Resolver`), to addresses of
 * the socket's family; the first is used.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open = (options: OpenOptions): Effect.Effect<RawSocket, IoError.IoError, Scope.Scope> =>
  Effect.suspend(() => {
    const bad = checkOptions(options)
    if (bad !== undefined) return Effect.fail(IoError.make("InvalidInput", "socket", bad))
    const family = options.family === "ipv6" ? "IPv6" : "IPv4"
    const named = (input: SocketAddress.Input | undefined, syscall: string) =>
      input === undefined || !(SocketAddress.classify(input, syscall) instanceof SocketAddress.HostName)
        ? Effect.succeed(input)
        : Resolver.resolveFirst(input, syscall, { family })
    return Effect.flatMap(
      Effect.all([named(options.bind, "bind"), named(options.connect, "connect")]),
      ([bind, connect]) => open_.scoped(() => openUnscoped({ ...options, bind, connect }))
    )
  })

/**
 * @since 0.1.0
 * @category guards
 */
export const isRawSocket = (u: unknown): u is RawSocket => u instanceof RawSocket
