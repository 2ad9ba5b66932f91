/**
 * A growable ring buffer: O(1) push and shift at either end, no allocation
 * once it has grown to its working size.
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 * @category models
 */
export class Deque<A> {
  #items: Array<A | undefined>
  #head = 0
  #size = 0

  constructor(capacity = 16) {
    this.#items = new Array(Math.max(4, capacity))
  }

  get length(): number {
    return this.#size
  }

  push(a: A): void {
    if (this.#size === this.#items.length) this.#grow()
    this.#items[(this.#head + this.#size) % this.#items.length] = a
    this.#size++
  }

  unshift(a: A): void {
    if (this.#size === this.#items.length) this.#grow()
    this.#head = (this.#head - 1 + this.#items.length) % this.#items.length
    this.#items[this.#head] = a
    this.#size++
  }

  shift(): A | undefined {
    if (this.#size === 0) return undefined
    const a = this.#items[this.#head]
    this.#items[this.#head] = undefined
    this.#head = (this.#head + 1) % this.#items.length
    this.#size--
    return a
  }

  peek(): A | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head]
  }

  /** The i-th item from the front. */
  at(i: number): A | undefined {
    return i < 0 || i >= this.#size ? undefined : this.#items[(this.#head + i) % this.#items.length]
  }

  clear(): void {
    this.#items.fill(undefined)
    this.#head = 0
    this.#size = 0
  }

  #grow(): void {
    const old = this.#items
    const next = new Array<A | undefined>(old.length * 2)
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) % old.length]
    this.#items = next
    this.#head = 0
  }
}
