/**
 * `Timer` is a timerfd registered with a `Poll` — not part of mio (whose
 * non-goals include timers), but asked for by users who run everything through
 * one readiness loop. It turns readable when it expires; `read` returns how
 * many expirations happened since the last read and re-arms the edge.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { isOk, WouldBlock } from "../sys/call.ts"
import * as C from "../sys/constants.ts"
import * as fd from "../sys/fd.ts"
import * as Interest from "./Interest.ts"
import { IoSource } from "./IoSource.ts"
import { notRegistry, type Registry } from "./Registry.ts"
import type { RegisterOptions } from "./Source.ts"
import type { Token } from "./Token.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Timer"

/**
 * The clock a timer counts on: `monotonic` (default), `realtime` (follows
 * wall-clock changes, for absolute deadlines) or `boottime` (counts suspend).
 *
 * @since 0.1.0
 * @category models
 */
export type Clock = "monotonic" | "realtime" | "boottime"

/**
 * @since 0.1.0
 * @category models
 */
export interface TimerOptions {
  readonly clock?: Clock | undefined
  readonly register?: RegisterOptions | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export class Timer extends IoSource {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId

  /**
   * Arms the timer: first expiry after `after`, then every `interval` if given.
   * Replaces any previous setting. `after` must be positive.
   *
   * @since 0.1.0
   */
  set(after: Duration.Input, interval?: Duration.Input): Effect.Effect<void, IoError.IoError> {
    return Effect.suspend(() => {
      const first = nanos(after, "after")
      if (typeof first !== "bigint") return Effect.fail(first)
      if (first === 0n) return Effect.fail(IoError.make("InvalidInput", "timerfd_settime", `after is a positive duration, not ${check.show(after)}`))
      const every = interval === undefined ? 0n : nanos(interval, "interval")
      if (typeof every !== "bigint") return Effect.fail(every)
      return this.#settime(first, every)
    })
  }

  /**
   * Arms the timer synchronously, in milliseconds (fractions allowed, down to
   * the nanosecond): first expiry after `afterMs` (> 0), then every `intervalMs`
   * if positive. Returns an error value instead of failing; allocates nothing.
   *
   * @since 0.1.0
   */
  setMillis(afterMs: number, intervalMs = 0): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("timerfd_settime")
    if (!(typeof afterMs === "number" && afterMs > 0 && afterMs <= MAX_MILLIS)) {
      return IoError.make("InvalidInput", "timerfd_settime", `afterMs is a number of milliseconds from 0 (excluded) to ${MAX_MILLIS}, not ${check.show(afterMs)}`)
    }
    if (!(typeof intervalMs === "number" && intervalMs >= 0 && intervalMs <= MAX_MILLIS)) {
      return IoError.make("InvalidInput", "timerfd_settime", `intervalMs is a number of milliseconds from 0 to ${MAX_MILLIS}, not ${check.show(intervalMs)}`)
    }
    const value = BigInt(Math.max(1, Math.round(afterMs * 1e6)))
    const r = fd.timerfdSet(this.fd, value, BigInt(Math.round(intervalMs * 1e6)), false)
    return isOk(r) ? undefined : IoError.fromFailure(r, "timerfd_settime")
  }

  /**
   * Disarms the timer synchronously; pending expirations stay readable. Returns
   * an error value instead of failing.
   *
   * @since 0.1.0
   */
  cancel(): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("timerfd_settime")
    const r = fd.timerfdSet(this.fd, 0n, 0n, false)
    return isOk(r) ? undefined : IoError.fromFailure(r, "timerfd_settime")
  }

  /**
   * Disarms the timer; pending expirations stay readable.
   *
   * @since 0.1.0
   */
  get disarm(): Effect.Effect<void, IoError.IoError> {
    return Effect.suspend(() => this.#settime(0n, 0n))
  }

  /**
   * The time until the next expiry, or `None` when disarmed.
   *
   * @since 0.1.0
   */
  get remaining(): Effect.Effect<Option.Option<Duration.Duration>, IoError.IoError> {
    return Effect.suspend(() => {
      if (this.fd < 0) return Effect.fail(IoError.closed("timerfd_gettime"))
      const r = fd.timerfdGet(this.fd)
      if ("errno" in r) return Effect.fail(IoError.fromErrno(r))
      return Effect.succeed(r.valueNs === 0n ? Option.none() : Option.some(Duration.nanos(r.valueNs)))
    })
  }

  /**
   * The number of expirations since the last read, or `WouldBlock` when none.
   *
   * @since 0.1.0
   */
  read(): number | WouldBlock | IoError.IoError {
    if (this.fd < 0) return IoError.closed("read")
    const r = fd.eventfdRead(this.fd)
    if (typeof r === "bigint") return Number(r)
    return r === WouldBlock ? WouldBlock : IoError.fromErrno(r)
  }

  #settime(valueNs: bigint, intervalNs: bigint): Effect.Effect<void, IoError.IoError> {
    if (this.fd < 0) return Effect.fail(IoError.closed("timerfd_settime"))
    const r = fd.timerfdSet(this.fd, valueNs, intervalNs, false)
    return isOk(r) ? Effect.void : Effect.fail(IoError.fromFailure(r, "timerfd_settime"))
  }
}

/** The longest delay or interval, in milliseconds: about 292 years, within `timerfd`'s 64-bit seconds. */
const MAX_MILLIS = 2 ** 53 / 1e3

/** `MAX_MILLIS` in nanoseconds: past it the kernel's timespec overflows (`EINVAL`, naming nothing). */
const MAX_NANOS = BigInt(2 ** 53) * 1000n

const nanos = (d: Duration.Input, name: string): bigint | IoError.IoError => {
  const o = check.duration(name, d)
  if (typeof o === "string") return IoError.make("InvalidInput", "timerfd_settime", o)
  const ns = Duration.toNanosUnsafe(o)
  return ns <= MAX_NANOS
    ? ns
    : IoError.make("InvalidInput", "timerfd_settime", `${name} is at most ${MAX_MILLIS} milliseconds (about 285 years), not ${check.show(d)}`)
}

const clockId = (clock: Clock | undefined): number =>
  clock === "realtime" ? C.CLOCK_REALTIME : clock === "boottime" ? C.CLOCK_BOOTTIME : C.CLOCK_MONOTONIC

/** Why the timer options are not usable, or `undefined`. */
const badOptions = (options: TimerOptions | undefined): IoError.IoError | undefined => {
  const bad = check.object("options", options) ?? check.oneOf("clock", options?.clock, ["monotonic", "realtime", "boottime"])
  return bad === undefined ? undefined : IoError.make("InvalidInput", "timerfd_create", bad)
}

/**
 * Creates a disarmed timer that is not registered with any `Poll` — for the
 * reactor (`reactor.register(timer)`) or a later `registry.register`; closed
 * with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unregistered = (options?: { readonly clock?: Clock | undefined }): Effect.Effect<Timer, IoError.IoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const bad = badOptions(options)
      if (bad !== undefined) return Effect.fail(bad)
      const r = fd.timerfdCreate(clockId(options?.clock))
      return isOk(r) ? Effect.succeed(new Timer(r)) : Effect.fail(IoError.fromFailure(r, "timerfd_create"))
    }),
    (timer) => Effect.sync(() => timer.close())
  )

/**
 * Creates a disarmed timer registered `READABLE` with `token`; closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  registry: Registry,
  token: Token,
  options?: TimerOptions
): Effect.Effect<Timer, IoError.IoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const bad = badOptions(options) ?? notRegistry(registry, "register")
      if (bad !== undefined) return Effect.fail(bad)
      const r = fd.timerfdCreate(clockId(options?.clock))
      if (!isOk(r)) return Effect.fail(IoError.fromFailure(r, "timerfd_create"))
      const timer = new Timer(r)
      const e = timer.register(registry, token, Interest.READABLE, options?.register)
      if (e !== undefined) {
        timer.close()
        return Effect.fail(e)
      }
      return Effect.succeed(timer)
    }),
    (timer) => Effect.sync(() => timer.close())
  )
