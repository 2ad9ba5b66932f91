import { assert, describe, it } from "@effect/vitest"
import * as Seq from "../../../src/dccp/engine/Seq.ts"

const M = 2 ** 48
const MAX = M - 1

describe("Seq: 48-bit circular arithmetic (RFC 4340 §3.1)", () => {
  it("add wraps at 2^48 in both directions", () => {
    assert.strictEqual(Seq.add(MAX, 1), 0)
    assert.strictEqual(Seq.add(MAX, 2), 1)
    assert.strictEqual(Seq.add(0, -1), MAX)
    assert.strictEqual(Seq.add(5, -10), M - 5)
    assert.strictEqual(Seq.add(123, M), 123)
  })

  it("delta is the signed distance, through the wrap", () => {
    const cases: Array<[number, number, number]> = [
      [0, 1, 1],
      [1, 0, -1],
      [MAX, 0, 1],
      [0, MAX, -1],
      [MAX - 10, 5, 16],
      [5, MAX - 10, -16],
      [0, 2 ** 47 - 1, 2 ** 47 - 1],
      // Exactly half the space apart: resolved to the negative side (Linux dccp_delta_seqno).
      [0, 2 ** 47, -(2 ** 47)],
      [2 ** 47, 0, -(2 ** 47)]
    ]
    for (const [a, b, d] of cases) assert.strictEqual(Seq.delta(a, b), d, `delta(${a}, ${b})`)
  })

  it("isAfter and isBefore are strict and antisymmetric", () => {
    assert.isTrue(Seq.isAfter(0, MAX))
    assert.isTrue(Seq.isBefore(MAX, 0))
    assert.isFalse(Seq.isAfter(7, 7))
    assert.isFalse(Seq.isBefore(7, 7))
    // The ambiguous half-space distance is neither after nor before in one direction.
    assert.isFalse(Seq.isAfter(2 ** 47, 0))
    assert.isFalse(Seq.isAfter(0, 2 ** 47))
    assert.strictEqual(Seq.max(MAX, 3), 3)
    assert.strictEqual(Seq.max(3, MAX), 3)
  })

  it("isBetween includes both ends and follows the arc across the wrap", () => {
    assert.isTrue(Seq.isBetween(MAX, MAX - 2, 2))
    assert.isTrue(Seq.isBetween(0, MAX - 2, 2))
    assert.isTrue(Seq.isBetween(2, MAX - 2, 2))
    assert.isTrue(Seq.isBetween(MAX - 2, MAX - 2, 2))
    assert.isFalse(Seq.isBetween(3, MAX - 2, 2))
    assert.isFalse(Seq.isBetween(MAX - 3, MAX - 2, 2))
    assert.isTrue(Seq.isBetween(10, 10, 10))
    // An inverted range is empty.
    assert.isFalse(Seq.isBetween(5, 10, 0))
  })

  it("extendShort picks the 48-bit number closest to the reference (§7.6)", () => {
    const S = 2 ** 24
    // Plain case: same 2^24 block.
    assert.strictEqual(Seq.extendShort(5 * S + 100, 120), 5 * S + 120)
    // Just past a block boundary: 0x000005 near 0x...FFFFF0 is the next block.
    assert.strictEqual(Seq.extendShort(5 * S + (S - 16), 5), 6 * S + 5)
    // Just before a boundary: a large low value near the start of a block is the previous block.
    assert.strictEqual(Seq.extendShort(6 * S + 3, S - 2), 6 * S - 2)
    // Across the 48-bit wrap.
    assert.strictEqual(Seq.extendShort(MAX - 3, 2), 2)
    assert.strictEqual(Seq.extendShort(1, S - 1), MAX)
    // Every value within ±2^23 of the reference extends exactly.
    for (const ref of [0, 12345, S - 1, 7 * S + 99, MAX - 500]) {
      for (const off of [-(2 ** 23) + 1, -1000, -1, 0, 1, 1000, 2 ** 23 - 1]) {
        const real = Seq.add(ref, off)
        assert.strictEqual(Seq.extendShort(ref, real % S), real, `ref ${ref} off ${off}`)
      }
    }
  })
})

describe("Seq: validity windows (RFC 4340 §7.5.1)", () => {
  it("SWL/SWH are GSR+1-W/4 and GSR+1+3W/4, not below ISR early on", () => {
    const w = 100
    // Long after the start: plain formula.
    const late = Seq.sequenceWindow(10_000, 1_000, w)
    assert.deepStrictEqual(late, { swl: 10_000 + 1 - 25, swh: 10_000 + 1 + 75 })
    // Right after the start, SWL is clamped to ISR.
    const early = Seq.sequenceWindow(1_003, 1_000, w)
    assert.deepStrictEqual(early, { swl: 1_000, swh: 1_003 + 1 + 75 })
    // Across the wrap.
    const wrap = Seq.sequenceWindow(2, MAX - 1_000, w)
    assert.strictEqual(wrap.swl, Seq.add(2, 1 - 25))
    assert.strictEqual(wrap.swh, 2 + 1 + 75)
    // W not divisible by 4: floor on both sides.
    const odd = Seq.sequenceWindow(10_000, 0, 33)
    assert.deepStrictEqual(odd, { swl: 10_000 + 1 - 8, swh: 10_000 + 1 + 24 })
  })

  it("AWL/AWH are GSS+1-W' and GSS, not below ISS early on", () => {
    assert.deepStrictEqual(Seq.ackWindow(5_000, 1_000, 100), { awl: 4_901, awh: 5_000 })
    assert.deepStrictEqual(Seq.ackWindow(1_010, 1_000, 100), { awl: 1_000, awh: 1_010 })
    assert.deepStrictEqual(Seq.ackWindow(10, MAX - 500, 100), { awl: Seq.add(10, -99), awh: 10 })
  })

  it("window membership at the exact edges", () => {
    const gsr = MAX - 10
    const { swl, swh } = Seq.sequenceWindow(gsr, 0, 100)
    assert.isTrue(Seq.isBetween(swl, swl, swh))
    assert.isTrue(Seq.isBetween(swh, swl, swh))
    assert.isFalse(Seq.isBetween(Seq.add(swl, -1), swl, swh))
    assert.isFalse(Seq.isBetween(Seq.add(swh, 1), swl, swh))
    // swh lies past the wrap.
    assert.isTrue(swh < swl)
  })
})
