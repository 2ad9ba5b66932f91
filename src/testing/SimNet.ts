/**
 * A seeded, deterministic simulated network for Effect programs.
 *
 * `SimNet` runs the pure `Network` core on the `Clock` it was made with:
 * under `@effect/vitest`'s `it.effect` that is the `TestClock`, so
 * `TestClock.adjust("15 millis")` delivers exactly the packets due in those
 * 15 ms, in order, and lets every fiber they wake run before time moves on.
 * `net.advance(d)` and `net.drive()` do the same from the network's side:
 * `drive` jumps the clock straight to the next arrival or registered engine
 * deadline (quinn-proto's `Pair::drive`). Under the live clock the same
 * program runs in real time.
 *
 * ```ts
 * it.effect("request/response under 10% loss", () =>
 *   Effect.gen(function*() {
 *     const net = yield* SimNet.SimNet
 *     const [client, server] = yield* net.pair()
 *     yield* client.send(new Uint8Array([1]))
 *     yield* net.drive()                    // t = 10 ms: arrived (or lost)
 *   }).pipe(
 *     SimNet.traceOnFailure(),             // a failure carries the seed and the trace
 *     Effect.provide(SimNet.layer({ seed: 7, latency: "10 millis", loss: 0.1 }))
 *   ))
 * ```
 *
 * The seed comes from `options.seed` (default 1), overridden by the
 * `SIMNET_SEED` config value (an environment variable, read through Effect's
 * `ConfigProvider`), so a failing run replays with `SIMNET_SEED=<seed>`
 * without editing the test. `traceOnFailure` attaches the seed and the trace
 * to the failure of the effect it wraps.
 *
 * Transports on a `SimNet`: `net.pair()` (two connected `UdpLike`
 * endpoints), `MemoryDatagram` (`DatagramSocket`) and `MemorySocket`
 * (`Socket`, `SocketServer`).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import type * as TestClock from "effect/testing/TestClock"
import * as check from "../internal/check.ts"
import * as Impairment from "./Impairment.ts"
import * as Datagram from "./internal/datagram.ts"
import { faultProblem, optionsProblem, selectorProblem } from "./internal/selectors.ts"
import type * as MemoryDatagram from "./MemoryDatagram.ts"
import * as Network from "./Network.ts"
import type * as Trace from "./Trace.ts"

/**
 * @since 0.1.0
 * @category type IDs
 */
export const TypeId = "~effect-mio/testing/SimNet" as const

/**
 * @since 0.1.0
 * @category type IDs
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category guards
 */
export const isSimNet = (u: unknown): u is SimNet => typeof u === "object" && u !== null && TypeId in u

/**
 * Options of {@link make}: the seed, the default conditions of every link
 * (`latency`, `jitter`, `loss`, `burstLoss`, `duplicate`, `reorder`,
 * `reorderDelay`, `corrupt`, `mtu`, `bandwidth`), conditions per link
 * selector, a fault script and trace settings. See `Network.NetworkOptions`.
 *
 * @since 0.1.0
 * @category models
 */
export type Options = Network.NetworkOptions

/**
 * @since 0.1.0
 * @category models
 */
export interface PairOptions {
  /** Host of the first endpoint; default `"a"`. */
  readonly a?: string | undefined
  /** Host of the second endpoint; default `"b"`. */
  readonly b?: string | undefined
  /** Ports (0, the default: ephemeral). */
  readonly portA?: number | undefined
  readonly portB?: number | undefined
  /** Receive queue of each endpoint, in datagrams; default 1024. Overflow drops are traced as `rcvbuf`. */
  readonly capacity?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SimNet {
  readonly [TypeId]: TypeId
  /** The seed in effect (after the `SIMNET_SEED` override). */
  readonly seed: number
  /** The pure core. Reading it is fine; to act on it from a callback use `withNetworkUnsafe`. */
  readonly network: Network.Network
  /** Virtual time in milliseconds since the network was made. */
  readonly now: Effect.Effect<number>
  /** Two connected datagram endpoints on hosts `a` and `b`, closed with the scope. */
  readonly pair: (
    options?: PairOptions
  ) => Effect.Effect<readonly [MemoryDatagram.UdpLike, MemoryDatagram.UdpLike], DatagramSocket.DatagramSocketError, Scope.Scope>
  /**
   * Lets `duration` pass: `TestClock.adjust` under a test clock (every
   * arrival and every sleep due in between runs, in order), a sleep under
   * the live clock.
   */
  readonly advance: (duration: Duration.Input) => Effect.Effect<void, Impairment.ConditionsError>
  /**
   * Moves time to the next arrival or registered deadline, whichever is
   * first, and runs what is due then; `idle` when there is neither.
   */
  readonly drive: () => Effect.Effect<Network.DriveStep>
  /** Registers a deadline source (an engine's `pollTimeout`) for `drive`, removed with the scope. */
  readonly deadline: (source: () => number | undefined) => Effect.Effect<void, Impairment.ConditionsError, Scope.Scope>
  readonly inject: (fault: Network.Fault) => Effect.Effect<void, Impairment.ConditionsError>
  /** Injects `fault` when the network's time reaches `time` (since it was made). */
  readonly at: (time: Duration.Input, fault: Network.Fault) => Effect.Effect<void, Impairment.ConditionsError>
  readonly dropAll: (link: string) => Effect.Effect<void, Impairment.ConditionsError>
  readonly heal: (link?: string) => Effect.Effect<void, Impairment.ConditionsError>
  readonly partition: (a: string | ReadonlyArray<string>, b: string | ReadonlyArray<string>) => Effect.Effect<void, Impairment.ConditionsError>
  readonly setConditions: (link: string, conditions: Impairment.ConditionsInput) => Effect.Effect<void, Impairment.ConditionsError>
  /** Counters of the link `"from->to"`. */
  readonly stats: (link: string) => Effect.Effect<Impairment.LinkStats, Impairment.ConditionsError>
  /** The recorder of every event. */
  readonly trace: Trace.Recorder
  /** Seed, replay hint, per-link counters and the last `last` (default 40) trace lines. */
  readonly report: (options?: { readonly last?: number | undefined }) => Effect.Effect<string, Impairment.ConditionsError>
  /**
   * Runs `f` on the core at the current clock time, then delivers what is
   * due now and re-arms the network's timer. This is how a transport built
   * on `SimNet` sends from synchronous code.
   */
  readonly withNetworkUnsafe: <A>(f: (network: Network.Network) => A) => A
}

/**
 * @since 0.1.0
 * @category services
 */
export const SimNet: Context.Service<SimNet, SimNet> = Context.Service<SimNet>("effect-mio/testing/SimNet")

const isTestClock = (clock: Clock.Clock): clock is TestClock.TestClock =>
  "adjust" in clock && typeof (clock as { readonly adjust?: unknown }).adjust === "function"

const seedConfig = Config.option(Config.Int("SIMNET_SEED"))

const invalid = (field: string, message: string) => Effect.fail(new Impairment.ConditionsError({ field, message }))

/** The hosts of a link `"from->to"`, or the reason it is not one. */
const linkOf = (selector: unknown): readonly [string, string] | Impairment.ConditionsError => {
  const parts = typeof selector === "string" ? selector.split("->") : []
  if (parts.length !== 2 || parts[0]!.trim().length === 0 || parts[1]!.trim().length === 0) {
    return new Impairment.ConditionsError({ field: "link", message: `a link is "from->to", not ${check.show(selector)}` })
  }
  return [parts[0]!.trim(), parts[1]!.trim()]
}

/**
 * A network on the current `Clock`, stopped when the scope closes. Invalid
 * options — conditions out of range, a bad seed, link selector, script entry or
 * trace limit — fail with a `ConditionsError` naming the field and the value,
 * and so do the bad faults, selectors and durations given to the network's
 * operations. `SIMNET_SEED` (config) overrides `options.seed`; a malformed
 * `SIMNET_SEED` is a defect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<SimNet, Impairment.ConditionsError, Scope.Scope> =>
  Effect.gen(function*() {
    const seedOverride = yield* Effect.orDie(seedConfig)
    const bad = optionsProblem(options)
    if (bad !== undefined) return yield* Effect.fail(bad)
    const seed = Option.getOrElse(seedOverride, () => options.seed ?? 1)
    const network = yield* Effect.sync(() => Network.make({ ...options, seed }))
    const clock = yield* Clock.Clock
    const context = yield* Effect.context<never>()
    const runFork = Effect.runForkWith(context)
    const origin = clock.currentTimeMillisUnsafe()
    const clockNow = (): number => clock.currentTimeMillisUnsafe() - origin

    let closed = false
    let depth = 0
    let processed = 0
    interface Timer {
      readonly at: number
      fiber: Fiber.Fiber<void> | undefined
    }
    let armed: Timer | undefined

    const disarm = (): void => {
      const timer = armed
      armed = undefined
      timer?.fiber?.interruptUnsafe()
    }

    // One timer fiber sleeps on the clock until the earliest pending event.
    // It is started synchronously (so a test clock sees its sleep at once)
    // and replaced when an earlier event is scheduled.
    const arm = (): void => {
      if (closed || depth > 0) return
      const next = network.nextEventTime()
      if (next === undefined) return disarm()
      if (armed !== undefined && armed.at === next) return
      disarm()
      const delay = Math.max(0, next - clockNow())
      // armed before the fork: a sleep of 0 fires inside `runFork`
      const timer: Timer = { at: next, fiber: undefined }
      armed = timer
      timer.fiber = runFork(Effect.andThen(
        Effect.sleep(Duration.millis(delay)),
        Effect.sync(() => {
          if (armed === timer) fire(next)
        })
      ))
    }

    const fire = (at: number): void => {
      armed = undefined
      depth++
      try {
        processed += network.advanceTo(Math.max(at, clockNow()))
      } finally {
        depth--
      }
      arm()
    }

    const withNetworkUnsafe = <A>(f: (network: Network.Network) => A): A => {
      depth++
      let result: A
      try {
        processed += network.advanceTo(clockNow())
        result = f(network)
        processed += network.advanceTo(network.now())
      } finally {
        depth--
      }
      arm()
      return result
    }

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        disarm()
      })
    )

    const sync = <A>(f: (network: Network.Network) => A): Effect.Effect<A> =>
      Effect.sync(() => withNetworkUnsafe(f))

    const advanceClock = (millis: number): Effect.Effect<void> =>
      millis <= 0
        ? Effect.void
        : isTestClock(clock)
        ? clock.adjust(Duration.millis(millis))
        : Effect.sleep(Duration.millis(millis))

    const advance = (duration: Duration.Input): Effect.Effect<void, Impairment.ConditionsError> =>
      Effect.suspend(() => {
        const d = check.duration("duration", duration)
        if (typeof d === "string") return invalid("duration", d)
        const millis = Duration.toMillis(d)
        const target = withNetworkUnsafe((n) => n.now()) + millis
        return Effect.andThen(
          advanceClock(millis),
          // the clock's float arithmetic may land a hair short of `target`
          sync((n) => {
            processed += n.advanceTo(target)
          })
        )
      })

    const drive = (): Effect.Effect<Network.DriveStep> => Effect.suspend(() => {
      const now = withNetworkUnsafe((n) => n.now())
      const event = network.nextEventTime()
      const deadline = network.nextDeadline()
      if (event === undefined && deadline === undefined) {
        return Effect.succeed<Network.DriveStep>({ now, reason: "idle", processed: 0 })
      }
      const isDeadline = deadline !== undefined && (event === undefined || deadline < event)
      const target = Math.max(now, isDeadline ? deadline : event!)
      const before = processed
      return Effect.andThen(
        advanceClock(target - clockNow()),
        sync((n): Network.DriveStep => {
          processed += n.advanceTo(target)
          return { now: n.now(), reason: isDeadline ? "deadline" : "event", processed: processed - before }
        })
      )
    })

    const pair = (pairOptions?: PairOptions) =>
      Effect.gen(function*() {
        const capacity = pairOptions?.capacity ?? 1024
        const a = yield* Datagram.openPort(self, pairOptions?.a ?? "a", pairOptions?.portA ?? 0, capacity)
        const b = yield* Datagram.openPort(self, pairOptions?.b ?? "b", pairOptions?.portB ?? 0, capacity)
        const endpoint = (p: Datagram.Port) => ({ ip: p.binding.host.ip, port: p.binding.port })
        return [Datagram.udpLike(self, a, endpoint(b)), Datagram.udpLike(self, b, endpoint(a))] as const
      })

    const report = (reportOptions?: { readonly last?: number | undefined }): Effect.Effect<string, Impairment.ConditionsError> => {
      const bad = check.object("options", reportOptions) ?? check.integer("last", reportOptions?.last, 0, Number.MAX_SAFE_INTEGER)
      return bad !== undefined ? invalid("last", bad) : sync((n) => {
        const last = reportOptions?.last ?? 40
        const lines = [`SimNet seed=${n.seed} (replay with SIMNET_SEED=${n.seed}) t=${n.now()}ms`]
        for (const h of n.hosts()) {
          for (const to of n.hosts()) {
            if (h === to) continue
            const s = n.stats(h.name, to.name)
            if (s.sent === 0) continue
            const drops = Object.entries(s.dropped).map(([k, v]) => `${k}=${v}`).join(" ")
            lines.push(
              `  ${h.name}->${to.name}: ${Impairment.describe(n.link(h.name, to.name).conditions())}; sent ${s.sent}, delivered ${s.delivered}, duplicated ${s.duplicated}, corrupted ${s.corrupted}, reordered ${s.reordered}${
                drops.length > 0 ? `, dropped ${drops}` : ""
              }`
            )
          }
        }
        const traced = n.trace.lines(last)
        lines.push(`trace (last ${traced.length} of ${n.trace.count()} events, digest ${n.trace.digest()}):`)
        for (const line of traced) lines.push(line)
        return lines.join("\n")
      })
    }

    /** `f` on the network, unless `bad` says why its input is not usable. */
    const checked = <A>(bad: Impairment.ConditionsError | undefined, f: (network: Network.Network) => A) =>
      bad === undefined ? sync(f) : Effect.fail(bad)

    const self: SimNet = {
      [TypeId]: TypeId,
      seed: network.seed,
      network,
      now: sync((n) => n.now()),
      pair,
      advance,
      drive,
      deadline: (source) =>
        typeof source !== "function"
          ? invalid("deadline", `a deadline source is a function, not ${check.show(source)}`)
          : Effect.asVoid(Effect.acquireRelease(
            sync((n) => n.addDeadline(source)),
            (remove) => Effect.sync(remove)
          )),
      inject: (fault) => Effect.suspend(() => checked(faultProblem(fault), (n) => n.inject(fault))),
      at: (time, fault) =>
        Effect.suspend(() => {
          const t = check.duration("time", time)
          if (typeof t === "string") return invalid("time", t)
          return checked(faultProblem(fault), (n) => n.at(Duration.toMillis(t), fault))
        }),
      dropAll: (link) => Effect.suspend(() => checked(selectorProblem("link", link), (n) => n.dropAll(link))),
      heal: (link) => Effect.suspend(() => checked(link === undefined ? undefined : selectorProblem("link", link), (n) => n.heal(link))),
      partition: (a, b) => Effect.suspend(() => checked(faultProblem(Network.partition(a, b)), (n) => n.partition(a, b))),
      setConditions: (link, conditions) =>
        Effect.suspend(() => checked(faultProblem(Network.setConditions(link, conditions)), (n) => n.setConditions(link, conditions))),
      stats: (link) =>
        Effect.suspend(() => {
          const hosts = linkOf(link)
          return hosts instanceof Impairment.ConditionsError ? Effect.fail(hosts) : sync((n) => n.stats(hosts[0], hosts[1]))
        }),
      trace: network.trace,
      report,
      withNetworkUnsafe
    }
    return self
  })

/**
 * A `SimNet` for the layer's lifetime.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<SimNet, Impairment.ConditionsError> => Layer.effect(SimNet)(make(options))

/**
 * The report `traceOnFailure` adds to a failing cause, as a defect whose
 * message is the report.
 *
 * @since 0.1.0
 * @category errors
 */
export class SimNetReport extends Error {
  override readonly name = "SimNetReport"
}

/**
 * On failure (not on interruption alone) of the wrapped effect — meant to be
 * a whole test — fails with the same cause plus a `SimNetReport` defect: the
 * seed to replay with `SIMNET_SEED`, per-link counters and the last `last`
 * trace lines (default 40). `@effect/vitest` prints every error of a failing
 * cause, so the report appears next to the assertion that failed (a log line
 * would be swallowed by `it.effect`'s `TestConsole`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const traceOnFailure: {
  (options?: { readonly last?: number | undefined }): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | SimNet>
  <A, E, R>(self: Effect.Effect<A, E, R>, options?: { readonly last?: number | undefined }): Effect.Effect<A, E, R | SimNet>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, options?: { readonly last?: number | undefined }) =>
    Effect.catchCause(self, (cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Effect.failCause(cause)
        : SimNet.use((net) =>
          Effect.flatMap(
            Effect.catch(net.report(options), (e) => Effect.succeed(`(no SimNet report: ${e.message})`)),
            (text) => Effect.failCause(Cause.combine(cause, Cause.die(new SimNetReport(text))))
          )
        ))
)
