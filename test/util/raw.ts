/**
 * Sockets made outside effect-mio, as mio's `*_std` tests make them with
 * `std::net`: blocking, without close-on-exec, straight from libc. Wrapping
 * one with `fromFd` hands it over (the wrapper closes it).
 */
import { assert } from "@effect/vitest"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as C from "../../src/sys/constants.ts"
import { libc } from "../../src/sys/libc.ts"

const check = (r: number, what: string): number => {
  if (r < 0) assert.fail(`${what} failed: errno ${libc().errno()}`)
  return r
}

/** A blocking `socket(domain, type, 0)` without `SOCK_CLOEXEC`. */
export const rawSocket = (domain: number, type: number): number => {
  const fd = check(libc().socket(domain, type, 0), "socket")
  assert.strictEqual(libc().fcntl(fd, C.F_GETFL, 0) & C.O_NONBLOCK, 0)
  assert.strictEqual(libc().fcntl(fd, C.F_GETFD, 0) & C.FD_CLOEXEC, 0)
  return fd
}

const encoded = (address: string): SocketAddress.Encoded => {
  const a = SocketAddress.resolve(address, "test")
  if (!("bytes" in a)) return assert.fail(a.message)
  return a
}

/** A blocking socket bound to `address` (and listening, for a listener). */
export const rawBound = (address: string, type: number, listen = false): number => {
  const a = encoded(address)
  const fd = rawSocket(a.domain, type)
  check(libc().bind(fd, a.bytes, a.length), "bind")
  if (listen) check(libc().listen(fd, 128), "listen")
  return fd
}

/** A blocking socket connected to `address` (a blocking connect). */
export const rawConnected = (address: string, type: number): number => {
  const a = encoded(address)
  const fd = rawSocket(a.domain, type)
  check(libc().connect(fd, a.bytes, a.length), "connect")
  return fd
}
