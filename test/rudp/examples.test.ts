/**
 * The reliable-UDP examples run and do what they say: the crate's README
 * sequence, the tiers through the lossy relay, and one Stream pipeline over
 * SimNet and over UDP.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { readme } from "../../examples/rudp-readme.ts"
import { overSimNet, overUdp } from "../../examples/rudp-stream.ts"
import { tiersThroughRelay } from "../../examples/rudp-tiers.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"

describe("reliable-UDP examples", () => {
  checkFdLeaks()

  it.live("rudp-readme: the crate's README sequence", () =>
    Effect.gen(function*() {
      const got = yield* readme
      assert.deepStrictEqual(got.slice(0, 2), ["Hello, there.", "General Kenobi!"])
      assert.sameMembers(got.slice(2), ["A", "B", "C"])
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("rudp-tiers: each tier's behaviour through the lossy relay at 5 % loss", () =>
    Effect.gen(function*() {
      const r = yield* tiersThroughRelay({ loss: 0.05, count: 100, seed: 8 })
      assert.strictEqual(r.delivery.received, 100)
      assert.isTrue(r.delivery.inOrder)
      assert.isTrue(r.order.inOrder)
      assert.strictEqual(r.none.duplicates, 0)
      assert.isBelow(r.none.received + r.order.received, 200, "None and Order messages were lost, never resent")
      assert.isAbove(r.relay.dropped, 0)
      for (const set of r.sets) assert.strictEqual(set.length, 4)
      assert.isBelow(r.datagrams, r.messages, "small messages shared datagrams")
    }).pipe(Effect.provide(Reactor.layer)), 30_000)

  it.live("rudp-stream: one pipeline over SimNet (10 % loss) and over UDP", () =>
    Effect.gen(function*() {
      const sim = yield* overSimNet
      const udp = yield* overUdp
      assert.strictEqual(sim.hot, 116)
      assert.strictEqual(udp.hot, 116)
      assert.isTrue(sim.inOrder && udp.inOrder)
      assert.isAbove(sim.lost, 0)
    }), 30_000)
})
