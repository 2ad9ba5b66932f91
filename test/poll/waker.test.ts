/**
 * Port of mio's tests/waker.rs. "Another thread" is a real one: a
 * `worker_threads` Worker writes to the waker's eventfd (`Waker.fd`), which is
 * exactly what `Waker::wake` does from another thread in mio.
 *
 * Not ported: `is_send_and_sync` (no Send/Sync in JS). The debug-build panics
 * of `using_multiple_wakers_panics*` are an `AlreadyExists` error here, with
 * mio's message (deliberate: nothing throws at this level).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { Worker } from "node:worker_threads"
import * as Events from "../../src/poll/Events.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Waker from "../../src/poll/Waker.ts"
import * as fd from "../../src/sys/fd.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { expectIoError, expectNoEvents } from "../util/expect.ts"

const TOKEN = Token(10)

/** mio's `expect_waker_event`: the next poll returns the waker's readable event, only. */
const expectWakerEvent = (poll: Poll.Poll, events: Events.Events, token: Token) =>
  Effect.gen(function*() {
    yield* poll.poll(events, 1000)
    assert.strictEqual(events.length, 1, "one event")
    assert.strictEqual(events.get(0).token, token)
    assert.isTrue(events.get(0).isReadable())
  })

/** Runs a worker thread that adds 1 to the eventfd `wakeFd`, as `Waker::wake` does. */
const wakeFromThread = (wakeFd: number): Effect.Effect<void> =>
  Effect.promise(() =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(
        `const { workerData } = require("node:worker_threads")
         const { writeSync } = require("node:fs")
         const one = Buffer.alloc(8)
         one.writeBigUInt64LE(1n)
         writeSync(workerData.fd, one)`,
        { eval: true, workerData: { fd: wakeFd } }
      )
      w.once("error", reject)
      w.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))))
    })
  )

describe("waker (mio tests/waker.rs)", () => {
  checkFdLeaks()

  // mio: waker.rs waker
  it.live("waker: one wake, one readable event with the waker's token", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(10)
      const waker = yield* Waker.make(poll.registry, TOKEN)
      yield* waker.wake
      yield* expectWakerEvent(poll, events, TOKEN)
    }))

  // mio: waker.rs waker_multiple_wakeups_same_thread
  it.live("waker_multiple_wakeups_same_thread: three wakes before a poll coalesce into one event", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(10)
      const waker = yield* Waker.make(poll.registry, TOKEN)
      for (let i = 0; i < 3; i++) yield* waker.wake
      yield* expectWakerEvent(poll, events, TOKEN)
      yield* expectNoEvents(poll, events)
    }))

  // mio: waker.rs waker_wakeup_different_thread
  it.live("waker_wakeup_different_thread: a wake from a worker thread, then nothing", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(10)
      const waker = yield* Waker.make(poll.registry, TOKEN)
      const thread = yield* Effect.forkChild(wakeFromThread(waker.fd))
      yield* expectWakerEvent(poll, events, TOKEN)
      yield* expectNoEvents(poll, events)
      yield* Fiber.join(thread)
    }))

  // mio: waker.rs waker_multiple_wakeups_different_thread — two wakes separated
  // by a poll are two events (the edge re-arms without reading the eventfd)
  it.live("waker_multiple_wakeups_different_thread: wakes separated by a poll are separate events", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(10)
      const waker = yield* Waker.make(poll.registry, TOKEN)
      yield* wakeFromThread(waker.fd)
      yield* expectWakerEvent(poll, events, TOKEN)
      yield* wakeFromThread(waker.fd)
      yield* expectWakerEvent(poll, events, TOKEN)
      yield* expectNoEvents(poll, events)
    }))

  // mio: waker.rs using_multiple_wakers_panics (a panic in mio's debug builds)
  it.live("using_multiple_wakers_panics: a second Waker on one Poll fails with AlreadyExists", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Waker.make(poll.registry, Token(10))
        const e = yield* Effect.flip(Waker.make(poll.registry, Token(11)))
        expectIoError(e, "AlreadyExists", "Only a single `Waker` can be active per `Poll` instance")
      }))
      // Once the first Waker is closed, another may be made.
      const events = Events.withCapacity(4)
      const again = yield* Waker.make(poll.registry, Token(12))
      yield* again.wake
      yield* expectWakerEvent(poll, events, Token(12))
    }))

  // mio's eventfd waker (src/sys/unix/waker/eventfd.rs): when the counter would
  // overflow, `wake` reads it to reset and writes again
  it.live("wake resets a counter at its maximum instead of failing", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(4)
      const waker = yield* Waker.make(poll.registry, TOKEN)
      assert.strictEqual(fd.eventfdWrite(waker.fd, 0xffff_ffff_ffff_fffen), 8)
      yield* expectWakerEvent(poll, events, TOKEN)
      assert.isUndefined(waker.wakeNow())
      yield* expectWakerEvent(poll, events, TOKEN)
      assert.strictEqual(fd.eventfdRead(waker.fd), 1n, "the counter was reset, then incremented")
    }))

  it.live("a closed Waker: wake fails with Closed", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const waker = yield* Effect.scoped(Waker.make(poll.registry, TOKEN))
      expectIoError(waker.wakeNow(), "Closed")
      expectIoError(yield* Effect.flip(waker.wake), "Closed")
    }))
})
