/**
 * The kernel's own DCCP (`SOCK_DCCP`), non-blocking with mio's contract — where a
 * kernel still has it. Linux removed DCCP in 6.16; there `connect`/`listen` fail
 * with kind `Unsupported` (`ESOCKTNOSUPPORT`). Distribution kernels up to 6.15
 * build it as the `dccp` module (CCID 2 and 3).
 *
 * One `send` is one datagram (at most `mps()` bytes, `MessageTooLarge` beyond);
 * `send` answers `WouldBlock` while the kernel's transmit queue (`tx_qlen`) is
 * full; `recv` returns one datagram, 0 when the peer has closed. Options that
 * shape the connection (service codes, CCIDs, checksum coverage, queue policy)
 * are set before connecting or listening, as Linux requires.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { Errno, isOk } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import * as sock from "../sys/socket.ts"
import { WouldBlock } from "../WouldBlock.ts"
import * as open from "./internal/open.ts"
import { done, IpSocketBase } from "./internal/SocketBase.ts"
import * as Resolver from "./Resolver.ts"
import * as SocketAddress from "./SocketAddress.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/DccpKernel"

/**
 * Options applied before `connect` or `listen`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The connection's service code (client), or the codes offered (listener). */
  readonly serviceCodes: ReadonlyArray<number>
  /** CCID preference list for both directions (`DCCP_SOCKOPT_CCID`). */
  readonly ccids?: ReadonlyArray<number> | undefined
  /** CCID preference list for the sending half-connection (`DCCP_SOCKOPT_TX_CCID`). @since 0.2.0 */
  readonly txCcids?: ReadonlyArray<number> | undefined
  /** CCID preference list for the receiving half-connection (`DCCP_SOCKOPT_RX_CCID`). @since 0.2.0 */
  readonly rxCcids?: ReadonlyArray<number> | undefined
  readonly sendChecksumCoverage?: number | undefined
  readonly recvChecksumCoverage?: number | undefined
  /** `DCCP_SOCKOPT_QPOLICY_ID`: 0 simple, 1 prio. */
  readonly queuePolicy?: "simple" | "prio" | undefined
  readonly txQueueLength?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export class DccpKernelSocket extends IpSocketBase {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId

  /** Sends one datagram. @since 0.1.0 */
  send(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysSend(buf, 0)
  }
  /** Receives one datagram; 0 when the peer closed. @since 0.1.0 */
  recv(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysRecv(buf, 0)
  }
  /** Accepts one connection of a listening socket. @since 0.1.0 */
  accept(): readonly [DccpKernelSocket, SocketAddress.SocketAddress] | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("accept4")
    const r = sock.accept(this.fd)
    if (!isOk(r)) return r === WouldBlock ? WouldBlock : IoError.fromFailure(r, "accept4")
    return [new DccpKernelSocket(r, this.domain), this.decoder.decode(sock.addrOut.buf, sock.addrOut.len)]
  }
  /** The current maximum packet size (`DCCP_SOCKOPT_GET_CUR_MPS`). @since 0.1.0 */
  mps(): number | IoError.IoError {
    return this.getIntOpt(C.SOL_DCCP, C.DCCP_SOCKOPT_GET_CUR_MPS)
  }
  /** The CCIDs in use (after connecting). @since 0.1.0 */
  ccids(): { readonly tx: number; readonly rx: number } | IoError.IoError {
    const tx = this.getIntOpt(C.SOL_DCCP, C.DCCP_SOCKOPT_TX_CCID)
    if (typeof tx !== "number") return tx
    const rx = this.getIntOpt(C.SOL_DCCP, C.DCCP_SOCKOPT_RX_CCID)
    return typeof rx === "number" ? { tx, rx } : rx
  }
  /** `DCCP_SOCKOPT_SERVER_TIMEWAIT` (accepted sockets only). @since 0.1.0 */
  setServerTimewait(on: boolean): IoError.IoError | undefined {
    return this.setBoolOpt(C.SOL_DCCP, C.DCCP_SOCKOPT_SERVER_TIMEWAIT, on, "DCCP_SOCKOPT_SERVER_TIMEWAIT")
  }
}

/** `DCCP_SOCKOPT_SERVICE`: network-order 32-bit codes. @internal */
export const serviceBytes = (codes: ReadonlyArray<number>): Uint8Array => {
  const b = new Uint8Array(codes.length * 4)
  const v = new DataView(b.buffer)
  codes.forEach((c, i) => v.setUint32(i * 4, c, false))
  return b
}

/** An array of integers from `min` to `max`, `minLength` to `maxLength` long, or the problem. */
const integers = (name: string, value: unknown, min: number, max: number, minLength: number, maxLength: number): string | undefined => {
  if (!Array.isArray(value) || value.length < minLength || value.length > maxLength) {
    return `${name} is an array of ${minLength} to ${maxLength} integers from ${min} to ${max}, not ${check.show(value)}`
  }
  return check.first(...value.map((v, i) => check.requiredInteger(`${name}[${i}]`, v, min, max)))
}

/** The first bad option, or `undefined`; checked before the socket opens. */
const checkOptions = (o: Options & { readonly backlog?: number | undefined }): IoError.IoError | undefined => {
  const bad = check.requiredObject("options", o) ?? check.first(
    integers("serviceCodes", o.serviceCodes, 0, 0xfffffffe, 1, 32),
    o.ccids === undefined ? undefined : integers("ccids", o.ccids, 0, 255, 1, 16),
    check.integer("sendChecksumCoverage", o.sendChecksumCoverage, 0, 15),
    check.integer("recvChecksumCoverage", o.recvChecksumCoverage, 0, 15),
    check.oneOf("queuePolicy", o.queuePolicy, ["simple", "prio"]),
    check.integer("txQueueLength", o.txQueueLength, 0, 2 ** 31 - 1),
    check.integer("backlog", o.backlog, 0, 2 ** 31 - 1)
  )
  return bad === undefined ? undefined : IoError.make("InvalidInput", "setsockopt", bad)
}

const configure = (s: DccpKernelSocket, o: Options): Array<() => IoError.IoError | undefined> => {
  const steps: Array<() => IoError.IoError | undefined> = []
  const codes = serviceBytes(o.serviceCodes)
  steps.push(() => done(sock.setsockopt(s.fd, C.SOL_DCCP, C.DCCP_SOCKOPT_SERVICE, codes, codes.length), "setsockopt"))
  const list = (name: number, value: ReadonlyArray<number> | undefined) => {
    if (value === undefined) return
    const bytes = Uint8Array.from(value)
    steps.push(() => done(sock.setsockopt(s.fd, C.SOL_DCCP, name, bytes, bytes.length), "setsockopt"))
  }
  list(C.DCCP_SOCKOPT_CCID, o.ccids)
  list(C.DCCP_SOCKOPT_TX_CCID, o.txCcids)
  list(C.DCCP_SOCKOPT_RX_CCID, o.rxCcids)
  const int = (name: number, value: number | undefined) => {
    if (value !== undefined) steps.push(() => done(sock.setsockoptInt(s.fd, C.SOL_DCCP, name, value), "setsockopt"))
  }
  int(C.DCCP_SOCKOPT_SEND_CSCOV, o.sendChecksumCoverage)
  int(C.DCCP_SOCKOPT_RECV_CSCOV, o.recvChecksumCoverage)
  int(C.DCCP_SOCKOPT_QPOLICY_ID, o.queuePolicy === undefined ? undefined : o.queuePolicy === "prio" ? 1 : 0)
  int(C.DCCP_SOCKOPT_QPOLICY_TXQLEN, o.txQueueLength)
  return steps
}

const openSocket = (domain: number): number | IoError.IoError => {
  const s = open.socket(domain, C.SOCK_DCCP, C.IPPROTO_DCCP)
  if (typeof s === "number") return s
  const unsupported = s.errno === C.ESOCKTNOSUPPORT || s.errno === C.EPROTONOSUPPORT || s.errno === C.EAFNOSUPPORT
  return unsupported
    ? IoError.make("Unsupported", "socket", "this kernel has no DCCP (Linux removed it in 6.16; earlier kernels need the dccp module)")
    : s
}

/**
 * Starts a non-blocking connect (complete it as for TCP: writable, then
 * `takeError`); closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (address: SocketAddress.Input, options: Options): Effect.Effect<DccpKernelSocket, IoError.IoError, Scope.Scope> =>
  Resolver.withAddress(address, "connect", (to) => open.scoped(() => connectUnscoped(to, options)), { inet: true })

const connectUnscoped = (address: SocketAddress.Input, options: Options): DccpKernelSocket | IoError.IoError => {
  const to = open.resolveInet(address, "connect")
  if (to instanceof IoError.IoError) return to
  const bad = checkOptions(options)
  if (bad !== undefined) return bad
  const fd = openSocket(to.domain)
  if (typeof fd !== "number") return fd
  const s = new DccpKernelSocket(fd, to.domain)
  return open.build(s, [...configure(s, options), () => {
    const r = sock.connect(fd, to.bytes, to.length)
    if (isOk(r) || (r instanceof Errno && r.errno === C.EINPROGRESS)) return undefined
    return IoError.fromFailure(r, "connect", SocketAddress.format(to.address))
  }])
}

/**
 * Binds and listens; closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const listen = (
  address: SocketAddress.Input,
  options: Options & { readonly backlog?: number | undefined }
): Effect.Effect<DccpKernelSocket, IoError.IoError, Scope.Scope> =>
  Resolver.withAddress(address, "bind", (at) => open.scoped(() => listenUnscoped(at, options)), { inet: true })

const listenUnscoped = (
  address: SocketAddress.Input,
  options: Options & { readonly backlog?: number | undefined }
): DccpKernelSocket | IoError.IoError => {
  const at = open.resolveInet(address, "bind")
  if (at instanceof IoError.IoError) return at
  const bad = checkOptions(options)
  if (bad !== undefined) return bad
  const fd = openSocket(at.domain)
  if (typeof fd !== "number") return fd
  const s = new DccpKernelSocket(fd, at.domain)
  return open.build(s, [
    () => s.setReuseAddr(true),
    ...configure(s, options),
    () => open.bind(fd, at),
    () => done(sock.listen(fd, options.backlog ?? 128), "listen")
  ])
}

/**
 * `true` when this kernel can open DCCP sockets (probed once).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isAvailable = (): boolean => {
  if (available === undefined) {
    const s = openSocket(C.AF_INET)
    available = typeof s === "number"
    if (available) new DccpKernelSocket(s as number, C.AF_INET).close()
  }
  return available
}
let available: boolean | undefined
