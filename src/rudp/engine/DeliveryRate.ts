/**
 * Delivery-rate sampling after the IETF draft "Delivery Rate Estimation"
 * (draft-cheng-iccrg-delivery-rate-estimation): each in-flight packet records,
 * when it is sent, how many bytes had been delivered and when; when it is
 * acknowledged, the bytes delivered since then over the longer of the send and
 * acknowledgement intervals is the rate the path delivered. A sample taken
 * while the sender had nothing to send is marked app-limited.
 *
 * @since 0.2.0
 */
import type { SentPacket } from "./Recovery.ts"

/**
 * The connection's delivery counters and the sample of the acknowledgement
 * being processed.
 *
 * @since 0.2.0
 * @category models
 */
export class DeliveryRate {
  /** Bytes of in-flight packets acknowledged over the connection's life. */
  delivered = 0
  deliveredTime = 0
  firstSentTime = 0
  /** While non-zero, samples are app-limited until `delivered` passes it. */
  appLimitedUntil = 0

  // --- the sample of the current acknowledgement ---
  #priorDelivered = -1
  #priorTime = 0
  #sendElapsed = 0
  #appLimited = false
  #newestSentAt = 0

  /** Stamps a packet that goes into flight; `inFlight` is before it. */
  onSent(p: SentPacket, now: number, inFlight: number): void {
    if (inFlight === 0) {
      this.firstSentTime = now
      this.deliveredTime = now
    }
    p.delivered = this.delivered
    p.deliveredTime = this.deliveredTime
    p.firstSentTime = this.firstSentTime
    p.appLimited = this.appLimitedUntil > 0
  }

  /** Starts the sample of one acknowledgement. */
  begin(): void {
    this.#priorDelivered = -1
    this.#appLimited = false
  }

  /** One in-flight packet acknowledged. */
  onAcked(p: SentPacket, now: number): void {
    this.delivered += p.size
    this.deliveredTime = now
    if (p.delivered > this.#priorDelivered || (p.delivered === this.#priorDelivered && p.time > this.#newestSentAt)) {
      this.#priorDelivered = p.delivered
      this.#priorTime = p.deliveredTime
      this.#sendElapsed = p.time - p.firstSentTime
      this.#appLimited = p.appLimited
      this.#newestSentAt = p.time
      this.firstSentTime = p.time
    }
  }

  /** `delivered` when the newest acknowledged packet was sent (−1: none). */
  get priorDelivered(): number {
    return this.#priorDelivered
  }

  get appLimited(): boolean {
    return this.#appLimited
  }

  /** Ends the sample: the rate in bytes/ms (0 when there is none, or the interval is under `minRtt`). */
  end(now: number, minRtt: number): number {
    if (this.appLimitedUntil > 0 && this.delivered > this.appLimitedUntil) this.appLimitedUntil = 0
    if (this.#priorDelivered < 0) return 0
    const interval = Math.max(this.#sendElapsed, now - this.#priorTime)
    // The draft drops samples over intervals shorter than the minimum RTT (ack compression).
    if (interval <= 0 || (Number.isFinite(minRtt) && interval < minRtt)) return 0
    return (this.delivered - this.#priorDelivered) / interval
  }

  /** The sender ran out of data with the pipe not full: the next samples are app-limited. */
  markAppLimited(inFlight: number): void {
    this.appLimitedUntil = Math.max(1, this.delivered + inFlight)
  }
}
