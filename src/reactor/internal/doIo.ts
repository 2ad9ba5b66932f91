/**
 * mio's `do_io`, at the fiber level: try the non-blocking operation; on
 * `WouldBlock`, forget the readiness of that direction, park the fiber until the
 * driver sees the next readiness event, and try again. This is the only path
 * from a non-blocking operation to a waiting fiber.
 *
 * When the direction is known not to be ready (an earlier attempt answered
 * `WouldBlock` and no event has arrived since), the fiber parks without trying:
 * with edge triggering, the operation cannot succeed before the next event, and
 * the syscall would only answer `EAGAIN` again (tokio does the same).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { IoError } from "../../IoError.ts"
import { WouldBlock } from "../../sys/call.ts"
import { type Direction, READ, type ScheduledIo } from "./driver.ts"

/** @internal */
export const doIo = <A>(
  io: ScheduledIo,
  dir: Direction,
  op: () => A | WouldBlock | IoError
): Effect.Effect<A, IoError> => {
  const wait = dir === READ ? io.awaitRead : io.awaitWrite
  const attempt: Effect.Effect<A, IoError> = Effect.suspend(() => {
    if (io.closed !== undefined) return Effect.fail(io.closed)
    if (io.ready[dir] === 0) return retry
    const r = op()
    if (r === WouldBlock) {
      io.clear(dir)
      return retry
    }
    return r instanceof IoError ? Effect.fail(r) : Effect.succeed(r)
  })
  const retry: Effect.Effect<A, IoError> = Effect.flatMap(wait, () => attempt)
  return attempt
}
