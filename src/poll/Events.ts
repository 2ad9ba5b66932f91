/**
 * `Events` is the reusable buffer `Poll.poll` fills (mio's `Events`). It is
 * allocated once with a fixed capacity; each poll overwrites it. Iterating it —
 * with `for…of`, or by index with `length` and `get(i)` — allocates nothing:
 * the `Event` objects are preallocated, one per slot, and the iterator is reused.
 *
 * @since 0.1.0
 */
import * as check from "../internal/check.ts"
import * as epoll from "../sys/epoll.ts"
import { layout } from "../sys/layout.ts"
import { Event } from "./Event.ts"
import type { Token } from "./Token.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Events"

/** The most events one poll can return (`epoll_wait`'s limit is far higher; this bounds the buffer). */
const MAX_CAPACITY = 1 << 20

class EventsIterator implements IterableIterator<Event> {
  done = false
  value: Event = undefined as unknown as Event
  i = 0
  active = false
  readonly owner: Events
  constructor(owner: Events) {
    this.owner = owner
  }
  next(): IteratorResult<Event> {
    if (this.i < this.owner.length) {
      this.value = this.owner.get(this.i++)
      return this as IteratorResult<Event>
    }
    this.done = true
    this.active = false
    this.value = undefined as unknown as Event
    return this as IteratorResult<Event>
  }
  return(): IteratorResult<Event> {
    this.active = false
    this.done = true
    return this as IteratorResult<Event>
  }
  [Symbol.iterator](): IterableIterator<Event> {
    return this
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export class Events implements Iterable<Event> {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId
  /** How many events one poll can return. @since 0.1.0 */
  readonly capacity: number
  /** How many events the last poll returned. @since 0.1.0 */
  length = 0
  /** The raw `epoll_event` array the kernel writes. @internal */
  readonly buffer: Uint8Array
  readonly #view: DataView
  readonly #slots: Array<Event>
  readonly #iterator: EventsIterator

  /**
   * Why this buffer cannot be polled into — a capacity that is not an integer
   * from 1 to 2^20 — or `undefined`. A poll given such a buffer returns this as
   * an `IoError` of kind `InvalidInput`. @internal
   */
  readonly problem: string | undefined

  /** @internal */
  constructor(capacity: number) {
    this.problem = check.requiredInteger("Events capacity", capacity, 1, MAX_CAPACITY)
    if (this.problem !== undefined) capacity = 0
    this.capacity = capacity
    this.buffer = new Uint8Array(capacity * layout.epollEvent.size)
    this.#view = new DataView(this.buffer.buffer)
    this.#slots = Array.from({ length: capacity }, () => new Event())
    this.#iterator = new EventsIterator(this)
  }

  /** `true` when the last poll returned no event. @since 0.1.0 */
  isEmpty(): boolean {
    return this.length === 0
  }

  /** Forgets the events of the last poll. @since 0.1.0 */
  clear(): void {
    this.length = 0
  }

  /** Event `i` of the last poll, `0 <= i < length`. @since 0.1.0 */
  get(i: number): Event {
    return this.#slots[i]!
  }

  /** The raw epoll flags of event `i` (no `Event` access). @since 0.1.0 */
  flagsAt(i: number): number {
    return this.#slots[i]!.flags
  }

  /** The token of event `i` (no `Event` access). @since 0.1.0 */
  tokenAt(i: number): Token {
    return this.#slots[i]!.token
  }

  /** Decodes the first `n` kernel entries into the preallocated events. @internal */
  fill(n: number): void {
    const view = this.#view, slots = this.#slots
    for (let i = 0; i < n; i++) {
      const e = slots[i]!
      e.flags = epoll.eventFlags(view, i)
      e.token = epoll.eventToken(view, i) as Token
    }
    this.length = n
  }

  /** @since 0.1.0 */
  [Symbol.iterator](): IterableIterator<Event> {
    // The cached iterator serves every sequential loop; a nested loop over the
    // same Events gets its own.
    const it = this.#iterator.active ? new EventsIterator(this) : this.#iterator
    it.active = true
    it.done = false
    it.i = 0
    return it
  }
}

/**
 * Preallocates room for `capacity` events (an integer from 1 to 2^20). It never
 * throws: a bad capacity makes an empty buffer that every poll refuses with an
 * `IoError` of kind `InvalidInput` naming the capacity.
 *
 * @since 0.1.0
 * @category constructors
 */
export const withCapacity = (capacity: number): Events => new Events(capacity)

/**
 * @since 0.1.0
 * @category guards
 */
export const isEvents = (u: unknown): u is Events => u instanceof Events
