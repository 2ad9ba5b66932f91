/**
 * When this endpoint acknowledges (RFC 4340 §11): an acknowledgement owed
 * now, one owed by a deadline (the `delayedAck` timer), or none; which of the
 * peer's packets our last acknowledgement covered (acks of acks, RFC 4341
 * §6.2); when the newest packet arrived (Elapsed Time, §13.2); and how many
 * non-data packets we sent since the last data packet (NDP Count, §7.7).
 *
 * @since 0.2.0
 */
import type { Timers } from "../Timers.ts"

/**
 * The acknowledgement schedule of one connection.
 *
 * @since 0.2.0
 * @category models
 */
export class AckSchedule {
  private readonly timers: Timers
  /** An acknowledgement is owed: at once, by the `delayedAck` deadline, or not at all. */
  owed: "none" | "later" | "now" = "none"
  /** GSR when our last acknowledgement went out. */
  lastAckedGsr: number | undefined = undefined
  /** When the packet that moved the receive history's head arrived. */
  headReceivedAt: number | undefined = undefined
  /** Non-data packets sent since our last data packet (§7.7.1). */
  nonDataSinceData = 0

  constructor(timers: Timers) {
    this.timers = timers
  }

  /** An acknowledgement is owed at once. */
  now(): void {
    this.owed = "now"
    this.timers.clear("delayedAck")
  }

  /** An acknowledgement is owed no later than `at` (an earlier deadline wins). */
  by(at: number): void {
    if (this.owed === "now") return
    this.owed = "later"
    this.timers.setEarliest("delayedAck", at)
  }

  /** The `delayedAck` timer fired: the acknowledgement is due now. */
  expire(): void {
    if (this.owed === "later") this.owed = "now"
  }

  /** A packet carrying our acknowledgement of `gsr` went out. */
  acknowledged(gsr: number | undefined): void {
    this.lastAckedGsr = gsr
    this.owed = "none"
    this.timers.clear("delayedAck")
  }

  /** A packet went out; data packets reset the NDP count. */
  sent(isData: boolean): void {
    this.nonDataSinceData = isData ? 0 : this.nonDataSinceData + 1
  }

  /** Whether the peer has packets our acknowledgements have not covered yet. */
  unacknowledged(gsr: number | undefined): boolean {
    return gsr !== undefined && this.lastAckedGsr !== gsr
  }

  /** Nothing is owed any more (the connection is gone). */
  clear(): void {
    this.owed = "none"
  }
}
