/**
 * A non-blocking TCP connection with mio's contract (`mio::net::TcpStream`).
 *
 * `connect` starts a non-blocking connect and returns at once. To learn when it
 * completes, follow mio's recipe: register the stream `WRITABLE`, wait for a
 * writable event, then `takeError()` (an error means the connect failed) and
 * `peerAddr()` (`NotConnected` means not yet — wait for the next event).
 * The reactor's fiber-level `Tcp.connect` does this for you.
 *
 * Reads and writes return the byte count, `WouldBlock`, or an `IoError` value;
 * a read of 0 bytes means the peer closed its write half.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as IoError from "../IoError.ts"
import { Errno, isOk } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import * as sock from "../sys/socket.ts"
import type { WouldBlock } from "../WouldBlock.ts"
import * as open from "./internal/open.ts"
import { getLinger, IpSocketBase, setLinger } from "./internal/SocketBase.ts"
import * as SocketAddress from "./SocketAddress.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/TcpStream"

/**
 * TCP keepalive: probes after `idle` without traffic, every `interval`, giving up
 * after `count` unanswered probes. Unset fields keep the system defaults.
 *
 * @since 0.1.0
 * @category models
 */
export interface Keepalive {
  readonly idle?: Duration.Input | undefined
  readonly interval?: Duration.Input | undefined
  readonly count?: number | undefined
}

/**
 * Options applied before connecting.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions {
  /** Bind to this local address first (port 0 picks one). */
  readonly bind?: SocketAddress.Input | undefined
  readonly nodelay?: boolean | undefined
  readonly keepalive?: boolean | Keepalive | undefined
  readonly recvBufferSize?: number | undefined
  readonly sendBufferSize?: number | undefined
  readonly ttl?: number | undefined
  readonly tos?: number | undefined
  readonly linger?: Duration.Input | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export class TcpStream extends IpSocketBase {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId

  /** Reads into `buf`: bytes read (0 at end of stream), or `WouldBlock`. @since 0.1.0 */
  read(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysRecv(buf, 0)
  }
  /** Writes from `buf`: bytes written (may be fewer than asked), or `WouldBlock`. @since 0.1.0 */
  write(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysSend(buf, 0)
  }
  /** Reads into the buffers in order (one `readv`). @since 0.1.0 */
  readv(bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError.IoError {
    return this.sysReadv(bufs)
  }
  /** Writes from the buffers in order (one `writev`). @since 0.1.0 */
  writev(bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError.IoError {
    return this.sysWritev(bufs)
  }
  /** Reads without consuming (`MSG_PEEK`). A successful peek leaves readiness armed. @since 0.1.0 */
  peek(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysRecv(buf, C.MSG_PEEK)
  }
  /** Sends urgent (out-of-band) data, which the peer sees as a `PRIORITY` event. @since 0.1.0 */
  writeOob(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysSend(buf, C.MSG_OOB)
  }

  /** `TCP_NODELAY`. @since 0.1.0 */
  setNodelay(on: boolean): IoError.IoError | undefined {
    return this.setBoolOpt(C.IPPROTO_TCP, C.TCP_NODELAY, on)
  }
  /** @since 0.1.0 */
  nodelay(): boolean | IoError.IoError {
    return this.getBoolOpt(C.IPPROTO_TCP, C.TCP_NODELAY)
  }
  /** `SO_KEEPALIVE`, with `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and `TCP_KEEPCNT` when given. @since 0.1.0 */
  setKeepalive(keepalive: boolean | Keepalive): IoError.IoError | undefined {
    const e = this.setBoolOpt(C.SOL_SOCKET, C.SO_KEEPALIVE, keepalive !== false)
    if (e !== undefined || typeof keepalive === "boolean") return e
    if (keepalive.idle !== undefined) {
      const s = seconds(keepalive.idle, "keepalive idle")
      if (typeof s !== "number") return s
      const e2 = this.setIntOpt(C.IPPROTO_TCP, C.TCP_KEEPIDLE, s, "keepalive idle (s)", 1, 32767)
      if (e2 !== undefined) return e2
    }
    if (keepalive.interval !== undefined) {
      const s = seconds(keepalive.interval, "keepalive interval")
      if (typeof s !== "number") return s
      const e2 = this.setIntOpt(C.IPPROTO_TCP, C.TCP_KEEPINTVL, s, "keepalive interval (s)", 1, 32767)
      if (e2 !== undefined) return e2
    }
    if (keepalive.count !== undefined) {
      return this.setIntOpt(C.IPPROTO_TCP, C.TCP_KEEPCNT, keepalive.count, "keepalive count", 1, 127)
    }
    return undefined
  }
  /** Whether `SO_KEEPALIVE` is on. @since 0.1.0 */
  keepalive(): boolean | IoError.IoError {
    return this.getBoolOpt(C.SOL_SOCKET, C.SO_KEEPALIVE)
  }
  /** The keepalive timing in force (system defaults where unset). @since 0.1.0 */
  keepaliveTiming(): { readonly idle: Duration.Duration; readonly interval: Duration.Duration; readonly count: number } | IoError.IoError {
    const idle = this.getIntOpt(C.IPPROTO_TCP, C.TCP_KEEPIDLE)
    if (typeof idle !== "number") return idle
    const interval = this.getIntOpt(C.IPPROTO_TCP, C.TCP_KEEPINTVL)
    if (typeof interval !== "number") return interval
    const count = this.getIntOpt(C.IPPROTO_TCP, C.TCP_KEEPCNT)
    if (typeof count !== "number") return count
    return { idle: Duration.seconds(idle), interval: Duration.seconds(interval), count }
  }
  /**
   * `SO_LINGER`: with a duration, `close` waits that long for unsent data; with 0,
   * `close` resets the connection (RST); `undefined` turns lingering off.
   *
   * @since 0.1.0
   */
  setLinger(linger: Duration.Input | undefined): IoError.IoError | undefined {
    return setLinger(this, linger)
  }
  /** @since 0.1.0 */
  linger(): Option.Option<Duration.Duration> | IoError.IoError {
    return getLinger(this)
  }
}

const seconds = (d: Duration.Input, what: string): number | IoError.IoError => {
  const o = Duration.fromInput(d)
  if (Option.isNone(o) || !Duration.isFinite(o.value)) {
    return IoError.make("InvalidInput", "setsockopt", `${what} is a finite duration, not ${String(d)}`)
  }
  return Math.ceil(Duration.toMillis(o.value) / 1000)
}

/** Applies connect-time options to a stream. @internal */
export const applyOptions = (s: TcpStream, o: ConnectOptions | undefined): IoError.IoError | undefined => {
  if (o === undefined) return undefined
  if (o.nodelay !== undefined) {
    const e = s.setNodelay(o.nodelay)
    if (e) return e
  }
  if (o.keepalive !== undefined) {
    const e = s.setKeepalive(o.keepalive)
    if (e) return e
  }
  if (o.recvBufferSize !== undefined) {
    const e = s.setRecvBufferSize(o.recvBufferSize)
    if (e) return e
  }
  if (o.sendBufferSize !== undefined) {
    const e = s.setSendBufferSize(o.sendBufferSize)
    if (e) return e
  }
  if (o.ttl !== undefined) {
    const e = s.setTtl(o.ttl)
    if (e) return e
  }
  if (o.tos !== undefined) {
    const e = s.setTos(o.tos)
    if (e) return e
  }
  if (o.linger !== undefined) return s.setLinger(o.linger)
  return undefined
}

/**
 * Starts a non-blocking connect (see the module documentation for how to learn
 * when it completes). The stream closes with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (
  address: SocketAddress.Input,
  options?: ConnectOptions
): Effect.Effect<TcpStream, IoError.IoError, Scope.Scope> => open.scoped(() => connectUnscoped(address, options))

/**
 * `connect` without a Scope: the caller owns the stream and must `close()` it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connectUnscoped = (address: SocketAddress.Input, options?: ConnectOptions): TcpStream | IoError.IoError => {
  const to = open.resolveInet(address, "connect")
  if (to instanceof IoError.IoError) return to
  const s = open.socket(to.domain, C.SOCK_STREAM, 0)
  if (typeof s !== "number") return s
  const stream = new TcpStream(s, to.domain)
  const steps: Array<() => IoError.IoError | undefined> = [() => applyOptions(stream, options)]
  if (options?.bind !== undefined) {
    const local = options.bind
    steps.push(() => {
      const at = SocketAddress.resolve(local, "bind")
      return at instanceof IoError.IoError ? at : open.bind(s, at)
    })
  }
  steps.push(() => {
    const r = sock.connect(s, to.bytes, to.length)
    if (isOk(r) || (r instanceof Errno && r.errno === C.EINPROGRESS)) return undefined
    return IoError.fromFailure(r, "connect", SocketAddress.format(to.address))
  })
  return open.build(stream, steps)
}

/**
 * Adopts a connected (or connecting) TCP socket fd the caller owns; it is made
 * non-blocking and close-on-exec, and closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFd = (fd: number): Effect.Effect<TcpStream, IoError.IoError, Scope.Scope> =>
  open.scoped(() => {
    const d = open.adopt(fd, C.SOCK_STREAM)
    return typeof d === "number" ? new TcpStream(fd, d) : d
  })

/**
 * @since 0.1.0
 * @category guards
 */
export const isTcpStream = (u: unknown): u is TcpStream => u instanceof TcpStream
