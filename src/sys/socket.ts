/**
 * Socket syscalls. Every socket is created with `SOCK_NONBLOCK | SOCK_CLOEXEC`.
 * Addresses go in as encoded bytes (see `sockaddr.ts`); addresses the kernel
 * returns (accept, recvfrom, getsockname, getpeername) land in `addrOut`, which
 * the caller decodes before the next call.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import { Errno, failure, type SysResult, WouldBlock } from "./call.ts"
import * as C from "./constants.ts"
import { libc } from "./libc.ts"
import { SOCKADDR_MAX } from "./sockaddr.ts"

/** The address returned by the last accept/recvfrom/getsockname/getpeername. @internal */
export const addrOut = { buf: new Uint8Array(SOCKADDR_MAX), len: 0 }
const addrLen = new Uint32Array(1)

/** `socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol)`. @internal */
export const socket = (domain: number, type: number, protocol: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.socket(domain, type | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, protocol)
    if (r >= 0) return r
    const f = failure("socket")
    if (f !== undefined) return f
  }
}

const pairFds = new Int32Array(2)

/** `socketpair(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)`. @internal */
export const socketpair = (domain: number, type: number): readonly [number, number] | Errno => {
  const c = libc()
  for (;;) {
    if (c.socketpair(domain, type | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0, pairFds) >= 0) {
      return [pairFds[0]!, pairFds[1]!]
    }
    const f = failure("socketpair")
    if (f !== undefined && typeof f !== "symbol") return f
  }
}

/** @internal */
export const bind = (fd: number, addr: Uint8Array, len: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.bind(fd, addr, len)
    if (r >= 0) return r
    const f = failure("bind")
    if (f !== undefined) return f
  }
}

/** @internal */
export const listen = (fd: number, backlog: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.listen(fd, backlog)
    if (r >= 0) return r
    const f = failure("listen")
    if (f !== undefined) return f
  }
}

/** `accept4(fd, …, SOCK_NONBLOCK | SOCK_CLOEXEC)`; the peer address is in `addrOut`. @internal */
export const accept = (fd: number): SysResult => {
  const c = libc()
  for (;;) {
    addrLen[0] = SOCKADDR_MAX
    const r = c.accept4(fd, addrOut.buf, addrLen, C.SOCK_NONBLOCK | C.SOCK_CLOEXEC)
    if (r >= 0) {
      addrOut.len = addrLen[0]!
      return r
    }
    const f = failure("accept4")
    if (f !== undefined) return f
  }
}

/**
 * `connect(2)`. A non-blocking stream socket answers `EINPROGRESS`, returned as
 * an `Errno` for the caller to interpret. `EINTR` is not retried: the connection
 * continues in the background, as after `EINPROGRESS`.
 *
 * @internal
 */
export const connect = (fd: number, addr: Uint8Array, len: number): SysResult => {
  const c = libc()
  const r = c.connect(fd, addr, len)
  if (r >= 0) return r
  const e = c.errno()
  if (e === C.EINTR) return new Errno(C.EINPROGRESS, "connect")
  return e === C.EAGAIN ? WouldBlock : new Errno(e, "connect")
}

const nameCall = (syscall: "getsockname" | "getpeername", fd: number): SysResult => {
  const c = libc()
  for (;;) {
    addrLen[0] = SOCKADDR_MAX
    const r = syscall === "getsockname" ? c.getsockname(fd, addrOut.buf, addrLen) : c.getpeername(fd, addrOut.buf, addrLen)
    if (r >= 0) {
      addrOut.len = addrLen[0]!
      return r
    }
    const f = failure(syscall)
    if (f !== undefined) return f
  }
}

/** The local address, into `addrOut`. @internal */
export const getsockname = (fd: number): SysResult => nameCall("getsockname", fd)

/** The peer address, into `addrOut`. @internal */
export const getpeername = (fd: number): SysResult => nameCall("getpeername", fd)

const optInt = new Int32Array(1)
const optLen = new Uint32Array(1)

/** An `int`-valued socket option. @internal */
export const getsockoptInt = (fd: number, level: number, name: number): SysResult => {
  const c = libc()
  for (;;) {
    optLen[0] = 4
    optInt[0] = 0
    const r = c.getsockopt(fd, level, name, optInt, optLen)
    if (r >= 0) return optInt[0]!
    const f = failure("getsockopt")
    if (f !== undefined) return f
  }
}

/** Sets an `int`-valued socket option. @internal */
export const setsockoptInt = (fd: number, level: number, name: number, value: number): SysResult => {
  optInt[0] = value
  return setsockopt(fd, level, name, new Uint8Array(optInt.buffer), 4)
}

/** Sets a socket option from `len` bytes of `value`. @internal */
export const setsockopt = (fd: number, level: number, name: number, value: Uint8Array, len: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.setsockopt(fd, level, name, value, len)
    if (r >= 0) return r
    const f = failure("setsockopt")
    if (f !== undefined) return f
  }
}

/** Reads a socket option into `value`: the length the kernel wrote. @internal */
export const getsockopt = (fd: number, level: number, name: number, value: Uint8Array): SysResult => {
  const c = libc()
  for (;;) {
    optLen[0] = value.length
    const r = c.getsockopt(fd, level, name, value, optLen)
    if (r >= 0) return optLen[0]!
    const f = failure("getsockopt")
    if (f !== undefined) return f
  }
}

/** `send(fd, buf, flags | MSG_NOSIGNAL)`. @internal */
export const send = (fd: number, buf: Uint8Array, flags: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.send(fd, buf, buf.length, flags | C.MSG_NOSIGNAL)
    if (r >= 0) return r
    const f = failure("send")
    if (f !== undefined) return f
  }
}

/** `recv(fd, buf, flags)`. @internal */
export const recv = (fd: number, buf: Uint8Array, flags: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.recv(fd, buf, buf.length, flags)
    if (r >= 0) return r
    const f = failure("recv")
    if (f !== undefined) return f
  }
}

/** `sendto(fd, buf, flags | MSG_NOSIGNAL, addr, len)`. @internal */
export const sendto = (fd: number, buf: Uint8Array, flags: number, addr: Uint8Array, len: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.sendto(fd, buf, buf.length, flags | C.MSG_NOSIGNAL, addr, len)
    if (r >= 0) return r
    const f = failure("sendto")
    if (f !== undefined) return f
  }
}

/** `recvfrom(fd, buf, flags)`; the source address is in `addrOut`. @internal */
export const recvfrom = (fd: number, buf: Uint8Array, flags: number): SysResult => {
  const c = libc()
  for (;;) {
    addrLen[0] = SOCKADDR_MAX
    const r = c.recvfrom(fd, buf, buf.length, flags, addrOut.buf, addrLen)
    if (r >= 0) {
      addrOut.len = addrLen[0]!
      return r
    }
    const f = failure("recvfrom")
    if (f !== undefined) return f
  }
}

/** @internal */
export const shutdown = (fd: number, how: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.shutdown(fd, how)
    if (r >= 0) return r
    const f = failure("shutdown")
    if (f !== undefined) return f
  }
}

/** The pending socket error (`SO_ERROR`), which reading clears: 0 when there is none. @internal */
export const takeError = (fd: number): SysResult => getsockoptInt(fd, C.SOL_SOCKET, C.SO_ERROR)
