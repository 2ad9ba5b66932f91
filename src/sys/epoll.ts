/**
 * epoll syscalls. `epoll_event` is encoded with the layout of the running
 * architecture (12 packed bytes on x86-64, 16 on arm64); the token travels in
 * the 64-bit `data` field as two 32-bit halves, so tokens up to 2^53 - 1 survive.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import { failure, type SysResult } from "./call.ts"
import * as C from "./constants.ts"
import { layout } from "./layout.ts"
import { libc } from "./libc.ts"

const TWO_32 = 0x1_0000_0000

/** `epoll_create1(EPOLL_CLOEXEC)`. @internal */
export const create = (): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.epoll_create1(C.EPOLL_CLOEXEC)
    if (r >= 0) return r
    const f = failure("epoll_create1")
    if (f !== undefined) return f
  }
}

const ctlEvent = new Uint8Array(layout.epollEvent.size)
const ctlView = new DataView(ctlEvent.buffer)

/** `epoll_ctl(epfd, op, fd, { events, data: token })`. @internal */
export const ctl = (epfd: number, op: number, fd: number, events: number, token: number): SysResult => {
  const L = layout.epollEvent
  ctlView.setUint32(L.events, events >>> 0, true)
  ctlView.setUint32(L.data, token % TWO_32, true)
  ctlView.setUint32(L.data + 4, Math.floor(token / TWO_32), true)
  const c = libc()
  for (;;) {
    const r = c.epoll_ctl(epfd, op, fd, ctlEvent)
    if (r >= 0) return r
    const f = failure("epoll_ctl")
    if (f !== undefined) return f
  }
}

/** `epoll_wait(epfd, buf, maxevents, timeoutMs)`: the number of events written to `buf`. @internal */
export const wait = (epfd: number, buf: Uint8Array, maxevents: number, timeoutMs: number): SysResult => {
  const c = libc()
  for (;;) {
    const r = c.epoll_wait(epfd, buf, maxevents, timeoutMs)
    if (r >= 0) return r
    const f = failure("epoll_wait")
    if (f !== undefined) return f
  }
}

/** The `events` bits of entry `i` in an `epoll_wait` buffer. @internal */
export const eventFlags = (view: DataView, i: number): number =>
  view.getUint32(i * layout.epollEvent.size + layout.epollEvent.events, true)

/** The token of entry `i` in an `epoll_wait` buffer. @internal */
export const eventToken = (view: DataView, i: number): number => {
  const off = i * layout.epollEvent.size + layout.epollEvent.data
  return view.getUint32(off, true) + view.getUint32(off + 4, true) * TWO_32
}
