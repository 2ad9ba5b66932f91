/**
 * `Waker` wakes a `Poll` from another fiber, a timer callback or a worker thread
 * that shares the process (mio's `Waker`). It is an eventfd registered
 * `READABLE`, edge-triggered; `wake` adds 1 to its counter, and the poll sees a
 * readable event with the waker's token. If the counter would overflow, `wake`
 * drains it and writes again, as mio does.
 *
 * Only one `Waker` may be active per `Poll`: a second fails with kind
 * `AlreadyExists` until the first one's Scope closes.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as IoError from "../IoError.ts"
import { isOk, WouldBlock } from "../sys/call.ts"
import * as fd from "../sys/fd.ts"
import * as Interest from "./Interest.ts"
import { IoSource } from "./IoSource.ts"
import { notRegistry, type Registry } from "./Registry.ts"
import type { Token } from "./Token.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Waker"

/**
 * @since 0.1.0
 * @category models
 */
export class Waker {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId
  /** @internal */
  readonly source: IoSource

  /** @internal */
  constructor(source: IoSource) {
    this.source = source
  }

  /** The eventfd, for a worker thread that writes to it directly. @since 0.1.0 */
  get fd(): number {
    return this.source.fd
  }

  /**
   * Wakes the poll.
   *
   * @since 0.1.0
   */
  get wake(): Effect.Effect<void, IoError.IoError> {
    return Effect.suspend(() => {
      const e = this.wakeNow()
      return e === undefined ? Effect.void : Effect.fail(e)
    })
  }

  /**
   * Wakes the poll synchronously (from a plain callback); returns an error value.
   *
   * @since 0.1.0
   */
  wakeNow(): IoError.IoError | undefined {
    const f = this.source.fd
    if (f < 0) return IoError.closed("write")
    for (;;) {
      const r = fd.eventfdWrite(f, 1n)
      if (isOk(r)) return undefined
      if (r !== WouldBlock) return IoError.fromErrno(r)
      // The counter is at its maximum: reset it, then write again.
      const d = fd.eventfdRead(f)
      if (typeof d !== "bigint" && d !== WouldBlock) return IoError.fromErrno(d)
    }
  }
}

/**
 * Creates the `Poll`'s waker, registered with `token`; closed with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (registry: Registry, token: Token): Effect.Effect<Waker, IoError.IoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const bad = notRegistry(registry, "eventfd")
      if (bad !== undefined) return Effect.fail(bad)
      if (registry.hasWaker) {
        return Effect.fail(
          IoError.make("AlreadyExists", "eventfd", "Only a single `Waker` can be active per `Poll` instance")
        )
      }
      const r = fd.eventfd()
      if (!isOk(r)) return Effect.fail(IoError.fromFailure(r, "eventfd"))
      const source = new IoSource(r)
      const e = source.register(registry, token, Interest.READABLE)
      if (e !== undefined) {
        source.close()
        return Effect.fail(e)
      }
      registry.hasWaker = true
      return Effect.succeed(new Waker(source))
    }),
    (waker) =>
      Effect.sync(() => {
        registry.hasWaker = false
        waker.source.close()
      })
  )
