/**
 * A binary min-heap of timed actions ordered by (time, insertion order): two
 * actions due at the same time run in the order they were scheduled, which
 * is what makes a simulated run a function of its inputs.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */

/** @internal */
export interface Entry {
  readonly at: number
  readonly seq: number
  readonly action: () => void
  cancelled: boolean
}

const before = (a: Entry, b: Entry): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/** @internal */
export class EventQueue {
  private heap: Array<Entry> = []
  private seq = 0

  get size(): number {
    return this.heap.length
  }

  push(at: number, action: () => void): Entry {
    const entry: Entry = { at, seq: this.seq++, action, cancelled: false }
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(entry, heap[parent]!)) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = entry
    return entry
  }

  /** The earliest entry that is not cancelled, dropping cancelled ones on the way. */
  peek(): Entry | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop()
    return this.heap[0]
  }

  pop(): Entry | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    let i = 0
    const n = heap.length
    while (true) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left
      if (!before(heap[child]!, last)) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = last
    return top
  }
}
