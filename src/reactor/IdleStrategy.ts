/**
 * How the reactor's driver waits when fibers are parked on I/O — Aeron's idle
 * strategies, adapted to a Node event loop:
 *
 * - `park` (default): the driver sleeps in libuv, watching the epoll fd with one
 *   poll watcher; Node's event loop is free meanwhile and costs nothing when idle.
 * - `spin`: the driver polls epoll with a zero timeout, back to back, until an
 *   event arrives or for up to `budgetMicros` (default 20 µs), then yields one
 *   turn of Node's event loop (`setImmediate`) and spins again: the lowest
 *   latency, at the price of a busy core. Node's timers and I/O run between bursts. Besides, when no other
 *   fiber is parked on the reactor, a fiber whose operation would block first
 *   waits in place — it polls synchronously for up to `inPlaceMicros` (default
 *   5 µs) and retries as soon as its readiness arrives, without suspending —
 *   then parks. Work not driven by the reactor (a fiber woken by a `Queue` or a
 *   timer, a Node callback) waits at most that long.
 * - `backoff`: after activity, poll `spins` times back to back, then `yields`
 *   times once per event-loop turn, then park until the next readiness event.
 * - `block`: the driver waits in `epoll_wait` itself, on the JavaScript thread,
 *   for up to `sliceMillis` (default 2 ms) at a time, running the fibers it wakes
 *   at once, and yields one turn of Node's event loop between slices. Latency is
 *   close to a C epoll loop's, but **Node's own timers and I/O (and fibers not
 *   woken by the reactor) wait up to a slice**. Opt-in, for a process or worker
 *   thread whose work comes through the reactor.
 *
 * @since 0.1.0
 */

import * as check from "../internal/check.ts"

/**
 * @since 0.1.0
 * @category models
 */
export type IdleStrategy =
  | { readonly _tag: "Park" }
  | { readonly _tag: "Spin"; readonly budgetMicros: number; readonly inPlaceMicros: number }
  | { readonly _tag: "Backoff"; readonly spins: number; readonly yields: number }
  | { readonly _tag: "Block"; readonly sliceMillis: number }

/**
 * @since 0.1.0
 * @category constructors
 */
export const park: IdleStrategy = { _tag: "Park" }

/**
 * Spin with the default budgets: 20 µs of back-to-back polls per event-loop
 * turn, 5 µs of waiting in place.
 *
 * @since 0.1.0
 * @category constructors
 */
export const spin: IdleStrategy = { _tag: "Spin", budgetMicros: 20, inPlaceMicros: 5 }

/**
 * Options of the spin strategy.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpinOptions {
  /** Back-to-back polls per event-loop turn while nothing arrives, in µs (default 20; 0: one poll per turn). */
  readonly budgetMicros?: number | undefined
  /** How long a lone fiber polls in place before it parks, in µs (default 5; 0: never). */
  readonly inPlaceMicros?: number | undefined
}

/**
 * Spin with chosen budgets (each a number of µs from 0 to 10^6). The values are
 * kept as given; `Reactor.make` refuses a bad one with `InvalidInput`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const spinWith = (options: SpinOptions): IdleStrategy => ({
  _tag: "Spin",
  budgetMicros: options?.budgetMicros ?? 20,
  inPlaceMicros: options?.inPlaceMicros ?? 5
})

/**
 * Options of the backoff strategy.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackoffOptions {
  /** Zero-timeout polls run back to back, without yielding (default 16). */
  readonly spins?: number | undefined
  /** Zero-timeout polls run once per event-loop turn before parking (default 64). */
  readonly yields?: number | undefined
}

/**
 * Backoff with the given counts (each an integer from 0 to 2^20). The values are
 * kept as given; `Reactor.make` refuses a bad one with `InvalidInput`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const backoff = (options?: BackoffOptions): IdleStrategy => ({
  _tag: "Backoff",
  spins: options?.spins ?? 16,
  yields: options?.yields ?? 64
})

/**
 * Block in `epoll_wait` on the JavaScript thread for up to `sliceMillis` at a
 * time (an integer from 1 to 1000; default 2): see the module documentation for
 * what it costs Node's event loop. `Reactor.make` refuses a bad slice with
 * `InvalidInput`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const block = (options?: { readonly sliceMillis?: number | undefined }): IdleStrategy => ({
  _tag: "Block",
  sliceMillis: options?.sliceMillis ?? 2
})

/** The most polls of one backoff phase. */
const MAX_COUNT = 1 << 20
/** The longest spin budget, in µs. */
const MAX_MICROS = 1_000_000
/** The longest block slice, in ms: Node's event loop waits up to a slice. */
const MAX_SLICE_MILLIS = 1000

/**
 * Why `strategy` is not one the driver can run — an unknown tag, a count or
 * budget that is not a number in range — or `undefined`. The constructors
 * above keep what they are given, so that a bad value is reported here (by
 * `Reactor.make`, as `InvalidInput`) instead of being clamped or defaulted.
 *
 * @internal
 */
export const problem = (strategy: IdleStrategy): string | undefined => {
  const s = strategy as Partial<Record<string, unknown>> | null
  switch (typeof s === "object" && s !== null ? s._tag : undefined) {
    case "Park":
      return undefined
    case "Spin":
      return check.first(
        check.requiredNumber("budgetMicros", s!.budgetMicros, 0, MAX_MICROS),
        check.requiredNumber("inPlaceMicros", s!.inPlaceMicros, 0, MAX_MICROS)
      )
    case "Backoff":
      return check.first(
        check.requiredInteger("spins", s!.spins, 0, MAX_COUNT),
        check.requiredInteger("yields", s!.yields, 0, MAX_COUNT)
      )
    case "Block":
      return check.requiredInteger("sliceMillis", s!.sliceMillis, 1, MAX_SLICE_MILLIS)
    default:
      return `strategy is an IdleStrategy (park, spin, spinWith, backoff, block), not ${check.show(strategy)}`
  }
}
