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
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { Errno, isOk } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import * as sock from "../sys/socket.ts"
import type { WouldBlock } from "../WouldBlock.ts"
import * as open from "./internal/open.ts"
import { getLinger, IpSocketBase, setLinger, wholeSeconds } from "./internal/SocketBase.ts"
import * as Resolver from "./Resolver.ts"
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
    const r = this.sysRecv(buf, 0)
    if (typeof r === "number") this.traffic.bytesReceived += r
    return r
  }
  /** Writes from `buf`: bytes written (may be fewer than asked), or `WouldBlock`. @since 0.1.0 */
  write(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    const r = this.sysSend(buf, 0)
    if (typeof r === "number") this.traffic.bytesSent += r
    return r
  }
  /** Reads into the buffers in order (one `readv`). @since 0.1.0 */
  readv(bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError.IoError {
    const r = this.sysReadv(bufs)
    if (typeof r === "number") this.traffic.bytesReceived += r
    return r
  }
  /** Writes from the buffers in order (one `writev`). @since 0.1.0 */
  writev(bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError.IoError {
    const r = this.sysWritev(bufs)
    if (typeof r === "number") this.traffic.bytesSent += r
    return r
  }
  /** Reads without consuming (`MSG_PEEK`). A successful peek leaves readiness armed. @since 0.1.0 */
  peek(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysRecv(buf, C.MSG_PEEK)
  }
  /** Sends urgent (out-of-band) data, which the peer sees as a `PRIORITY` event. @since 0.1.0 */
  writeOob(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    const r = this.sysSend(buf, C.MSG_OOB)
    if (typeof r === "number") this.traffic.bytesSent += r
    return r
  }

  /** `TCP_NODELAY`. @since 0.1.0 */
  setNodelay(on: boolean): IoError.IoError | undefined {
    return this.setBoolOpt(C.IPPROTO_TCP, C.TCP_NODELAY, on, "TCP_NODELAY")
  }
  /** @since 0.1.0 */
  nodelay(): boolean | IoError.IoError {
    return this.getBoolOpt(C.IPPROTO_TCP, C.TCP_NODELAY)
  }
  /** `SO_KEEPALIVE`, with `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and `TCP_KEEPCNT` when given. @since 0.1.0 */
  setKeepalive(keepalive: boolean | Keepalive): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("setsockopt")
    const timing = keepaliveTiming("keepalive", keepalive)
    if (typeof timing === "string") return IoError.make("InvalidInput", "setsockopt", timing)
    const e = this.setBoolOpt(C.SOL_SOCKET, C.SO_KEEPALIVE, keepalive !== false, "SO_KEEPALIVE")
    if (e !== undefined || timing === undefined) return e
    if (timing.idle !== undefined) {
      const e2 = this.setIntOpt(C.IPPROTO_TCP, C.TCP_KEEPIDLE, timing.idle, "keepalive idle", 1, MAX_KEEPALIVE_SECONDS)
      if (e2 !== undefined) return e2
    }
    if (timing.interval !== undefined) {
      const e2 = this.setIntOpt(C.IPPROTO_TCP, C.TCP_KEEPINTVL, timing.interval, "keepalive interval", 1, MAX_KEEPALIVE_SECONDS)
      if (e2 !== undefined) return e2
    }
    if (timing.count !== undefined) {
      return this.setIntOpt(C.IPPROTO_TCP, C.TCP_KEEPCNT, timing.count, "keepalive count", 1, MAX_KEEPALIVE_COUNT)
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

/** The kernel's bounds on `TCP_KEEPIDLE`/`TCP_KEEPINTVL` (seconds) and `TCP_KEEPCNT`. */
const MAX_KEEPALIVE_SECONDS = 32767
const MAX_KEEPALIVE_COUNT = 127

/**
 * The keepalive timing in whole seconds (`undefined` for `true`/`false`), or the
 * problem naming the field (`keepalive idle`, …) and its value.
 */
const keepaliveTiming = (
  name: string,
  keepalive: unknown
): { readonly idle?: number | undefined; readonly interval?: number | undefined; readonly count?: number | undefined } | string | undefined => {
  if (typeof keepalive === "boolean") return undefined
  if (typeof keepalive !== "object" || keepalive === null || Array.isArray(keepalive)) {
    return `${name} is true, false or { idle, interval, count }, not ${check.show(keepalive)}`
  }
  const k = keepalive as Keepalive
  const idle = k.idle === undefined ? undefined : wholeSeconds(`${name} idle`, k.idle, 1, MAX_KEEPALIVE_SECONDS)
  if (typeof idle === "string") return idle
  const interval = k.interval === undefined ? undefined : wholeSeconds(`${name} interval`, k.interval, 1, MAX_KEEPALIVE_SECONDS)
  if (typeof interval === "string") return interval
  const count = check.integer(`${name} count`, k.count, 1, MAX_KEEPALIVE_COUNT)
  if (count !== undefined) return count
  return { idle, interval, count: k.count }
}

/**
 * The first bad connect option (`prefix` names where they came from, such as
 * `"connection."`), or `undefined`. Every option is checked before a socket is
 * opened, so a bad one never leaves a half-configured stream.
 *
 * @internal
 */
export const checkConnectOptions = (o: ConnectOptions | undefined, prefix = ""): string | undefined => {
  const bad = check.object(prefix === "" ? "options" : prefix.slice(0, -1), o)
  if (bad !== undefined || o === undefined) return bad
  const keepalive = o.keepalive === undefined ? undefined : keepaliveTiming(`${prefix}keepalive`, o.keepalive)
  return check.first(
    check.boolean(`${prefix}nodelay`, o.nodelay),
    typeof keepalive === "string" ? keepalive : undefined,
    check.integer(`${prefix}recvBufferSize (SO_RCVBUF)`, o.recvBufferSize, 1, 2 ** 31 - 1),
    check.integer(`${prefix}sendBufferSize (SO_SNDBUF)`, o.sendBufferSize, 1, 2 ** 31 - 1),
    check.integer(`${prefix}ttl (IP_TTL)`, o.ttl, 1, 255),
    check.integer(`${prefix}tos (IP_TOS)`, o.tos, 0, 255)
  ) ?? (o.linger === undefined ? undefined : lingerProblem(`${prefix}linger (SO_LINGER)`, o.linger))
}

const lingerProblem = (name: string, linger: unknown): string | undefined => {
  const s = wholeSeconds(name, linger, 0, 0x7fffffff)
  return typeof s === "string" ? s : undefined
}

/** Applies connect-time options to a stream. @internal */
export const applyOptions = (s: TcpStream, o: ConnectOptions | undefined): IoError.IoError | undefined => {
  if (o === undefined) return undefined
  const bad = checkConnectOptions(o)
  if (bad !== undefined) return IoError.make("InvalidInput", "setsockopt", bad)
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
 * when it completes). The stream closes with the Scope. A host name (of the
 * peer, or of the `bind` option) is resolved first (`Resolver`); the peer's
 * addresses are tried in order until one's connect starts (a connect that
 * fails at once, `ENETUNREACH` say, moves on to the next; whether the one
 * started completes is learned from readiness, as always).
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (
  address: SocketAddress.Input,
  options?: ConnectOptions
): Effect.Effect<TcpStream, IoError.IoError, Scope.Scope> =>
  Effect.suspend(() => {
    const bad = checkConnectOptions(options)
    if (bad !== undefined) return Effect.fail(IoError.make("InvalidInput", "connect", bad))
    const local = options?.bind
    return Resolver.withAddress(address, "connect", (to) =>
      local === undefined
        ? open.scoped(() => connectUnscoped(to, options))
        : Effect.flatMap(
          Resolver.resolveFirst(local, "bind", { family: Resolver.familyOf(to) }),
          (at) => open.scoped(() => connectUnscoped(to, { ...options, bind: at }))
        ), { inet: true })
  })

/**
 * `connect` without a Scope: the caller owns the stream and must `close()` it.
 * It cannot wait for a lookup: a host name is `InvalidInput`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connectUnscoped = (address: SocketAddress.Input, options?: ConnectOptions): TcpStream | IoError.IoError => {
  const to = open.resolveInet(address, "connect")
  if (to instanceof IoError.IoError) return to
  const bad = checkConnectOptions(options)
  if (bad !== undefined) return IoError.make("InvalidInput", "connect", bad)
  const s = open.socket(to.domain, C.SOCK_STREAM, 0)
  if (typeof s !== "number") return s
  const stream = new TcpStream(s, to.domain)
  const steps: Array<() => IoError.IoError | undefined> = [() => applyOptions(stream, options)]
  if (options?.bind !== undefined) {
    const local = options.bind
    steps.push(() => {
      const at = SocketAddress.resolve(local, "bind")
      if (at instanceof IoError.IoError) return at
      if (at.domain !== to.domain) {
        // The kernel's answer would be a bare EINVAL: say which two addresses do not match.
        const [mine, theirs] = [SocketAddress.format(at.address), SocketAddress.format(to.address)]
        return IoError.make("InvalidInput", "bind", `bind (${mine}) and the peer (${theirs}) are of different address families`, mine)
      }
      return open.bind(s, at)
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
