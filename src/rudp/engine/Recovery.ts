/**
 * Loss recovery after RFC 9002: the RTT estimator (§5), the record of sent
 * packets, acknowledgement processing, packet- and time-threshold loss
 * detection (§6.1) and the probe timeout (§6.2). It knows packets, not what is
 * in them: the connection hands each acknowledged or lost packet back through
 * callbacks.
 *
 * @since 0.2.0
 */
import type { RttView } from "./Congestion.ts"
import type { OutMessage } from "./Outbox.ts"

/**
 * RFC 9002 kPacketThreshold.
 *
 * @since 0.2.0
 * @category constants
 */
export const PACKET_THRESHOLD = 3

/**
 * RFC 9002 kTimeThreshold.
 *
 * @since 0.2.0
 * @category constants
 */
export const TIME_THRESHOLD = 9 / 8

/**
 * RFC 9002 kPersistentCongestionThreshold.
 *
 * @since 0.2.0
 * @category constants
 */
export const PERSISTENT_CONGESTION_THRESHOLD = 3

/**
 * RFC 9002 kGranularity (ms).
 *
 * @since 0.2.0
 * @category constants
 */
export const GRANULARITY = 1

/**
 * Smoothed RTT, variance and minimum (RFC 9002 §5), in milliseconds.
 *
 * @since 0.2.0
 * @category models
 */
export class RttEstimator implements RttView {
  latest: number
  smoothed: number
  variance: number
  min = Number.POSITIVE_INFINITY
  samples = 0

  constructor(initial: number) {
    this.latest = initial
    this.smoothed = initial
    this.variance = initial / 2
  }

  /** One sample; `ackDelay` as the peer reported it, already capped by the caller. */
  update(sample: number, ackDelay: number): void {
    this.latest = sample
    if (sample < this.min) this.min = sample
    if (this.samples++ === 0) {
      this.smoothed = sample
      this.variance = sample / 2
      return
    }
    const adjusted = sample >= this.min + ackDelay ? sample - ackDelay : sample
    this.variance = 0.75 * this.variance + 0.25 * Math.abs(this.smoothed - adjusted)
    this.smoothed = 0.875 * this.smoothed + 0.125 * adjusted
  }

  /** The probe timeout before backoff (§6.2.1). */
  pto(maxAckDelay: number): number {
    return this.smoothed + Math.max(4 * this.variance, GRANULARITY) + maxAckDelay
  }

  /** The time threshold of loss detection (§6.1.2). */
  lossDelay(): number {
    return Math.max(TIME_THRESHOLD * Math.max(this.latest, this.smoothed), GRANULARITY)
  }
}

/**
 * What one sent packet carried, for acknowledgement and loss.
 *
 * @since 0.2.0
 * @category models
 */
export class SentPacket {
  pn = 0
  time = 0
  size = 0
  ackEliciting = false
  inFlight = false
  /** Delivery fragments carried (message, fragment index; the first `items`), for retransmission. */
  readonly messages: Array<OutMessage> = []
  readonly fragments: Array<number> = []
  items = 0
  /** None/Order messages (or fragments) carried, for the loss count. */
  lossy = 0
  hello = false
  close = false
  /** A path MTU probe (RFC 9000 §14.4: its loss says nothing about congestion). */
  probe = false
  /** The MAX_DATA value carried, or −1. */
  maxData = -1
  /** The largest packet number an ACK frame in it acknowledged, or −1. */
  ackLargest = -1
  /** Delivery-rate state when it was sent (`DeliveryRate.ts`). */
  delivered = 0
  deliveredTime = 0
  firstSentTime = 0
  appLimited = false

  reset(): this {
    // Entries past `items` are stale references, overwritten by the next use; drop them
    // once in a while so that a record in the pool does not pin old messages.
    if (this.items > 0) this.messages.fill(undefined as unknown as OutMessage, 0, this.items)
    this.items = 0
    this.lossy = 0
    this.hello = false
    this.close = false
    this.probe = false
    this.maxData = -1
    this.ackLargest = -1
    this.ackEliciting = false
    this.inFlight = false
    return this
  }
}

/**
 * Sent packets in packet-number order, acknowledged or lost ones removed.
 *
 * @since 0.2.0
 * @category models
 */
export class SentPackets {
  /** Slot i holds packet `base + i` (or `undefined` once it was acknowledged or lost). */
  readonly slots: Array<SentPacket | undefined> = []
  head = 0
  base = 0
  count = 0
  readonly #pool: Array<SentPacket> = []

  constructor(base: number) {
    this.base = base
  }

  /** A cleared record, from the pool when one is free. */
  make(): SentPacket {
    return (this.#pool.pop() ?? new SentPacket()).reset()
  }

  push(p: SentPacket): void {
    if (this.head === this.slots.length) {
      this.slots.length = 0
      this.head = 0
      this.base = p.pn
    }
    const at = p.pn - this.base
    while (this.slots.length < at) this.slots.push(undefined)
    this.slots.push(p)
    this.count++
  }

  get(pn: number): SentPacket | undefined {
    const i = pn - this.base
    return i >= this.head && i < this.slots.length ? this.slots[i] : undefined
  }

  /** Removes packet `pn` (it was acknowledged or lost); the record goes back to the pool. */
  remove(p: SentPacket): void {
    const i = p.pn - this.base
    if (this.slots[i] !== p) return
    this.slots[i] = undefined
    this.count--
    while (this.head < this.slots.length && this.slots[this.head] === undefined) this.head++
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots.splice(0, this.head)
      this.base += this.head
      this.head = 0
    }
    if (this.#pool.length < 256) this.#pool.push(p)
  }

  /** The lowest packet number still outstanding. */
  firstPn(): number {
    return this.base + this.head
  }

  /** One past the highest slot. */
  endPn(): number {
    return this.base + this.slots.length
  }

  /** The oldest outstanding record, if any. */
  first(): SentPacket | undefined {
    return this.head < this.slots.length ? this.slots[this.head] : undefined
  }
}
