/**
 * CCID 2, TCP-like congestion control (RFC 4341).
 *
 * Sender (§5): a congestion window `cwnd` in packets, `ssthresh`, and `pipe`,
 * the data packets sent and neither acknowledged nor lost. Slow start while
 * cwnd < ssthresh, congestion avoidance (one packet per window) above. A data
 * packet is lost once NUMDUPACK = 3 data packets sent after it have been
 * acknowledged (the SACK rule of RFC 3517, fed by Ack Vectors); a loss or an
 * ECN mark halves cwnd, at most once per window of data. When nothing is
 * acknowledged for a retransmission timeout (RFC 2988 estimator, 200 ms
 * minimum like Linux, no 1 s floor per §5), pipe is cleared and cwnd drops to
 * one packet. DCCP never retransmits data: "loss" only ever shrinks the window.
 *
 * Acknowledgement congestion control (§6.1): the sender owns Ack Ratio R,
 * the number of data packets per acknowledgement. Lost acknowledgements
 * (holes in the receiver's sequence numbers, classified with NDP Count when
 * present) double R at most once per round trip; after cwnd/(R²−R) windows of
 * data without lost acknowledgements R drops by one; R never exceeds ⌈cwnd/2⌉
 * (§6.1.2; like Linux this engine does not keep the "R = 2 is always allowed"
 * exception, which deadlocks when cwnd < 2). R is sent as an NN Change.
 *
 * Acks of acks (§6.2) are the engine's job: its data packets acknowledge the
 * receiver's Acks, which lets the receiver trim its Ack Vector state.
 *
 * Sequence Window (RFC 4340 §7.5.2): the window of acknowledgements we accept
 * must exceed cwnd, so cwnd only grows while below it, and the sender asks
 * for a larger Sequence Window/us once 5 × cwnd reaches it (as Linux does).
 *
 * Receiver (§6): acknowledges at least every R data packets, at once when a
 * packet arrives out of order, and otherwise within a delayed-ack interval.
 *
 * @since 0.1.0
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
import { AckState, decodeDataDropped, DropState } from "./Options.ts"
import * as Seq from "./Seq.ts"

/**
 * Tunables of CCID 2. Defaults follow RFC 4341 and Linux 6.1.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ccid2Config {
  /** Lower bound of the retransmission timeout, ms (Linux `TCP_RTO_MIN`). */
  readonly minRtoMs: number
  /** Upper bound of the retransmission timeout, ms (Linux `DCCP_RTO_MAX`). */
  readonly maxRtoMs: number
  /** Timeout before any RTT sample, ms (RFC 2988 §2.1). */
  readonly initialRtoMs: number
  /** Later acknowledged packets that make an unacknowledged one lost. */
  readonly numDupAck: number
  /** Receiver: the longest an acknowledgement of data waits, ms. */
  readonly delayedAckMs: number
}

/**
 * The default CCID 2 tunables.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultCcid2Config: Ccid2Config = {
  minRtoMs: 200,
  maxRtoMs: 64_000,
  initialRtoMs: 3_000,
  numDupAck: 3,
  delayedAckMs: 40
}

/**
 * The initial window in packets (RFC 3390 as used by RFC 4341 §5,
 * min(4·MPS, max(2·MPS, 4380 bytes)); Linux `rfc3390_bytes_to_packets`).
 *
 * @since 0.1.0
 * @category congestion control
 */
export const initialWindow = (mps: number): number => (mps <= 1095 ? 4 : mps > 2190 ? 2 : 3)

interface SentRecord {
  readonly seq: number
  readonly sentAt: number
  acked: boolean
  lost: boolean
}

interface PeerHole {
  readonly seq: number
  laterArrivals: number
  readonly nonData: boolean
}

/**
 * The CCID 2 HC-sender.
 *
 * @since 0.1.0
 * @category congestion control
 */
export class Ccid2Sender implements CcidSender {
  readonly id = 2
  private readonly context: CcidContext
  private readonly config: Ccid2Config
  cwnd: number
  ssthresh = Number.MAX_SAFE_INTEGER
  pipe = 0
  private readonly sent: Array<SentRecord> = []
  private sentStart = 0
  private lastSentSeq: number | undefined
  private srtt: number | undefined
  private rttvar = 0
  rto: number
  private rtoDeadline: number | undefined
  private recoveryPoint: number | undefined
  private packetsAcked = 0
  private slowReceiverUntil = -Infinity
  /** Ack Ratio this sender wants (the feature value follows once confirmed). */
  ackRatio: number
  /** Data packets acknowledged in the current window, and whole windows since the last lost Ack. */
  private windowAcked = 0
  private windowsWithoutAckLoss = 0
  private lastAckRatioIncrease = -Infinity
  private peerHighest: number | undefined
  private readonly holes: Array<PeerHole> = []
  private requests: Array<FeatureRequest> = []
  /** What the current feedback acknowledged (set by `markRange`). */
  private newlyAcked = 0
  private marked = false
  private requestedSequenceWindow = 0
  private requestedAckRatio: number
  /** Counters for tests and `info()`. */
  congestionEvents = 0
  timeouts = 0
  lostPackets = 0
  lostAcks = 0

  constructor(context: CcidContext, config: Ccid2Config = defaultCcid2Config) {
    this.context = context
    this.config = config
    this.cwnd = initialWindow(context.mps())
    this.rto = config.initialRtoMs
    const sample = context.handshakeRtt()
    if (sample !== undefined) this.sampleRtt(sample)
    this.ackRatio = Math.max(1, context.localAckRatio())
    this.requestedAckRatio = context.localAckRatio()
    this.constrainAckRatio()
    if (this.ackRatio !== this.requestedAckRatio) this.setAckRatio(this.ackRatio)
  }

  sendTime(now: number): number {
    return this.pipe < this.cwnd ? now : Infinity
  }

  onDataSent(now: number, seq: number, _payloadBytes: number): void {
    this.sent.push({ seq, sentAt: now, acked: false, lost: false })
    this.lastSentSeq = seq
    this.pipe++
    if (this.rtoDeadline === undefined) this.rtoDeadline = now + this.rto
  }

  /** RFC 2988 §2 estimator; RTO floor `minRtoMs` (RFC 4341 §5 waives TCP's 1 s). */
  private sampleRtt(r: number): void {
    const m = Math.max(r, 0)
    if (this.srtt === undefined) {
      this.srtt = m
      this.rttvar = m / 2
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - m)
      this.srtt = 0.875 * this.srtt + 0.125 * m
    }
    this.rto = Math.min(this.config.maxRtoMs, Math.max(this.config.minRtoMs, this.srtt + 4 * this.rttvar))
  }

  /** Smoothed RTT in ms, once sampled. */
  get smoothedRtt(): number | undefined {
    return this.srtt
  }

  /** Index of the record with `seq`, by binary search over the outstanding records. */
  private find(seq: number): number {
    let lo = this.sentStart
    let hi = this.sent.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const d = Seq.delta(this.sent[mid]!.seq, seq)
      if (d === 0) return mid
      if (d > 0) lo = mid + 1
      else hi = mid - 1
    }
    return -lo - 1
  }

  /** The congestion response of RFC 4341 §5, at most once per window of data. */
  private congestionEvent(seq: number): void {
    if (this.recoveryPoint !== undefined && !Seq.isAfter(seq, this.recoveryPoint)) return
    this.congestionEvents++
    this.cwnd = Math.max(1, Math.floor(this.cwnd / 2))
    this.ssthresh = Math.max(this.cwnd, 2)
    this.packetsAcked = 0
    this.recoveryPoint = this.lastSentSeq
    this.constrainAckRatio()
  }

  /** §6.1.2: 1 ≤ R ≤ ⌈cwnd/2⌉. */
  private constrainAckRatio(): void {
    const max = Math.max(1, Math.ceil(this.cwnd / 2))
    const r = Math.min(Math.max(this.ackRatio, 1), max, 0xffff)
    if (r !== this.ackRatio) this.setAckRatio(r)
  }

  /** Records the wanted R and asks the engine to propose it (an NN Change L). */
  private setAckRatio(r: number): void {
    this.ackRatio = r
    if (r !== this.requestedAckRatio) {
      this.requestedAckRatio = r
      this.requests.push({ feature: Feature.AckRatio, value: r })
    }
  }

  /** Lost acknowledgements: holes in the peer's sequence numbers (§6.1.1). */
  private trackPeerSequence(now: number, feedback: Feedback): void {
    const seq = feedback.seq
    if (this.peerHighest === undefined) {
      this.peerHighest = seq
      return
    }
    const ahead = Seq.delta(this.peerHighest, seq)
    if (ahead > 0) {
      for (const hole of this.holes) hole.laterArrivals++
      const gap = Math.min(ahead - 1, 64)
      for (let k = gap; k >= 1; k--) {
        // With NDP Count the peer tells how many non-data packets precede this
        // one (RFC 4340 §7.7); without it, a hole before a non-data packet is
        // taken to be an acknowledgement.
        const nonData = feedback.ndpCount !== undefined ? feedback.ndpCount >= k : !feedback.carriesData
        this.holes.push({ seq: Seq.add(seq, -k), laterArrivals: 1, nonData })
      }
      this.peerHighest = seq
    } else if (ahead < 0) {
      for (let i = this.holes.length - 1; i >= 0; i--) {
        const hole = this.holes[i]!
        if (hole.seq === seq) this.holes.splice(i, 1)
        else if (Seq.isBefore(hole.seq, seq)) hole.laterArrivals++
      }
    }
    let lostAcks = 0
    for (let i = this.holes.length - 1; i >= 0; i--) {
      const hole = this.holes[i]!
      if (hole.laterArrivals >= this.config.numDupAck) {
        if (hole.nonData) lostAcks++
        this.holes.splice(i, 1)
      }
    }
    if (this.holes.length > 64) this.holes.splice(0, this.holes.length - 64)
    if (lostAcks > 0) {
      this.lostAcks += lostAcks
      this.windowAcked = 0
      this.windowsWithoutAckLoss = 0
      // §6.1.2: double R on lost or marked acknowledgements, once per RTT.
      const rtt = this.srtt ?? this.rto
      if (now - this.lastAckRatioIncrease >= rtt) {
        this.lastAckRatioIncrease = now
        this.setAckRatio(Math.min(this.ackRatio * 2, Math.max(1, Math.ceil(this.cwnd / 2)), 0xffff))
      }
    }
  }

  onFeedback(now: number, feedback: Feedback): void {
    this.trackPeerSequence(now, feedback)
    const ack = feedback.ack
    if (ack === undefined) return
    if (feedback.slowReceiver) this.slowReceiverUntil = now + (this.srtt ?? this.rto)
    if (feedback.dataDropped !== undefined) {
      // RFC 4340 §11.7.2: drops at the receiver are not network congestion,
      // except that a receive-buffer drop (state 2) calls for slowing down;
      // this engine answers it like a congestion event.
      for (const run of decodeDataDropped(ack, feedback.dataDropped)) {
        if (run.dropState === DropState.ReceiveBuffer) this.congestionEvent(run.high)
      }
    }
    if (this.sent.length === this.sentStart) return

    this.newlyAcked = 0
    this.marked = false
    const cells = feedback.ackVector
    if (cells !== undefined && cells.length > 0) {
      // Ack Vector runs, newest first from the Acknowledgement Number (§11.4).
      let high = ack
      for (let i = 0; i < cells.length; i++) {
        const state = cells[i]! >>> 6
        const length = (cells[i]! & 0x3f) + 1
        if (state === AckState.Received || state === AckState.ReceivedMarked) this.markRange(high, length, state)
        high = Seq.add(high, -length)
      }
    } else {
      this.markRange(ack, 1, AckState.Received)
    }
    const newlyAcked = this.newlyAcked
    const marked = this.marked

    // RTT from the packet the Acknowledgement Number names, minus the
    // receiver's reported delay (RFC 4340 §13.2).
    const named = this.find(ack)
    if (named >= 0) {
      const r = this.sent[named]!
      if (r.acked && !r.lost && newlyAcked + (marked ? 1 : 0) > 0) this.sampleRtt(now - r.sentAt - (feedback.elapsedMs ?? 0))
    }

    if (newlyAcked > 0) this.grow(now, newlyAcked)
    this.detectLosses()
    this.trim()

    if (this.pipe === 0) this.rtoDeadline = undefined
    else if (newlyAcked > 0 || marked) this.rtoDeadline = now + this.rto
  }

  /** Marks the outstanding packets `high − length + 1 … high` acknowledged in `state`. */
  private markRange(high: number, length: number, state: number): void {
    const low = Seq.add(high, -(length - 1))
    let i = this.find(low)
    if (i < 0) i = -i - 1
    for (; i < this.sent.length; i++) {
      const r = this.sent[i]!
      if (Seq.isAfter(r.seq, high)) break
      if (r.acked || r.lost) continue
      r.acked = true
      this.pipe--
      if (state === AckState.ReceivedMarked) {
        this.marked = true
        this.congestionEvent(r.seq)
      } else {
        this.newlyAcked++
      }
    }
  }

  private grow(now: number, newlyAcked: number): void {
    // §6.1.2: count whole windows of data acknowledged without a lost Ack,
    // each window being the cwnd in force while it was acknowledged.
    this.windowAcked += newlyAcked
    while (this.windowAcked >= this.cwnd) {
      this.windowAcked -= this.cwnd
      this.windowsWithoutAckLoss++
    }
    const r = this.ackRatio
    if (r > 1 && this.windowsWithoutAckLoss >= this.cwnd / (r * r - r)) {
      this.windowsWithoutAckLoss = 0
      this.setAckRatio(r - 1)
    }
    if (now >= this.slowReceiverUntil) {
      if (this.cwnd < this.ssthresh) {
        // Slow start, at most ⌈R/2⌉ packets per acknowledgement (RFC 4341 §5;
        // rounding up as Linux does keeps R = 1 growing).
        const maxIncrease = Math.ceil(Math.max(1, this.context.localAckRatio()) / 2)
        this.cwnd += Math.min(newlyAcked, maxIncrease)
      } else {
        this.packetsAcked += newlyAcked
        while (this.packetsAcked >= this.cwnd) {
          this.packetsAcked -= this.cwnd
          this.cwnd++
        }
      }
    }
    const window = this.context.localSequenceWindow()
    if (this.cwnd >= window) this.cwnd = Math.max(1, window - 1)
    if (this.cwnd * 5 >= window && window * 2 > this.requestedSequenceWindow) {
      const next = Math.min(window * 2, 2 ** 46 - 1)
      this.requestedSequenceWindow = next
      this.requests.push({ feature: Feature.SequenceWindow, value: next })
    }
    this.constrainAckRatio()
  }

  /** NUMDUPACK: an outstanding packet with ≥ 3 later acknowledged ones is lost. */
  private detectLosses(): void {
    let laterAcked = 0
    for (let i = this.sent.length - 1; i >= this.sentStart; i--) {
      const r = this.sent[i]!
      if (r.acked) {
        laterAcked++
      } else if (!r.lost && laterAcked >= this.config.numDupAck) {
        r.lost = true
        this.pipe--
        this.lostPackets++
        this.congestionEvent(r.seq)
      }
    }
  }

  private trim(): void {
    while (this.sentStart < this.sent.length) {
      const r = this.sent[this.sentStart]!
      if (!r.acked && !r.lost) break
      this.sentStart++
    }
    if (this.sentStart > 1024 && this.sentStart * 2 > this.sent.length) {
      this.sent.splice(0, this.sentStart)
      this.sentStart = 0
    }
  }

  nextTimeout(): number | undefined {
    return this.rtoDeadline
  }

  onTimeout(now: number): void {
    if (this.rtoDeadline === undefined || now < this.rtoDeadline) return
    this.rtoDeadline = undefined
    if (this.pipe === 0) return
    // RFC 4341 §5: on a timeout, ssthresh = cwnd/2, cwnd = 1, and everything
    // outstanding is written off; the timer backs off.
    this.timeouts++
    this.ssthresh = Math.max(Math.floor(this.cwnd / 2), 2)
    this.cwnd = 1
    for (let i = this.sentStart; i < this.sent.length; i++) {
      const r = this.sent[i]!
      if (!r.acked && !r.lost) r.lost = true
    }
    this.pipe = 0
    this.packetsAcked = 0
    this.recoveryPoint = this.lastSentSeq
    this.rto = Math.min(this.rto * 2, this.config.maxRtoMs)
    this.trim()
    this.setAckRatio(1)
  }

  ccval(): number {
    return 0
  }

  takeFeatureRequests(): Array<FeatureRequest> {
    const out = this.requests
    this.requests = []
    return out
  }

  handleOption(): OptionVerdict {
    // CCID 2 defines no options (RFC 4341 §7).
    return "unknown"
  }

  writeOptions(): void {}

  info(): Readonly<Record<string, number>> {
    return {
      cwnd: this.cwnd,
      ssthresh: this.ssthresh,
      pipe: this.pipe,
      rtoMs: this.rto,
      srttMs: this.srtt ?? Number.NaN,
      ackRatio: this.ackRatio,
      congestionEvents: this.congestionEvents,
      timeouts: this.timeouts,
      lostPackets: this.lostPackets,
      lostAcks: this.lostAcks
    }
  }
}

/**
 * The CCID 2 HC-receiver: acknowledge every Ack Ratio data packets
 * (RFC 4341 §6.1, RFC 4340 §11.3), immediately when something arrives out of
 * order, and otherwise after `delayedAckMs`. Packets without data are never
 * acknowledged on their own account (RFC 4340 §11.1: no acks of pure acks).
 *
 * @since 0.1.0
 * @category congestion control
 */
export class Ccid2Receiver implements CcidReceiver {
  readonly id = 2
  private readonly context: CcidContext
  private readonly config: Ccid2Config
  private dataSinceAck = 0
  /** The decision returned for a delayed acknowledgement, reused (read at once by the engine). */
  private readonly by: { kind: "by"; at: number } = { kind: "by", at: 0 }

  constructor(context: CcidContext, config: Ccid2Config = defaultCcid2Config) {
    this.context = context
    this.config = config
  }

  onPacketReceived(now: number, packet: ReceivedPacket): AckDecision {
    if (!packet.carriesData) return ACK_NONE
    this.dataSinceAck++
    const ratio = Math.max(1, this.context.remoteAckRatio())
    if (packet.outOfOrder || this.dataSinceAck >= ratio) return ACK_NOW
    this.by.at = now + this.config.delayedAckMs
    return this.by
  }

  onAckSent(): void {
    this.dataSinceAck = 0
  }

  handleOption(): OptionVerdict {
    return "unknown"
  }

  writeOptions(): void {}

  /** Delays under 1 ms are not worth an option on every acknowledgement. */
  readonly elapsedTimeFrom = 100

  info(): Readonly<Record<string, number>> {
    return { ackRatio: Math.max(1, this.context.remoteAckRatio()) }
  }
}

/**
 * The CCID 2 factory, with its feature dependencies: Send Ack Vector = 1 at
 * the HC-receiver (RFC 4341 §4; Linux `ccid2_dependencies`, Mandatory).
 *
 * @since 0.1.0
 * @category constructors
 */
export const ccid2 = (config: Ccid2Config = defaultCcid2Config): CcidFactory => ({
  id: 2,
  name: "TCP-like",
  sender: (context) => new Ccid2Sender(context, config),
  receiver: (context) => new Ccid2Receiver(context, config),
  // Our TX CCID is 2: the peer (HC-receiver) must send Ack Vectors.
  senderDependencies: [{ feature: Feature.SendAckVector, end: "remote", value: 1, mandatory: true }],
  // The peer's TX CCID is 2: we (HC-receiver) send Ack Vectors.
  receiverDependencies: [{ feature: Feature.SendAckVector, end: "local", value: 1, mandatory: true }]
})
