/**
 * The bytes of a frame that is not complete yet, kept by a splitter between
 * chunks: a buffer that grows by doubling (from 256 bytes) but never past
 * `cap` unless one append needs more.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */

const EMPTY = new Uint8Array(0)

/** @internal */
export class PendingBytes {
  /** The buffer; its first `length` bytes are pending. */
  bytes: Uint8Array = EMPTY
  length = 0
  readonly #cap: number

  constructor(cap: number) {
    this.#cap = cap
  }

  /** Appends `chunk[from, from + n)`. */
  append(chunk: Uint8Array, from: number, n: number): void {
    const need = this.length + n
    if (need > this.bytes.length) {
      const grown = new Uint8Array(Math.max(need, Math.min(this.#cap, Math.max(this.bytes.length * 2, 256))))
      grown.set(this.bytes.subarray(0, this.length))
      this.bytes = grown
    }
    this.bytes.set(n === chunk.length ? chunk : chunk.subarray(from, from + n), this.length)
    this.length = need
  }

  /** Forgets the pending bytes and releases the buffer. */
  clear(): void {
    this.bytes = EMPTY
    this.length = 0
  }
}
