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

const SLOT: Readonly<Record<TimerName, number>> = {
  timewait: 0,
  retransmit: 1,
  linger: 2,
  ccid: 3,
  pace: 4,
  feature: 5,
  delayedAck: 6
}

/**
 * A table of deadlines, at most one per name: one slot per timer (`NaN` when
 * unset), so setting, clearing and finding the next deadline allocate nothing.
 *
 * @since 0.1.0
 * @category models
 */
export class Timers {
  private readonly at = new Float64Array(TIMER_NAMES.length).fill(Number.NaN)

  /** Sets (or moves) a deadline. */
  set(name: TimerName, at: number): void {
    this.at[SLOT[name]] = at
  }

  /** Sets a deadline unless an earlier one is already set. */
  setEarliest(name: TimerName, at: number): void {
    const slot = SLOT[name]
    const current = this.at[slot]!
    if (Number.isNaN(current) || at < current) this.at[slot] = at
  }

  /** Clears a deadline. */
  clear(name: TimerName): void {
    this.at[SLOT[name]] = Number.NaN
  }

  /** Clears every deadline. */
  clearAll(): void {
    this.at.fill(Number.NaN)
  }

  /** The deadline of one timer. */
  get(name: TimerName): number | undefined {
    const at = this.at[SLOT[name]]!
    return Number.isNaN(at) ? undefined : at
  }

  /** Whether a timer is set. */
  isSet(name: TimerName): boolean {
    return !Number.isNaN(this.at[SLOT[name]]!)
  }

  /** The earliest deadline, or `undefined` when nothing is due. */
  next(): number | undefined {
    let earliest = Infinity
    for (let i = 0; i < this.at.length; i++) {
      const at = this.at[i]!
      if (at < earliest) earliest = at
    }
    return earliest === Infinity ? undefined : earliest
  }

  /** Removes and returns the timers due at `now`, in `TIMER_NAMES` order. */
  expire(now: number): Array<TimerName> {
    const due: Array<TimerName> = []
    for (let i = 0; i < TIMER_NAMES.length; i++) {
      const at = this.at[i]!
      if (at <= now) {
        this.at[i] = Number.NaN
        due.push(TIMER_NAMES[i]!)
      }
    }
    return due
  }
}
