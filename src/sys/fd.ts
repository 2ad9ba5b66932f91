/**
 * File-descriptor syscalls: close, read/write (plain and vectored), pipes,
 * fcntl flags, eventfd, timerfd, signalfd and the signal mask. Each goes through
 * the gate in `call.ts`.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import { type Errno, failure, type SysResult, type WouldBlock } from "./call.ts"
import * as C from "./constants.ts"
import { layout } from "./layout.ts"
import { type Iovec, libc } from "./libc.ts"

/**
 * Closes `fd`. On Linux the descriptor is released even when `close` fails with
 * `EINTR`, so it is never retried.
 *
 * @internal
 */
export const close = (fd: number): 0 | Errno => {
  const r = libc().close(fd)
  if (r >= 0) return 0
  const f = failure("close")
  return f === undefined || typeof f === "symbol" ? 0 : f
}

/** @internal */
export const read = (fd: number, buf: Uint8Array): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.read(fd, buf, buf.length)
    if (r >= 0) return r
    const f = failure("read")
    if (f !== undefined) return f
  }
}

/** @internal */
export const write = (fd: number, buf: Uint8Array): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.write(fd, buf, buf.length)
    if (r >= 0) return r
    const f = failure("write")
    if (f !== undefined) return f
  }
}

/** Longest iovec array the kernel takes (`IOV_MAX`); longer lists are cut to it. @internal */
export const IOV_MAX = 1024

const toIovecs = (bufs: ReadonlyArray<Uint8Array>): Array<Iovec> => {
  const n = Math.min(bufs.length, IOV_MAX)
  const iov = new Array<Iovec>(n)
  for (let i = 0; i < n; i++) iov[i] = { base: bufs[i]!, len: bufs[i]!.length }
  return iov
}

/** `readv(2)` into the buffers in order. @internal */
export const readv = (fd: number, bufs: ReadonlyArray<Uint8Array>): SysResult => {
  const c = libc(), iov = toIovecs(bufs)
  for (;;) {
    const r = c.readv(fd, iov, iov.length)
    if (r >= 0) return r
    const f = failure("readv")
    if (f !== undefined) return f
  }
}

/** `writev(2)` from the buffers in order. @internal */
export const writev = (fd: number, bufs: ReadonlyArray<Uint8Array>): SysResult => {
  const c = libc(), iov = toIovecs(bufs)
  for (;;) {
    const r = c.writev(fd, iov, iov.length)
    if (r >= 0) return r
    const f = failure("writev")
    if (f !== undefined) return f
  }
}

const pipeFds = new Int32Array(2)

/** `pipe2(O_NONBLOCK | O_CLOEXEC)`: `[readFd, writeFd]`. @internal */
export const pipe = (): readonly [number, number] | Errno => {
  const c = libc()
  for (;;) {
    if (c.pipe2(pipeFds, C.O_NONBLOCK | C.O_CLOEXEC) >= 0) return [pipeFds[0]!, pipeFds[1]!]
    const f = failure("pipe2")
    if (f !== undefined && typeof f !== "symbol") return f
  }
}

/** @internal */
export const fcntl = (fd: number, cmd: number, arg: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.fcntl(fd, cmd, arg)
    if (r >= 0) return r
    const f = failure("fcntl")
    if (f !== undefined) return f
  }
}

/** Sets or clears `O_NONBLOCK`. @internal */
export const setNonblocking = (fd: number, on: boolean): SysResult => {
  const flags = fcntl(fd, C.F_GETFL, 0)
  if (typeof flags !== "number") return flags
  const next = on ? flags | C.O_NONBLOCK : flags & ~C.O_NONBLOCK
  return next === flags ? 0 : fcntl(fd, C.F_SETFL, next)
}

/** Sets `FD_CLOEXEC`. @internal */
export const setCloexec = (fd: number): SysResult => {
  const flags = fcntl(fd, C.F_GETFD, 0)
  if (typeof flags !== "number") return flags
  return flags & C.FD_CLOEXEC ? 0 : fcntl(fd, C.F_SETFD, flags | C.FD_CLOEXEC)
}

// --- eventfd ------------------------------------------------------------------

/** `eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)`. @internal */
export const eventfd = (): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.eventfd(0, C.EFD_NONBLOCK | C.EFD_CLOEXEC)
    if (r >= 0) return r
    const f = failure("eventfd")
    if (f !== undefined) return f
  }
}

const counter = new BigUint64Array(1)
const counterBytes = new Uint8Array(counter.buffer)

/** Adds `n` to an eventfd counter; `WouldBlock` when it would overflow. @internal */
export const eventfdWrite = (fd: number, n: bigint): SysResult => {
  counter[0] = n
  return write(fd, counterBytes)
}

/** Reads and resets an eventfd counter: the value, or `WouldBlock` when it is 0. @internal */
export const eventfdRead = (fd: number): bigint | WouldBlock | Errno => {
  const r = read(fd, counterBytes)
  return typeof r === "number" ? counter[0]! : r
}

// --- timerfd ------------------------------------------------------------------

/** `timerfd_create(clock, TFD_NONBLOCK | TFD_CLOEXEC)`. @internal */
export const timerfdCreate = (clock: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.timerfd_create(clock, C.TFD_NONBLOCK | C.TFD_CLOEXEC)
    if (r >= 0) return r
    const f = failure("timerfd_create")
    if (f !== undefined) return f
  }
}

const itimerspec = new BigInt64Array(layout.itimerspec.size / 8)

/**
 * Arms (or, with `valueNs === 0n`, disarms) a timerfd: the first expiry after
 * `valueNs` nanoseconds (absolute when `absolute`), then every `intervalNs`.
 *
 * @internal
 */
export const timerfdSet = (fd: number, valueNs: bigint, intervalNs: bigint, absolute: boolean): SysResult => {
  const L = layout.itimerspec, T = layout.timespec
  itimerspec[(L.interval + T.sec) / 8] = intervalNs / 1_000_000_000n
  itimerspec[(L.interval + T.nsec) / 8] = intervalNs % 1_000_000_000n
  itimerspec[(L.value + T.sec) / 8] = valueNs / 1_000_000_000n
  itimerspec[(L.value + T.nsec) / 8] = valueNs % 1_000_000_000n
  const c = libc()
  for (;;) {
    const r = c.timerfd_settime(fd, absolute ? C.TFD_TIMER_ABSTIME : 0, itimerspec, null)
    if (r >= 0) return r
    const f = failure("timerfd_settime")
    if (f !== undefined) return f
  }
}

/** The time left until the next expiry and the interval, in nanoseconds. @internal */
export const timerfdGet = (fd: number): { readonly valueNs: bigint; readonly intervalNs: bigint } | Errno => {
  const c = libc()
  for (;;) {
    if (c.timerfd_gettime(fd, itimerspec) >= 0) {
      const L = layout.itimerspec, T = layout.timespec
      const ns = (off: number) => itimerspec[(off + T.sec) / 8]! * 1_000_000_000n + itimerspec[(off + T.nsec) / 8]!
      return { valueNs: ns(L.value), intervalNs: ns(L.interval) }
    }
    const f = failure("timerfd_gettime")
    if (f !== undefined && typeof f !== "symbol") return f
  }
}

// --- signals ------------------------------------------------------------------

/** A `sigset_t` (glibc's 128-byte set) holding `signals`. @internal */
export const sigset = (signals: Iterable<number>): Uint8Array => {
  const set = new Uint8Array(layout.sigset)
  for (const s of signals) {
    const bit = s - 1
    set[bit >> 3]! |= 1 << (bit & 7)
  }
  return set
}

/** `true` when `signal` is in `set`. @internal */
export const sigsetHas = (set: Uint8Array, signal: number): boolean => {
  const bit = signal - 1
  return (set[bit >> 3]! & (1 << (bit & 7))) !== 0
}

/** `sigprocmask(how, set, oldset)` for the calling thread. @internal */
export const sigprocmask = (how: number, set: Uint8Array | null, oldset: Uint8Array | null): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.sigprocmask(how, set, oldset)
    if (r >= 0) return r
    const f = failure("sigprocmask")
    if (f !== undefined) return f
  }
}

/** `signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC)`, or an update of `fd`'s set. @internal */
export const signalfd = (fd: number, set: Uint8Array): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.signalfd(fd, set, C.SFD_NONBLOCK | C.SFD_CLOEXEC)
    if (r >= 0) return r
    const f = failure("signalfd")
    if (f !== undefined) return f
  }
}

/** Sends `signal` to one thread of this process. @internal */
export const raiseInThread = (tid: number, signal: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.tgkill(c.getpid(), tid, signal)
    if (r >= 0) return r
    const f = failure("tgkill")
    if (f !== undefined) return f
  }
}

/** The calling thread's kernel id. @internal */
export const gettid = (): number => libc().gettid()
