/**
 * Self-checking datagrams: a sequence number, a checksum of the body and a
 * body whose length follows from the sequence number, so a receiver can tell
 * a whole datagram from a cut, corrupted or repeated one without any state
 * shared with the sender.
 */

/** The length of datagram `seq` between `min` and `max` bytes (at least 12). */
export const sizeOf = (seq: number, min: number, max: number): number => min + ((seq * 2654435761) >>> 0) % (max - min + 1)

export const make = (seq: number, size: number): Uint8Array => {
  const b = new Uint8Array(Math.max(12, size))
  const v = new DataView(b.buffer)
  v.setUint32(0, seq)
  v.setUint32(8, b.length)
  for (let i = 12; i < b.length; i++) b[i] = (seq * 31 + i * 7) & 0xff
  v.setUint32(4, checksum(b))
  return b
}

const checksum = (b: Uint8Array): number => {
  let h = 0x811c9dc5
  for (let i = 8; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0
  return h
}

export type Verdict = "whole" | "cut" | "corrupt"

export const check = (b: Uint8Array): Verdict => {
  if (b.length < 12) return "cut"
  const v = new DataView(b.buffer, b.byteOffset, b.length)
  if (v.getUint32(8) !== b.length) return "cut"
  return v.getUint32(4) === checksum(b) ? "whole" : "corrupt"
}

export const seqOf = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.length).getUint32(0)

/** What a receiver saw. */
export class Tally {
  readonly seen = new Set<number>()
  whole = 0
  duplicates = 0
  cut = 0
  corrupt = 0
  /** Sequence numbers that were never sent. */
  unknown = 0

  readonly sent: number

  constructor(sent: number) {
    this.sent = sent
  }

  add(b: Uint8Array): void {
    const verdict = check(b)
    if (verdict === "cut") return void this.cut++
    if (verdict === "corrupt") return void this.corrupt++
    const seq = seqOf(b)
    if (seq >= this.sent) return void this.unknown++
    if (this.seen.has(seq)) return void this.duplicates++
    this.seen.add(seq)
    this.whole++
  }
}

/**
 * What a receiver on a real socket saw, kept per source address. Loopback
 * ports are shared by every process on the machine: a test elsewhere whose
 * peer has closed may still send to a port this receiver (or the relay before
 * it) has taken since, and such a datagram is not one of ours — checked as
 * ours it would count as cut. The path's figures are those of the source that
 * delivered the most whole datagrams (a path through one relay client has one
 * source); every other source's datagrams are counted as `foreign`, not
 * judged. A datagram of ours cut on the path still comes from the path's
 * source and still counts as cut.
 */
export class SourcedTally {
  readonly #bySource = new Map<string, Tally>()
  readonly sent: number

  constructor(sent: number) {
    this.sent = sent
  }

  add(source: string, b: Uint8Array): void {
    let t = this.#bySource.get(source)
    if (t === undefined) this.#bySource.set(source, t = new Tally(this.sent))
    t.add(b)
  }

  /** Whole datagrams and duplicates from every source: progress, for waiting. */
  arrived(): number {
    let n = 0
    for (const t of this.#bySource.values()) n += t.whole + t.duplicates
    return n
  }

  /** The path's tally: the source with the most whole datagrams (an empty tally before any). */
  path(): Tally {
    let best: Tally | undefined
    for (const t of this.#bySource.values()) if (best === undefined || t.whole > best.whole) best = t
    return best ?? new Tally(this.sent)
  }

  /** Datagrams from every source but the path's. */
  foreign(): number {
    const path = this.path()
    let n = 0
    for (const t of this.#bySource.values()) if (t !== path) n += received(t)
    return n
  }
}

const received = (t: Tally): number => t.whole + t.duplicates + t.cut + t.corrupt + t.unknown
