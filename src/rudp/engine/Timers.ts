/**
 * The one timer table of an engine: at most one deadline per name, in
 * milliseconds of the driver's monotonic clock. `next()` is what
 * `pollTimeout()` returns; nothing fires unless a deadline is set.
 *
 * - `ack`: the latest time an owed acknowledgement goes out (max ack delay);
 * - `loss`: RFC 9002 §6.1.2 time-threshold loss detection;
 * - `pto`: RFC 9002 §6.2 probe timeout (also retransmits the handshake);
 * - `idle`: the peer is given up (`PeerTimedOut`) after this much silence;
 * - `heartbeat`: a keep-alive PING when nothing ack-eliciting was sent lately;
 * - `linger`: how long a graceful close may spend delivering what is outstanding;
 * - `close`: the end of the closing or draining period (3 × PTO);
 * - `fragment`: the oldest incomplete None/Order reassembly expires;
 * - `resend`: the scan of the opt-in resend predicate (the crate's policy);
 * - `pace`: a congestion controller's pacing delay (part 2);
 * - `pmtu`: path MTU discovery searches again (after `RAISE_INTERVAL`, or a black hole's cooldown).
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 * @category models
 */
export type TimerName = "ack" | "loss" | "pto" | "idle" | "heartbeat" | "linger" | "close" | "fragment" | "resend" | "pace" | "pmtu"

/**
 * All timers, in the order expired ones are handled.
 *
 * @since 0.2.0
 * @category constants
 */
export const TIMER_NAMES: ReadonlyArray<TimerName> = [
  "close",
  "idle",
  "linger",
  "loss",
  "pto",
  "resend",
  "fragment",
  "heartbeat",
  "pmtu",
  "pace",
  "ack"
]

const INDEX: Readonly<Record<TimerName, number>> = Object.fromEntries(TIMER_NAMES.map((n, i) => [n, i])) as Record<TimerName, number>

/**
 * A table of deadlines (`NaN` = unset), one slot per name.
 *
 * @since 0.2.0
 * @category models
 */
export class Timers {
  readonly #at = new Float64Array(TIMER_NAMES.length).fill(Number.NaN)

  set(name: TimerName, at: number): void {
    this.#at[INDEX[name]] = at
  }

  /** Sets a deadline unless an earlier one is set. */
  setEarliest(name: TimerName, at: number): void {
    const i = INDEX[name]
    const current = this.#at[i]!
    if (!(current <= at)) this.#at[i] = at
  }

  clear(name: TimerName): void {
    this.#at[INDEX[name]] = Number.NaN
  }

  clearAll(): void {
    this.#at.fill(Number.NaN)
  }

  get(name: TimerName): number | undefined {
    const v = this.#at[INDEX[name]]!
    return v === v ? v : undefined
  }

  isSet(name: TimerName): boolean {
    const v = this.#at[INDEX[name]]!
    return v === v
  }

  /** The earliest deadline, or `undefined`. */
  next(): number | undefined {
    let earliest = Number.POSITIVE_INFINITY
    const a = this.#at
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!
      if (v < earliest) earliest = v
    }
    return earliest === Number.POSITIVE_INFINITY ? undefined : earliest
  }

  /** Whether `name` is due at `now`; clears it when it is. */
  take(name: TimerName, now: number): boolean {
    const i = INDEX[name]
    const v = this.#at[i]!
    if (v <= now) {
      this.#at[i] = Number.NaN
      return true
    }
    return false
  }
}
