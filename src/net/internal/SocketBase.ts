/**
 * What every effect-mio socket shares: the owned fd (through `IoSource`), local
 * and peer addresses, the pending error, shutdown and the socket options common
 * to all families. Readiness-level methods are synchronous and return a value or
 * an `IoError` value; none throws.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as check from "../../internal/check.ts"
import * as IoError from "../../IoError.ts"
import { ioResult, IoSource } from "../../poll/IoSource.ts"
import { Errno, isOk, type SysResult } from "../../sys/call.ts"
import * as C from "../../sys/constants.ts"
import * as fd from "../../sys/fd.ts"
import { layout } from "../../sys/layout.ts"
import * as sock from "../../sys/socket.ts"
import * as SocketAddress from "../SocketAddress.ts"
import type { WouldBlock } from "../../WouldBlock.ts"
import { Traffic } from "./Traffic.ts"

/**
 * How `shutdown` closes a connection.
 *
 * @since 0.1.0
 * @category models
 */
export type Shutdown = "read" | "write" | "both"

const shutdownHow = { read: C.SHUT_RD, write: C.SHUT_WR, both: C.SHUT_RDWR } as const

/**
 * What every socket shares (the base of the public socket classes; not exported
 * from the package index).
 *
 * @since 0.1.0
 * @category models
 */
export abstract class SocketBase extends IoSource {
  /** `AF_INET`, `AF_INET6` or `AF_UNIX`. */
  readonly domain: number
  /** Bytes and datagrams this socket carried, for metrics. @internal */
  readonly traffic: Traffic = new Traffic()
  #decoder: SocketAddress.Decoder | undefined = undefined

  /** Decodes kernel addresses with a one-entry cache; made on first use (most streams never need it). */
  protected get decoder(): SocketAddress.Decoder {
    return this.#decoder ??= new SocketAddress.Decoder()
  }

  constructor(fd: number, domain: number) {
    super(fd)
    this.domain = domain
  }

  /** `recv(2)` with `flags`, or `Closed` without a syscall once closed. @internal */
  protected sysRecv(buf: Uint8Array, flags: number): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("recv")
    return buf instanceof Uint8Array ? ioResult(sock.recv(this.fd, buf, flags)) : notBytes("recv", buf)
  }
  /** `send(2)` with `flags` (`MSG_NOSIGNAL` is always added), or `Closed` once closed. @internal */
  protected sysSend(buf: Uint8Array, flags: number): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("send")
    return buf instanceof Uint8Array ? ioResult(sock.send(this.fd, buf, flags)) : notBytes("send", buf)
  }

  /** The address this socket is bound to. */
  localAddr(): SocketAddress.SocketAddress | IoError.IoError {
    if (this.fd < 0) return IoError.closed("getsockname")
    const r = sock.getsockname(this.fd)
    return isOk(r) ? this.decoder.decode(sock.addrOut.buf, sock.addrOut.len) : IoError.fromFailure(r, "getsockname")
  }

  /** The address of the connected peer (`NotConnected` when there is none, or not yet). */
  peerAddr(): SocketAddress.SocketAddress | IoError.IoError {
    if (this.fd < 0) return IoError.closed("getpeername")
    const r = sock.getpeername(this.fd)
    return isOk(r) ? this.decoder.decode(sock.addrOut.buf, sock.addrOut.len) : IoError.fromFailure(r, "getpeername")
  }

  /**
   * Takes the pending socket error (`SO_ERROR`), clearing it: `undefined` when
   * there is none. A failed non-blocking connect reports its error here.
   */
  takeError(): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("getsockopt")
    const r = sock.takeError(this.fd)
    if (!isOk(r)) return IoError.fromFailure(r, "getsockopt")
    return r === 0 ? undefined : IoError.fromErrno(new Errno(r, "SO_ERROR"))
  }

  /** Shuts down one or both halves of the connection. */
  shutdown(how: Shutdown): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("shutdown")
    const h = Object.hasOwn(shutdownHow, how) ? shutdownHow[how] : undefined
    if (h === undefined) return IoError.make("InvalidInput", "shutdown", `how is "read", "write" or "both", not ${check.show(how)}`)
    return done(sock.shutdown(this.fd, h), "shutdown")
  }

  /** `SO_RCVBUF` (the kernel doubles what is set, as `socket(7)` says). */
  setRecvBufferSize(bytes: number): IoError.IoError | undefined {
    return this.setIntOpt(C.SOL_SOCKET, C.SO_RCVBUF, bytes, "SO_RCVBUF", 1, 0x7fffffff)
  }
  recvBufferSize(): number | IoError.IoError {
    return this.getIntOpt(C.SOL_SOCKET, C.SO_RCVBUF)
  }
  /** `SO_SNDBUF`. */
  setSendBufferSize(bytes: number): IoError.IoError | undefined {
    return this.setIntOpt(C.SOL_SOCKET, C.SO_SNDBUF, bytes, "SO_SNDBUF", 1, 0x7fffffff)
  }
  sendBufferSize(): number | IoError.IoError {
    return this.getIntOpt(C.SOL_SOCKET, C.SO_SNDBUF)
  }
  /** `SO_REUSEADDR`. */
  setReuseAddr(on: boolean): IoError.IoError | undefined {
    return this.setBoolOpt(C.SOL_SOCKET, C.SO_REUSEADDR, on, "SO_REUSEADDR")
  }
  reuseAddr(): boolean | IoError.IoError {
    return this.getBoolOpt(C.SOL_SOCKET, C.SO_REUSEADDR)
  }
  /** `SO_REUSEPORT` (effective when set before bind on every socket sharing the port). */
  setReusePort(on: boolean): IoError.IoError | undefined {
    return this.setBoolOpt(C.SOL_SOCKET, C.SO_REUSEPORT, on, "SO_REUSEPORT")
  }
  reusePort(): boolean | IoError.IoError {
    return this.getBoolOpt(C.SOL_SOCKET, C.SO_REUSEPORT)
  }

  /** Whether the fd is in non-blocking mode (always, unless changed on a raw fd). */
  isNonblocking(): boolean | IoError.IoError {
    if (this.fd < 0) return IoError.closed("fcntl")
    const r = fd.fcntl(this.fd, C.F_GETFL, 0)
    return isOk(r) ? (r & C.O_NONBLOCK) !== 0 : IoError.fromFailure(r, "fcntl")
  }

  /** Whether the fd is close-on-exec. */
  isCloseOnExec(): boolean | IoError.IoError {
    if (this.fd < 0) return IoError.closed("fcntl")
    const r = fd.fcntl(this.fd, C.F_GETFD, 0)
    return isOk(r) ? (r & C.FD_CLOEXEC) !== 0 : IoError.fromFailure(r, "fcntl")
  }

  protected setIntOpt(level: number, name: number, value: number, what: string, min: number, max: number): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("setsockopt")
    const bad = check.requiredInteger(what, value, min, max)
    if (bad !== undefined) return IoError.make("InvalidInput", "setsockopt", bad)
    return done(sock.setsockoptInt(this.fd, level, name, value), "setsockopt")
  }
  protected getIntOpt(level: number, name: number): number | IoError.IoError {
    if (this.fd < 0) return IoError.closed("getsockopt")
    const r = sock.getsockoptInt(this.fd, level, name)
    return isOk(r) ? r : IoError.fromFailure(r, "getsockopt")
  }
  protected setBoolOpt(level: number, name: number, on: boolean, what: string): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("setsockopt")
    if (typeof on !== "boolean") return IoError.make("InvalidInput", "setsockopt", `${what} is a boolean (true or false), not ${check.show(on)}`)
    return done(sock.setsockoptInt(this.fd, level, name, on ? 1 : 0), "setsockopt")
  }
  protected getBoolOpt(level: number, name: number): boolean | IoError.IoError {
    const r = this.getIntOpt(level, name)
    return typeof r === "number" ? r !== 0 : r
  }
}

/**
 * Options of IP sockets (TCP and UDP): TTL / hop limit, TOS / traffic class,
 * IPv6-only.
 *
 * @since 0.1.0
 * @category models
 */
export abstract class IpSocketBase extends SocketBase {
  /** `IP_TTL` (IPv4) or `IPV6_UNICAST_HOPS` (IPv6), 1–255. */
  setTtl(ttl: number): IoError.IoError | undefined {
    return this.domain === C.AF_INET6
      ? this.setIntOpt(C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS, ttl, "hop limit", 1, 255)
      : this.setIntOpt(C.IPPROTO_IP, C.IP_TTL, ttl, "TTL", 1, 255)
  }
  ttl(): number | IoError.IoError {
    return this.domain === C.AF_INET6
      ? this.getIntOpt(C.IPPROTO_IPV6, C.IPV6_UNICAST_HOPS)
      : this.getIntOpt(C.IPPROTO_IP, C.IP_TTL)
  }
  /** `IP_TOS` (IPv4) or `IPV6_TCLASS` (IPv6), 0–255. */
  setTos(tos: number): IoError.IoError | undefined {
    return this.domain === C.AF_INET6
      ? this.setIntOpt(C.IPPROTO_IPV6, C.IPV6_TCLASS, tos, "traffic class", 0, 255)
      : this.setIntOpt(C.IPPROTO_IP, C.IP_TOS, tos, "TOS", 0, 255)
  }
  tos(): number | IoError.IoError {
    return this.domain === C.AF_INET6
      ? this.getIntOpt(C.IPPROTO_IPV6, C.IPV6_TCLASS)
      : this.getIntOpt(C.IPPROTO_IP, C.IP_TOS)
  }
  /** `IPV6_V6ONLY` (IPv6 sockets only; set before bind). */
  setOnlyV6(on: boolean): IoError.IoError | undefined {
    if (this.domain !== C.AF_INET6) return IoError.make("InvalidInput", "setsockopt", "IPV6_V6ONLY applies to IPv6 sockets")
    return this.setBoolOpt(C.IPPROTO_IPV6, C.IPV6_V6ONLY, on, "IPV6_V6ONLY")
  }
  onlyV6(): boolean | IoError.IoError {
    if (this.domain !== C.AF_INET6) return IoError.make("InvalidInput", "getsockopt", "IPV6_V6ONLY applies to IPv6 sockets")
    return this.getBoolOpt(C.IPPROTO_IPV6, C.IPV6_V6ONLY)
  }
}

/** Stream-socket options (TCP and Unix streams): linger. @internal */
export const lingerBytes = (seconds: number | undefined): Uint8Array => {
  const b = new Uint8Array(layout.linger.size)
  const v = new DataView(b.buffer)
  v.setInt32(layout.linger.onoff, seconds === undefined ? 0 : 1, true)
  v.setInt32(layout.linger.linger, seconds ?? 0, true)
  return b
}

/** `SO_LINGER` as seconds, or `undefined` when off. @internal */
export const setLinger = (self: SocketBase, linger: Duration.Input | undefined): IoError.IoError | undefined => {
  if (self.fd < 0) return IoError.closed("setsockopt")
  let seconds: number | undefined
  if (linger !== undefined) {
    const s = wholeSeconds("SO_LINGER", linger, 0, 0x7fffffff)
    if (typeof s === "string") return IoError.make("InvalidInput", "setsockopt", s)
    seconds = s
  }
  const b = lingerBytes(seconds)
  return done(sock.setsockopt(self.fd, C.SOL_SOCKET, C.SO_LINGER, b, b.length), "setsockopt")
}

/** @internal */
export const getLinger = (self: SocketBase): Option.Option<Duration.Duration> | IoError.IoError => {
  if (self.fd < 0) return IoError.closed("getsockopt")
  const b = new Uint8Array(layout.linger.size)
  const r = sock.getsockopt(self.fd, C.SOL_SOCKET, C.SO_LINGER, b)
  if (!isOk(r)) return IoError.fromFailure(r, "getsockopt")
  const v = new DataView(b.buffer)
  return v.getInt32(layout.linger.onoff, true) === 0
    ? Option.none()
    : Option.some(Duration.seconds(v.getInt32(layout.linger.linger, true)))
}

/**
 * A duration as whole seconds (rounded up) from `min` to `max`, for the socket
 * options counted in seconds, or the problem naming `name` and the value.
 *
 * @internal
 */
export const wholeSeconds = (name: string, value: unknown, min: number, max: number): number | string => {
  const d = check.duration(name, value)
  const seconds = typeof d === "string" ? -1 : Math.ceil(Duration.toMillis(d) / 1000)
  return seconds >= min && seconds <= max
    ? seconds
    : `${name} is a duration from ${min} to ${max} seconds, not ${check.show(value)}`
}

/** The error of a buffer argument that is not a `Uint8Array`. @internal */
export const notBytes = (syscall: string, buf: unknown): IoError.IoError =>
  IoError.make("InvalidInput", syscall, `buffer is a Uint8Array, not ${check.show(buf)}`)

/** `undefined` for success, else the error value. @internal */
export const done = (r: SysResult, syscall: string, address?: string): IoError.IoError | undefined =>
  isOk(r) ? undefined : IoError.fromFailure(r, syscall, address)
