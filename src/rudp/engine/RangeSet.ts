/**
 * A set of non-negative integers kept as sorted, disjoint, inclusive ranges —
 * received packet numbers (for duplicate detection and ACK frames) and the
 * byte ranges of a message being reassembled from fragments.
 *
 * The number of ranges is bounded (`maxRanges`): when an insertion would
 * exceed it, the lowest range is forgotten and `floor` rises above it; every
 * number below `floor` then counts as present ("too old": for packet numbers,
 * a duplicate). Anything that grows with remote input has a bound.
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 * @category models
 */
export class RangeSet {
  /** Range starts, ascending. */
  readonly lo: Array<number> = []
  /** Range ends (inclusive), parallel to `lo`. */
  readonly hi: Array<number> = []
  /** Numbers below this count as present (forgotten). */
  floor = 0
  readonly maxRanges: number

  constructor(maxRanges = 64, floor = 0) {
    this.maxRanges = Math.max(1, maxRanges)
    this.floor = floor
  }

  get size(): number {
    return this.lo.length
  }

  /** The largest member, or −1 when empty. */
  max(): number {
    const n = this.hi.length
    return n === 0 ? -1 : this.hi[n - 1]!
  }

  /** The smallest remembered member, or −1 when empty. */
  min(): number {
    return this.lo.length === 0 ? -1 : this.lo[0]!
  }

  /** Whether `v` is present (or below the floor). */
  has(v: number): boolean {
    if (v < this.floor) return true
    const i = this.#find(v)
    return i >= 0 && v <= this.hi[i]!
  }

  /** Index of the last range whose start is ≤ v, or −1. */
  #find(v: number): number {
    const lo = this.lo
    let a = 0, b = lo.length - 1, r = -1
    // Fast path: most insertions extend the last range.
    if (b >= 0 && lo[b]! <= v) return b
    while (a <= b) {
      const m = (a + b) >> 1
      if (lo[m]! <= v) {
        r = m
        a = m + 1
      } else b = m - 1
    }
    return r
  }

  /** Adds `v`; returns `false` when it was already present. */
  add(v: number): boolean {
    return this.addRange(v, v) > 0
  }

  /**
   * Adds `[a, b]`; returns how many of its numbers were new (0: all present).
   */
  addRange(a: number, b: number): number {
    if (b < this.floor) return 0
    if (a < this.floor) a = this.floor
    const lo = this.lo, hi = this.hi
    const i = this.#find(a)
    // Count what is already covered, to report the new numbers.
    let covered = 0
    // Merge with the range at i when it touches [a, b].
    let start = a, end = b
    let first = i
    if (i >= 0 && hi[i]! + 1 >= a) {
      start = lo[i]!
    } else first = i + 1
    let last = first - 1
    for (let j = first; j < lo.length && lo[j]! <= b + 1; j++) {
      last = j
      const ca = Math.max(lo[j]!, a), cb = Math.min(hi[j]!, b)
      if (cb >= ca) covered += cb - ca + 1
      if (hi[j]! > end) end = hi[j]!
      if (lo[j]! < start) start = lo[j]!
    }
    const added = b - a + 1 - covered
    if (added === 0) return 0
    const removeCount = last - first + 1
    if (removeCount <= 0) {
      lo.splice(first, 0, start)
      hi.splice(first, 0, end)
    } else {
      lo[first] = start
      hi[first] = end
      if (removeCount > 1) {
        lo.splice(first + 1, removeCount - 1)
        hi.splice(first + 1, removeCount - 1)
      }
    }
    while (lo.length > this.maxRanges) {
      this.floor = hi[0]! + 1
      lo.shift()
      hi.shift()
    }
    return added
  }

  /** Forgets everything below `v` (it then counts as present). */
  raiseFloor(v: number): void {
    if (v <= this.floor) return
    this.floor = v
    const lo = this.lo, hi = this.hi
    let k = 0
    while (k < lo.length && hi[k]! < v) k++
    if (k > 0) {
      lo.splice(0, k)
      hi.splice(0, k)
    }
    if (lo.length > 0 && lo[0]! < v) lo[0] = v
  }

  /** The count of numbers in `[a, b]` that are present. */
  coveredIn(a: number, b: number): number {
    let covered = 0
    if (a < this.floor) {
      covered += Math.min(b, this.floor - 1) - a + 1
      a = this.floor
    }
    for (let j = 0; j < this.lo.length; j++) {
      const ca = Math.max(this.lo[j]!, a), cb = Math.min(this.hi[j]!, b)
      if (cb >= ca) covered += cb - ca + 1
    }
    return covered
  }

  clear(floor = 0): void {
    this.lo.length = 0
    this.hi.length = 0
    this.floor = floor
  }
}
