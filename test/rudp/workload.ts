/**
 * A mixed workload for reliable-UDP tests and the checks of every guarantee
 * on what a receiver got: None, Order and Delivery messages, single and in
 * sets, small and fragmented; each payload names its index, its set (op) and
 * its tier, and carries a filler derived from its index, so a corrupted,
 * foreign or repeated message is caught.
 */
import { assert } from "@effect/vitest"
import type { Guarantee } from "../../src/rudp/Guarantee.ts"
import * as Prng from "../../src/testing/Prng.ts"

export const TIERS: ReadonlyArray<Guarantee> = ["None", "Order", "Delivery"]
const TIER_CODE: Readonly<Record<Guarantee, number>> = { None: 0, Order: 1, Delivery: 2 }

export interface Sent {
  readonly index: number
  readonly op: number
  readonly tier: Guarantee
  readonly size: number
}

/** payload = index u32 | op u32 | tier u8 | filler derived from the index. */
export const payloadOf = (m: Sent): Uint8Array => {
  const p = new Uint8Array(m.size)
  const v = new DataView(p.buffer)
  v.setUint32(0, m.index)
  v.setUint32(4, m.op)
  p[8] = TIER_CODE[m.tier]
  for (let i = 9; i < p.length; i++) p[i] = (m.index * 31 + i) & 0xff
  return p
}

export const parse = (p: Uint8Array): { index: number; op: number; tier: number } => {
  const v = new DataView(p.buffer, p.byteOffset, p.length)
  const index = v.getUint32(0)
  for (let i = 9; i < p.length; i++) if (p[i] !== ((index * 31 + i) & 0xff)) throw new Error(`message ${index} corrupted at byte ${i}`)
  return { index, op: v.getUint32(4), tier: p[8]! }
}

/**
 * A workload: `ops` sends, each a single message or a set of 2–5, spread over
 * virtual time (a burst every 2 ms); sizes mostly small, some over the MTU.
 */
export const workload = (seed: number, ops: number, options?: { readonly largeEvery?: number }): Array<Array<Sent>> => {
  const rng = Prng.make(seed)
  const out: Array<Array<Sent>> = []
  let index = 0
  for (let op = 0; op < ops; op++) {
    const n = rng.float() < 0.2 ? 2 + rng.int(4) : 1
    const group: Array<Sent> = []
    for (let k = 0; k < n; k++) {
      const tier = TIERS[rng.int(3)]!
      const size = rng.float() < (options?.largeEvery ?? 0.05) ? 1500 + rng.int(4500) : 12 + rng.int(200)
      group.push({ index: index++, op, tier, size })
    }
    out.push(group)
  }
  return out
}

export interface Verdict {
  readonly delivered: Record<Guarantee, number>
  readonly sent: Record<Guarantee, number>
}

/** A received message: its payload and, when the receiver reports it, its guarantee. */
export interface Got {
  readonly payload: Uint8Array
  readonly guarantee?: Guarantee | undefined
}

/** Checks every guarantee on the receiver's sequence; returns the counts. */
export const verify = (received: ReadonlyArray<Got>, plan: ReadonlyArray<ReadonlyArray<Sent>>, label: string): Verdict => {
  const all = plan.flat()
  const sent: Record<Guarantee, number> = { None: 0, Order: 0, Delivery: 0 }
  const deliveryPerOp = new Map<number, number>()
  for (const m of all) {
    sent[m.tier]++
    if (m.tier === "Delivery") deliveryPerOp.set(m.op, (deliveryPerOp.get(m.op) ?? 0) + 1)
  }
  const delivered: Record<Guarantee, number> = { None: 0, Order: 0, Delivery: 0 }
  const seen = new Set<number>()
  let lastOp = -1
  let deliveryBefore = 0 // Delivery messages received from ops before lastOp
  let deliveryInLastOp = 0
  let deliverySentBefore = 0
  const deliverySentUpTo = (op: number): number => {
    let n = 0
    for (const [o, c] of deliveryPerOp) if (o < op) n += c
    return n
  }
  for (const r of received) {
    const { index, op, tier } = parse(r.payload)
    const m = all[index]
    assert.isDefined(m, `${label}: message ${index} was never sent`)
    assert.strictEqual(TIER_CODE[m!.tier], tier, `${label}: message ${index}'s tier`)
    if (r.guarantee !== undefined) assert.strictEqual(r.guarantee, m!.tier, `${label}: message ${index} reported with its own guarantee`)
    assert.strictEqual(m!.op, op)
    assert.strictEqual(r.payload.length, m!.size, `${label}: message ${index} arrived whole`)
    assert.isFalse(seen.has(index), `${label}: message ${index} (${m!.tier}) delivered twice`)
    seen.add(index)
    delivered[m!.tier]++
    if (m!.tier === "None") continue
    // Order and Delivery: never before a message of an earlier set (op) …
    assert.isAtLeast(op, lastOp, `${label}: ${m!.tier} message ${index} of set ${op} delivered after set ${lastOp}`)
    if (op > lastOp) {
      deliveryBefore += deliveryInLastOp
      deliveryInLastOp = 0
      deliverySentBefore = deliverySentUpTo(op)
      // … and never past an earlier set's undelivered Delivery message.
      assert.strictEqual(deliveryBefore, deliverySentBefore, `${label}: set ${op} delivered before every Delivery message of earlier sets`)
      lastOp = op
    }
    if (m!.tier === "Delivery") deliveryInLastOp++
  }
  return { delivered, sent }
}

