/**
 * One readiness event (mio's `Event`). The predicates follow mio's Linux mapping
 * of epoll flags exactly:
 *
 * | predicate        | epoll condition                                              |
 * |------------------|--------------------------------------------------------------|
 * | `isReadable`     | `EPOLLIN` or `EPOLLPRI`                                      |
 * | `isWritable`     | `EPOLLOUT`                                                   |
 * | `isError`        | `EPOLLERR`                                                   |
 * | `isReadClosed`   | `EPOLLHUP`, or `EPOLLIN` with `EPOLLRDHUP`                   |
 * | `isWriteClosed`  | `EPOLLHUP`, or `EPOLLOUT` with `EPOLLERR`, or exactly `EPOLLERR` |
 * | `isPriority`     | `EPOLLPRI`                                                   |
 *
 * `isError`, `isReadClosed`, `isWriteClosed` and `isPriority` are hints: they may
 * be missing, but the closed flags never report a false positive.
 *
 * An `Event` belongs to its `Events` and is overwritten by the next poll; copy it
 * with `clone()` to keep it.
 *
 * @since 0.1.0
 */
import { EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDHUP } from "../sys/constants.ts"
import type { Token } from "./Token.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Event"

/**
 * @since 0.1.0
 * @category models
 */
export class Event {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId
  /** The raw epoll flags (`events` of `epoll_event`). @since 0.1.0 */
  flags = 0
  /** @since 0.1.0 */
  token = 0 as Token

  /** @since 0.1.0 */
  isReadable(): boolean {
    return (this.flags & (EPOLLIN | EPOLLPRI)) !== 0
  }
  /** @since 0.1.0 */
  isWritable(): boolean {
    return (this.flags & EPOLLOUT) !== 0
  }
  /** @since 0.1.0 */
  isError(): boolean {
    return (this.flags & EPOLLERR) !== 0
  }
  /** @since 0.1.0 */
  isReadClosed(): boolean {
    const f = this.flags
    return (f & EPOLLHUP) !== 0 || ((f & EPOLLIN) !== 0 && (f & EPOLLRDHUP) !== 0)
  }
  /** @since 0.1.0 */
  isWriteClosed(): boolean {
    const f = this.flags
    return (f & EPOLLHUP) !== 0 || ((f & EPOLLOUT) !== 0 && (f & EPOLLERR) !== 0) || f === EPOLLERR
  }
  /** @since 0.1.0 */
  isPriority(): boolean {
    return (this.flags & EPOLLPRI) !== 0
  }
  /** Always `false` on Linux (BSD `EVFILT_AIO`). @since 0.1.0 */
  isAio(): boolean {
    return false
  }
  /** Always `false` on Linux (FreeBSD `EVFILT_LIO`). @since 0.1.0 */
  isLio(): boolean {
    return false
  }
  /** A copy that the next poll does not overwrite. @since 0.1.0 */
  clone(): Event {
    const e = new Event()
    e.flags = this.flags
    e.token = this.token
    return e
  }
  /** @since 0.1.0 */
  toString(): string {
    const names: Array<string> = []
    if (this.isReadable()) names.push("READABLE")
    if (this.isWritable()) names.push("WRITABLE")
    if (this.isError()) names.push("ERROR")
    if (this.isReadClosed()) names.push("READ_CLOSED")
    if (this.isWriteClosed()) names.push("WRITE_CLOSED")
    if (this.isPriority()) names.push("PRIORITY")
    return `Event(token: ${this.token}, ${names.join(" | ") || "none"}, flags: 0x${this.flags.toString(16)})`
  }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isEvent = (u: unknown): u is Event => u instanceof Event
