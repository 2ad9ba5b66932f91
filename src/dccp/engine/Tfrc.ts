/**
 * The arithmetic of TCP-Friendly Rate Control (RFC 5348) that CCID 3
 * (RFC 4342) is built on: the TCP throughput equation (§3.1) and its inverse
 * (for the receiver's first loss interval, §6.3.1), the initial window
 * (§4.2, RFC 3390), and the average loss interval with its weights (§5.4).
 *
 * Units: sizes in bytes, rates in bytes per second, times in milliseconds.
 *
 * @since 0.2.0
 */

/**
 * The largest interval between two packets, t_mbi (RFC 5348 §4.3): the
 * allowed rate never falls below s/t_mbi.
 *
 * @since 0.2.0
 * @category constants
 */
export const T_MBI_MS = 64_000

/**
 * f(p) of the throughput equation with b = 1 and t_RTO = 4R (RFC 5348 §3.1):
 * X = s / (R · f(p)), f(p) = √(2p/3) + 12·√(3p/8)·p·(1 + 32p²).
 *
 * @since 0.2.0
 * @category equation
 */
export const equationFactor = (p: number): number =>
  Math.sqrt((2 * p) / 3) + 12 * Math.sqrt((3 * p) / 8) * p * (1 + 32 * p * p)

/**
 * X_Bps, the TCP-friendly rate in bytes per second for segment size `s`
 * (bytes), round-trip time `rttMs` and loss event rate `p` (0 < p ≤ 1), with
 * b = 1 and t_RTO = 4R (RFC 5348 §3.1). `Infinity` for p = 0.
 *
 * @since 0.2.0
 * @category equation
 */
export const throughput = (s: number, rttMs: number, p: number): number => {
  if (p <= 0) return Infinity
  return s / ((Math.max(rttMs, 1e-6) / 1000) * equationFactor(Math.min(p, 1)))
}

/**
 * The loss event rate p at which the equation gives `rate` (bytes/s) for `s`
 * and `rttMs`: the inverse that RFC 5348 §6.3.1 uses to seed the loss history
 * after the first loss. f is increasing, so bisection on p finds it; the
 * result is clamped to [1e-8, 1].
 *
 * @since 0.2.0
 * @category equation
 */
export const lossRateFor = (s: number, rttMs: number, rate: number): number => {
  if (!(rate > 0)) return 1
  const target = s / ((Math.max(rttMs, 1e-6) / 1000) * rate)
  if (target >= equationFactor(1)) return 1
  let lo = 1e-8, hi = 1
  if (target <= equationFactor(lo)) return lo
  for (let i = 0; i < 100 && hi - lo > lo * 1e-9; i++) {
    const mid = (lo + hi) / 2
    if (equationFactor(mid) < target) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}

/**
 * The initial window in bytes, min(4s, max(2s, 4380)) (RFC 5348 §4.2, after
 * RFC 3390; Linux `rfc3390_initial_rate`).
 *
 * @since 0.2.0
 * @category equation
 */
export const initialWindow = (s: number): number => Math.min(4 * s, Math.max(2 * s, 4380))

/**
 * The weights of the average loss interval, n = 8 (RFC 5348 §5.4).
 *
 * @since 0.2.0
 * @category constants
 */
export const LOSS_INTERVAL_WEIGHTS: ReadonlyArray<number> = [1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2]

/**
 * I_mean (RFC 5348 §5.4) from `count` loss intervals, `interval(0)` the open
 * interval I_0 and the others older ones, most recent first:
 * I_tot0 weighs I_0..I_{k−1}, I_tot1 weighs I_1..I_k, and
 * I_mean = max(I_tot0, I_tot1) / W_tot over the k = min(count − 1, 8)
 * weights used. Needs at least two intervals (one closed); `undefined`
 * otherwise.
 *
 * @since 0.2.0
 * @category equation
 */
export const averageLossInterval = (count: number, interval: (i: number) => number): number | undefined => {
  const k = Math.min(count - 1, LOSS_INTERVAL_WEIGHTS.length)
  if (k < 1) return undefined
  let tot0 = 0, tot1 = 0, wTot = 0
  let newer = interval(0)
  for (let i = 0; i < k; i++) {
    const w = LOSS_INTERVAL_WEIGHTS[i]!
    const older = interval(i + 1)
    tot0 += newer * w
    tot1 += older * w
    wTot += w
    newer = older
  }
  return Math.max(tot0, tot1) / wTot
}
