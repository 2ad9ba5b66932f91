/**
 * The bytes an endpoint's `write` gathered for the next `sendWritten`, in one
 * buffer grown as needed.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */

/** The bytes written so far (`write`), grown as needed. */
/** @internal */
export class Written {
  buf = new Uint8Array(256)
  length = 0
  append(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + bytes.length))
      next.set(this.buf.subarray(0, this.length))
      this.buf = next
    }
    this.buf.set(bytes, this.length)
    this.length += bytes.length
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }
}
