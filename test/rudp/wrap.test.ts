/**
 * Ids that wrap: set ids, Delivery ids and fragment ids start just below 2^32
 * (where the 32-bit ids of a packet's first frame wrap) and packet numbers
 * just below 2^32 (their 1- and 2-byte truncations wrap every 256 and 65,536
 * packets, and the full number crosses 2^32); a second run starts at 2^48, the
 * largest first id. The full workload of every tier, single and in sets,
 * small and fragmented, goes through loss, duplication and reordering, and
 * every guarantee is checked.
 */
import { assert, describe, it } from "@effect/vitest"
import { makePair, sendPlan } from "./harness.ts"
import { verify, workload } from "./workload.ts"

const near = (base: number) => ({ set: base - 37, delivery: base - 23, fragment: base - 3, packet: Math.min(base, 2 ** 32) - 150 })

describe("id and packet-number wrap-around", () => {
  for (const [name, base] of [["2^32", 2 ** 32], ["2^48", 2 ** 48]] as const) {
    it(`ids starting just below ${name}, packet numbers crossing 2^32: every guarantee holds`, () => {
      for (const seed of [1, 2, 3]) {
        const pair = makePair({
          seed,
          conditions: { latency: 5, jitter: 1, loss: 0.05, duplicate: 0.05, reorder: 0.05 },
          a: { initialIds: near(base), initialRtt: 20 },
          b: { initialIds: near(base - 1000), initialRtt: 20 }
        })
        const plan = workload(seed, 600, { largeEvery: 0.1 })
        sendPlan(pair, plan)
        pair.runUntil(() => pair.net.now() > 200 && pair.a.engine.info().unacked === 0 && pair.a.engine.info().sendQueue.messages === 0)
        const end = pair.net.now() + 100
        pair.runUntil(() => pair.net.now() >= end)
        const { delivered, sent } = verify(pair.b.received, plan, `seed ${seed}, from ${name}`)
        assert.strictEqual(delivered.Delivery, sent.Delivery, "every Delivery message arrived")
        assert.isAbove(delivered.None + delivered.Order, (sent.None + sent.Order) * 0.8, "most None/Order messages arrived")
        const tx = pair.a.engine
        assert.isAbove(tx.sent.endPn(), 2 ** 32, "packet numbers crossed 2^32")
        assert.isAbove(tx.stats.datagramsSent, 300, "hundreds of packets: the 1-byte truncation wrapped")
      }
    })
  }
})
