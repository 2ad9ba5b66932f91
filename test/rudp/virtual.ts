/**
 * Running an Effect program over a `SimNet` in virtual time: the program runs
 * in a fiber while the test moves the `TestClock` forward a step at a time
 * (each step delivers what the network has due and wakes every sleep due),
 * until the program is done or the limit passes.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as SimNet from "../../src/testing/SimNet.ts"

export const inVirtualTime = <A, E, R>(
  program: Effect.Effect<A, E, R>,
  options?: { readonly stepMs?: number; readonly limitMs?: number }
): Effect.Effect<A, E | Error, R | SimNet.SimNet> =>
  Effect.gen(function*() {
    const net = yield* SimNet.SimNet
    const fiber = yield* Effect.forkChild(program)
    const step = options?.stepMs ?? 1
    const limit = options?.limitMs ?? 120_000
    const start = yield* net.now
    while (fiber.pollUnsafe() === undefined) {
      if ((yield* net.now) - start > limit) {
        yield* Fiber.interrupt(fiber)
        return yield* Effect.fail(new Error(`not done after ${limit} ms of virtual time`))
      }
      yield* net.advance(step)
    }
    return yield* Fiber.join(fiber)
  })
