/**
 * The congestion control hook and the pacer every sender goes through. The
 * engine asks its controller how many bytes may be in flight (`window`) and
 * when the next packet may leave (`nextSendTime`, from a token-bucket `Pacer`
 * running at the controller's pacing rate), and tells it about every packet
 * sent, every acknowledgement (with a delivery-rate sample, `AckSample`) and
 * every loss (RFC 9002 §7's inputs). Three controllers ship:
 *
 * - `"none"` (`fixedWindow`): a fixed window, paced at 1.25 × window / RTT;
 *   for closed networks and loopback;
 * - `"aimd"` (`NewReno.ts`): NewReno after RFC 9002 §7 — slow start, a
 *   recovery period, halving on loss, persistent congestion;
 * - `"bbr"` (`Bbr.ts`): a delivery-rate controller in the spirit of BBR v1 —
 *   a windowed maximum of the delivery rate and minimum of the RTT set the
 *   pacing rate and the window; random loss is not read as congestion.
 *
 * A controller is per connection: the configuration holds a factory.
 *
 * @since 0.2.0
 */

/**
 * RTT figures a controller may read (milliseconds).
 *
 * @since 0.2.0
 * @category models
 */
export interface RttView {
  readonly smoothed: number
  readonly min: number
  readonly latest: number
  readonly variance: number
  /** RTT samples taken so far (0: the figures are the initial guess). */
  readonly samples: number
}

/**
 * What one acknowledgement did, with a delivery-rate sample (the method of
 * the IETF draft "Delivery Rate Estimation": bytes delivered between the
 * newest acknowledged packet's send and now, over the longer of the send and
 * the acknowledgement intervals).
 *
 * @since 0.2.0
 * @category models
 */
export interface AckSample {
  /** Bytes of in-flight packets newly acknowledged. */
  readonly ackedBytes: number
  readonly rtt: RttView
  /** When the newest packet this acknowledgement covers was sent. */
  readonly largestAckedSentAt: number
  /** The delivery rate in bytes per millisecond, or 0 when there is no sample. */
  readonly deliveryRate: number
  /** The sample was taken while the sender had nothing to send (a low rate says nothing about the path). */
  readonly appLimited: boolean
  /** Bytes delivered over the connection's life, and when the newest acknowledged packet was sent. */
  readonly delivered: number
  readonly priorDelivered: number
  /** Bytes in flight after the acknowledgement. */
  readonly bytesInFlight: number
}

/**
 * A congestion controller.
 *
 * @since 0.2.0
 * @category models
 */
export interface CongestionController {
  readonly name: string
  /** Bytes that may be in flight now. */
  window(): number
  /** The pacing rate in bytes per millisecond. */
  pacingRate(): number
  /**
   * The earliest time the next packet of `bytes` may leave, or `undefined`
   * for at once.
   */
  nextSendTime(now: number, bytes: number): number | undefined
  onPacketSent(now: number, bytes: number, inFlight: number): void
  onAck(now: number, sample: AckSample): void
  /** `persistent`: RFC 9002 §7.6 persistent congestion was detected. */
  onPacketsLost(now: number, bytes: number, lastLostSentAt: number, persistent: boolean): void
  /** Numbers for `stats` (cwnd, pacing rate, …). */
  stats(): Readonly<Record<string, number>>
  /**
   * Path MTU discovery changed the datagram size in use: windows and bursts
   * counted in datagrams follow it. Optional for a factory of one's own (it
   * then keeps the size it was made with).
   */
  setMtu?(mtu: number): void
}

/**
 * Makes the controller of one connection; `mtu` is the datagram size in use,
 * `initialRtt` the RTT assumed before the first sample (ms).
 *
 * @since 0.2.0
 * @category models
 */
export type CongestionFactory = (mtu: number, initialRtt: number) => CongestionController

/**
 * How long a burst the pacer allows, in milliseconds of its rate: a timer
 * wakes the sender at best once a millisecond (later on a loaded machine), so
 * the bucket holds two milliseconds' worth, and at least
 * `PACING_MIN_BURST` datagrams (quinn's bounds).
 *
 * @since 0.2.0
 * @category constants
 */
export const PACING_BURST_MS = 2

/**
 * The smallest burst, in datagrams: a sender woken late by its timer still
 * sends at its rate, never more than ten datagrams at once.
 *
 * @since 0.2.0
 * @category constants
 */
export const PACING_MIN_BURST = 10

/**
 * A token bucket at a rate in bytes per millisecond. It starts full with
 * `initialBurst` bytes (RFC 9002 §7.7 lets the initial window leave at once);
 * afterwards it holds at most `PACING_BURST_MS` of the rate (at least
 * `PACING_MIN_BURST` datagrams).
 *
 * @since 0.2.0
 * @category models
 */
export class Pacer {
  #tokens: number
  #last = Number.NaN
  #rate = 0
  #capacity: number
  #mtu: number

  constructor(mtu: number, initialBurst: number) {
    this.#mtu = mtu
    this.#tokens = initialBurst
    this.#capacity = initialBurst
  }

  /** Sets the rate (bytes/ms); the bucket's size follows it. */
  setRate(rate: number): void {
    this.#rate = rate
    this.#capacity = Math.max(PACING_MIN_BURST * this.#mtu, rate * PACING_BURST_MS)
  }

  get rate(): number {
    return this.#rate
  }

  /** The datagram size changed: the smallest burst follows it. */
  setMtu(mtu: number): void {
    this.#mtu = mtu
    this.setRate(this.#rate)
  }

  /** The largest burst the bucket allows now. */
  get burst(): number {
    return this.#capacity
  }

  #refill(now: number): void {
    if (this.#last === this.#last && now > this.#last && this.#tokens < this.#capacity) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#last) * this.#rate)
    }
    this.#last = now
  }

  nextSendTime(now: number, bytes: number): number | undefined {
    this.#refill(now)
    if (this.#tokens >= bytes || this.#rate <= 0) return undefined
    return now + (bytes - this.#tokens) / this.#rate
  }

  onSent(now: number, bytes: number): void {
    this.#refill(now)
    this.#tokens -= bytes
    // A packet let through by a caller that ignored the pacer (a probe) does not borrow forever.
    if (this.#tokens < -this.#capacity) this.#tokens = -this.#capacity
  }
}

/**
 * RFC 9002's initial window: ten datagrams, at least 14,720 bytes' worth
 * counted in datagrams of `mtu` (§7.2).
 *
 * @since 0.2.0
 * @category utils
 */
export const initialWindow = (mtu: number): number => Math.min(10 * mtu, Math.max(14720, 2 * mtu))

/**
 * A fixed window, paced at 1.25 × window per smoothed RTT: sends whenever
 * fewer than `window` bytes are in flight, whatever the losses.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fixedWindow = (window: number): CongestionFactory => (mtu, initialRtt) => {
  const pacer = new Pacer(mtu, Math.min(window, initialWindow(mtu)))
  const update = (srtt: number): void => pacer.setRate((1.25 * window) / Math.max(srtt, 0.05))
  update(initialRtt)
  return {
    name: "none",
    window: () => window,
    pacingRate: () => pacer.rate,
    nextSendTime: (now, bytes) => pacer.nextSendTime(now, bytes),
    onPacketSent: (now, bytes) => pacer.onSent(now, bytes),
    onAck: (_now, sample) => update(sample.rtt.smoothed),
    onPacketsLost: () => {},
    stats: () => ({ cwnd: window, pacingRate: pacer.rate, pacingBurst: pacer.burst }),
    setMtu: (mtu) => pacer.setMtu(mtu)
  }
}
