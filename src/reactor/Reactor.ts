/**
 * The `Reactor` turns readiness into fiber suspension (floor 4). One driver per
 * Reactor owns an epoll instance; sources registered with it get a
 * `Registration` whose `doIo` runs a non-blocking operation and, when it would
 * block, parks the fiber until the driver sees the source ready (mio's
 * `do_io`). One driver serves any number of sources and fibers.
 *
 * - Interrupting a parked fiber removes its waiter.
 * - Closing a registration's Scope, or closing its source, fails the fibers
 *   parked on it with an `IoError` of kind `Closed`; so does closing the
 *   Reactor's own Scope.
 * - The wait follows the layer's idle strategy: `layer` parks in libuv and never
 *   blocks Node's event loop, `layerSpin` polls in bursts between event-loop
 *   turns, `layerBackoff` spins, then yields, then parks, and `layerBlock` (opt-in)
 *   waits in `epoll_wait` itself, a slice at a time.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as check from "../internal/check.ts"
import * as observe from "../internal/observe.ts"
import * as IoError from "../IoError.ts"
import { IoSource } from "../poll/IoSource.ts"
import * as Poll from "../poll/Poll.ts"
import type { WouldBlock } from "../WouldBlock.ts"
import * as IdleStrategy from "./IdleStrategy.ts"
import { doIo } from "./internal/doIo.ts"
import { type Direction, Driver, READ, type ScheduledIo, WRITE } from "./internal/driver.ts"
import { reactorGroup } from "./internal/metrics.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Reactor"

/**
 * A source registered with the reactor.
 *
 * @since 0.1.0
 * @category models
 */
export interface Registration {
  /**
   * Runs `op` until it does not answer `WouldBlock`, parking the fiber on the
   * source's read readiness in between. An `IoError` value fails the Effect.
   */
  readonly readIo: <A>(op: () => A | WouldBlock | IoError.IoError) => Effect.Effect<A, IoError.IoError>
  /** The same for write readiness. */
  readonly writeIo: <A>(op: () => A | WouldBlock | IoError.IoError) => Effect.Effect<A, IoError.IoError>
  /**
   * Waits until the source is readable: at once if a readable event arrived
   * since the last wait (or nothing was tried yet: a new registration starts
   * ready, so the first wait may be spurious), else at the next one. Each event
   * is consumed by one wait, as with edge triggering: drain the source until
   * `WouldBlock` before waiting again.
   */
  readonly readable: Effect.Effect<void, IoError.IoError>
  /** The same for writability. */
  readonly writable: Effect.Effect<void, IoError.IoError>
  /** `true` once deregistered (by its Scope, `deregister` or the Reactor's Scope). */
  readonly isClosed: () => boolean
  /**
   * Deregisters now, failing parked fibers with kind `Closed`, before the Scope
   * would (for a source closed early). Idempotent. Deregister before closing the
   * fd: a closed fd's number may be reused at once.
   */
  readonly deregister: () => void
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Reactor {
  readonly [TypeId]: typeof TypeId
  readonly strategy: IdleStrategy.IdleStrategy
  /**
   * Registers `source` for read and write readiness (edge-triggered) until the
   * Scope closes. The source stays owned by the caller; close it after the
   * registration (Scopes close in reverse order, so acquire the source first).
   */
  readonly register: (source: IoSource) => Effect.Effect<Registration, IoError.IoError, Scope.Scope>
  /** Counters of the driver, for tests and metrics. */
  readonly stats: () => {
    readonly registered: number
    readonly waiting: number
    readonly dispatched: number
    readonly polls: number
    /** Waits the spin strategy ended in place, without parking the fiber. */
    readonly inPlace: number
    /**
     * Times the driver ran: a libuv readiness callback or an event-loop turn it
     * scheduled (`effect_mio_reactor_wakeups_total`).
     *
     * @since 0.2.0
     */
    readonly wakeups: number
  }
}

/**
 * @since 0.1.0
 * @category services
 */
export const Reactor: Context.Service<Reactor, Reactor> = Context.Service<Reactor>("effect-mio/Reactor")

const closedError = IoError.make("Closed", "reactor", "the source was deregistered from the reactor")
const reactorClosed = IoError.make("Closed", "reactor", "the reactor was shut down")

/** A registration: the source's slot in the driver, and the Effects over it. */
class RegistrationImpl implements Registration {
  readonly io: ScheduledIo
  #readable: Effect.Effect<void, IoError.IoError> | undefined = undefined
  #writable: Effect.Effect<void, IoError.IoError> | undefined = undefined

  constructor(io: ScheduledIo) {
    this.io = io
  }

  readIo<A>(op: () => A | WouldBlock | IoError.IoError): Effect.Effect<A, IoError.IoError> {
    return doIo(this.io, READ, op)
  }

  writeIo<A>(op: () => A | WouldBlock | IoError.IoError): Effect.Effect<A, IoError.IoError> {
    return doIo(this.io, WRITE, op)
  }

  get readable(): Effect.Effect<void, IoError.IoError> {
    return this.#readable ??= consume(this.io, READ)
  }

  get writable(): Effect.Effect<void, IoError.IoError> {
    return this.#writable ??= consume(this.io, WRITE)
  }

  isClosed(): boolean {
    return this.io.closed !== undefined
  }

  deregister(): void {
    this.io.driver.deregister(this.io, closedError)
  }
}

/** Waits for (and consumes) one readiness event of `dir`, or takes the one already seen. */
const consume = (io: ScheduledIo, dir: Direction): Effect.Effect<void, IoError.IoError> =>
  Effect.suspend(() => {
    if (io.closed !== undefined) return Effect.fail(io.closed)
    if (io.isReady(dir)) {
      io.clear(dir)
      return Effect.void
    }
    return Effect.map(io.wait(dir), () => io.clear(dir))
  })

/**
 * The driver's slot behind a registration of ours (for the adapters' fast
 * paths), or `undefined` for any other object.
 *
 * @internal
 */
export const scheduledIo = (registration: Registration): ScheduledIo | undefined =>
  registration instanceof RegistrationImpl ? registration.io : undefined

/** The driver of each reactor `make` built. */
const drivers = new WeakMap<Reactor, Driver>()

/**
 * Registers `source` outside any Scope: the caller deregisters it (its
 * `deregister`, or closing the source) before the fd closes. With `lazy`, the
 * fd joins the epoll set only when a fiber first waits on it. For the adapters'
 * per-connection paths, which own their connections' lifetimes.
 *
 * @internal
 */
export const registerUnscoped = (reactor: Reactor, source: IoSource, lazy: boolean): Registration | IoError.IoError => {
  const driver = drivers.get(reactor)
  if (driver === undefined) return IoError.make("Unsupported", "register", "the reactor was not made by Reactor.make")
  if (source.fd < 0) return IoError.closed("register")
  const io = driver.register(source.fd, lazy)
  if (io instanceof IoError.IoError) return io
  const registration = new RegistrationImpl(io)
  source.onClose(() => registration.deregister())
  return registration
}

/**
 * A driver slot for `fd` outside any Scope and without close hooks, for a
 * `ReadinessListener` to own (the fiber-less handlers of `Tcp.serve`): the
 * caller installs the listener with `io.driver.listen(io, listener)` — which
 * puts a `lazy` slot's fd in the epoll set — and removes the slot
 * (`io.driver.unlisten(io)`, then `io.driver.deregister(io, error)`) before it
 * closes the fd. Closing the Reactor's Scope deregisters it and calls the
 * listener once more.
 *
 * @internal
 */
export const slotUnscoped = (reactor: Reactor, fd: number, lazy: boolean): ScheduledIo | IoError.IoError => {
  const driver = drivers.get(reactor)
  if (driver === undefined) return IoError.make("Unsupported", "register", "the reactor was not made by Reactor.make")
  if (fd < 0) return IoError.closed("register")
  return driver.register(fd, lazy)
}

/**
 * Builds a reactor with the given idle strategy; its driver and epoll instance
 * live until the Scope closes. A strategy with a bad count or budget (or an
 * unknown tag) fails with kind `InvalidInput` naming it, before anything opens.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (strategy: IdleStrategy.IdleStrategy): Effect.Effect<Reactor, IoError.IoError, Scope.Scope> =>
  Effect.gen(function*() {
    const bad = IdleStrategy.problem(strategy)
    if (bad !== undefined) return yield* Effect.fail(IoError.make("InvalidInput", "reactor", bad))
    const poll = yield* Poll.make()
    const driver = new Driver(poll.fd, strategy)
    // Registered after Poll.make, so it runs first: waiters fail before the fd closes.
    yield* Effect.addFinalizer(() => Effect.sync(() => driver.close(reactorClosed)))
    yield* observe.joinScoped(reactorGroup(yield* Effect.context<never>(), strategy._tag.toLowerCase()), driver)
    const register = (source: IoSource, lazy = false): Effect.Effect<Registration, IoError.IoError, Scope.Scope> =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          if (!(source instanceof IoSource)) {
            return Effect.fail(IoError.make("InvalidInput", "register", `source is an IoSource (a socket, pipe, timer…), not ${check.show(source)}`))
          }
          if (source.fd < 0) return Effect.fail(IoError.closed("register"))
          const io = driver.register(source.fd, lazy)
          if (io instanceof IoError.IoError) return Effect.fail(io)
          const registration = new RegistrationImpl(io)
          // Closing the source first (not its registration) must still fail the
          // fibers parked on it, and deregister while its fd number is still its own.
          const removeHook = source.onClose(() => registration.deregister())
          return Effect.succeed({ registration, removeHook })
        }),
        ({ registration, removeHook }) =>
          Effect.sync(() => {
            removeHook()
            registration.deregister()
          })
      ).pipe(Effect.map(({ registration }) => registration))
    const reactor = Reactor.of({
      [TypeId]: TypeId,
      strategy,
      register,
      stats: () => ({
        registered: driver.registered,
        waiting: driver.waiting,
        dispatched: driver.dispatched,
        polls: driver.polls,
        inPlace: driver.inPlace,
        wakeups: driver.wakeups
      })
    })
    drivers.set(reactor, driver)
    return reactor
  })

/**
 * The default reactor: parks in libuv (`IdleStrategy.park`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Reactor, IoError.IoError> = Layer.effect(Reactor, make(IdleStrategy.park))

/**
 * A reactor that polls once per event-loop turn (`IdleStrategy.spin`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSpin: Layer.Layer<Reactor, IoError.IoError> = Layer.effect(Reactor, make(IdleStrategy.spin))

/**
 * A reactor that waits in `epoll_wait` on the JavaScript thread, a slice at a
 * time (`IdleStrategy.block`): near-C latency; Node's own timers and I/O wait
 * up to a slice. Opt-in.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBlock = (options?: { readonly sliceMillis?: number | undefined }): Layer.Layer<Reactor, IoError.IoError> =>
  Layer.effect(Reactor, make(IdleStrategy.block(options)))

/**
 * A reactor that spins, yields, then parks (`IdleStrategy.backoff`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBackoff = (options?: IdleStrategy.BackoffOptions): Layer.Layer<Reactor, IoError.IoError> =>
  Layer.effect(Reactor, make(IdleStrategy.backoff(options)))

/**
 * Registers `source` with the reactor in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const register = (source: IoSource): Effect.Effect<Registration, IoError.IoError, Reactor | Scope.Scope> =>
  Reactor.use((reactor) => reactor.register(source))
