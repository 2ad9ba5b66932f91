/**
 * The guarantees of each tier, and of sets, under loss, duplication and
 * reordering: two engines over the synchronous `Network`, table-driven over
 * seeds × loss × (duplication | reordering), every number asserted. A mixed
 * workload of None, Order and Delivery messages, single and in sets, small and
 * fragmented, goes one way; the receiver's sequence is checked message by
 * message against what was sent.
 */
import { assert, describe, it } from "@effect/vitest"
import { makePair, sendPlan } from "./harness.ts"
import { verify, workload } from "./workload.ts"

const run = (seed: number, loss: number, mode: "dup" | "reorder") => {
  const label = `seed ${seed}, loss ${loss * 100} %, ${mode === "dup" ? "5 % duplication" : "5 % reordering"}`
  const pair = makePair({
    seed,
    conditions: {
      latency: 10,
      jitter: 2,
      loss,
      duplicate: mode === "dup" ? 0.05 : 0,
      reorder: mode === "reorder" ? 0.05 : 0,
      reorderDelay: 15,
      // An Ethernet path (1,500 less IPv4 and UDP headers): path MTU discovery's probes meet the same loss,
      // duplication and reordering, and the data packets stay near the size the counts here assume.
      mtu: 1472
    },
    a: { initialRtt: 50 },
    b: { initialRtt: 50 }
  })
  const plan = workload(seed, 240)
  sendPlan(pair, plan)
  const deliverySent = plan.flat().filter((m) => m.tier === "Delivery").length
  pair.runUntil(() => pair.net.now() > 100 && pair.a.engine.info().unacked === 0 && pair.a.engine.info().sendQueue.messages === 0)
  // Let stragglers (reordered, duplicated) arrive.
  const end = pair.net.now() + 200
  pair.runUntil(() => pair.net.now() >= end)
  const { delivered, sent } = verify(pair.b.received, plan, label)
  const tx = pair.a.engine.info(), rx = pair.b.engine.info()
  // Delivery: every message exactly once (checked above: in order, no duplicate).
  assert.strictEqual(delivered.Delivery, deliverySent, `${label}: every Delivery message arrived`)
  // None and Order: at most once; what is missing is accounted for by losses and late drops.
  const missing = sent.None + sent.Order - delivered.None - delivered.Order
  const accounted = tx.stats.lossyLost + rx.inbox.drops["lateOrder"]! + rx.inbox.drops["lossyOverflow"]! + rx.inbox.drops["fragmentTimeout"]!
  assert.isAtMost(missing, accounted, `${label}: ${missing} None/Order messages missing, ${accounted} lost or dropped late`)
  if (loss === 0 && mode === "dup") {
    assert.strictEqual(delivered.None, sent.None, `${label}: without loss every None message arrives once`)
    assert.strictEqual(delivered.Order, sent.Order, `${label}: without loss or reordering every Order message arrives`)
    assert.strictEqual(tx.stats.packetsLost, 0, `${label}: no packet declared lost`)
  }
  if (loss > 0) {
    assert.isAbove(tx.stats.packetsLost, 0, `${label}: the sender saw losses`)
    assert.isAbove(tx.stats.retransmissions, 0, `${label}: and resent Delivery data`)
    assert.isBelow(delivered.None + delivered.Order, sent.None + sent.Order, `${label}: some None/Order messages were lost (never resent)`)
  }
  if (mode === "dup") assert.isAbove(rx.stats.dropped.duplicate, 0, `${label}: duplicated packets were dropped`)
  return { delivered, sent, tx, rx }
}

describe("reliable-UDP tiers over a lossy network", () => {
  for (const loss of [0, 0.05, 0.2]) {
    for (const mode of ["dup", "reorder"] as const) {
      it(`loss ${loss * 100} %, 5 % ${mode === "dup" ? "duplication" : "reordering"}: 10 seeds, every guarantee`, () => {
        let lost = 0, late = 0
        for (let seed = 1; seed <= 10; seed++) {
          const r = run(seed, loss, mode)
          lost += r.tx.stats.packetsLost
          late += r.rx.inbox.drops["lateOrder"]!
        }
        if (mode === "reorder" && loss === 0) assert.isAbove(late, 0, "reordering made some Order messages late (dropped, counted)")
        if (loss === 0 && mode === "dup") assert.strictEqual(lost, 0)
      })
    }
  }
})
