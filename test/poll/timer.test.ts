/**
 * `Timer` (timerfd) — not part of mio, whose non-goals include timers; mio's
 * answer to "timeouts in Poll" is a timerfd registered through `SourceFd`
 * (issue #1492). These tests hold it to the same edge-triggered contract as
 * mio's sources: readable on expiry, drained by `read` until `WouldBlock`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Events from "../../src/poll/Events.ts"
import * as Poll from "../../src/poll/Poll.ts"
import * as Timer from "../../src/poll/Timer.ts"
import { Token } from "../../src/poll/Token.ts"
import * as C from "../../src/sys/constants.ts"
import * as fd from "../../src/sys/fd.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { expectEvents, expectIoError, expectNoEvents, expectOk, expectWouldBlock } from "../util/expect.ts"

const T = Token(3)

describe("timer", () => {
  checkFdLeaks()

  it.live("a one-shot timer turns readable once; read counts expirations, then WouldBlock", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(4)
      const timer = yield* Timer.make(poll.registry, T)
      const flags = fd.fcntl(timer.fd, C.F_GETFL, 0), fdFlags = fd.fcntl(timer.fd, C.F_GETFD, 0)
      assert.isTrue(typeof flags === "number" && (flags & C.O_NONBLOCK) !== 0, "non-blocking")
      assert.isTrue(typeof fdFlags === "number" && (fdFlags & C.FD_CLOEXEC) !== 0, "close-on-exec")
      expectWouldBlock(timer.read())
      yield* expectNoEvents(poll, events) // disarmed
      const t0 = performance.now()
      yield* timer.set("20 millis")
      yield* expectEvents(poll, events, [{ token: T, readiness: ["readable"] }])
      assert.isAtLeast(performance.now() - t0, 19)
      assert.strictEqual(expectOk(timer.read()), 1)
      expectWouldBlock(timer.read())
      yield* expectNoEvents(poll, events)
    }))

  it.live("an interval timer fires again after each drain", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(4)
      const timer = yield* Timer.make(poll.registry, T)
      // The period is long next to the two back-to-back reads, so a pause
      // between them (GC, a loaded CI machine) does not let the next expiry
      // land in between; with 5 ms it did once under load.
      yield* timer.set("10 millis", "50 millis")
      for (let i = 0; i < 3; i++) {
        yield* expectEvents(poll, events, [{ token: T, readiness: ["readable"] }])
        assert.isAtLeast(expectOk(timer.read()), 1)
        expectWouldBlock(timer.read())
      }
      yield* timer.disarm
    }))

  it.live("remaining: the time to the next expiry, None when disarmed", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const timer = yield* Timer.make(poll.registry, T, { clock: "boottime" })
      assert.isTrue(Option.isNone(yield* timer.remaining))
      yield* timer.set("10 seconds")
      const left = yield* timer.remaining
      assert.isTrue(Option.isSome(left))
      const ms = Duration.toMillis(Option.getOrThrow(left))
      assert.isAbove(ms, 9000)
      assert.isAtMost(ms, 10_000)
      yield* timer.disarm
      assert.isTrue(Option.isNone(yield* timer.remaining))
    }))

  it.live("bad input: zero, negative or infinite durations are InvalidInput; a closed timer is Closed", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const timer = yield* Timer.make(poll.registry, T)
      expectIoError(yield* Effect.flip(timer.set(0)), "InvalidInput", "positive")
      expectIoError(yield* Effect.flip(timer.set(-5)), "InvalidInput")
      expectIoError(yield* Effect.flip(timer.set("Infinity")), "InvalidInput")
      expectIoError(yield* Effect.flip(timer.set("1 second", -1)), "InvalidInput")
      assert.isUndefined(timer.close())
      expectIoError(timer.read(), "Closed")
      expectIoError(yield* Effect.flip(timer.set("1 second")), "Closed")
      expectIoError(yield* Effect.flip(timer.remaining), "Closed")
      expectIoError(yield* Effect.flip(timer.disarm), "Closed")
    }))
})
