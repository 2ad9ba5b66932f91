/**
 * Where the engine copies message bytes: an append-only bump allocator over
 * chunks of 64 KiB. A copy is a view into the current chunk; a full chunk is
 * replaced by a new one, never reused, so a view handed out stays valid for as
 * long as someone holds it, and the garbage collector frees a chunk once no
 * view into it is left. Allocating one small `Uint8Array` costs V8 about as
 * much as copying a few kilobytes (an `ArrayBuffer` each); a view into a chunk
 * costs a tenth of that.
 *
 * A message longer than an eighth of a chunk gets its own buffer. The first
 * chunk is allocated on first use and chunks grow from 4 KiB to 64 KiB, so an
 * idle connection (one of 10,000 on a server) costs little.
 *
 * @since 0.2.0
 */

/**
 * Bytes per chunk.
 *
 * @since 0.2.0
 * @category constants
 */
export const CHUNK = 64 * 1024

const OWN = CHUNK / 8
const FIRST = 4 * 1024
const EMPTY = new Uint8Array(0)

/**
 * @since 0.2.0
 * @category models
 */
export class Arena {
  #chunk = EMPTY
  #pos = 0

  /** A copy of `src[start, start + length)` that nothing will overwrite. */
  copy(src: Uint8Array, start: number, length: number): Uint8Array {
    if (length > OWN) return src.slice(start, start + length)
    if (this.#pos + length > this.#chunk.length) {
      this.#chunk = new Uint8Array(Math.min(CHUNK, Math.max(FIRST, 2 * this.#chunk.length, length)))
      this.#pos = 0
    }
    const at = this.#pos
    this.#chunk.set(length === src.length && start === 0 ? src : src.subarray(start, start + length), at)
    // Keep copies 8-byte aligned, so that a view never straddles a cache line needlessly.
    this.#pos = (at + length + 7) & ~7
    return this.#chunk.subarray(at, at + length)
  }
}
