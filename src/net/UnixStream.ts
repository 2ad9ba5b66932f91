/**
 * A non-blocking Unix stream socket with mio's contract (`mio::net::UnixStream`):
 * `connect` to a filesystem path or a Linux abstract name (`"@name"`), `pair()`
 * for a connected pair. Reads and writes as for `TcpStream`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as IoError from "../IoError.ts"
import { isOk, WouldBlock } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import * as sock from "../sys/socket.ts"
import * as open from "./internal/open.ts"
import { SocketBase } from "./internal/SocketBase.ts"
import * as SocketAddress from "./SocketAddress.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/UnixStream"

/**
 * @since 0.1.0
 * @category models
 */
export class UnixStream extends SocketBase {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId

  /** Reads into `buf`: bytes read (0 at end of stream), or `WouldBlock`. @since 0.1.0 */
  read(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    const r = this.sysRecv(buf, 0)
    if (typeof r === "number") this.traffic.bytesReceived += r
    return r
  }
  /** Writes from `buf`: bytes written, or `WouldBlock`. @since 0.1.0 */
  write(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    const r = this.sysSend(buf, 0)
    if (typeof r === "number") this.traffic.bytesSent += r
    return r
  }
  /** @since 0.1.0 */
  readv(bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError.IoError {
    const r = this.sysReadv(bufs)
    if (typeof r === "number") this.traffic.bytesReceived += r
    return r
  }
  /** @since 0.1.0 */
  writev(bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError.IoError {
    const r = this.sysWritev(bufs)
    if (typeof r === "number") this.traffic.bytesSent += r
    return r
  }
  /** @since 0.1.0 */
  peek(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysRecv(buf, C.MSG_PEEK)
  }
}

/**
 * Connects to a listening Unix socket. Unix connects complete at once or fail
 * (`WouldBlock`-like `ResourceBusy` when the listener's backlog is full).
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (address: SocketAddress.Input): Effect.Effect<UnixStream, IoError.IoError, Scope.Scope> =>
  open.scoped(() => connectUnscoped(address))

/**
 * `connect` without a Scope: the caller owns the stream and must `close()` it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connectUnscoped = (address: SocketAddress.Input): UnixStream | IoError.IoError => {
  const to = open.resolveUnix(address, "connect")
  if (to instanceof IoError.IoError) return to
  const s = open.socket(C.AF_UNIX, C.SOCK_STREAM, 0)
  if (typeof s !== "number") return s
  return open.build(new UnixStream(s, C.AF_UNIX), [() => {
    const r = sock.connect(s, to.bytes, to.length)
    if (isOk(r)) return undefined
    const where = SocketAddress.format(to.address)
    return r === WouldBlock
      ? IoError.make("ResourceBusy", "connect", "the listener's backlog is full", where)
      : IoError.fromErrno(r, where)
  }])
}

/**
 * A connected pair (`socketpair`); both close with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const pair = (): Effect.Effect<readonly [UnixStream, UnixStream], IoError.IoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const r = sock.socketpair(C.AF_UNIX, C.SOCK_STREAM)
      if ("errno" in r) return Effect.fail(IoError.fromErrno(r))
      return Effect.succeed([new UnixStream(r[0], C.AF_UNIX), new UnixStream(r[1], C.AF_UNIX)] as const)
    }),
    ([a, b]) =>
      Effect.sync(() => {
        a.close()
        b.close()
      })
  )

/**
 * Adopts a Unix stream socket fd the caller owns; closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFd = (fd: number): Effect.Effect<UnixStream, IoError.IoError, Scope.Scope> =>
  open.scoped(() => {
    const d = open.adopt(fd, C.SOCK_STREAM)
    if (typeof d !== "number") return d
    return d === C.AF_UNIX ? new UnixStream(fd, d) : IoError.make("InvalidInput", "fromFd", `fd ${fd} is not a Unix socket`)
  })

/**
 * @since 0.1.0
 * @category guards
 */
export const isUnixStream = (u: unknown): u is UnixStream => u instanceof UnixStream
