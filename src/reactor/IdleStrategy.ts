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
 * Spin with chosen budgets; negative or non-finite values are clamped as for
 * `backoff`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const spinWith = (options: SpinOptions): IdleStrategy => ({
  _tag: "Spin",
  budgetMicros: count(options.budgetMicros, 20),
  inPlaceMicros: count(options.inPlaceMicros, 5)
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

/**
 * Block in `epoll_wait` on the JavaScript thread for up to `sliceMillis` at a
 * time (default 2, at least 1): see the module documentation for what it costs
 * Node's event loop.
 *
 * @since 0.1.0
 * @category constructors
 */
export const block = (options?: { readonly sliceMillis?: number | undefined }): IdleStrategy => ({
  _tag: "Block",
  sliceMillis: Math.max(1, count(options?.sliceMillis, 2))
})

const count = (n: number | undefined, fallback: number): number =>
  n === undefined || !Number.isFinite(n) ? fallback : Math.max(0, Math.floor(n))
