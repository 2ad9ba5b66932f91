/**
 * The CCID 3 receiver's loss history (RFC 5348 §5, RFC 4342 §6.1 and §10.2)
 * and the Loss Intervals option (RFC 4342 §8.6).
 *
 * - **Lost packets** (RFC 5348 §5.1): a sequence number not received once
 *   NDUPACK = 3 later packets have arrived. A late packet fills its hole.
 *   DCCP numbers every packet, acknowledgements too, so a hole may hold
 *   packets that carried no data: the NDP Count of the packet after the hole
 *   (RFC 4340 §7.7) says how many of its last sequence numbers were non-data,
 *   and only the rest count as lost data (Linux `dccp_loss_count`).
 * - **Loss events** (RFC 5348 §5.2, RFC 4342 §10.2): losses within one RTT of
 *   the first loss of an event belong to it. The window counter (CCVal) tells
 *   time in quarter RTTs: a loss starts a new event when its counter (that of
 *   the last data packet before it) is more than 4 ahead of the event's, or
 *   when it comes after a data packet that already was — the counter is mod
 *   16, so a long event could otherwise wrap back into range.
 * - **Loss intervals** (RFC 5348 §5.3, RFC 4342 §6.1.1): from the first loss of
 *   one event to the first loss of the next; the newest, I_0, is open and
 *   reaches the newest packet. Lengths count data packets (RFC 4342's Data
 *   Length): sequence numbers less the non-data packets among them. At most
 *   nine intervals are kept (I_0..I_8, all §5.4 uses). The interval before the
 *   first loss is synthetic (RFC 5348 §6.3.1): the caller computes it from
 *   the receive rate.
 *
 * Sequence numbers are 48-bit and compared circularly, so the history works
 * across the wrap.
 *
 * @since 0.2.0
 */
import { MAX_OPTION_VALUE } from "./Options.ts"
import * as Seq from "./Seq.ts"
import { averageLossInterval } from "./Tfrc.ts"

/**
 * Later packets that make a missing one lost (RFC 5348 §5.1).
 *
 * @since 0.2.0
 * @category constants
 */
export const NDUPACK = 3

/** Holes waiting for NDUPACK later packets; beyond this the oldest is decided at once. */
const MAX_GAPS = 64
/** I_0..I_8: the open interval and the eight closed ones §5.4 weighs. */
const MAX_INTERVALS = 9

/** Forward distance between two window counters, mod 16. */
const ccvalDistance = (from: number, to: number): number => (to - from) & 15

interface Gap {
  start: number
  length: number
  /** Packets received after the hole. */
  later: number
  /** The window counter of the last data packet before the hole. */
  readonly ccval: number
  /** NDP Count of the packet right after the hole. */
  ndp: number
}

interface Interval {
  /** First lost packet; undefined for the synthetic first interval. */
  readonly start: number | undefined
  readonly ccval: number
  /** Lossy part: from the first to the last lost packet of the event. */
  lossLength: number
  /** Sequence length once closed (the synthetic interval's length in data packets, not rounded). */
  length: number
  /** Non-data packets among the interval's sequence numbers. */
  nonData: number
  /** The first data packet more than one RTT after the start: the event can take no more losses. */
  closedAt: number | undefined
}

/**
 * What a received packet did to the history.
 *
 * @since 0.2.0
 * @category models
 */
export type LossOutcome = "in-order" | "filled-hole" | "duplicate" | "new-loss-event"

/**
 * One interval as the Loss Intervals option carries it (RFC 4342 §8.6.1).
 *
 * @since 0.2.0
 * @category models
 */
export interface LossIntervalRecord {
  readonly losslessLength: number
  readonly lossLength: number
  readonly dataLength: number
  readonly ecnNonceEcho: boolean
}

/**
 * The receiver's loss history.
 *
 * @since 0.2.0
 * @category models
 */
export class LossHistory {
  private highest: number | undefined = undefined
  /** Window counter of the last data packet at the head. */
  private headCcval = 0
  private readonly gaps: Array<Gap> = []
  /** Most recent first; [0] is the open interval I_0. */
  private readonly intervals: Array<Interval> = []
  /** Lost data packets so far, and loss events. */
  lostPackets = 0
  lossEvents = 0

  /** The greatest sequence number received. */
  get head(): number | undefined {
    return this.highest
  }

  /** Whether any loss event happened. */
  get hasLoss(): boolean {
    return this.intervals.length > 0
  }

  /**
   * Records a received packet. `firstInterval` is asked for the synthetic
   * length of the interval before the first loss (RFC 5348 §6.3.1), once.
   */
  record(seq: number, isData: boolean, ccval: number, ndpCount: number, firstInterval: () => number): LossOutcome {
    if (this.highest === undefined) {
      this.highest = seq
      if (isData) this.headCcval = ccval
      return "in-order"
    }
    const ahead = Seq.delta(this.highest, seq)
    let outcome: LossOutcome
    if (ahead > 0) {
      for (const gap of this.gaps) gap.later++
      if (ahead > 1) this.gaps.push({ start: Seq.add(this.highest, 1), length: ahead - 1, later: 1, ccval: this.headCcval, ndp: ndpCount })
      this.highest = seq
      if (isData) {
        this.headCcval = ccval
        this.noteTime(seq, ccval)
      }
      outcome = "in-order"
    } else if (ahead === 0 || !this.fill(seq, ndpCount)) {
      return "duplicate"
    } else {
      outcome = "filled-hole"
    }
    if (!isData) this.countNonData(seq, 1)
    return this.decide(firstInterval) ? "new-loss-event" : outcome
  }

  /** Removes `seq` from its hole; false when no hole holds it (a duplicate or an old packet). */
  private fill(seq: number, ndpCount: number): boolean {
    for (let i = 0; i < this.gaps.length; i++) {
      const gap = this.gaps[i]!
      const offset = Seq.delta(gap.start, seq)
      if (offset < 0) return false
      if (offset >= gap.length) continue
      // Holes before this packet have one more later arrival.
      for (let j = 0; j < i; j++) this.gaps[j]!.later++
      if (offset === 0) {
        gap.start = Seq.add(gap.start, 1)
        gap.length--
      } else if (offset === gap.length - 1) {
        // The rest of the hole now has this packet after it (and its NDP Count).
        gap.length--
        gap.later++
        gap.ndp = ndpCount
      } else {
        // Split: the part before `seq` now has this packet after it (and its NDP Count).
        this.gaps.splice(i, 0, { start: gap.start, length: offset, later: gap.later + 1, ccval: gap.ccval, ndp: ndpCount })
        gap.start = Seq.add(seq, 1)
        gap.length -= offset + 1
      }
      if (gap.length === 0) this.gaps.splice(this.gaps.indexOf(gap), 1)
      return true
    }
    return false
  }

  /** Decides the holes with NDUPACK later packets (and the oldest beyond MAX_GAPS); true on a new loss event. */
  private decide(firstInterval: () => number): boolean {
    let newEvent = false
    while (this.gaps.length > 0 && (this.gaps[0]!.later >= NDUPACK || this.gaps.length > MAX_GAPS)) {
      const gap = this.gaps.shift()!
      // The last `ndp` sequence numbers of the hole may have been non-data packets.
      const lostData = Math.max(0, gap.length - gap.ndp)
      if (lostData > 0 && this.lost(gap.start, Seq.add(gap.start, lostData - 1), gap.ccval, firstInterval)) newEvent = true
      if (gap.length > lostData) this.countNonData(Seq.add(gap.start, lostData), gap.length - lostData)
    }
    return newEvent
  }

  /** Lost data packets `first`..`last` (their window counter estimated as `ccval`); true on a new loss event. */
  private lost(first: number, last: number, ccval: number, firstInterval: () => number): boolean {
    this.lostPackets += Seq.delta(first, last) + 1
    const open = this.intervals[0]
    if (open !== undefined && open.start !== undefined) {
      const after = Seq.isAfter(first, open.start)
      const beyondRtt = (open.closedAt !== undefined && !Seq.isBefore(first, open.closedAt)) || ccvalDistance(open.ccval, ccval) > 4
      if (!after || !beyondRtt) {
        // Part of the current loss event (or of an older one): the lossy part grows.
        if (after) open.lossLength = Math.max(open.lossLength, Seq.delta(open.start, last) + 1)
        return false
      }
      open.length = Seq.delta(open.start, first)
    }
    if (open === undefined) {
      this.intervals.push({ start: undefined, ccval: 0, lossLength: 0, length: Math.max(1, firstInterval()), nonData: 0, closedAt: undefined })
    }
    this.intervals.unshift({ start: first, ccval, lossLength: Seq.delta(first, last) + 1, length: 0, nonData: 0, closedAt: undefined })
    if (this.intervals.length > MAX_INTERVALS) this.intervals.length = MAX_INTERVALS
    this.lossEvents++
    return true
  }

  /** A data packet at the head: closes the open loss event once it is more than one RTT old. */
  private noteTime(seq: number, ccval: number): void {
    const open = this.intervals[0]
    if (open !== undefined && open.start !== undefined && open.closedAt === undefined && ccvalDistance(open.ccval, ccval) > 4) {
      open.closedAt = seq
    }
  }

  /** Counts `n` non-data packets from `seq` on in the interval that holds them. */
  private countNonData(seq: number, n: number): void {
    for (const interval of this.intervals) {
      if (interval.start === undefined) return
      if (!Seq.isBefore(seq, interval.start)) {
        interval.nonData += n
        return
      }
    }
  }

  /** Sequence length of interval `i` (the open one reaches the head). */
  private sequenceLength(i: number): number {
    const interval = this.intervals[i]!
    if (i > 0 || interval.start === undefined || this.highest === undefined) return interval.length
    return Seq.delta(interval.start, this.highest) + 1
  }

  /** Data length of interval `i` (RFC 4342 §6.1.1), at least 1. */
  dataLength(i: number): number {
    const interval = this.intervals[i]!
    return Math.max(1, this.sequenceLength(i) - interval.nonData)
  }

  /** The number of intervals, the open one included. */
  get count(): number {
    return this.intervals.length
  }

  /** I_mean (RFC 5348 §5.4) over the data lengths, or `undefined` before the first loss. */
  meanInterval(): number | undefined {
    return averageLossInterval(this.intervals.length, this.lengthOf)
  }

  private readonly lengthOf = (i: number): number => this.dataLength(i)

  /** The loss event rate p = 1 / I_mean, 0 before the first loss. */
  lossEventRate(): number {
    const mean = this.meanInterval()
    return mean === undefined ? 0 : 1 / mean
  }

  /** The intervals as the Loss Intervals option lists them, most recent first. */
  records(): Array<LossIntervalRecord> {
    const out: Array<LossIntervalRecord> = []
    for (let i = 0; i < this.intervals.length; i++) {
      const interval = this.intervals[i]!
      const length = Math.round(this.sequenceLength(i))
      // The synthetic first interval has no packets of its own: one lost, the rest lossless.
      const lossLength = interval.start === undefined ? 1 : Math.min(interval.lossLength, length)
      out.push({ losslessLength: Math.max(0, length - lossLength), lossLength, dataLength: Math.round(this.dataLength(i)), ecnNonceEcho: false })
    }
    return out
  }
}

/**
 * The most Loss Intervals one option can hold: 3 + 9·28 = 255 bytes.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_LOSS_INTERVALS = 28

/**
 * The value of a Loss Intervals option (RFC 4342 §8.6): Skip Length, then per
 * interval a 24-bit Lossless Length, the ECN Nonce Echo bit and a 23-bit Loss
 * Length, and a 24-bit Data Length. Lengths are clamped to their fields.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodeLossIntervals = (skipLength: number, intervals: ReadonlyArray<LossIntervalRecord>): Uint8Array => {
  const n = Math.min(intervals.length, MAX_LOSS_INTERVALS, Math.floor((MAX_OPTION_VALUE - 1) / 9))
  const out = new Uint8Array(1 + 9 * n)
  out[0] = Math.min(Math.max(0, skipLength), 255)
  for (let i = 0; i < n; i++) {
    const r = intervals[i]!
    const o = 1 + 9 * i
    const lossless = Math.min(r.losslessLength, 0xffffff)
    const loss = Math.min(r.lossLength, 0x7fffff) | (r.ecnNonceEcho ? 0x800000 : 0)
    const data = Math.min(r.dataLength, 0xffffff)
    out[o] = lossless >>> 16
    out[o + 1] = (lossless >>> 8) & 0xff
    out[o + 2] = lossless & 0xff
    out[o + 3] = loss >>> 16
    out[o + 4] = (loss >>> 8) & 0xff
    out[o + 5] = loss & 0xff
    out[o + 6] = data >>> 16
    out[o + 7] = (data >>> 8) & 0xff
    out[o + 8] = data & 0xff
  }
  return out
}

/**
 * Decodes a Loss Intervals option value; `undefined` when its length is not
 * 1 + 9n (an Option Error).
 *
 * @since 0.2.0
 * @category decoding
 */
export const decodeLossIntervals = (
  value: Uint8Array
): { readonly skipLength: number; readonly intervals: Array<LossIntervalRecord> } | undefined => {
  if (value.length < 1 || (value.length - 1) % 9 !== 0) return undefined
  const intervals: Array<LossIntervalRecord> = []
  for (let o = 1; o < value.length; o += 9) {
    const u24 = (i: number) => (value[i]! << 16) | (value[i + 1]! << 8) | value[i + 2]!
    const loss = u24(o + 3)
    intervals.push({ losslessLength: u24(o), lossLength: loss & 0x7fffff, dataLength: u24(o + 6), ecnNonceEcho: (loss & 0x800000) !== 0 })
  }
  return { skipLength: value[0]!, intervals }
}
