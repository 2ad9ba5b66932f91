/**
 * The engine's only source of randomness is injected: a function returning
 * uniformly distributed unsigned 32-bit integers. A driver passes a
 * cryptographic source (initial sequence numbers must be unpredictable,
 * RFC 4340 §7.2); tests pass `seededRandom(seed)` so that every run is
 * reproducible.
 *
 * @since 0.1.0
 */

/**
 * Returns a uniformly distributed integer in [0, 2^32).
 *
 * @since 0.1.0
 * @category models
 */
export type RandomSource = () => number

/**
 * A deterministic generator (SplitMix32 over a 32-bit state, then a
 * xorshift-multiply finaliser). Not cryptographic: for tests and simulations.
 *
 * @since 0.1.0
 * @category constructors
 */
export const seededRandom = (seed: number): RandomSource => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/**
 * A random 48-bit initial sequence number (RFC 4340 §7.2).
 *
 * @since 0.1.0
 * @category constructors
 */
export const randomIss = (random: RandomSource): number => (random() & 0xffff) * 0x100000000 + (random() >>> 0)
