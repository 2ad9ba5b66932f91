/**
 * `Poll` waits for readiness events on registered sources (mio's `Poll`), over
 * one epoll instance created with `EPOLL_CLOEXEC` and closed with its Scope.
 *
 * `poll(events, timeout)` clears `events` and fills at most `events.capacity`:
 * - `timeout` 0 is one direct `epoll_wait(…, 0)`;
 * - otherwise the wait never blocks Node's event loop: one libuv poll watcher
 *   watches the epoll fd itself, and when it turns readable `epoll_wait(…, 0)`
 *   collects the events. Timers and other Node I/O keep running meanwhile; the
 *   wait ends early on readiness or on a `Waker`'s wake;
 * - `undefined` waits until an event arrives (forever if nothing is registered);
 * - timeouts are rounded up to whole milliseconds, like mio.
 *
 * One fiber polls a `Poll` at a time (mio's `&mut self`): a second concurrent
 * `poll` fails with kind `ResourceBusy`.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { isOk } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import * as epoll from "../sys/epoll.ts"
import * as fd from "../sys/fd.ts"
import { libc, type UvPollHandle } from "../sys/libc.ts"
import { Events } from "./Events.ts"
import { pollClosed, Registry } from "./Registry.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Poll"

/**
 * @since 0.1.0
 * @category models
 */
export class Poll {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId
  /** @since 0.1.0 */
  readonly registry: Registry
  #watcher: UvPollHandle | undefined = undefined
  /** Whether the watcher is started (it stays started between waits). */
  #watching = false
  /** The current wait's callback, if a fiber is waiting. */
  #waiter: (() => void) | undefined = undefined
  #waiting = false

  /** @internal */
  constructor(epfd: number) {
    this.registry = new Registry(epfd)
  }

  /** The epoll fd (-1 once closed). @since 0.1.0 */
  get fd(): number {
    return this.registry.epfd
  }

  /**
   * Waits for events; see the module documentation for the timeout rules.
   *
   * @since 0.1.0
   */
  poll(events: Events, timeout?: Duration.Input): Effect.Effect<void, IoError.IoError> {
    return Effect.suspend(() => {
      const ms = timeoutMillis(timeout)
      if (typeof ms !== "number") return Effect.fail(ms)
      const e = this.pollNow(events)
      if (e !== undefined) return Effect.fail(e)
      if (events.length > 0 || ms === 0) return Effect.void
      return this.#wait(events, ms)
    })
  }

  /**
   * One `epoll_wait(…, 0)`: fills `events` with what is ready now, synchronously.
   * Returns an error value instead of throwing.
   *
   * @since 0.1.0
   */
  pollNow(events: Events): IoError.IoError | undefined {
    const bad = unusable(events)
    if (bad !== undefined) return bad
    const epfd = this.registry.epfd
    if (epfd < 0) {
      events.clear()
      return pollClosed("epoll_wait")
    }
    const n = epoll.wait(epfd, events.buffer, events.capacity, 0)
    if (!isOk(n)) {
      events.clear()
      return IoError.fromFailure(n, "epoll_wait")
    }
    events.fill(n)
    return undefined
  }

  /**
   * mio's `poll`, exactly: one `epoll_wait` with the timeout, **blocking the
   * JavaScript thread** until an event or the timeout (`undefined` waits
   * forever). Node's timers and I/O on this thread stand still meanwhile: for a
   * worker thread (or process) dedicated to a mio-style event loop, where it
   * saves the libuv round trip of `poll` (about 2 µs per wake-up). Returns an
   * error value instead of throwing.
   *
   * @since 0.1.0
   */
  pollBlocking(events: Events, timeout?: Duration.Input): IoError.IoError | undefined {
    const bad = unusable(events)
    if (bad !== undefined) return bad
    const ms = timeoutMillis(timeout)
    if (typeof ms !== "number") {
      events.clear()
      return ms
    }
    const epfd = this.registry.epfd
    if (epfd < 0) {
      events.clear()
      return pollClosed("epoll_wait")
    }
    const n = epoll.wait(epfd, events.buffer, events.capacity, ms)
    if (!isOk(n)) {
      events.clear()
      return IoError.fromFailure(n, "epoll_wait")
    }
    events.fill(n)
    return undefined
  }

  #wait(events: Events, ms: number): Effect.Effect<void, IoError.IoError> {
    if (this.#waiting) {
      return Effect.fail(IoError.make("ResourceBusy", "epoll_wait", "another fiber is already polling this Poll"))
    }
    return Effect.callback<void, IoError.IoError>((resume) => {
      this.#waiting = true
      let timer: ReturnType<typeof setTimeout> | undefined
      const finish = () => {
        this.#waiting = false
        this.#waiter = undefined
        // The watcher stays started (restarting it costs two epoll_ctl calls per
        // wait); unreferenced, it does not keep the process alive.
        this.#watcher?.unref()
        if (timer !== undefined) clearTimeout(timer)
      }
      const onReadable = () => {
        const e = this.pollNow(events)
        // A readable epoll fd with nothing to collect: another consumer took the
        // events (or the watcher fired late); keep waiting.
        if (e === undefined && events.length === 0) return
        finish()
        resume(e === undefined ? Effect.void : Effect.fail(e))
      }
      this.#watch(onReadable)
      if (ms > 0) {
        timer = setTimeout(() => {
          finish()
          // Like epoll_wait at its timeout: return what is ready now (libuv runs
          // timers before it polls, so readiness may not have been seen yet).
          const e = this.pollNow(events)
          resume(e === undefined ? Effect.void : Effect.fail(e))
        }, ms)
      }
      return Effect.sync(finish)
    })
  }

  #watch(onReadable: () => void): void {
    this.#waiter = onReadable
    if (this.#watcher === undefined) {
      // Created on the first blocking wait; kept until close.
      this.#watcher = libc().uvPoll(this.registry.epfd, this.#onWatcher)
    } else if (!this.#watching) {
      this.#watcher.start(this.#onWatcher)
    }
    this.#watching = true
    this.#watcher.ref()
  }

  /**
   * The watcher fired. With a fiber waiting, collect its events. Without one
   * (events arrived while the program was busy), stop watching: libuv polls the
   * epoll fd level-triggered and would call back on every turn until the next
   * `poll` collects them.
   */
  readonly #onWatcher = (): void => {
    const waiter = this.#waiter
    if (waiter !== undefined) return waiter()
    this.#watcher?.stop()
    this.#watching = false
  }

  /**
   * Closes the watcher and the epoll fd. A fiber waiting in `poll` then fails
   * with kind `Closed`. Closing twice is a no-op. Normally run by the Scope that
   * `make` was given.
   *
   * @since 0.1.0
   */
  close(): IoError.IoError | undefined {
    const epfd = this.registry.epfd
    if (epfd < 0) return undefined
    // libuv must stop watching the fd before it is closed.
    this.#watcher?.close()
    this.#watching = false
    const waiter = this.#waiter
    this.#waiter = undefined
    this.#watcher = undefined
    this.registry.epfd = -1
    const r = fd.close(epfd)
    // A fiber waiting on this Poll would otherwise wait for ever (or until its
    // timeout): its callback now finds the Poll closed and fails with Closed.
    waiter?.()
    return r === 0 ? undefined : IoError.fromErrno(r)
  }
}

/**
 * A timeout in whole milliseconds for `epoll_wait`: rounded up, -1 for
 * "forever", or the reason it is not a timeout.
 *
 * @internal
 */
export const timeoutMillis = (timeout: Duration.Input | undefined): number | IoError.IoError => {
  if (timeout === undefined) return -1
  const d = check.duration("timeout", timeout, true)
  if (typeof d === "string") return IoError.make("InvalidInput", "epoll_wait", d)
  if (!Duration.isFinite(d)) return -1
  return Math.min(Math.ceil(Duration.toMillis(d)), C.INT_MAX)
}

/** Why `events` cannot be polled into (not an `Events`, or one with a bad capacity), or `undefined`. */
const unusable = (events: Events): IoError.IoError | undefined => {
  if (!(events instanceof Events)) {
    return IoError.make("InvalidInput", "epoll_wait", `events is an Events (Events.withCapacity), not ${check.show(events)}`)
  }
  return events.problem === undefined ? undefined : IoError.make("InvalidInput", "epoll_wait", events.problem)
}

/**
 * Opens an epoll instance, closed when the Scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): Effect.Effect<Poll, IoError.IoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const r = epoll.create()
      return isOk(r) ? Effect.succeed(new Poll(r)) : Effect.fail(IoError.fromFailure(r, "epoll_create1"))
    }),
    (poll) => Effect.sync(() => poll.close())
  )

/**
 * @since 0.1.0
 * @category guards
 */
export const isPoll = (u: unknown): u is Poll => u instanceof Poll
