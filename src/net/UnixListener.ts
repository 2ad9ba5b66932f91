/**
 * A non-blocking Unix stream listener with mio's contract
 * (`mio::net::UnixListener`), bound to a filesystem path or a Linux abstract
 * name (`"@name"`). A path it bound is unlinked when it closes (as libuv does),
 * unless `unlinkOnClose: false`.
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
import { SocketBase } from "./internal/SocketBase.ts"
import * as SocketAddress from "./SocketAddress.ts"
import { UnixStream } from "./UnixStream.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/UnixListener"

/**
 * @since 0.1.0
 * @category models
 */
export interface ListenOptions {
  /** Pending-connection queue length (default 128). */
  readonly backlog?: number | undefined
  /** Unlink the socket path when the listener closes (default `true`). */
  readonly unlinkOnClose?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export class UnixListener extends SocketBase {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId

  /** Accepts one pending connection: `[stream, peer]`, or `WouldBlock`. @since 0.1.0 */
  accept(): readonly [UnixStream, SocketAddress.SocketAddress] | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("accept4")
    const r = sock.accept(this.fd)
    if (!isOk(r)) return r === WouldBlock ? WouldBlock : IoError.fromFailure(r, "accept4")
    return [new UnixStream(r, C.AF_UNIX), this.decoder.decode(sock.addrOut.buf, sock.addrOut.len)]
  }

}

/**
 * Binds and listens on a path or abstract name; closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bind = (
  address: SocketAddress.Input,
  options?: ListenOptions
): Effect.Effect<UnixListener, IoError.IoError, Scope.Scope> => open.scoped(() => bindUnscoped(address, options))

/**
 * `bind` without a Scope: the caller owns the listener and must `close()` it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const bindUnscoped = (address: SocketAddress.Input, options?: ListenOptions): UnixListener | IoError.IoError => {
  const at = open.resolveUnix(address, "bind")
  if (at instanceof IoError.IoError) return at
  const bad = check.object("options", options) ?? check.first(
    check.integer("backlog", options?.backlog, 0, 2 ** 31 - 1),
    check.boolean("unlinkOnClose", options?.unlinkOnClose)
  )
  if (bad !== undefined) return IoError.make("InvalidInput", "listen", bad)
  const backlog = options?.backlog ?? 128
  const s = open.socket(C.AF_UNIX, C.SOCK_STREAM, 0)
  if (typeof s !== "number") return s
  const listener = new UnixListener(s, C.AF_UNIX)
  return open.build(listener, [
    () => open.bind(s, at),
    () => {
      open.unlinkOnClose(listener, at, options?.unlinkOnClose)
      const r = sock.listen(s, backlog)
      return isOk(r) ? undefined : IoError.fromFailure(r, "listen", SocketAddress.format(at.address))
    }
  ])
}

/**
 * Adopts a listening Unix socket fd the caller owns; closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFd = (fd: number): Effect.Effect<UnixListener, IoError.IoError, Scope.Scope> =>
  open.scoped(() => {
    const d = open.adopt(fd, C.SOCK_STREAM)
    if (typeof d !== "number") return d
    return d === C.AF_UNIX ? new UnixListener(fd, d) : IoError.make("InvalidInput", "fromFd", `fd ${fd} is not a Unix socket`)
  })

/**
 * @since 0.1.0
 * @category guards
 */
export const isUnixListener = (u: unknown): u is UnixListener => u instanceof UnixListener
