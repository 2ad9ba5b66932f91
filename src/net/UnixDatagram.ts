/**
 * A non-blocking Unix datagram socket with mio's contract
 * (`mio::net::UnixDatagram`) — which Node has no equivalent of: bound to a path
 * or abstract name, `unbound()`, or one end of a `pair()`. A path it bound is
 * unlinked when it closes, unless `unlinkOnClose: false`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { ioResult } from "../poll/IoSource.ts"
import { isOk } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import * as sock from "../sys/socket.ts"
import { WouldBlock } from "../WouldBlock.ts"
import * as open from "./internal/open.ts"
import { done, notBytes, SocketBase } from "./internal/SocketBase.ts"
import * as SocketAddress from "./SocketAddress.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/UnixDatagram"

/**
 * @since 0.1.0
 * @category models
 */
export class UnixDatagram extends SocketBase {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId
  readonly #targets = new open.TargetCache(open.resolveUnix)

  /** Sends one datagram to a path or abstract name. @since 0.1.0 */
  sendTo(buf: Uint8Array, target: SocketAddress.Input): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("sendto")
    if (!(buf instanceof Uint8Array)) return notBytes("sendto", buf)
    const to = this.#targets.get(target, "sendto")
    if (to instanceof IoError.IoError) return to
    return ioResult(sock.sendto(this.fd, buf, 0, to.bytes, to.length), SocketAddress.format(to.address))
  }
  /** Receives one datagram: `[length, source]`. @since 0.1.0 */
  recvFrom(buf: Uint8Array): readonly [number, SocketAddress.SocketAddress] | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("recvfrom")
    if (!(buf instanceof Uint8Array)) return notBytes("recvfrom", buf)
    const r = sock.recvfrom(this.fd, buf, 0)
    if (!isOk(r)) return r === WouldBlock ? WouldBlock : IoError.fromFailure(r, "recvfrom")
    return [r, this.decoder.decode(sock.addrOut.buf, sock.addrOut.len)]
  }
  /** Sends on a connected socket. @since 0.1.0 */
  send(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysSend(buf, 0)
  }
  /** @since 0.1.0 */
  recv(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysRecv(buf, 0)
  }
  /** @since 0.1.0 */
  peek(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysRecv(buf, C.MSG_PEEK)
  }
  /** Connects to a path or abstract name (its own path is allowed). @since 0.1.0 */
  connect(target: SocketAddress.Input): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("connect")
    const to = this.#targets.get(target, "connect")
    if (to instanceof IoError.IoError) return to
    return done(sock.connect(this.fd, to.bytes, to.length), "connect", SocketAddress.format(to.address))
  }

}

/**
 * Binds to a path or abstract name; closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bind = (
  address: SocketAddress.Input,
  options?: { readonly unlinkOnClose?: boolean | undefined }
): Effect.Effect<UnixDatagram, IoError.IoError, Scope.Scope> =>
  open.scoped(() => {
    const at = open.resolveUnix(address, "bind")
    if (at instanceof IoError.IoError) return at
    const bad = check.object("options", options) ?? check.boolean("unlinkOnClose", options?.unlinkOnClose)
    if (bad !== undefined) return IoError.make("InvalidInput", "bind", bad)
    const s = open.socket(C.AF_UNIX, C.SOCK_DGRAM, 0)
    if (typeof s !== "number") return s
    const d = new UnixDatagram(s, C.AF_UNIX)
    return open.build(d, [() => {
      const e = open.bind(s, at)
      if (e === undefined) open.unlinkOnClose(d, at, options?.unlinkOnClose)
      return e
    }])
  })

/**
 * An unbound socket (it can send, and receive replies to an autobind address
 * only if bound later); closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unbound = (): Effect.Effect<UnixDatagram, IoError.IoError, Scope.Scope> =>
  open.scoped(() => {
    const s = open.socket(C.AF_UNIX, C.SOCK_DGRAM, 0)
    return typeof s === "number" ? new UnixDatagram(s, C.AF_UNIX) : s
  })

/**
 * A connected pair; both close with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const pair = (): Effect.Effect<readonly [UnixDatagram, UnixDatagram], IoError.IoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const r = sock.socketpair(C.AF_UNIX, C.SOCK_DGRAM)
      if ("errno" in r) return Effect.fail(IoError.fromErrno(r))
      return Effect.succeed([new UnixDatagram(r[0], C.AF_UNIX), new UnixDatagram(r[1], C.AF_UNIX)] as const)
    }),
    ([a, b]) =>
      Effect.sync(() => {
        a.close()
        b.close()
      })
  )

/**
 * Adopts a Unix datagram socket fd the caller owns; closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFd = (fd: number): Effect.Effect<UnixDatagram, IoError.IoError, Scope.Scope> =>
  open.scoped(() => {
    const d = open.adopt(fd, C.SOCK_DGRAM)
    if (typeof d !== "number") return d
    return d === C.AF_UNIX ? new UnixDatagram(fd, d) : IoError.make("InvalidInput", "fromFd", `fd ${fd} is not a Unix socket`)
  })

/**
 * @since 0.1.0
 * @category guards
 */
export const isUnixDatagram = (u: unknown): u is UnixDatagram => u instanceof UnixDatagram
