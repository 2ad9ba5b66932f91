/**
 * The timers of many engines in one structure: a binary min-heap of items
 * keyed by each one's next deadline. An item is in it at most once; `set`
 * moves it (earlier or later) in O(log n) through the index it keeps, so an
 * engine re-armed after every datagram leaves no stale entries behind.
 *
 * @internal
 */

/** @internal */
export interface HeapItem {
  /** The item's place in the heap, -1 when it is not in it (owned by the heap). */
  heapIndex: number
  /** Its deadline while it is in the heap (owned by the heap). */
  deadline: number
}

/** @internal */
export class DeadlineHeap<T extends HeapItem> {
  readonly #items: Array<T> = []

  get size(): number {
    return this.#items.length
  }

  /** The earliest deadline, `undefined` when empty. */
  next(): number | undefined {
    return this.#items.length === 0 ? undefined : this.#items[0]!.deadline
  }

  /** Puts `item` at `deadline`, or takes it out for `undefined`. */
  set(item: T, deadline: number | undefined): void {
    if (deadline === undefined) return this.remove(item)
    const i = item.heapIndex
    if (i < 0) {
      item.deadline = deadline
      item.heapIndex = this.#items.length
      this.#items.push(item)
      this.#up(item.heapIndex)
      return
    }
    if (deadline === item.deadline) return
    const earlier = deadline < item.deadline
    item.deadline = deadline
    if (earlier) this.#up(i)
    else this.#down(i)
  }

  remove(item: T): void {
    const i = item.heapIndex
    if (i < 0) return
    item.heapIndex = -1
    const last = this.#items.pop()!
    if (last === item) return
    this.#items[i] = last
    last.heapIndex = i
    this.#down(i)
    this.#up(last.heapIndex)
  }

  /**
   * Appends every item due at `now` (deadline ≤ now) to `out`, leaving them in
   * the heap (the caller re-arms each with `set`, one sift instead of a removal
   * and an insertion). Due items form a subtree at the root: a walk of it.
   */
  collectDue(now: number, out: Array<T>): void {
    const items = this.#items
    if (items.length === 0 || items[0]!.deadline > now) return
    const stack = this.#stack
    stack.push(0)
    while (stack.length > 0) {
      const i = stack.pop()!
      const item = items[i]
      if (item === undefined || item.deadline > now) continue
      out.push(item)
      stack.push(2 * i + 1, 2 * i + 2)
    }
  }

  readonly #stack: Array<number> = []

  /** Takes out and returns the earliest item due at `now` (deadline ≤ now), or `undefined`. */
  popDue(now: number): T | undefined {
    const top = this.#items[0]
    if (top === undefined || top.deadline > now) return undefined
    this.remove(top)
    return top
  }

  #up(i: number): void {
    const items = this.#items
    const item = items[i]!
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = items[parent]!
      if (p.deadline <= item.deadline) break
      items[i] = p
      p.heapIndex = i
      i = parent
    }
    items[i] = item
    item.heapIndex = i
  }

  #down(i: number): void {
    const items = this.#items
    const n = items.length
    const item = items[i]!
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && items[right]!.deadline < items[left]!.deadline ? right : left
      const c = items[child]!
      if (c.deadline >= item.deadline) break
      items[i] = c
      c.heapIndex = i
      i = child
    }
    items[i] = item
    item.heapIndex = i
  }
}
