/**
 * The one timer table of a connection: a fixed set of named deadlines in
 * milliseconds of the driver's monotonic clock. `next()` is what `pollTimeout`
 * returns; nothing fires unless a deadline is set (sans-IO rule: "no timer
 * fires when nothing is due").
 *
 * @since 0.1.0
 */

/**
 * The timers a connection uses.
 *
 * - `retransmit`: Request (§8.1.1), PARTOPEN Ack (§8.1.5), CloseReq and Close
 *   (§8.3) retransmission with exponential backoff; also the RESPOND lifetime.
 * - `timewait`: 2 MSL in TIMEWAIT (§8.3).
 * - `delayedAck`: the latest time an owed Ack goes out.
 * - `feature`: resends unconfirmed Changes when no other packet carries them (§6.6.3).
 * - `ccid`: the sender CCID's own deadline (RFC 4341 §5: the retransmission timeout).
 * - `linger`: how long `close()` waits for queued data before sending Close.
 * - `pace`: when a rate-based CCID lets the next queued data packet go.
 *
 * @since 0.1.0
 * @category models
 */
export type TimerName = "retransmit" | "timewait" | "delayedAck" | "feature" | "ccid" | "linger" | "pace"

/**
 * All timer names, in the order ties are resolved.
 *
 * @since 0.1.0
 * @category constants
 */
export const TIMER_NAMES: ReadonlyArray<TimerName> = ["timewait", "retransmit", "linger", "ccid", "pace", "feature", "delayedAck"]

/**
 * A table of deadlines, at most one per name.
 *
 * @since 0.1.0
 * @category models
 */
export class Timers {
  private readonly deadlines = new Map<TimerName, number>()

  /** Sets (or moves) a deadline. */
  set(name: TimerName, at: number): void {
    this.deadlines.set(name, at)
  }

  /** Sets a deadline unless an earlier one is already set. */
  setEarliest(name: TimerName, at: number): void {
    const current = this.deadlines.get(name)
    if (current === undefined || at < current) this.deadlines.set(name, at)
  }

  /** Clears a deadline. */
  clear(name: TimerName): void {
    this.deadlines.delete(name)
  }

  /** Clears every deadline. */
  clearAll(): void {
    this.deadlines.clear()
  }

  /** The deadline of one timer. */
  get(name: TimerName): number | undefined {
    return this.deadlines.get(name)
  }

  /** Whether a timer is set. */
  isSet(name: TimerName): boolean {
    return this.deadlines.has(name)
  }

  /** The earliest deadline, or `undefined` when nothing is due. */
  next(): number | undefined {
    let earliest: number | undefined
    for (const at of this.deadlines.values()) if (earliest === undefined || at < earliest) earliest = at
    return earliest
  }

  /** Removes and returns the timers due at `now`, in `TIMER_NAMES` order. */
  expire(now: number): Array<TimerName> {
    const due: Array<TimerName> = []
    for (const name of TIMER_NAMES) {
      const at = this.deadlines.get(name)
      if (at !== undefined && at <= now) {
        this.deadlines.delete(name)
        due.push(name)
      }
    }
    return due
  }
}
