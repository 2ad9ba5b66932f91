/**
 * A non-blocking TCP listener with mio's contract (`mio::net::TcpListener`):
 * bound with `SO_REUSEADDR`, accepting with `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`.
 * Beyond mio: a backlog option and `SO_REUSEPORT` (which Node 20's `net` ignores)
 * so that several listeners — in several worker threads — can share one port.
 *
 * `accept()` returns the new stream and its peer address, or `WouldBlock` when no
 * connection is pending. Register the listener `READABLE` and accept until
 * `WouldBlock` after each event. The accepted stream belongs to the caller:
 * close it, or give it to a Scope with `Net.scoped`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { isOk } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import * as sock from "../sys/socket.ts"
import { WouldBlock } from "../WouldBlock.ts"
import * as open from "./internal/open.ts"
import { IpSocketBase } from "./internal/SocketBase.ts"
import * as Resolver from "./Resolver.ts"
import * as SocketAddress from "./SocketAddress.ts"
import { TcpStream } from "./TcpStream.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/TcpListener"

/**
 * Options applied before `bind` and `listen`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListenOptions {
  /** Pending-connection queue length (default 128, as mio; the kernel caps it at `somaxconn`). */
  readonly backlog?: number | undefined
  /** `SO_REUSEADDR` (default `true`, as mio). */
  readonly reuseAddr?: boolean | undefined
  /** `SO_REUSEPORT` (default `false`). */
  readonly reusePort?: boolean | undefined
  /** `IPV6_V6ONLY` for an IPv6 address. */
  readonly onlyV6?: boolean | undefined
  readonly recvBufferSize?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export class TcpListener extends IpSocketBase {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId

  /**
   * Accepts one pending connection: `[stream, peer]`, or `WouldBlock`.
   *
   * @since 0.1.0
   */
  accept(): readonly [TcpStream, SocketAddress.SocketAddress] | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("accept4")
    const r = sock.accept(this.fd)
    if (!isOk(r)) return r === WouldBlock ? WouldBlock : IoError.fromFailure(r, "accept4")
    return [new TcpStream(r, this.domain), this.decoder.decode(sock.addrOut.buf, sock.addrOut.len)]
  }

  /**
   * `TCP_NODELAY` on the listening socket. Linux copies it to every stream the
   * listener accepts from then on, which saves a `setsockopt` per connection.
   *
   * @since 0.2.0
   */
  setNodelay(on: boolean): IoError.IoError | undefined {
    return this.setBoolOpt(C.IPPROTO_TCP, C.TCP_NODELAY, on, "TCP_NODELAY")
  }
  /**
   * Whether `TCP_NODELAY` is on for the listening socket (and so for the
   * streams it accepts).
   *
   * @since 0.2.0
   */
  nodelay(): boolean | IoError.IoError {
    return this.getBoolOpt(C.IPPROTO_TCP, C.TCP_NODELAY)
  }
}

/** The first bad listen option, or `undefined`. */
const checkListenOptions = (options: ListenOptions | undefined): IoError.IoError | undefined => {
  const bad = check.object("options", options) ?? check.first(
    check.integer("backlog", options?.backlog, 0, 2 ** 31 - 1),
    check.boolean("reuseAddr", options?.reuseAddr),
    check.boolean("reusePort", options?.reusePort),
    check.boolean("onlyV6", options?.onlyV6),
    check.integer("recvBufferSize (SO_RCVBUF)", options?.recvBufferSize, 1, 2 ** 31 - 1)
  )
  return bad === undefined ? undefined : IoError.make("InvalidInput", "listen", bad)
}

/**
 * Binds and listens; the listener closes with the Scope. A host name is
 * resolved first (`Resolver`), and its addresses are tried in order.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bind = (
  address: SocketAddress.Input,
  options?: ListenOptions
): Effect.Effect<TcpListener, IoError.IoError, Scope.Scope> =>
  Effect.suspend(() => {
    const bad = checkListenOptions(options)
    if (bad !== undefined) return Effect.fail(bad)
    return Resolver.withAddress(address, "bind", (at) => open.scoped(() => bindUnscoped(at, options)), { inet: true })
  })

/**
 * `bind` without a Scope: the caller owns the listener and must `close()` it.
 * It cannot wait for a lookup: a host name is `InvalidInput`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bindUnscoped = (address: SocketAddress.Input, options?: ListenOptions): TcpListener | IoError.IoError => {
  const at = open.resolveInet(address, "bind")
  if (at instanceof IoError.IoError) return at
  const bad = checkListenOptions(options)
  if (bad !== undefined) return bad
  const backlog = options?.backlog ?? 128
  const s = open.socket(at.domain, C.SOCK_STREAM, 0)
  if (typeof s !== "number") return s
  const listener = new TcpListener(s, at.domain)
  const steps: Array<() => IoError.IoError | undefined> = [
    () => listener.setReuseAddr(options?.reuseAddr ?? true)
  ]
  if (options?.reusePort === true) steps.push(() => listener.setReusePort(true))
  if (options?.onlyV6 !== undefined) steps.push(() => listener.setOnlyV6(options.onlyV6!))
  if (options?.recvBufferSize !== undefined) steps.push(() => listener.setRecvBufferSize(options.recvBufferSize!))
  steps.push(() => open.bind(s, at))
  steps.push(() => {
    const r = sock.listen(s, backlog)
    return isOk(r) ? undefined : IoError.fromFailure(r, "listen", SocketAddress.format(at.address))
  })
  return open.build(listener, steps)
}

/**
 * Adopts a listening TCP socket fd the caller owns (made non-blocking and
 * close-on-exec); closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFd = (fd: number): Effect.Effect<TcpListener, IoError.IoError, Scope.Scope> =>
  open.scoped(() => {
    const d = open.adopt(fd, C.SOCK_STREAM)
    return typeof d === "number" ? new TcpListener(fd, d) : d
  })

/**
 * @since 0.1.0
 * @category guards
 */
export const isTcpListener = (u: unknown): u is TcpListener => u instanceof TcpListener
