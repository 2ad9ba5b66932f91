/**
 * How the reactor's driver waits when fibers are parked on I/O — Aeron's idle
 * strategies, adapted to a Node event loop:
 *
 * - `park` (default): the driver sleeps in libuv, watching the epoll fd with one
 *   poll watcher; Node's event loop is free meanwhile and costs nothing when idle.
 * - `spin`: the driver polls epoll with a zero timeout once per turn of the event
 *   loop (`setImmediate`), for the lowest latency at the price of a busy core.
 *   Node's timers and I/O still run between polls.
 * - `backoff`: after activity, poll `spins` times back to back, then `yields`
 *   times once per event-loop turn, then park until the next readiness event.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category models
 */
export type IdleStrategy =
  | { readonly _tag: "Park" }
  | { readonly _tag: "Spin" }
  | { readonly _tag: "Backoff"; readonly spins: number; readonly yields: number }

/**
 * @since 0.1.0
 * @category constructors
 */
export const park: IdleStrategy = { _tag: "Park" }

/**
 * @since 0.1.0
 * @category constructors
 */
export const spin: IdleStrategy = { _tag: "Spin" }

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
 * Backoff with the given counts; negative or fractional counts are clamped to
 * whole numbers ≥ 0.
 *
 * @since 0.1.0
 * @category constructors
 */
export const backoff = (options?: BackoffOptions): IdleStrategy => ({
  _tag: "Backoff",
  spins: count(options?.spins, 16),
  yields: count(options?.yields, 64)
})

const count = (n: number | undefined, fallback: number): number =>
  n === undefined || !Number.isFinite(n) ? fallback : Math.max(0, Math.floor(n))
