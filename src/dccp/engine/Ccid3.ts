/**
 * CCID 3, TCP-Friendly Rate Control (RFC 4342 on RFC 5348).
 *
 * Sender (RFC 5348 §4, RFC 4342 §5): an allowed sending rate X in bytes per
 * second instead of a window. Before feedback it starts at one packet per
 * second, or at the initial window over the handshake RTT (§4.2); the first
 * feedback sets X = W_init/R. Each feedback packet (§4.3) brings X_recv (the
 * Receive Rate option) and p (Loss Event Rate, or the Loss Intervals the rate
 * follows from): with p = 0 the sender slow-starts, doubling X once per RTT up
 * to twice what the receiver got; with p > 0 X follows the throughput equation
 * X_Bps, capped by the receive rate. X_recv_set keeps the receive rates of the
 * last two RTTs, and data-limited intervals (§8.2) neither raise nor cut the
 * limit they give. Packets leave at most every t_ipi = s/X (`sendTime`, §4.6).
 * When no feedback comes for max(t_RTO, 2s/X) the nofeedback timer halves the
 * rate (§4.4), never below the initial rate for an idle sender (RFC 4342
 * §5.1); t_RTO is max(4R, 200 ms) — Linux 6.1 uses 4R alone, which on a LAN
 * halves the rate on every late feedback, idle or not. CCVal carries the window counter, a quarter RTT per step,
 * at most 5 per packet (RFC 4342 §8.1). Slow Receiver holds X for an RTT, and
 * Data Dropped "Receive Buffer" halves it (RFC 4342 §5.2). The optional
 * oscillation reduction of §4.5 is off by default (Linux has none).
 *
 * Receiver (RFC 5348 §5–6, RFC 4342 §6, §8, §10): the loss history of
 * `LossIntervals.ts`, feedback on the first data packet, on each new loss
 * event or rise of p, and once per RTT — when a data packet's window counter
 * is 4 past the last feedback's, or the RTT timer expires with data received.
 * Feedback carries Loss Event Rate (192), Receive Rate (194), Loss Intervals
 * (193) once there was a loss, and Elapsed Time (by the engine). The receiver
 * estimates the RTT from window counters 4 apart (RFC 4342 §8.1).
 *
 * @since 0.2.0
 */
import type {
  AckDecision,
  CcidContext,
  CcidFactory,
  CcidReceiver,
  CcidSender,
  FeatureRequest,
  Feedback,
  OptionVerdict,
  ReceivedPacket
} from "./Ccid.ts"
import { ACK_NONE, ACK_NOW } from "./Ccid.ts"
import { Feature } from "./Features.ts"
import { decodeLossIntervals, encodeLossIntervals, type LossIntervalRecord, LossHistory } from "./LossIntervals.ts"
import { decodeDataDropped, DropState, type OptionWriter } from "./Options.ts"
import type { PacketType } from "./Packet.ts"
import * as Seq from "./Seq.ts"
import { averageLossInterval, initialWindow, lossRateFor, T_MBI_MS, throughput } from "./Tfrc.ts"

/**
 * CCID 3 option types (RFC 4342 §8.3–8.6), sent by the HC-receiver.
 *
 * @since 0.2.0
 * @category constants
 */
export const Ccid3Option = {
  LossEventRate: 192,
  LossIntervals: 193,
  ReceiveRate: 194
} as const

/**
 * The Loss Event Rate value meaning "no loss" (RFC 4342 §8.5).
 *
 * @since 0.2.0
 * @category constants
 */
export const NO_LOSS = 0xffffffff

/**
 * Tunables of CCID 3.
 *
 * @since 0.2.0
 * @category models
 */
export interface Ccid3Config {
  /** Lower bound of t_RTO for the nofeedback timer, ms (Linux: TCP_RTO_MIN, 200 ms). */
  readonly minRtoMs: number
  /** The nofeedback timer before any feedback, ms (RFC 5348 §4.2: 2 s). */
  readonly initialNoFeedbackMs: number
  /** Scheduling granularity t_gran, ms (RFC 5348 §4.6): packets may leave up to t_gran/2 early. */
  readonly granularityMs: number
  /** Reduce oscillations with R_sqmean (RFC 5348 §4.5, optional). */
  readonly oscillationPrevention: boolean
  /** RTT assumed before any measurement, ms (RFC 4340 §3.4: 0.2 s). */
  readonly fallbackRttMs: number
}

/**
 * The default CCID 3 tunables.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultCcid3Config: Ccid3Config = {
  minRtoMs: 200,
  initialNoFeedbackMs: 2_000,
  granularityMs: 1,
  oscillationPrevention: false,
  fallbackRttMs: 200
}

/** Smallest RTT sample, ms: loopback round trips are tens of microseconds. */
const MIN_RTT_MS = 0.001
/** Data packets remembered for RTT samples. */
const MAX_SENT = 4096

const readU32 = (b: Uint8Array): number => ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!)
const u32 = (v: number): Array<number> => {
  const x = Math.max(0, Math.min(Math.round(v), 0xffffffff))
  return [x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff]
}

/**
 * The Loss Event Rate option value for p: 1/p rounded up, `NO_LOSS` for p = 0
 * (RFC 4342 §8.5).
 *
 * @since 0.2.0
 * @category encoding
 */
export const lossEventRateValue = (p: number): number => (p <= 0 ? NO_LOSS : Math.min(Math.max(1, Math.ceil(1 / p - 1e-9)), NO_LOSS - 1))

/**
 * p from a Loss Event Rate option value; 0 and `NO_LOSS` mean no loss (Linux
 * takes 0 that way too).
 *
 * @since 0.2.0
 * @category decoding
 */
export const lossEventRateOf = (value: number): number => (value === 0 || value === NO_LOSS ? 0 : 1 / value)

/**
 * p from Loss Intervals (RFC 4342 §8.6, RFC 5348 §5.4), weighing their Data
 * Lengths; 0 without a closed interval.
 *
 * @since 0.2.0
 * @category decoding
 */
export const lossEventRateFromIntervals = (intervals: ReadonlyArray<LossIntervalRecord>): number => {
  const mean = averageLossInterval(intervals.length, (i) => Math.max(1, intervals[i]!.dataLength))
  return mean === undefined ? 0 : 1 / mean
}

interface XRecvEntry {
  rate: number
  at: number
}

/**
 * The CCID 3 HC-sender.
 *
 * @since 0.2.0
 * @category congestion control
 */
export class Ccid3Sender implements CcidSender {
  readonly id = 3
  private readonly config: Ccid3Config
  /** Allowed sending rate X, bytes/s. */
  x = 0
  /** The receive rate of the last feedback, bytes/s. */
  xRecv = 0
  /** X_Bps from the throughput equation, bytes/s (`Infinity` while p = 0). */
  xCalc = Infinity
  /** Loss event rate from the last feedback. */
  p = 0
  /** R, ms: the handshake RTT until feedback, then the smoothed samples. */
  rtt: number | undefined
  /** t_RTO of the nofeedback timer, ms (0 until the first feedback, as Linux). */
  rto = 0
  /** Mean payload size s, bytes. */
  s = 0
  /** Inter-packet interval t_ipi, ms. */
  ipi = 0
  private phase: "no-sent" | "no-feedback" | "feedback" = "no-sent"
  private everFeedback = false
  private tNom = 0
  private tld = -Infinity
  private noFeedbackAt: number | undefined
  private sentSinceTimer = false
  private xRecvSet: Array<XRecvEntry> = []
  private readonly sentSeq: Array<number> = []
  private readonly sentAt: Array<number> = []
  private sentStart = 0
  /** When queued data last had to wait for the rate (RFC 5348 §8.2: not data-limited then). */
  private lastBlockedAt = -Infinity
  /** When the interval covered by the next feedback began: the send time of the last packet fed back. */
  private coveredFrom = -Infinity
  private windowCounter = 0
  private windowCounterAt = 0
  private rSqmean = 0
  private lastSample = 0
  /** X may not grow before this time (Slow Receiver, RFC 4342 §5.2; a Receive Buffer drop). */
  private holdUntil = -Infinity
  private lastDropCutAt = -Infinity
  // Options of the packet being processed (handleOption comes before onFeedback).
  private optionLossEventRate: number | undefined
  private optionReceiveRate: number | undefined
  private optionLossIntervals: Array<LossIntervalRecord> | undefined
  /** Counters for tests and `info()`. */
  feedbackPackets = 0
  noFeedbackTimeouts = 0
  lossRateIncreases = 0

  constructor(context: CcidContext, config: Ccid3Config = defaultCcid3Config) {
    this.config = config
    this.rtt = context.handshakeRtt()
  }

  private get r(): number {
    return this.rtt ?? this.config.fallbackRttMs
  }

  /** s/t_mbi: the least rate ever allowed (RFC 5348 §4.3), bytes/s. */
  private get minRate(): number {
    return (this.s * 1000) / T_MBI_MS
  }

  /** W_init/R (RFC 5348 §4.2), bytes/s; also the recover rate after idle (§4.4). */
  private get initialRate(): number {
    return (initialWindow(this.s) * 1000) / this.r
  }

  sendTime(now: number): number {
    if (this.phase === "no-sent") return now
    const at = this.tNom - Math.min(this.ipi / 2, this.config.granularityMs / 2)
    if (at > now) {
      this.lastBlockedAt = now
      return at
    }
    return now
  }

  ccval(now: number): number {
    if (this.phase === "no-sent") {
      this.windowCounter = 0
      this.windowCounterAt = now
      return 0
    }
    // RFC 4342 §8.1: one step per quarter RTT, at most 5 between data packets.
    const quarters = Math.floor((4 * (now - this.windowCounterAt)) / this.r)
    if (quarters > 0) {
      this.windowCounter = (this.windowCounter + Math.min(quarters, 5)) & 15
      this.windowCounterAt = now
    }
    return this.windowCounter
  }

  onDataSent(now: number, seq: number, payloadBytes: number): void {
    const size = Math.max(1, payloadBytes)
    if (this.phase === "no-sent") {
      this.phase = "no-feedback"
      this.s = size
      // RFC 5348 §4.2: W_init/R with an RTT sample (the handshake's), else one packet per second.
      if (this.rtt !== undefined) {
        this.x = this.initialRate
        this.tld = now
      } else {
        this.x = size
      }
      this.noFeedbackAt = now + this.config.initialNoFeedbackMs
      this.tNom = now
      this.coveredFrom = now
      // §4.3: until receive rates arrive, they limit nothing.
      this.xRecvSet = [{ rate: Infinity, at: now }]
    } else {
      this.s = (9 * this.s + size) / 10
    }
    // The next packet's nominal time; a sender that fell behind (idle, or a
    // late timer) may catch up by at most t_gran (§4.6), not burst its idle time.
    this.updateIpi()
    this.tNom = Math.max(this.tNom, now - this.config.granularityMs) + this.ipi
    this.sentSinceTimer = true
    this.sentSeq.push(seq)
    this.sentAt.push(now)
    if (this.sentSeq.length - this.sentStart > MAX_SENT) this.sentStart++
    this.compactSent()
  }

  private compactSent(): void {
    if (this.sentStart > 1024 && this.sentStart * 2 > this.sentSeq.length) {
      this.sentSeq.splice(0, this.sentStart)
      this.sentAt.splice(0, this.sentStart)
      this.sentStart = 0
    }
  }

  /** Index of the data packet `seq`, or -1. */
  private findSent(seq: number): number {
    let lo = this.sentStart
    let hi = this.sentSeq.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const d = Seq.delta(this.sentSeq[mid]!, seq)
      if (d === 0) return mid
      if (d > 0) lo = mid + 1
      else hi = mid - 1
    }
    return -1
  }

  handleOption(type: number, data: Uint8Array, packetType: PacketType): OptionVerdict {
    switch (type) {
      case Ccid3Option.LossEventRate:
      case Ccid3Option.ReceiveRate:
        if (data.length !== 4) return "invalid"
        // RFC 4342 §8.3, §8.5: ignored on Data packets.
        if (packetType === "Data") return "ok"
        if (type === Ccid3Option.LossEventRate) this.optionLossEventRate = readU32(data)
        else this.optionReceiveRate = readU32(data)
        return "ok"
      case Ccid3Option.LossIntervals: {
        const decoded = decodeLossIntervals(data)
        if (decoded === undefined) return "invalid"
        if (packetType !== "Data") this.optionLossIntervals = decoded.intervals
        return "ok"
      }
      default:
        return "unknown"
    }
  }

  onFeedback(now: number, feedback: Feedback): void {
    const lossEventRate = this.optionLossEventRate, receiveRate = this.optionReceiveRate, intervals = this.optionLossIntervals
    this.optionLossEventRate = this.optionReceiveRate = this.optionLossIntervals = undefined
    if (feedback.type !== "Ack" && feedback.type !== "DataAck" || this.phase === "no-sent") return
    if (feedback.slowReceiver) this.holdUntil = now + this.r
    const dropped = feedback.dataDropped !== undefined && feedback.ack !== undefined &&
      this.receiveBufferDropped(now, feedback.ack, feedback.dataDropped)
    // Only packets with the receiver's report are feedback (RFC 4342 §6).
    if (receiveRate === undefined && lossEventRate === undefined && intervals === undefined) {
      if (dropped) this.cutForReceiveBuffer(now, this.x)
      return
    }
    this.feedbackPackets++

    // Step 1–2 of RFC 5348 §4.3: R from the packet the Acknowledgement Number names.
    const acked = feedback.ack === undefined ? -1 : this.findSent(feedback.ack)
    let coveredTo = now
    if (acked >= 0) {
      coveredTo = this.sentAt[acked]!
      const sample = Math.max(MIN_RTT_MS, now - coveredTo - (feedback.elapsedMs ?? 0))
      this.rtt = this.everFeedback && this.rtt !== undefined ? 0.9 * this.rtt + 0.1 * sample : sample
      this.lastSample = sample
      this.rSqmean = this.rSqmean === 0 ? Math.sqrt(sample) : 0.9 * this.rSqmean + 0.1 * Math.sqrt(sample)
      this.sentStart = acked
      this.compactSent()
    }
    const previousP = this.p
    if (lossEventRate !== undefined) this.p = lossEventRateOf(lossEventRate)
    else if (intervals !== undefined) this.p = lossEventRateFromIntervals(intervals)
    if (receiveRate !== undefined) this.xRecv = receiveRate
    if (this.p > previousP) this.lossRateIncreases++
    // Step 3: the timeout interval.
    this.rto = Math.max(4 * this.r, this.config.minRtoMs)

    // Step 4: the allowed sending rate.
    const dataLimited = this.lastBlockedAt < this.coveredFrom
    this.coveredFrom = coveredTo
    const before = this.x
    this.limitRate(now, dataLimited, this.p > previousP)
    if (!this.everFeedback && this.p === 0) {
      // The first feedback: the initial rate W_init/R with the measured R (§4.2).
      this.x = Math.max(this.initialRate, this.minRate)
      this.tld = now
    }
    if (now < this.holdUntil) this.x = Math.min(this.x, before)
    if (dropped) this.cutForReceiveBuffer(now, before)
    this.everFeedback = true
    this.phase = "feedback"
    this.updateIpi()
    // Step 6: restart the nofeedback timer.
    this.noFeedbackAt = now + Math.max(this.rto, (2 * this.s * 1000) / this.x)
    this.sentSinceTimer = false
  }

  /** Step 4 of RFC 5348 §4.3 with X_recv_set, data-limited intervals included. */
  private limitRate(now: number, dataLimited: boolean, lossIncreased: boolean): void {
    let recvLimit: number
    if (dataLimited) {
      if (lossIncreased) {
        this.xRecvSet = this.xRecvSet.filter((e) => Number.isFinite(e.rate))
        for (const e of this.xRecvSet) e.rate /= 2
        this.xRecv *= 0.85
        recvLimit = this.maximizeXRecvSet(now)
      } else {
        recvLimit = 2 * this.maximizeXRecvSet(now)
      }
    } else {
      this.xRecvSet.push({ rate: this.xRecv, at: now })
      const horizon = now - 2 * this.r
      this.xRecvSet = this.xRecvSet.filter((e) => e.at >= horizon)
      recvLimit = 2 * this.maxXRecv()
    }
    this.applyLimit(now, recvLimit, true)
  }

  /** X from the equation (p > 0) or slow start (p = 0), within `recvLimit`. */
  private applyLimit(now: number, recvLimit: number, mayDouble: boolean): void {
    if (this.p > 0) {
      this.xCalc = throughput(this.s, this.r, this.p)
      this.x = Math.max(Math.min(this.xCalc, recvLimit), this.minRate)
    } else {
      this.xCalc = Infinity
      if (mayDouble && now - this.tld >= this.r) {
        this.x = Math.max(Math.min(2 * this.x, recvLimit), this.initialRate)
        this.tld = now
      }
    }
  }

  /** The receive rate X is held to: the largest finite entry of X_recv_set, else the last report. */
  private limitingXRecv(): number {
    let max = -1
    for (const e of this.xRecvSet) if (Number.isFinite(e.rate) && e.rate > max) max = e.rate
    return max < 0 ? this.xRecv : max
  }

  private maxXRecv(): number {
    let max = 0
    for (const e of this.xRecvSet) if (e.rate > max) max = e.rate
    return max
  }

  /** Keeps only the largest receive rate, X_recv included and the initial Infinity not, stamped now. */
  private maximizeXRecvSet(now: number): number {
    let max = this.xRecv
    for (const e of this.xRecvSet) if (Number.isFinite(e.rate) && e.rate > max) max = e.rate
    this.xRecvSet = [{ rate: max, at: now }]
    return max
  }

  /** RFC 5348 §4.4 `Update_Limits`: halving through the receive-rate limit. */
  private updateLimits(now: number, limit: number): void {
    const timerLimit = Math.max(limit, this.minRate)
    this.xRecvSet = [{ rate: timerLimit / 2, at: now }]
    this.applyLimit(now, timerLimit, false)
  }

  /** Whether Data Dropped reports a Receive Buffer drop (RFC 4340 §11.7) not yet answered this RTT. */
  private receiveBufferDropped(now: number, ack: number, blocks: Uint8Array): boolean {
    if (now - this.lastDropCutAt < this.r) return false
    for (const run of decodeDataDropped(ack, blocks)) if (run.dropState === DropState.ReceiveBuffer) return true
    return false
  }

  /**
   * RFC 4342 §5.2: the receiver's buffer overflowed. p is the receiver's to
   * compute, so the sender answers like a congestion event itself: half the
   * rate it had, held there for an RTT, and a receive-rate limit to match.
   */
  private cutForReceiveBuffer(now: number, rate: number): void {
    this.lastDropCutAt = now
    this.lossRateIncreases++
    this.x = Math.max(Math.min(this.x, rate) / 2, this.minRate)
    this.xRecvSet = [{ rate: this.x / 2, at: now }]
    this.holdUntil = now + this.r
    this.updateIpi()
  }

  private updateIpi(): void {
    // §4.5: with oscillation reduction the instantaneous rate follows the RTT's swings.
    const xInst = this.config.oscillationPrevention && this.lastSample > 0
      ? (this.x * this.rSqmean) / Math.sqrt(this.lastSample)
      : this.x
    this.ipi = (this.s * 1000) / Math.max(xInst, this.minRate, 1e-9)
  }

  nextTimeout(): number | undefined {
    return this.noFeedbackAt
  }

  /** RFC 5348 §4.4: the nofeedback timer expired. */
  onTimeout(now: number): void {
    if (this.noFeedbackAt === undefined || now < this.noFeedbackAt) return
    this.noFeedbackTimeouts++
    const idle = !this.sentSinceTimer
    const before = this.x
    const recover = this.rtt === undefined ? 0 : this.initialRate
    // The receive rate that limits X now: the latest report, or what earlier
    // expiries left of it (Linux halves its cached X_recv the same way), so
    // that every expiry halves again.
    const xRecv = this.limitingXRecv()
    if (!this.everFeedback && !idle) {
      this.x = Math.max(this.x / 2, this.minRate)
    } else if (idle && this.rtt !== undefined && ((this.p === 0 && xRecv < 2 * recover) || (this.p > 0 && this.xCalc < 2 * recover))) {
      // Idle since the timer was set and below twice the recover rate: keep X.
    } else if (this.p === 0) {
      this.x = Math.max(this.x / 2, this.minRate)
    } else if (this.xCalc > 2 * xRecv) {
      this.updateLimits(now, xRecv)
    } else {
      this.updateLimits(now, this.xCalc / 2)
    }
    // RFC 4342 §5.1: an idle period never takes the rate below the initial rate.
    if (idle && this.x < before) this.x = Math.max(this.x, Math.min(before, recover))
    this.updateIpi()
    this.noFeedbackAt = now + (this.everFeedback ? Math.max(this.rto, (2 * this.s * 1000) / this.x) : this.config.initialNoFeedbackMs)
    this.sentSinceTimer = false
  }

  takeFeatureRequests(): Array<FeatureRequest> {
    return []
  }

  writeOptions(): void {}

  info(): Readonly<Record<string, number>> {
    return {
      x: this.x,
      xRecv: this.xRecv,
      xCalc: this.xCalc,
      p: this.p,
      rttMs: this.rtt ?? Number.NaN,
      srttMs: this.rtt ?? Number.NaN,
      rtoMs: this.everFeedback ? this.rto : Number.NaN,
      ipiMs: this.ipi,
      s: this.s,
      feedbackPackets: this.feedbackPackets,
      noFeedbackTimeouts: this.noFeedbackTimeouts,
      congestionEvents: this.lossRateIncreases
    }
  }
}

/**
 * The CCID 3 HC-receiver.
 *
 * @since 0.2.0
 * @category congestion control
 */
export class Ccid3Receiver implements CcidReceiver {
  readonly id = 3
  /** Every feedback carries Elapsed Time, however short the delay. */
  readonly elapsedTimeFrom = 1
  private readonly context: CcidContext
  private readonly config: Ccid3Config
  readonly loss = new LossHistory()
  private phase: "no-data" | "data" = "no-data"
  /** Mean payload size, bytes. */
  s = 0
  /** RTT estimated from window counters, ms. */
  rtt: number | undefined = undefined
  /** The receive rate last reported, bytes/s. */
  xRecv = 0
  /** The loss event rate last reported. */
  p = 0
  private now = 0
  /** Data bytes since the last feedback of any kind. */
  private bytesSinceFeedback = 0
  private lastFeedbackAt = 0
  /**
   * The receive rate's measurement: bytes since `rateFrom`, the last report
   * that measured it. An early loss report keeps the rate it had, so the
   * next report measures a whole interval, not the few packets since it.
   */
  private rateBytes = 0
  private rateFrom = 0
  private lastFeedbackCcval = 0
  private lastDataCcval = 0
  private due: "none" | "initial" | "periodic" | "loss" = "none"
  private lastMean: number | undefined = undefined
  // The window counter's history, for RTT samples: first arrival of each value.
  private readonly counterAt = new Float64Array(16)
  private readonly counterSerial = new Float64Array(16).fill(-1)
  private serial = 0
  private lastCounter = -1
  private readonly by: { kind: "by"; at: number } = { kind: "by", at: 0 }
  feedbackSent = 0

  constructor(context: CcidContext, config: Ccid3Config = defaultCcid3Config) {
    this.context = context
    this.config = config
  }

  private get r(): number {
    return this.rtt ?? this.context.handshakeRtt() ?? this.config.fallbackRttMs
  }

  onPacketReceived(now: number, packet: ReceivedPacket): AckDecision {
    this.now = now
    const isData = packet.carriesData
    if (this.phase === "no-data") {
      this.loss.record(packet.seq, isData, packet.ccval, packet.ndpCount ?? 0, this.firstInterval)
      if (!isData) return ACK_NONE
      // RFC 5348 §6.3: feedback on the first data packet, with X_recv = 0.
      this.phase = "data"
      this.s = Math.max(1, packet.payloadBytes)
      this.lastFeedbackAt = this.rateFrom = now
      this.lastDataCcval = this.lastFeedbackCcval = packet.ccval
      this.noteCounter(now, packet.ccval)
      this.due = "initial"
      return ACK_NOW
    }
    // The packet's bytes count in the receive rate before its arrival may
    // reveal a loss (and seed the first interval with that rate).
    if (isData) {
      this.bytesSinceFeedback += packet.payloadBytes
      this.rateBytes += packet.payloadBytes
    }
    const outcome = this.loss.record(packet.seq, isData, packet.ccval, packet.ndpCount ?? 0, this.firstInterval)
    if (outcome === "duplicate") {
      if (isData) {
        this.bytesSinceFeedback -= packet.payloadBytes
        this.rateBytes -= packet.payloadBytes
      }
      return ACK_NONE
    }
    if (isData) {
      this.s = (9 * this.s + Math.max(1, packet.payloadBytes)) / 10
      if (outcome === "in-order") {
        this.lastDataCcval = packet.ccval
        this.noteCounter(now, packet.ccval)
      }
    }
    if (outcome === "new-loss-event") {
      this.lastMean = this.loss.meanInterval()
      this.due = "loss"
      return ACK_NOW
    }
    if (!isData) return ACK_NONE
    // RFC 5348 §6.1: a rise of p calls for feedback at once.
    const mean = this.loss.meanInterval()
    const risen = mean !== undefined && this.lastMean !== undefined && mean < this.lastMean
    this.lastMean = mean
    if (risen) {
      this.due = "loss"
      return ACK_NOW
    }
    // RFC 4342 §10.3: once per RTT, when the window counter moved 4 past the
    // last feedback's; RFC 5348 §6.2: in any case once the RTT timer expired.
    // Feedback leaves with the data packet that is due: its Acknowledgement
    // Number (GSR) then names a data packet, and Linux's sender takes an
    // acknowledgement as feedback only then (its transmit history holds data
    // packets only), so feedback acknowledging one of its own Acks would go
    // unheard and its nofeedback timer would cut the rate.
    if (((packet.ccval - this.lastFeedbackCcval) & 15) >= 4 || now >= this.lastFeedbackAt + this.r) {
      if (this.due === "none") this.due = "periodic"
      return ACK_NOW
    }
    // The RTT timer still runs for when data stops.
    this.by.at = this.lastFeedbackAt + this.r
    return this.by
  }

  /** RFC 4342 §8.1: the time between the first packets with window counters 4 apart is an RTT. */
  private noteCounter(now: number, counter: number): void {
    if (counter === this.lastCounter) return
    this.serial += this.lastCounter < 0 ? 0 : (counter - this.lastCounter) & 15
    this.lastCounter = counter
    this.counterAt[counter] = now
    this.counterSerial[counter] = this.serial
    const back = (counter - 4) & 15
    if (this.serial >= 4 && this.counterSerial[back] === this.serial - 4) {
      const sample = Math.max(MIN_RTT_MS, now - this.counterAt[back]!)
      this.rtt = this.rtt === undefined ? sample : 0.9 * this.rtt + 0.1 * sample
    }
  }

  /** The receive rate since the last report that measured it, bytes/s. */
  private receiveRate(): number {
    const elapsed = this.now - this.rateFrom
    return elapsed > 0 ? (this.rateBytes * 1000) / elapsed : 0
  }

  /**
   * RFC 5348 §6.3.1: the first loss interval is the one at which the equation
   * gives the rate data was arriving at.
   */
  private readonly firstInterval = (): number => {
    let rate = this.now - this.rateFrom >= this.r / 2 ? this.receiveRate() : this.xRecv
    if (!(rate > 0)) rate = this.receiveRate()
    if (!(rate > 0)) return 1
    return 1 / lossRateFor(this.s, this.r, rate)
  }

  onAckSent(): void {}

  handleOption(): OptionVerdict {
    // RFC 4342 defines no HC-sender options (128–191).
    return "unknown"
  }

  writeOptions(w: OptionWriter, packetType: PacketType, now: number): void {
    if (packetType !== "Ack" && packetType !== "DataAck") return
    this.now = now
    if (this.due === "none") {
      if (this.phase === "no-data" || this.bytesSinceFeedback === 0 || now < this.lastFeedbackAt + this.r) return
      this.due = "periodic"
    }
    // The first report has X_recv = 0 (RFC 5348 §6.3); a loss report comes
    // early, so the last measured rate stands unless there is none yet.
    const measured = this.due === "periodic" || (this.due === "loss" && !(this.xRecv > 0))
    const xRecv = this.due === "initial" ? 0 : measured ? this.receiveRate() : this.xRecv
    const p = this.loss.lossEventRate()
    if (!w.addRaw(Ccid3Option.LossEventRate, u32(lossEventRateValue(p)))) return
    if (!w.addRaw(Ccid3Option.ReceiveRate, u32(xRecv))) return
    if (this.loss.hasLoss) {
      const records = this.loss.records()
      const room = Math.floor((w.remaining - 3) / 9)
      if (room > 0) w.addRaw(Ccid3Option.LossIntervals, encodeLossIntervals(0, records.slice(0, room)))
    }
    this.xRecv = xRecv
    this.p = p
    if (measured || this.due === "initial") {
      this.rateFrom = now
      this.rateBytes = 0
    }
    this.lastFeedbackAt = now
    this.lastFeedbackCcval = this.lastDataCcval
    this.bytesSinceFeedback = 0
    this.due = "none"
    this.feedbackSent++
  }

  info(): Readonly<Record<string, number>> {
    return {
      xRecv: this.xRecv,
      rttMs: this.rtt ?? Number.NaN,
      p: this.p,
      s: this.s,
      lossEvents: this.loss.lossEvents,
      lostPackets: this.loss.lostPackets,
      feedbackSent: this.feedbackSent
    }
  }
}

/**
 * The CCID 3 factory, with the feature dependencies Linux uses
 * (`ccid3_dependencies`): at the HC-sender, no Ack Vectors from the receiver
 * (not Mandatory: they would be ignored), Send Loss Event Rate at the
 * receiver (Mandatory), Ack Ratio 0 and Send NDP Count for ourselves; at the
 * HC-receiver, no Ack Vectors, Send Loss Event Rate, and NDP Counts from the
 * sender (Mandatory: RFC 4342 §6.1.1 needs them to tell lost data).
 *
 * @since 0.2.0
 * @category constructors
 */
export const ccid3 = (config: Ccid3Config = defaultCcid3Config): CcidFactory => ({
  id: 3,
  name: "TCP-Friendly Rate Control",
  sender: (context) => new Ccid3Sender(context, config),
  receiver: (context) => new Ccid3Receiver(context, config),
  senderDependencies: [
    { feature: Feature.SendAckVector, end: "remote", value: 0, mandatory: false },
    { feature: Feature.SendLossEventRate, end: "remote", value: 1, mandatory: true },
    { feature: Feature.AckRatio, end: "local", value: 0, mandatory: false },
    { feature: Feature.SendNdpCount, end: "local", value: 1, mandatory: false }
  ],
  receiverDependencies: [
    { feature: Feature.SendAckVector, end: "local", value: 0, mandatory: false },
    { feature: Feature.SendLossEventRate, end: "local", value: 1, mandatory: true },
    { feature: Feature.SendNdpCount, end: "remote", value: 1, mandatory: true }
  ]
})
