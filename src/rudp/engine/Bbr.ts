/**
 * `"bbr"`: a delivery-rate controller in the spirit of BBR v1
 * (draft-cardwell-iccrg-bbr-congestion-control-00). It models the path by two
 * figures: the bottleneck bandwidth — the maximum delivery rate sampled over
 * the last 10 round trips — and the propagation delay — the minimum RTT seen
 * over the last 10 s. It paces at a gain times the bandwidth and keeps at
 * most a gain times their product (the BDP) in flight:
 *
 * - `startup`: gain 2/ln 2 until the bandwidth stops growing by 25 % for three
 *   round trips (the pipe is full);
 * - `drain`: the inverse gain until in flight is down to one BDP;
 * - `probe-bw`: the pacing gain cycles 1.25, 0.75, then six times 1, each
 *   phase about one minimum RTT; the window is 2 × BDP;
 * - `probe-rtt`: when the minimum RTT was not refreshed for 10 s, four
 *   datagrams in flight for 200 ms and one round trip, so that queues drain and
 *   the minimum is measured again.
 *
 * Loss is not read as congestion: a random loss changes neither the rate nor
 * the window (the bandwidth filter only falls when delivery falls). Persistent
 * congestion (RFC 9002 §7.6) drops the window to four datagrams until
 * acknowledgements bring it back. This is not a conformant BBR: no BBR v2
 * loss or ECN response, no long-term policer detection.
 *
 * @since 0.2.0
 */
import { type CongestionFactory, initialWindow, Pacer } from "./Congestion.ts"

/**
 * The startup gain, 2 / ln 2.
 *
 * @since 0.2.0
 * @category constants
 */
export const HIGH_GAIN = 2 / Math.LN2

/**
 * The pacing gains of `probe-bw`, one phase each.
 *
 * @since 0.2.0
 * @category constants
 */
export const PROBE_BW_GAINS: ReadonlyArray<number> = [1.25, 0.75, 1, 1, 1, 1, 1, 1]

const BW_WINDOW_ROUNDS = 10
const MIN_RTT_WINDOW_MS = 10_000
const PROBE_RTT_MS = 200

/**
 * The controller's phase.
 *
 * @since 0.2.0
 * @category models
 */
export type BbrMode = "startup" | "drain" | "probe-bw" | "probe-rtt"

const MODE_CODE: Readonly<Record<BbrMode, number>> = { startup: 0, drain: 1, "probe-bw": 2, "probe-rtt": 3 }

/**
 * A delivery-rate controller for one connection.
 *
 * @since 0.2.0
 * @category constructors
 */
export const bbr: CongestionFactory = (initialMtu, initialRtt) => {
  let mtu = initialMtu
  let minCwnd = 4 * mtu
  let mode: BbrMode = "startup"
  let cwnd = initialWindow(mtu)
  let pacingGain = HIGH_GAIN
  let cwndGain = HIGH_GAIN
  // Bandwidth filter: the maximum per round over the last BW_WINDOW_ROUNDS rounds.
  const roundMax = new Float64Array(BW_WINDOW_ROUNDS)
  let btlBw = 0
  let round = 0
  let nextRoundDelivered = 0
  // Minimum RTT filter.
  let minRtt = Number.POSITIVE_INFINITY
  let minRttStamp = 0
  let rttSamples = 0
  let srtt = initialRtt
  // Full pipe detection.
  let fullBw = 0
  let fullBwRounds = 0
  let filledPipe = false
  // probe-bw
  let cycleIndex = 0
  let cycleStart = 0
  // probe-rtt
  let probeRttDone = 0
  let probeRttRoundDone = false
  let savedCwnd = 0
  let inFlight = 0
  // Ack aggregation (as Linux's BBR, extra_acked): how many bytes the acks of an epoch brought beyond
  // what the bandwidth estimate explains, the maximum per round over the last BW_WINDOW_ROUNDS rounds.
  // Acks that arrive in bursts (delayed and grouped acks, a receiver that reads in batches) would
  // otherwise leave a sender at the window on a path whose RTT is shorter than the ack cadence.
  const extraAckedMax = new Float64Array(BW_WINDOW_ROUNDS)
  let extraAcked = 0
  let ackEpochStart = 0
  let ackEpochAcked = 0
  const pacer = new Pacer(mtu, cwnd)

  const bdp = (gain: number): number => (btlBw > 0 && Number.isFinite(minRtt) ? gain * btlBw * minRtt : initialWindow(mtu))
  const repace = (): void => {
    // Before a bandwidth sample: the window over the RTT (the handshake measured one), at the startup gain.
    const nominal = (HIGH_GAIN * cwnd) / Math.max(srtt, 0.05)
    const rate = Math.max(pacingGain * btlBw, filledPipe ? 0 : nominal, (2 * mtu) / Math.max(srtt, 1))
    // As BBR: until the pipe is full the pacing rate only grows (early samples are small and app-limited).
    pacer.setRate(filledPipe ? rate : Math.max(rate, pacer.rate))
  }
  repace()

  const updateBw = (rate: number, appLimited: boolean, roundStart: boolean): void => {
    if (roundStart) roundMax[round % BW_WINDOW_ROUNDS] = 0
    if (rate <= 0) return
    if (appLimited && rate < btlBw) return
    const slot = round % BW_WINDOW_ROUNDS
    if (rate > roundMax[slot]!) roundMax[slot] = rate
    let max = 0
    for (let i = 0; i < BW_WINDOW_ROUNDS; i++) if (roundMax[i]! > max) max = roundMax[i]!
    btlBw = max
  }

  const checkFullPipe = (roundStart: boolean, appLimited: boolean): void => {
    if (filledPipe || !roundStart || appLimited) return
    if (btlBw >= fullBw * 1.25) {
      fullBw = btlBw
      fullBwRounds = 0
      return
    }
    if (++fullBwRounds >= 3) filledPipe = true
  }

  const enterProbeBw = (now: number): void => {
    mode = "probe-bw"
    cwndGain = 2
    // Start at a random-free but not-always-probing phase: the first cruise phase.
    cycleIndex = 2
    cycleStart = now
    pacingGain = PROBE_BW_GAINS[cycleIndex]!
  }

  const advanceCycle = (now: number, lossy: boolean): void => {
    const elapsed = now - cycleStart > (Number.isFinite(minRtt) ? minRtt : srtt)
    const gain = PROBE_BW_GAINS[cycleIndex]!
    let next = elapsed
    if (gain > 1) next = elapsed && (lossy || inFlight >= bdp(gain))
    else if (gain < 1) next = elapsed || inFlight <= bdp(1)
    if (!next) return
    cycleIndex = (cycleIndex + 1) % PROBE_BW_GAINS.length
    cycleStart = now
    pacingGain = PROBE_BW_GAINS[cycleIndex]!
  }

  let lossInRound = false

  const updateAckAggregation = (now: number, acked: number, roundStart: boolean): void => {
    if (roundStart) extraAckedMax[round % BW_WINDOW_ROUNDS] = 0
    if (acked <= 0 || btlBw <= 0) return
    const expected = btlBw * (now - ackEpochStart)
    // A new epoch when the acks fell behind the estimate (no aggregation now) or after a long one.
    if (ackEpochAcked <= expected || ackEpochAcked + acked >= 1 << 20) {
      ackEpochStart = now
      ackEpochAcked = 0
    }
    ackEpochAcked += acked
    const extra = Math.min(ackEpochAcked - btlBw * (now - ackEpochStart), cwnd)
    const slot = round % BW_WINDOW_ROUNDS
    if (extra > extraAckedMax[slot]!) extraAckedMax[slot] = extra
    let max = 0
    for (let i = 0; i < BW_WINDOW_ROUNDS; i++) if (extraAckedMax[i]! > max) max = extraAckedMax[i]!
    extraAcked = max
  }

  return {
    name: "bbr",
    window: () => cwnd,
    pacingRate: () => pacer.rate,
    nextSendTime: (now, bytes) => pacer.nextSendTime(now, bytes),
    onPacketSent: (now, bytes, flight) => {
      inFlight = flight
      pacer.onSent(now, bytes)
    },
    onAck: (now, s) => {
      inFlight = s.bytesInFlight
      srtt = s.rtt.smoothed
      if (s.rtt.samples > rttSamples) {
        rttSamples = s.rtt.samples
        const latest = s.rtt.latest
        const expired = now - minRttStamp > MIN_RTT_WINDOW_MS
        if (latest <= minRtt || expired) {
          minRtt = latest
          minRttStamp = now
        }
        if (expired && filledPipe && mode !== "probe-rtt" && rttSamples > 1) {
          mode = "probe-rtt"
          pacingGain = 1
          savedCwnd = cwnd
          probeRttDone = 0
          probeRttRoundDone = false
        }
      }
      let roundStart = false
      if (s.priorDelivered >= nextRoundDelivered) {
        nextRoundDelivered = s.delivered
        round++
        roundStart = true
        lossInRound = false
      }
      updateBw(s.deliveryRate, s.appLimited, roundStart)
      updateAckAggregation(now, s.ackedBytes, roundStart)
      checkFullPipe(roundStart, s.appLimited)
      if (mode === "startup" && filledPipe) {
        mode = "drain"
        pacingGain = 1 / HIGH_GAIN
        cwndGain = HIGH_GAIN
      }
      if (mode === "drain" && inFlight <= bdp(1)) enterProbeBw(now)
      if (mode === "probe-bw") advanceCycle(now, lossInRound)
      if (mode === "probe-rtt") {
        if (probeRttDone === 0 && inFlight <= minCwnd) {
          probeRttDone = now + PROBE_RTT_MS
          probeRttRoundDone = false
          nextRoundDelivered = s.delivered
        } else if (probeRttDone > 0) {
          if (roundStart) probeRttRoundDone = true
          if (probeRttRoundDone && now >= probeRttDone) {
            minRttStamp = now
            cwnd = Math.max(cwnd, savedCwnd)
            if (filledPipe) enterProbeBw(now)
            else {
              mode = "startup"
              pacingGain = HIGH_GAIN
              cwndGain = HIGH_GAIN
            }
          }
        }
      }
      // The window: the gain times the BDP, plus room for delayed and aggregated acks (at least three
      // datagrams, more when the acks were measured to come in bursts).
      const target = bdp(cwndGain) + Math.max(3 * mtu, extraAcked)
      if (mode === "probe-rtt") cwnd = minCwnd
      else if (filledPipe) cwnd = Math.min(cwnd + s.ackedBytes, target)
      else if (cwnd < target || s.delivered < initialWindow(mtu)) cwnd += s.ackedBytes
      cwnd = Math.max(cwnd, minCwnd)
      repace()
    },
    onPacketsLost: (_now, _bytes, _lastLostSentAt, persistent) => {
      lossInRound = true
      if (persistent) cwnd = minCwnd
    },
    stats: () => ({
      cwnd,
      pacingRate: pacer.rate,
      pacingBurst: pacer.burst,
      bottleneckBandwidth: btlBw,
      minRtt: Number.isFinite(minRtt) ? minRtt : -1,
      mode: MODE_CODE[mode],
      pacingGain,
      round
    }),
    // Path MTU discovery: the floors counted in datagrams follow the size (the window itself is in bytes).
    setMtu: (m) => {
      mtu = m
      minCwnd = 4 * m
      if (cwnd < minCwnd) cwnd = minCwnd
      pacer.setMtu(m)
      repace()
    }
  }
}
