/**
 * A connection's receive queue (src/dccp/internal/Inbox.ts): buffered
 * datagrams first, a waiting fiber resumed inline by the datagram it gets, the
 * capacity, and the two ways it ends (a graceful close ends a stream of the
 * datagrams, anything else fails it) — each after what was buffered; held
 * during a receive batch, a waiting fiber is resumed once for the whole batch.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as DccpError from "../../src/dccp/DccpError.ts"
import { Inbox } from "../../src/dccp/internal/Inbox.ts"

const d = (n: number) => Uint8Array.of(n)

describe("DCCP Inbox", () => {
  it.effect("keeps datagrams up to its capacity and hands them out in order", () =>
    Effect.gen(function*() {
      const inbox = new Inbox(2)
      assert.isTrue(inbox.offer(d(1)))
      assert.isTrue(inbox.offer(d(2)))
      assert.isFalse(inbox.offer(d(3)))
      assert.deepStrictEqual([...(yield* inbox.take)], [1])
      assert.deepStrictEqual([...(yield* inbox.take)], [2])
      assert.strictEqual(inbox.size, 0)
    }))

  it.effect("a waiting fiber gets the next datagram inline, during offer", () =>
    Effect.gen(function*() {
      const inbox = new Inbox(4)
      const got: Array<number> = []
      const fiber = yield* Effect.forkChild(Effect.map(inbox.take, (x) => void got.push(x[0]!)))
      yield* Effect.yieldNow
      assert.isTrue(inbox.offer(d(7)))
      // The fiber already ran: nothing was left for a later turn.
      assert.deepStrictEqual(got, [7])
      assert.strictEqual(inbox.size, 0)
      yield* Fiber.join(fiber)
    }))

  it.effect("an interrupted waiter leaves the line", () =>
    Effect.gen(function*() {
      const inbox = new Inbox(4)
      const fiber = yield* Effect.forkChild(inbox.take)
      yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      assert.isTrue(inbox.offer(d(1)))
      assert.strictEqual(inbox.size, 1)
    }))

  it.effect("after a reset: what was buffered, then the error; nothing more is kept", () =>
    Effect.gen(function*() {
      const inbox = new Inbox(4)
      inbox.offer(d(1))
      const error = DccpError.make("Reset", "reset", 2)
      inbox.end(error, false)
      assert.isFalse(inbox.offer(d(2)))
      assert.deepStrictEqual([...(yield* inbox.take)], [1])
      const exit = yield* Effect.exit(inbox.take)
      assert.deepStrictEqual(exit, Exit.fail(error))
      const streamed = yield* Effect.exit(Stream.runCollect(Stream.fromPull(Effect.succeed(inbox.pull))))
      assert.deepStrictEqual(streamed, Exit.fail(error))
    }))

  it.effect("after a graceful close the stream ends after the buffered datagrams, and waiters fail with Closed", () =>
    Effect.gen(function*() {
      const inbox = new Inbox(4)
      const waiter = yield* Effect.forkChild(Effect.exit(inbox.take))
      yield* Effect.yieldNow
      const closed = DccpError.make("Closed", "the peer closed the connection")
      inbox.end(closed, true)
      assert.deepStrictEqual(yield* Fiber.join(waiter), Exit.fail(closed))

      const other = new Inbox(4)
      other.offer(d(1))
      other.offer(d(2))
      other.end(closed, true)
      const all = yield* Stream.runCollect(Stream.fromPull(Effect.succeed(other.pull)))
      assert.deepStrictEqual(Array.from(all, (x) => x[0]), [1, 2])
    }))

  it.effect("held: datagrams are buffered while a fiber waits; release resumes it once and it takes the batch in order", () =>
    Effect.gen(function*() {
      const inbox = new Inbox(8)
      const got: Array<number> = []
      let resumes = 0
      const reader = Effect.gen(function*() {
        for (;;) {
          const waited = inbox.size === 0
          const x = yield* inbox.take
          if (waited) resumes++
          got.push(x[0]!)
        }
      })
      const fiber = yield* Effect.forkChild(reader)
      yield* Effect.yieldNow
      inbox.hold()
      for (let i = 1; i <= 5; i++) assert.isTrue(inbox.offer(d(i)))
      assert.deepStrictEqual(got, [], "nothing handed out while held")
      inbox.release()
      // Inline, within release: one resume, every datagram, in order.
      assert.deepStrictEqual(got, [1, 2, 3, 4, 5])
      assert.strictEqual(resumes, 1)
      // Released: the next datagram is handed over at once again.
      inbox.offer(d(6))
      assert.deepStrictEqual(got, [1, 2, 3, 4, 5, 6])
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("held and full with a fiber waiting: it takes what is buffered instead of a datagram being dropped", () =>
    Effect.gen(function*() {
      const inbox = new Inbox(2)
      const got: Array<number> = []
      const fiber = yield* Effect.forkChild(Effect.forever(Effect.map(inbox.take, (x) => void got.push(x[0]!)), { disableYield: true }))
      yield* Effect.yieldNow
      inbox.hold()
      for (let i = 1; i <= 5; i++) assert.isTrue(inbox.offer(d(i)), `datagram ${i} taken`)
      inbox.release()
      assert.deepStrictEqual(got, [1, 2, 3, 4, 5])
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("held, then ended: the waiting fiber gets what was held before the end", () =>
    Effect.gen(function*() {
      const inbox = new Inbox(4)
      const got: Array<number> = []
      const fiber = yield* Effect.forkChild(Effect.exit(Effect.forever(Effect.map(inbox.take, (x) => void got.push(x[0]!)), { disableYield: true })))
      yield* Effect.yieldNow
      inbox.hold()
      inbox.offer(d(1))
      inbox.offer(d(2))
      const reset = DccpError.make("Reset", "reset", 2)
      inbox.end(reset, false)
      assert.deepStrictEqual(got, [1, 2])
      assert.deepStrictEqual(yield* Fiber.join(fiber), Exit.fail(reset))
    }))
})
