/**
 * The libc functions effect-mio calls, bound through koffi on first use.
 * Importing this module binds nothing and loads nothing: `libc()` does, once.
 *
 * Every pointer parameter is declared `void *` and receives a typed array (koffi
 * passes a pointer to its backing store for the duration of the call, without
 * copying), `null`, or native memory from `nativeAlloc`.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import koffi from "koffi"
import { isSupportedArch } from "./layout.ts"

/** Anything koffi accepts for a `void *` argument. @internal */
export type Ptr = ArrayBufferView | ArrayBuffer | NativePointer | null

/** One `struct iovec`, marshalled by koffi (the buffer is passed by pointer, not copied). @internal */
export interface Iovec {
  base: Uint8Array
  len: number
}

/** An opaque pointer to memory from `koffi.alloc`. @internal */
export interface NativePointer {
  readonly __nativePointer: unique symbol
}

/** @internal */
export interface Libc {
  readonly close: (fd: number) => number
  readonly read: (fd: number, buf: Ptr, len: number) => number
  readonly write: (fd: number, buf: Ptr, len: number) => number
  readonly readv: (fd: number, iov: ReadonlyArray<Iovec>, iovcnt: number) => number
  readonly writev: (fd: number, iov: ReadonlyArray<Iovec>, iovcnt: number) => number
  readonly pipe2: (fds: Int32Array, flags: number) => number
  readonly fcntl: (fd: number, cmd: number, arg: number) => number
  readonly epoll_create1: (flags: number) => number
  readonly epoll_ctl: (epfd: number, op: number, fd: number, event: Ptr) => number
  readonly epoll_wait: (epfd: number, events: Ptr, maxevents: number, timeout: number) => number
  readonly eventfd: (initval: number, flags: number) => number
  readonly timerfd_create: (clockid: number, flags: number) => number
  readonly timerfd_settime: (fd: number, flags: number, newValue: Ptr, oldValue: Ptr) => number
  readonly timerfd_gettime: (fd: number, curr: Ptr) => number
  readonly signalfd: (fd: number, mask: Ptr, flags: number) => number
  readonly sigprocmask: (how: number, set: Ptr, oldset: Ptr) => number
  readonly socket: (domain: number, type: number, protocol: number) => number
  readonly socketpair: (domain: number, type: number, protocol: number, fds: Int32Array) => number
  readonly bind: (fd: number, addr: Ptr, len: number) => number
  readonly listen: (fd: number, backlog: number) => number
  readonly accept4: (fd: number, addr: Ptr, len: Ptr, flags: number) => number
  readonly connect: (fd: number, addr: Ptr, len: number) => number
  readonly getsockname: (fd: number, addr: Ptr, len: Ptr) => number
  readonly getpeername: (fd: number, addr: Ptr, len: Ptr) => number
  readonly getsockopt: (fd: number, level: number, name: number, value: Ptr, len: Ptr) => number
  readonly setsockopt: (fd: number, level: number, name: number, value: Ptr, len: number) => number
  readonly send: (fd: number, buf: Ptr, len: number, flags: number) => number
  readonly recv: (fd: number, buf: Ptr, len: number, flags: number) => number
  readonly sendto: (fd: number, buf: Ptr, len: number, flags: number, addr: Ptr, addrlen: number) => number
  readonly recvfrom: (fd: number, buf: Ptr, len: number, flags: number, addr: Ptr, addrlen: Ptr) => number
  readonly sendmsg: (fd: number, msg: Ptr, flags: number) => number
  readonly recvmsg: (fd: number, msg: Ptr, flags: number) => number
  /** `sendmmsg` on a `mmsghdr` array in native memory, by address. */
  readonly sendmmsg: (fd: number, msgs: number, vlen: number, flags: number) => number
  /** `recvmmsg` on a `mmsghdr` array in native memory, by address (no timeout). */
  readonly recvmmsg: (fd: number, msgs: number, vlen: number, flags: number) => number
  /** `sendmsg` on a `msghdr` in native memory, by address. */
  readonly sendmsgAt: (fd: number, msg: number, flags: number) => number
  /** `recvmsg` on a `msghdr` in native memory, by address. */
  readonly recvmsgAt: (fd: number, msg: number, flags: number) => number
  readonly shutdown: (fd: number, how: number) => number
  readonly getpid: () => number
  readonly gettid: () => number
  readonly tgkill: (tgid: number, tid: number, sig: number) => number
  readonly if_nametoindex: (name: string) => number
  readonly strerror: (errno: number) => string
  readonly errno: () => number
  /** Native memory that does not move; freed only by `nativeFree`. */
  readonly nativeAlloc: (size: number) => NativePointer
  readonly nativeFree: (ptr: NativePointer) => void
  readonly nativeView: (ptr: NativePointer, size: number) => ArrayBuffer
  readonly nativeAddress: (ptr: NativePointer) => bigint
  /** libuv's poll watcher, used on epoll fds only (a non-pollable fd aborts the process). */
  readonly uvPoll: (fd: number, callback: () => void) => UvPollHandle
}

/** A libuv `uv_poll_t` watching one fd for readability. @internal */
export interface UvPollHandle {
  readonly start: (callback: () => void) => void
  readonly stop: () => void
  readonly close: () => void
  readonly ref: () => void
  readonly unref: () => void
}

/** Poll callbacks running right now (see `inPollCallback`). */
let pollCallbacks = 0

/** Counts `callback`'s runs in `pollCallbacks`. */
const unscoped = (callback: () => void) => (): void => {
  pollCallbacks++
  try {
    callback()
  } finally {
    pollCallbacks--
  }
}

/**
 * Whether JavaScript is running inside a `uvPoll` callback now. koffi calls
 * it outside any Node callback scope, so a Node API that calls back into
 * JavaScript synchronously (C++ `MakeCallback`, as node:tls over a JavaScript
 * stream does on every read and write) runs the `process.nextTick` queue and
 * the microtasks when it returns — in the middle of the caller's code. Code
 * driving such an API from a fiber the reactor resumed checks this first and
 * continues from `setImmediate` (inside Node's scopes) when it is `true`.
 *
 * @internal
 */
export const inPollCallback = (): boolean => pollCallbacks > 0

let bound: Libc | undefined

/**
 * Poll watchers still open. A koffi poll handle that is still open when a worker
 * thread's environment is torn down crashes the process, so every watcher is
 * closed on `exit` (which a worker emits on `process.exit` and on a natural end,
 * but not on `worker.terminate()` — see docs/readiness.md).
 */
const openWatchers = new Set<() => void>()
let exitHookInstalled = false
const watchOnExit = (close: () => void): void => {
  openWatchers.add(close)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once("exit", () => {
      for (const c of [...openWatchers]) c()
    })
  }
}

/**
 * The bound libc. Throws only when the platform is unsupported (not Linux, or
 * not x86-64/arm64), which no Effect can recover from.
 *
 * @internal
 */
export const libc = (): Libc => bound ?? (bound = bind())

const bind = (): Libc => {
  if (process.platform !== "linux" || !isSupportedArch(process.arch)) {
    throw new Error(`effect-mio supports Linux on x86-64 and arm64, not ${process.platform}/${process.arch}`)
  }
  const lib = koffi.load("libc.so.6")
  const f = (name: string, result: string, args: ReadonlyArray<string>) => lib.func(name, result, [...args])
  const I = "int", L = "long", Z = "size_t", P = "void *", U = "uint32_t", A = "uintptr_t"
  const readOnly = { readable: true } as const
  const iovecs = koffi.pointer(koffi.struct({ base: "void *", len: "size_t" }))
  return {
    close: f("close", I, [I]),
    read: f("read", L, [I, P, Z]),
    write: f("write", L, [I, P, Z]),
    readv: lib.func("readv", L, [I, iovecs, I]),
    writev: lib.func("writev", L, [I, iovecs, I]),
    pipe2: f("pipe2", I, [P, I]),
    // fcntl is variadic; with integer arguments the LP64 ABIs of x86-64 and arm64
    // pass them exactly as a fixed-arity call does.
    fcntl: f("fcntl", I, [I, I, I]),
    epoll_create1: f("epoll_create1", I, [I]),
    epoll_ctl: f("epoll_ctl", I, [I, I, I, P]),
    epoll_wait: f("epoll_wait", I, [I, P, I, I]),
    eventfd: f("eventfd", I, [U, I]),
    timerfd_create: f("timerfd_create", I, [I, I]),
    timerfd_settime: f("timerfd_settime", I, [I, I, P, P]),
    timerfd_gettime: f("timerfd_gettime", I, [I, P]),
    signalfd: f("signalfd", I, [I, P, I]),
    sigprocmask: f("sigprocmask", I, [I, P, P]),
    socket: f("socket", I, [I, I, I]),
    socketpair: f("socketpair", I, [I, I, I, P]),
    bind: f("bind", I, [I, P, U]),
    listen: f("listen", I, [I, I]),
    accept4: f("accept4", I, [I, P, P, I]),
    connect: f("connect", I, [I, P, U]),
    getsockname: f("getsockname", I, [I, P, P]),
    getpeername: f("getpeername", I, [I, P, P]),
    getsockopt: f("getsockopt", I, [I, I, I, P, P]),
    setsockopt: f("setsockopt", I, [I, I, I, P, U]),
    send: f("send", L, [I, P, Z, I]),
    recv: f("recv", L, [I, P, Z, I]),
    sendto: f("sendto", L, [I, P, Z, I, P, U]),
    recvfrom: f("recvfrom", L, [I, P, Z, I, P, P]),
    sendmsg: f("sendmsg", L, [I, P, I]),
    recvmsg: f("recvmsg", L, [I, P, I]),
    sendmmsg: f("sendmmsg", I, [I, A, U, I]),
    recvmmsg: ((rm) => (fd: number, msgs: number, vlen: number, flags: number) => rm(fd, msgs, vlen, flags, null))(
      f("recvmmsg", I, [I, A, U, I, P])
    ),
    sendmsgAt: f("sendmsg", L, [I, A, I]),
    recvmsgAt: f("recvmsg", L, [I, A, I]),
    shutdown: f("shutdown", I, [I, I]),
    getpid: f("getpid", I, []),
    gettid: f("gettid", I, []),
    tgkill: f("tgkill", I, [I, I, I]),
    if_nametoindex: f("if_nametoindex", "unsigned int", ["const char *"]),
    strerror: f("strerror", "const char *", [I]),
    errno: () => koffi.errno(),
    nativeAlloc: (size) => koffi.alloc("uint8_t", size) as NativePointer,
    nativeFree: (ptr) => koffi.free(ptr),
    nativeView: (ptr, size) => koffi.view(ptr, size),
    nativeAddress: (ptr) => koffi.address(ptr),
    uvPoll: (fd, callback) => {
      const handle = koffi.node.poll(fd, readOnly, unscoped(callback))
      const close = () => {
        if (openWatchers.delete(close)) handle.close()
      }
      watchOnExit(close)
      return {
        start: (cb) => handle.start(readOnly, unscoped(cb)),
        stop: () => handle.stop(),
        close,
        ref: () => handle.ref(),
        unref: () => handle.unref()
      }
    }
  }
}
