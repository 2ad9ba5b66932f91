/**
 * The record of what a simulated network (or the lossy relay) did with every
 * packet: sent, dropped and why, corrupted, duplicated, held by a partition,
 * delivered; and the faults injected along the way.
 *
 * Each event carries its time, the link (`"a->b"`), the packet's number on
 * that link, its size and a short hash of its bytes, so two runs can be
 * compared line by line. A recorder keeps the last `limit` events and a
 * running digest of all of them: two runs with the same seed and the same
 * inputs have the same digest, byte for byte the same formatted trace.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category type IDs
 */
export const TypeId = "~effect-mio/testing/Trace" as const

/**
 * @since 0.1.0
 * @category type IDs
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category guards
 */
export const isRecorder = (u: unknown): u is Recorder => typeof u === "object" && u !== null && TypeId in u

/**
 * What happened to a packet (or to a link, for `fault`).
 *
 * - `send`: the packet entered the link.
 * - `drop`: the link or the receiver discarded it; `detail` says why.
 * - `corrupt`: a bit was flipped; `detail` is the bit index, `hash` the new hash.
 * - `duplicate`: the link will deliver a second copy.
 * - `hold`: a reliable (stream) segment waits for a blocked link to heal.
 * - `deliver`: the packet reached its destination; `detail` is `copy` for a duplicate.
 * - `fault`: a fault was injected; `detail` describes it.
 *
 * @since 0.1.0
 * @category models
 */
export type EventKind = "send" | "drop" | "corrupt" | "duplicate" | "hold" | "deliver" | "fault"

/**
 * @since 0.1.0
 * @category models
 */
export interface TraceEvent {
  /** Milliseconds since the network started. */
  readonly at: number
  readonly kind: EventKind
  /** The link, as `"from->to"`, or the selector of a fault. */
  readonly link: string
  /** The packet's number on its link (0 for a fault). */
  readonly id: number
  /** Payload bytes. */
  readonly size: number
  /** FNV-1a of the payload, 8 hex digits. */
  readonly hash: string
  readonly detail?: string | undefined
}

/**
 * FNV-1a (32 bits) of `bytes`, as 8 hex digits.
 *
 * @since 0.1.0
 * @category utils
 */
export const hash = (bytes: Uint8Array): string => {
  let h = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0).toString(16).padStart(8, "0")
}

/**
 * One line per event, fixed columns:
 * `    20.000 a->b         #17 deliver   64B 3fa9c2d1`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (event: TraceEvent): string => {
  const time = event.at.toFixed(3).padStart(10)
  const id = event.kind === "fault" ? "" : `#${event.id}`
  const line = `${time} ${event.link.padEnd(12)} ${id.padStart(7)} ${event.kind.padEnd(9)} ${
    `${event.size}B`.padStart(7)
  } ${event.hash}`
  return event.detail === undefined ? line : `${line} ${event.detail}`
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RecorderOptions {
  /** Events kept for printing (the digest covers all of them); default 100,000. 0 keeps none. */
  readonly limit?: number | undefined
}

/**
 * Collects events: a bounded window of the most recent ones and a digest of
 * every one. Sinks are called for each event (printing live, counting).
 *
 * @since 0.1.0
 * @category models
 */
export interface Recorder {
  readonly [TypeId]: TypeId
  /** Records one event. */
  readonly record: (event: TraceEvent) => void
  /** Events recorded so far. */
  readonly count: () => number
  /** The kept events, oldest first. */
  readonly events: () => ReadonlyArray<TraceEvent>
  /** The kept events formatted, oldest first; `last` keeps only the newest `last`. */
  readonly lines: (last?: number) => ReadonlyArray<string>
  /** A 16-hex-digit digest of every formatted line recorded, kept or not. */
  readonly digest: () => string
  /** Adds a listener called with every event; returns its removal. */
  readonly listen: (sink: (event: TraceEvent) => void) => () => void
}

class RecorderImpl implements Recorder {
  readonly [TypeId] = TypeId
  readonly limit: number
  buffer: Array<TraceEvent> = []
  head = 0
  total = 0
  h1 = 0x811c9dc5
  h2 = 0x9747b28c
  sinks: Array<(event: TraceEvent) => void> = []
  constructor(limit: number) {
    this.limit = limit
  }
  record = (event: TraceEvent): void => {
    this.total++
    const line = format(event)
    let h1 = this.h1
    let h2 = this.h2
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 0x01000193)
      h2 = Math.imul(h2 ^ c, 0x5bd1e995)
      h2 ^= h2 >>> 15
    }
    // a line separator, so that line boundaries count
    this.h1 = Math.imul(h1 ^ 10, 0x01000193)
    this.h2 = Math.imul(h2 ^ 10, 0x5bd1e995)
    if (this.limit > 0) {
      if (this.buffer.length < this.limit) {
        this.buffer.push(event)
      } else {
        this.buffer[this.head] = event
        this.head = (this.head + 1) % this.limit
      }
    }
    for (const sink of this.sinks) sink(event)
  }
  count = (): number => this.total
  events = (): ReadonlyArray<TraceEvent> =>
    this.head === 0 ? this.buffer.slice() : [...this.buffer.slice(this.head), ...this.buffer.slice(0, this.head)]
  lines = (last?: number): ReadonlyArray<string> => {
    const events = this.events()
    const from = last === undefined ? 0 : Math.max(0, events.length - last)
    return events.slice(from).map(format)
  }
  digest = (): string =>
    (this.h1 >>> 0).toString(16).padStart(8, "0") + (this.h2 >>> 0).toString(16).padStart(8, "0")
  listen = (sink: (event: TraceEvent) => void): () => void => {
    this.sinks.push(sink)
    return () => {
      const i = this.sinks.indexOf(sink)
      if (i !== -1) this.sinks.splice(i, 1)
    }
  }
}

/**
 * A new, empty recorder.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRecorder = (options?: RecorderOptions): Recorder => {
  const limit = options?.limit ?? 100_000
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`trace limit is a non-negative integer, not ${limit}`)
  }
  return new RecorderImpl(limit)
}
