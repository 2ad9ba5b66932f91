/**
 * Views of a buffer's first `n` bytes, each length's made once: a writer that
 * hands out the prefix it filled (options, Ack Vector cells) allocates no view
 * per packet. A view is as valid as the buffer's contents.
 *
 * @since 0.2.0
 */

/**
 * The prefix views of one buffer, by length (lengths in multiples of `unit`
 * keep the table short: options are padded to 4 bytes).
 *
 * @since 0.2.0
 * @category models
 */
export class PrefixViews {
  readonly #buffer: Uint8Array
  readonly #unit: number
  readonly #views: Array<Uint8Array | undefined> = []

  constructor(buffer: Uint8Array, unit = 1) {
    this.#buffer = buffer
    this.#unit = unit
  }

  /** `buffer.subarray(0, n)`, the same object for the same `n` (a multiple of `unit`). */
  of(n: number): Uint8Array {
    const views = this.#views, k = n / this.#unit
    while (views.length <= k) views.push(undefined)
    return views[k] ??= this.#buffer.subarray(0, n)
  }
}
