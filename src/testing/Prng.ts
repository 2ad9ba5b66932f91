/**
 * The seeded pseudo-random generator behind every random choice of the test
 * kit: xoshiro128** (Blackman and Vigna), seeded through splitmix32.
 *
 * Nothing in `effect-mio/testing` calls `Math.random`: a run is a function of
 * its seed and its inputs, so a failing seed replays exactly. Independent
 * streams (one per link, one per purpose) are derived from the run's seed and
 * a label with {@link deriveSeed}, so adding a host or a link never shifts the
 * random choices made on another.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category type IDs
 */
export const TypeId = "~effect-mio/testing/Prng" as const

/**
 * @since 0.1.0
 * @category type IDs
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category guards
 */
export const isPrng = (u: unknown): u is Prng => typeof u === "object" && u !== null && TypeId in u

/**
 * A mutable generator. Each call advances its state.
 *
 * @since 0.1.0
 * @category models
 */
export interface Prng {
  readonly [TypeId]: TypeId
  /** The next 32-bit unsigned integer. */
  readonly next: () => number
  /** The next float in `[0, 1)`, with 32 bits of resolution. */
  readonly float: () => number
  /** The next integer in `[0, n)`; `n` is a positive integer up to 2^32. */
  readonly int: (n: number) => number
  /** The four 32-bit words of the state, to save and restore a position. */
  readonly state: () => readonly [number, number, number, number]
  /** An independent copy at the same position. */
  readonly clone: () => Prng
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k))

class Xoshiro128 implements Prng {
  readonly [TypeId] = TypeId
  s0: number
  s1: number
  s2: number
  s3: number
  constructor(s0: number, s1: number, s2: number, s3: number) {
    // the all-zero state is the one fixed point of xoshiro
    if ((s0 | s1 | s2 | s3) === 0) s0 = 0x9e3779b9
    this.s0 = s0 | 0
    this.s1 = s1 | 0
    this.s2 = s2 | 0
    this.s3 = s3 | 0
  }
  next = (): number => {
    const s1 = this.s1
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9)
    const t = s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result >>> 0
  }
  float = (): number => this.next() / 4294967296
  int = (n: number): number => Math.floor(this.float() * n)
  state = (): readonly [number, number, number, number] => [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0]
  clone = (): Prng => new Xoshiro128(this.s0, this.s1, this.s2, this.s3)
}

const splitmix32 = (x: number): number => {
  let z = (x + 0x9e3779b9) | 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/**
 * Folds a seed (any safe integer, negative included) into 32 bits.
 *
 * @since 0.1.0
 * @category constructors
 */
export const normalizeSeed = (seed: number): number => {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`a seed is a safe integer, not ${seed}`)
  }
  const low = seed >>> 0
  const high = Math.floor(seed / 4294967296) >>> 0
  return high === 0 ? low : (splitmix32(high) ^ low) >>> 0
}

/**
 * A generator whose whole state follows from `seed` (a safe integer).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (seed: number): Prng => {
  const a = splitmix32(normalizeSeed(seed))
  const b = splitmix32(a)
  const c = splitmix32(b)
  const d = splitmix32(c)
  return new Xoshiro128(a, b, c, d)
}

/**
 * A generator resumed from a saved {@link Prng.state}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromState = (state: readonly [number, number, number, number]): Prng =>
  new Xoshiro128(state[0], state[1], state[2], state[3])

/**
 * The seed of an independent stream named `label` within the run `seed`:
 * the same pair always gives the same seed, and different labels give
 * unrelated streams.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deriveSeed = (seed: number, label: string): number => {
  let h = 0x811c9dc5 ^ normalizeSeed(seed)
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return splitmix32(h ^ normalizeSeed(seed))
}
