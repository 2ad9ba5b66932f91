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
