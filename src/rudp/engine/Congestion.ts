/**
 * The congestion control hook. The engine asks its controller how many bytes
 * may be in flight and when the next packet may leave, and tells it about
 * every packet sent, acknowledged and lost (RFC 9002 §7's inputs). Part 1 of
 * reliable UDP ships the fixed window only (`"none"`: for closed networks and
 * for loopback); part 2 plugs NewReno (`"aimd"`) and a delivery-rate
 * controller into the same interface.
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
  /**
   * The earliest time the next packet of `bytes` may leave (pacing), or
   * `undefined` for at once.
   */
  nextSendTime(now: number, bytes: number): number | undefined
  onPacketSent(now: number, bytes: number, inFlight: number): void
  onPacketsAcked(now: number, bytes: number, rtt: RttView): void
  /** `persistent`: RFC 9002 §7.6 persistent congestion was detected. */
  onPacketsLost(now: number, bytes: number, lastLostSentAt: number, persistent: boolean): void
  /** Numbers for `stats` (cwnd, pacing rate, …). */
  stats(): Readonly<Record<string, number>>
}

/**
 * A fixed window and no pacing: sends whenever fewer than `window` bytes are
 * in flight, whatever the losses.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fixedWindow = (window: number): CongestionController => ({
  name: "none",
  window: () => window,
  nextSendTime: () => undefined,
  onPacketSent: () => {},
  onPacketsAcked: () => {},
  onPacketsLost: () => {},
  stats: () => ({ cwnd: window })
})
