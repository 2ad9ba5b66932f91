/**
 * The TFRC arithmetic (RFC 5348): the throughput equation against known
 * answers, its inverse, the initial window of §4.2 and the average loss
 * interval of §5.4 on worked cases.
 */
import { assert, describe, it } from "@effect/vitest"
import { averageLossInterval, equationFactor, initialWindow, lossRateFor, throughput } from "../../../src/dccp/engine/Tfrc.ts"

const mean = (intervals: ReadonlyArray<number>) => averageLossInterval(intervals.length, (i) => intervals[i]!)

describe("TFRC throughput equation (RFC 5348 §3.1, b = 1, t_RTO = 4R)", () => {
  // f(p) · 10^6, the values of the TFRC lookup table published with Linux's
  // implementation (tfrc_equation.c), which tabulates the same equation.
  const table: ReadonlyArray<readonly [number, number]> = [
    [0.0001, 8172],
    [0.002, 37172],
    [0.01, 89021],
    [0.05, 271305],
    [0.1, 564939],
    [1, 243315981]
  ]
  for (const [p, scaled] of table) {
    it(`f(${p}) = ${scaled / 1e6}`, () => {
      assert.approximately(equationFactor(p) * 1e6, scaled, 1)
    })
  }

  // X = s / (R · f(p)), worked by hand from the equation.
  const rates: ReadonlyArray<readonly [s: number, rttMs: number, p: number, bytesPerSecond: number]> = [
    [1460, 100, 0.01, 164_005.06],
    [1000, 20, 0.05, 184_294.27],
    [1000, 20, 0.1, 88_505.10],
    [64, 1, 0.01, 718_926.30],
    [1460, 200, 0.001, 280_205.85]
  ]
  for (const [s, rttMs, p, expected] of rates) {
    it(`X(s=${s} B, R=${rttMs} ms, p=${p}) = ${expected} B/s`, () => {
      assert.approximately(throughput(s, rttMs, p), expected, 0.01)
    })
  }

  it("no loss means no equation limit; the rate falls as p or R grows and scales with s", () => {
    assert.strictEqual(throughput(1000, 20, 0), Infinity)
    assert.isAbove(throughput(1000, 20, 0.01), throughput(1000, 20, 0.02))
    assert.isAbove(throughput(1000, 20, 0.01), throughput(1000, 40, 0.01))
    assert.approximately(throughput(2000, 20, 0.01), 2 * throughput(1000, 20, 0.01), 1e-6)
    // Twice the RTT halves the rate (t_RTO = 4R scales with it).
    assert.approximately(throughput(1000, 40, 0.03), throughput(1000, 20, 0.03) / 2, 1e-6)
  })

  it("the inverse finds the p that gives a rate (RFC 5348 §6.3.1)", () => {
    for (const p of [1e-5, 1e-4, 0.003, 0.02, 0.1, 0.4]) {
      const x = throughput(1200, 35, p)
      assert.approximately(lossRateFor(1200, 35, x), p, p * 1e-6)
    }
    // Rates beyond what p = 1 gives saturate at 1; no rate at all is p = 1.
    assert.strictEqual(lossRateFor(1000, 20, throughput(1000, 20, 1) / 10), 1)
    assert.strictEqual(lossRateFor(1000, 20, 0), 1)
  })
})

describe("initial window (RFC 5348 §4.2, RFC 3390)", () => {
  const cases: ReadonlyArray<readonly [s: number, bytes: number]> = [
    [64, 256], // 4 packets
    [536, 2144], // 4 packets
    [1095, 4380], // 4 packets is exactly 4380
    [1460, 4380], // 3 packets
    [2190, 4380], // 2 packets
    [3000, 6000] // 2 packets
  ]
  for (const [s, bytes] of cases) {
    it(`s = ${s} B: min(4s, max(2s, 4380)) = ${bytes} B`, () => assert.strictEqual(initialWindow(s), bytes))
  }
})

describe("average loss interval (RFC 5348 §5.4, weights 1 1 1 1 .8 .6 .4 .2)", () => {
  it("needs a closed interval", () => {
    assert.isUndefined(mean([]))
    assert.isUndefined(mean([100]))
  })

  it("equal intervals average to themselves", () => {
    assert.strictEqual(mean(Array(9).fill(100)), 100)
    assert.strictEqual(mean([100, 100, 100]), 100)
  })

  it("a short open interval I_0 does not lower the average: I_tot1 wins", () => {
    // I_tot0 = (10 + 3·100 + (.8+.6+.4+.2)·100)/6 = 85 < I_tot1 = 100.
    assert.strictEqual(mean([10, 100, 100, 100, 100, 100, 100, 100, 100]), 100)
  })

  it("a long open interval raises it: I_tot0 wins", () => {
    // I_tot0 = (500 + 3·100 + 2·100)/6 = 166.67.
    assert.approximately(mean([500, 100, 100, 100, 100, 100, 100, 100, 100])!, 1000 / 6, 1e-9)
  })

  it("with fewer than nine intervals only the weights in use count", () => {
    // k = 1: I_tot0 = I_0, I_tot1 = I_1, W_tot = 1.
    assert.strictEqual(mean([20, 50]), 50)
    assert.strictEqual(mean([80, 50]), 80)
    // k = 4: weights 1 1 1 1.
    assert.strictEqual(mean([40, 10, 20, 30, 40]), 25)
  })

  it("older intervals weigh less, and a tenth is ignored", () => {
    // The eighth closed interval has weight 0.2: doubling it moves I_tot1 by 0.2·100/6.
    const base = mean([100, 100, 100, 100, 100, 100, 100, 100, 100])!
    assert.approximately(mean([100, 100, 100, 100, 100, 100, 100, 100, 200])! - base, 20 / 6, 1e-9)
    assert.strictEqual(mean([100, 100, 100, 100, 100, 100, 100, 100, 100, 1]), 100)
  })
})
