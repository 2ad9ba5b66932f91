/**
 * Callbacks as a user meets them (docs/messaging.md, "Callbacks"), through
 * the package's entry point only.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Callback, ConId } from "effect-mio"

/** What a caller from untyped JavaScript can pass. */
const untyped = (v: unknown): any => v

describe("user: Callback.store", () => {
  // Before: a full store copied all of itself for every message (60,000 messages at capacity 20,000 took
  // 30 s here; 0.4 s now), and a capacity of NaN kept everything: no bound at all.
  it.effect("keeps the last `capacity` messages, oldest first, across many more than it holds", () =>
    Effect.gen(function*() {
      const id = ConId.initiator("a")
      const other = ConId.initiator("b")
      const store = Callback.store<number, number>({ capacity: 3 })
      for (let i = 0; i < 5_000; i++) yield* store.onRecv!(i % 2 === 0 ? id : other, i)
      assert.deepStrictEqual(store.entries().map((e) => e.entry.message), [4_997, 4_998, 4_999])
      assert.strictEqual(store.dropped(), 4_997)
      assert.deepStrictEqual(yield* store.findRecv((m) => m < 4_997), Option.none(), "dropped messages are not found")
      assert.deepStrictEqual(yield* store.findRecv(() => true, { name: "a" }), Option.some(4_998))
      store.clear()
      assert.deepStrictEqual(store.entries(), [])
      yield* store.onRecv!(id, 1)
      assert.deepStrictEqual(store.entries().map((e) => e.entry.message), [1])
    }))

  it("a capacity that is not a positive integer, or a log level that is not one, is a RangeError", () => {
    for (const capacity of [Number.NaN, 0, -1, 1.5, "10"]) {
      assert.throws(() => Callback.store(untyped({ capacity })), RangeError, "capacity")
    }
    assert.throws(() => Callback.logger(untyped({ recv: "Loud" })), RangeError, "recv")
    assert.throws(() => Callback.logger(untyped({ sent: "all" })), RangeError, "sent")
    assert.strictEqual(Callback.logger({ recv: "Debug" }).name, "logger")
  })
})
