import { assert, describe, it } from "@effect/vitest"
import * as Prng from "../../src/testing/Prng.ts"

describe("Prng", () => {
  it("is xoshiro128** (reference outputs from state 1, 2, 3, 4)", () => {
    const r = Prng.fromState([1, 2, 3, 4])
    assert.deepStrictEqual(Array.from({ length: 6 }, r.next), [11520, 0, 5927040, 70819200, 2031721883, 1637235492])
  })

  it("the same seed gives the same sequence; another seed another one", () => {
    const a = Prng.make(42)
    const b = Prng.make(42)
    const c = Prng.make(43)
    const seqA = Array.from({ length: 100 }, a.next)
    assert.deepStrictEqual(Array.from({ length: 100 }, b.next), seqA)
    const seqC = Array.from({ length: 100 }, c.next)
    assert.isTrue(seqC.filter((x, i) => x === seqA[i]).length < 3)
  })

  it("state and clone resume at the same position", () => {
    const r = Prng.make(7)
    for (let i = 0; i < 10; i++) r.next()
    const copy = r.clone()
    const resumed = Prng.fromState(r.state())
    const next = Array.from({ length: 5 }, r.next)
    assert.deepStrictEqual(Array.from({ length: 5 }, copy.next), next)
    assert.deepStrictEqual(Array.from({ length: 5 }, resumed.next), next)
  })

  it("float is uniform on [0, 1) and int on [0, n)", () => {
    const r = Prng.make(1)
    const bins = new Array<number>(10).fill(0)
    let min = 1
    let max = 0
    for (let i = 0; i < 100_000; i++) {
      const f = r.float()
      min = Math.min(min, f)
      max = Math.max(max, f)
      bins[Math.floor(f * 10)]!++
    }
    assert.isTrue(min >= 0 && max < 1)
    // chi-squared with 9 degrees of freedom: 27.9 is the 0.999 quantile
    const chi2 = bins.reduce((acc, n) => acc + (n - 10_000) ** 2 / 10_000, 0)
    assert.isBelow(chi2, 27.9)
    for (let i = 0; i < 1000; i++) {
      const n = r.int(6)
      assert.isTrue(Number.isInteger(n) && n >= 0 && n < 6)
    }
  })

  it("derived seeds are stable, distinct per label and per seed", () => {
    assert.strictEqual(Prng.deriveSeed(1, "a->b"), Prng.deriveSeed(1, "a->b"))
    assert.notStrictEqual(Prng.deriveSeed(1, "a->b"), Prng.deriveSeed(1, "b->a"))
    assert.notStrictEqual(Prng.deriveSeed(1, "a->b"), Prng.deriveSeed(2, "a->b"))
  })

  it("accepts any safe integer as a seed and refuses the rest", () => {
    assert.notStrictEqual(Prng.normalizeSeed(2 ** 40 + 5), Prng.normalizeSeed(5))
    assert.notStrictEqual(Prng.normalizeSeed(-1), Prng.normalizeSeed(1))
    assert.strictEqual(Prng.normalizeSeed(-1), Prng.normalizeSeed(-1))
    assert.throws(() => Prng.make(1.5), RangeError)
    assert.throws(() => Prng.make(Number.NaN), RangeError)
  })
})
