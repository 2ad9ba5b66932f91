/**
 * Path MTU discovery (DPLPMTUD, RFC 8899, as QUIC does it in RFC 9000 §14.3):
 * which datagram size a connection uses. It starts at the base (the smaller of
 * both ends' configured `mtu`, always safe), probes larger sizes with padded
 * ack-eliciting packets, and raises the size when a probe is acknowledged. A
 * size whose probe is lost `PROBE_LOSSES` times is given up.
 *
 * The search (RFC 8899 §5.3.2 allows a table of common sizes) probes
 * `COMMON_MTU` first (Ethernet's 1,500 less IPv4 and UDP headers), then the
 * upper bound (a loopback, a jumbo-frame LAN). A path that carries the common
 * size but not the bound stays at the common size: every failed size costs
 * three lost probes of its size, and paths between 1,500 and a jumbo frame
 * are rare. A path that does not carry the common size (a tunnel, IPv6) is
 * bisected between the base and it, to within `SEARCH_PRECISION` bytes.
 * Probing is paid for by the traffic: a probe goes once the connection sent
 * `PROBE_COST_RATIO` times its size since the last one, so probes are at most
 * ~3 % of the bytes sent (a quiet connection does not probe).
 *
 * `RAISE_INTERVAL` after a search it searches again. A black hole —
 * `BLACK_HOLE_LOSSES` packets larger than the base lost with none sent after
 * them acknowledged — falls back to the base and searches again after
 * `BLACK_HOLE_COOLDOWN`.
 *
 * The upper bound is the smallest of this end's `maxMtu`, the peer's
 * `maxDatagram` (what it can receive) and what the local route allows (the
 * driver's `setPathLimit`). A plain state object: the engine decides when a
 * probe goes out and tells it what happened to it.
 *
 * @since 0.2.0
 */

/**
 * A size is given up after this many lost probes of it (RFC 8899 MAX_PROBES).
 *
 * @since 0.2.0
 * @category constants
 */
export const PROBE_LOSSES = 3

/**
 * The search stops when the largest size acknowledged is within this many
 * bytes of the smallest given up (quinn stops at 20).
 *
 * @since 0.2.0
 * @category constants
 */
export const SEARCH_PRECISION = 16

/**
 * The size probed first: an Ethernet path's UDP payload over IPv4 (1,500 − 20 − 8).
 *
 * @since 0.2.0
 * @category constants
 */
export const COMMON_MTU = 1472

/**
 * A probe of `n` bytes goes once the connection sent this many times `n` bytes since the last probe.
 *
 * @since 0.2.0
 * @category constants
 */
export const PROBE_COST_RATIO = 32

/**
 * A completed search starts again after this long (RFC 8899 PMTU_RAISE_TIMER, 600 s).
 *
 * @since 0.2.0
 * @category constants
 */
export const RAISE_INTERVAL = 600_000

/**
 * Packets larger than the base, lost with nothing sent after them
 * acknowledged, that mean a black hole.
 *
 * @since 0.2.0
 * @category constants
 */
export const BLACK_HOLE_LOSSES = 3

/**
 * After a black hole, the search starts again this much later (ms).
 *
 * @since 0.2.0
 * @category constants
 */
export const BLACK_HOLE_COOLDOWN = 60_000

/**
 * Where discovery stands: `"off"` (the bound is the base: nothing to find),
 * `"searching"`, or `"done"` (until the next search).
 *
 * @since 0.2.0
 * @category models
 */
export type PathMtuPhase = "off" | "searching" | "done"

/**
 * The discovery state of one connection.
 *
 * @since 0.2.0
 * @category models
 */
export class PathMtu {
  /** The size that is always used safely. */
  base: number
  /** The size in use. */
  current: number
  /** The upper bound (this end's maximum, the peer's, the route's). */
  limit: number
  phase: PathMtuPhase = "off"
  /** When the next search starts (while `done`), or `Infinity`. */
  nextSearchAt = Number.POSITIVE_INFINITY
  /** The size probed (0: no probe waiting or in flight) and whether it is in flight. */
  probeSize = 0
  probeInFlight = false
  /** The search interval: the largest size acknowledged, the smallest size not given up above it. */
  #lower = 0
  #upper = 0
  #losses = 0
  /** Bytes sent since the last probe, times nothing: what pays for the next probe (capped at one probe of the bound). */
  #credit = 0
  /** Black-hole watch: the send time of the newest large packet acknowledged, and large losses after it. */
  #largeAckedAt = Number.NEGATIVE_INFINITY
  #largeLost = 0

  constructor(base: number, limit: number) {
    this.base = base
    this.current = base
    this.limit = Math.max(base, limit)
  }

  /** The base and bound are known (the peer's HELLO): the search starts now, if there is room above the base. */
  start(now: number, base: number, limit: number): void {
    this.base = base
    this.current = base
    this.limit = Math.max(base, limit)
    this.#search(now)
  }

  /** The route allows at most `limit` bytes: the bound comes down (never below the base); a size in use above it goes. */
  setLimit(now: number, limit: number): boolean {
    const bound = Math.max(this.base, Math.min(this.limit, limit))
    if (bound === this.limit) return false
    this.limit = bound
    const changed = this.current > bound
    if (changed) this.current = bound
    if (this.probeSize > bound) {
      this.probeSize = 0
      this.probeInFlight = false
    }
    if (this.phase !== "off") this.#search(now)
    return changed
  }

  /** A completed search whose time has come starts again. */
  tick(now: number): void {
    if (this.phase === "done" && now >= this.nextSearchAt) this.#search(now)
  }

  /** The size of the probe to send now, or 0 (none due, one in flight, or not paid for yet). */
  probeDue(now: number): number {
    this.tick(now)
    if (this.phase !== "searching" || this.probeInFlight) return 0
    return this.#credit >= PROBE_COST_RATIO * this.probeSize ? this.probeSize : 0
  }

  /** A (non-probe) datagram of `bytes` went out: it pays toward the next probe. */
  onSent(bytes: number): void {
    const cap = PROBE_COST_RATIO * this.limit
    this.#credit = Math.min(cap, this.#credit + bytes)
  }

  onProbeSent(size: number): void {
    this.probeInFlight = true
    this.#credit = Math.max(0, this.#credit - PROBE_COST_RATIO * size)
  }

  /** A probe of `size` was acknowledged: the size in use rises to it. Returns whether it rose. */
  onProbeAcked(now: number, size: number): boolean {
    this.probeInFlight = false
    if (this.phase !== "searching" || size !== this.probeSize) return false
    this.#losses = 0
    this.#lower = size
    const rose = size > this.current
    if (rose) this.current = size
    this.#next(now)
    return rose
  }

  /** A probe of `size` was lost: after `PROBE_LOSSES` the size is given up. */
  onProbeLost(now: number, size: number): void {
    this.probeInFlight = false
    if (this.phase !== "searching" || size !== this.probeSize) return
    if (++this.#losses < PROBE_LOSSES) return
    this.#losses = 0
    this.#upper = size - 1
    this.#next(now)
  }

  /** A packet larger than the base, sent at `sentAt`, was acknowledged. */
  onLargeAcked(sentAt: number): void {
    if (sentAt > this.#largeAckedAt) {
      this.#largeAckedAt = sentAt
      this.#largeLost = 0
    }
  }

  /**
   * A (non-probe) packet larger than the base, sent at `sentAt`, was lost.
   * Returns whether that makes a black hole: the size in use falls back to the base.
   */
  onLargeLost(now: number, sentAt: number): boolean {
    if (sentAt <= this.#largeAckedAt || this.current === this.base) return false
    if (++this.#largeLost < BLACK_HOLE_LOSSES) return false
    this.current = this.base
    this.#largeLost = 0
    this.#largeAckedAt = now
    this.probeSize = 0
    this.probeInFlight = false
    this.phase = "done"
    this.nextSearchAt = now + BLACK_HOLE_COOLDOWN
    return true
  }

  /** Starts a search from the size in use toward the bound. */
  #search(now: number): void {
    this.#lower = this.current
    this.#upper = this.limit
    this.#losses = 0
    if (this.#upper - this.#lower < SEARCH_PRECISION) {
      this.phase = this.limit > this.base ? "done" : "off"
      this.probeSize = 0
      this.nextSearchAt = this.phase === "done" ? now + RAISE_INTERVAL : Number.POSITIVE_INFINITY
      return
    }
    this.phase = "searching"
    this.#next(now)
  }

  /**
   * The next size: the common size while it lies inside the interval, then the bound; below the common
   * size the middle of the interval. The search ends within `SEARCH_PRECISION`, or when the bound was
   * given up above the common size.
   */
  #next(now: number): void {
    const lower = this.#lower, upper = this.#upper
    if (upper - lower < SEARCH_PRECISION || (lower >= COMMON_MTU && upper < this.limit)) {
      this.phase = "done"
      this.probeSize = 0
      this.nextSearchAt = now + RAISE_INTERVAL
      return
    }
    if (lower < COMMON_MTU && COMMON_MTU < upper) this.probeSize = COMMON_MTU
    else if (upper === this.limit) this.probeSize = upper
    else this.probeSize = (lower + upper + 1) >>> 1
  }
}
