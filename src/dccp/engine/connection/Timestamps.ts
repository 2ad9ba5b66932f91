/**
 * Timestamps (RFC 4340 §13): the Timestamp our Request carries, the peer's
 * Timestamp we owe an echo for, and the round-trip time the handshake gives
 * before any CCID has a sample (a client from the Response's Timestamp Echo,
 * a server from its Response to the handshake Ack).
 *
 * @since 0.2.0
 */
import type { OptionWriter } from "../Options.ts"

/**
 * The 32-bit Timestamp value (units of 10 µs) for `now` in ms (§13.1).
 *
 * @since 0.2.0
 * @category utils
 */
export const timestampOf = (now: number): number => (Math.floor(now * 100) >>> 0) || 1

/**
 * A received Timestamp Echo: the echoed value and the peer's elapsed time,
 * both in 10 µs units (§13.3).
 *
 * @since 0.2.0
 * @category models
 */
export interface TimestampEcho {
  readonly value: number
  readonly elapsed: number | undefined
}

/**
 * The timestamp state of one connection.
 *
 * @since 0.2.0
 * @category models
 */
export class Timestamps {
  /** The Timestamp of our last Request and when it went out. */
  private request: { readonly value: number; readonly sentAt: number } | undefined = undefined
  /** The peer's Timestamp we owe an echo for (§13.3). */
  private echo: { readonly value: number; readonly receivedAt: number } | undefined = undefined
  /** When a server sent its Response. */
  responseSentAt: number | undefined = undefined
  /** A round-trip time measured during the handshake, in ms. */
  handshakeRtt: number | undefined = undefined

  /** Whether an echo is owed (it rides on the next packet that is not Data). */
  get echoOwed(): boolean {
    return this.echo !== undefined
  }

  /** A Timestamp from the peer; Linux ignores a zero one, and so do we (§13.1 leaves it unspecified). */
  received(value: number, now: number): void {
    if (value !== 0) this.echo = { value, receivedAt: now }
  }

  /** Writes our Request's Timestamp. */
  writeRequestTimestamp(w: OptionWriter, now: number): void {
    this.request = { value: timestampOf(now), sentAt: now }
    w.addTimestamp(this.request.value)
  }

  /** Writes the owed echo with the time it waited; it is owed no more once written. */
  writeEcho(w: OptionWriter, now: number): void {
    if (this.echo === undefined) return
    const elapsed = Math.round((now - this.echo.receivedAt) * 100)
    if (w.addTimestampEcho(this.echo.value, elapsed)) this.echo = undefined
  }

  /**
   * A client's handshake RTT from the Response: the echo names which Request
   * it answers (§13.3); without one, a single Request can only be that one.
   */
  responseReceived(now: number, echo: TimestampEcho | undefined, retransmissions: number): void {
    const sent = this.request
    if (echo !== undefined && sent !== undefined) {
      const age = ((timestampOf(now) - echo.value) >>> 0) / 100
      const rtt = age - (echo.elapsed ?? 0) / 100
      if (rtt >= 0 && age < 600_000) this.handshakeRtt = rtt
    } else if (sent !== undefined && retransmissions === 0) {
      this.handshakeRtt = Math.max(0, now - sent.sentAt)
    }
  }

  /** A server's handshake RTT: the first packet after its Response. */
  answered(now: number): void {
    if (this.responseSentAt !== undefined && this.handshakeRtt === undefined) {
      this.handshakeRtt = Math.max(0, now - this.responseSentAt)
    }
  }
}
