/**
 * Frames of the wire format, version 1 (docs/rudp.md, "Frames"). A packet's
 * payload is a sequence of frames, each starting with its type byte:
 *
 * | type | frame | fields |
 * |---|---|---|
 * | 0x00 | PADDING | none (one byte) |
 * | 0x01 | PING | none; ack-eliciting |
 * | 0x02 | ACK | largest (varint), ack delay (varint, µs / 8), range count (varint), first range (varint), then (gap, range) pairs (varints), as RFC 9000 §19.3 |
 * | 0x03 | CLOSE | code (varint), reason length (varint), reason (UTF-8) |
 * | 0x04 | MAX_DATA | the largest cumulative `Delivery` payload offset the receiver accepts (varint) |
 * | 0x05 | HELLO | length (varint), transport parameters (`Params.ts`) |
 * | 0x06 | RETRY | original destination id length (u8) and id, token length (varint), token; only in Retry packets |
 * | 0x07 | MESSAGE_RUN | count (varint ≥ 1), then `count` messages' data, each as long as the previous Order/Delivery frame's (below) |
 * | 0x20–0x3f | MESSAGE | below |
 *
 * A MESSAGE frame's type byte is `0b001N_LFTT`: TT the tier (0 None, 1 Order,
 * 2 Delivery), F a fragment, L an explicit length (else the data runs to the end
 * of the packet), N: the ids follow from the previous Order/Delivery frame of
 * the packet (a run of single-message sets: set id + 1, next Delivery id). Then:
 *
 * - an ids byte `00000FRS` when the ids are explicit (Order/Delivery without N)
 *   or F is set: R — the set and Delivery ids are zigzag varint differences
 *   from the previous Order/Delivery frame of the packet (else the low 32 bits
 *   of each, decoded against the largest value received so far); F — likewise
 *   for the fragment id against the previous fragment of the packet; S
 *   (Delivery only) — the message shares its set with other Delivery messages,
 *   so `d − dBefore` follows;
 * - Order: set id `s`, then `dBefore` — the number of Delivery messages sent
 *   before its set;
 * - Delivery: set id `s`, Delivery id `d`, and with S the varint `d − dBefore`
 *   (else `dBefore = d`);
 * - F: fragment id `f`, offset (varint), the message's total length (varint);
 * - L: data length (varint);
 * - the data.
 *
 * Only the first frame of a packet carries 32-bit ids: a packet decodes on its
 * own, however late it arrives (within 2^31 ids).
 *
 * A MESSAGE_RUN frame continues the packet's previous Order/Delivery frame,
 * which must not be a fragment: `count` more messages of its tier and data
 * length, each with the ids N would give it (set id + 1, the next Delivery
 * id), their data back to back. A run of equal-length single-message sets —
 * the common case of small messages — costs the run's type and count once per
 * packet instead of a type and a length per message.
 *
 * @since 0.2.0
 */
import type { Guarantee } from "../Guarantee.ts"
import { decodeTruncated, type Reader, type Writer, varintLength } from "./Bytes.ts"

/**
 * Frame type bytes.
 *
 * @since 0.2.0
 * @category constants
 */
export const FrameType = {
  PADDING: 0x00,
  PING: 0x01,
  ACK: 0x02,
  CLOSE: 0x03,
  MAX_DATA: 0x04,
  HELLO: 0x05,
  RETRY: 0x06,
  MESSAGE_RUN: 0x07,
  MESSAGE: 0x20
} as const

/**
 * MESSAGE type bit N: ids implied by the previous Order/Delivery frame.
 *
 * @since 0.2.0
 * @category constants
 */
export const MSG_NEXT = 0x10
/**
 * MESSAGE type bit L: an explicit length follows.
 *
 * @since 0.2.0
 * @category constants
 */
export const MSG_LEN = 0x08
/**
 * MESSAGE type bit F: a fragment.
 *
 * @since 0.2.0
 * @category constants
 */
export const MSG_FRAG = 0x04

/**
 * Longest reason text a CLOSE frame carries.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_REASON = 256

/**
 * Most messages one MESSAGE_RUN frame carries as written (its count is a
 * 2-byte varint, patched as the run grows); a reader takes any count the
 * packet's bytes hold.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_RUN_WRITTEN = 16383

/**
 * ACK ranges kept per frame.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_ACK_RANGES = 32

/**
 * The ack delay exponent: the field counts units of 2^3 µs.
 *
 * @since 0.2.0
 * @category constants
 */
export const ACK_DELAY_EXPONENT = 3

const TIER_CODE: Readonly<Record<Guarantee, number>> = { None: 0, Order: 1, Delivery: 2 }
const TIERS: ReadonlyArray<Guarantee | undefined> = ["None", "Order", "Delivery", undefined]

/**
 * The ids of a message, as the sender numbered it.
 *
 * - `s`: its set (Order and Delivery; a single message is a set of its own);
 * - `d`: its Delivery id (dense over Delivery messages; −1 for others);
 * - `dBefore`: the Delivery messages sent before its set (Order and Delivery).
 *
 * @since 0.2.0
 * @category models
 */
export interface MessageIds {
  tier: Guarantee
  s: number
  d: number
  dBefore: number
}

/**
 * The ids of the previous frames of a packet, for N and for differences.
 *
 * @since 0.2.0
 * @category models
 */
export class Previous {
  /** An Order/Delivery frame was seen in this packet. */
  valid = false
  tier: Guarantee = "None"
  s = 0
  d = 0
  dBefore = 0
  /** The data length of the previous Order/Delivery frame, or −1 when it was a fragment (no run may follow). */
  length = -1
  /** A fragment frame was seen, and its fragment id. */
  fragValid = false
  f = 0
  /** Writer: the offset of the open run's 2-byte count, its count, and where it ends (−1: none open). */
  runAt = -1
  runCount = 0
  runEnd = -1
  clear(): void {
    this.valid = false
    this.fragValid = false
    this.length = -1
    this.runAt = -1
    this.runEnd = -1
  }
  set(ids: MessageIds, length: number, fragment: boolean): void {
    if (ids.tier === "None") return
    this.valid = true
    this.tier = ids.tier
    this.s = ids.s
    this.d = ids.d
    this.dBefore = ids.dBefore
    this.length = fragment ? -1 : length
  }
  /** Whether a message of `tier` and `length` with ids `ids` may join (or open) a run here. */
  runs(ids: MessageIds, length: number): boolean {
    return length > 0 && length === this.length && ids.tier === this.tier && this.implies(ids)
  }
  /** The value of the Delivery-id space a frame carries (`d`, or `dBefore` for Order). */
  dValue(): number {
    return this.tier === "Delivery" ? this.d : this.dBefore
  }
  /** The next single-message set's `dBefore`. */
  nextD(): number {
    return this.tier === "Delivery" ? this.d + 1 : this.dBefore
  }
  implies(ids: MessageIds): boolean {
    if (!this.valid || ids.tier === "None" || ids.s !== this.s + 1) return false
    const next = this.nextD()
    return ids.dBefore === next && (ids.tier === "Order" || ids.d === next)
  }
}

const zigzag = (v: number): number => v >= 0 ? 2 * v : -2 * v - 1
const unzigzag = (v: number): number => v % 2 === 0 ? v / 2 : -(v + 1) / 2

/**
 * Bytes the header of a MESSAGE frame takes at most (type, ids byte, three
 * 8-byte ids, the set offset, fragment offset and total, length).
 *
 * @since 0.2.0
 * @category constants
 */
export const MESSAGE_HEADER_MAX = 1 + 1 + 8 + 8 + 8 + 8 + 8 + 8 + 4

/**
 * The fragment part of a MESSAGE frame.
 *
 * @since 0.2.0
 * @category models
 */
export interface FragmentIds {
  readonly f: number
  readonly offset: number
  readonly total: number
}

/**
 * Writes one MESSAGE frame carrying `data` (with an explicit length). Returns
 * `false` (having written nothing) when it does not fit.
 *
 * @since 0.2.0
 * @category codecs
 */
export const writeMessage = (
  w: Writer,
  ids: MessageIds,
  frag: FragmentIds | undefined,
  data: Uint8Array,
  prev: Previous
): boolean => {
  const start = w.pos
  if (frag === undefined && prev.runs(ids, data.length)) return writeRunMessage(w, ids, data, prev)
  const tier = ids.tier
  const next = prev.implies(ids)
  let type = FrameType.MESSAGE | MSG_LEN | TIER_CODE[tier]
  if (next) type |= MSG_NEXT
  if (frag !== undefined) type |= MSG_FRAG
  w.u8(type)
  const explicit = !next && tier !== "None"
  if (explicit || frag !== undefined) {
    const relative = explicit && prev.valid
    const fragRelative = frag !== undefined && prev.fragValid
    const inSet = explicit && tier === "Delivery" && ids.dBefore !== ids.d
    w.u8((fragRelative ? 4 : 0) | (relative ? 2 : 0) | (inSet ? 1 : 0))
    if (explicit) {
      const dv = tier === "Delivery" ? ids.d : ids.dBefore
      if (relative) {
        w.varint(zigzag(ids.s - prev.s))
        w.varint(zigzag(dv - prev.dValue()))
      } else {
        w.uint(ids.s, 4)
        w.uint(dv, 4)
      }
      if (inSet) w.varint(ids.d - ids.dBefore)
    }
    if (frag !== undefined) {
      if (fragRelative) w.varint(zigzag(frag.f - prev.f))
      else w.uint(frag.f, 4)
      w.varint(frag.offset)
      w.varint(frag.total)
    }
  }
  w.varint(data.length)
  w.bytes(data)
  if (!w.ok) {
    w.pos = start
    w.ok = true
    return false
  }
  prev.set(ids, data.length, frag !== undefined)
  if (frag !== undefined) {
    prev.fragValid = true
    prev.f = frag.f
  }
  return true
}

/** Appends a message to the open run when it ends here, else opens a run with it. */
const writeRunMessage = (w: Writer, ids: MessageIds, data: Uint8Array, prev: Previous): boolean => {
  const start = w.pos
  const extend = prev.runEnd === start && prev.runCount < MAX_RUN_WRITTEN
  if (!extend) {
    w.u8(FrameType.MESSAGE_RUN)
    w.varintWithLength(1, 2)
  }
  w.bytes(data)
  if (!w.ok) {
    w.pos = start
    w.ok = true
    return false
  }
  if (extend) {
    const n = ++prev.runCount
    w.buf[prev.runAt] = 0x40 | (n >>> 8)
    w.buf[prev.runAt + 1] = n & 0xff
  } else {
    prev.runAt = start + 1
    prev.runCount = 1
  }
  prev.runEnd = w.pos
  prev.set(ids, data.length, false)
  return true
}

/**
 * Bytes a MESSAGE frame for `dataLength` bytes takes at most, for room checks.
 *
 * @since 0.2.0
 * @category codecs
 */
export const messageFrameMax = (dataLength: number, fragment: boolean): number =>
  1 + 1 + 8 + 8 + 8 + (fragment ? 8 + 8 + 8 : 0) + varintLength(dataLength) + dataLength

/**
 * A decoded MESSAGE frame; one object is reused per packet position.
 *
 * @since 0.2.0
 * @category models
 */
export class MessageFrame implements MessageIds {
  tier: Guarantee = "None"
  s = -1
  d = -1
  dBefore = -1
  fragment = false
  f = -1
  offset = 0
  total = 0
  /** The data: `length` bytes of `buf` from `start` (valid while the packet is). */
  buf: Uint8Array = new Uint8Array(0)
  start = 0
  length = 0
  /** A view of the data. */
  get data(): Uint8Array {
    return this.buf.subarray(this.start, this.start + this.length)
  }
  /** A copy of the data, for keeping, made by `arena`. */
  copy(arena: { copy(src: Uint8Array, start: number, length: number): Uint8Array }): Uint8Array {
    return arena.copy(this.buf, this.start, this.length)
  }
}

/**
 * The receiver's references for truncated ids: the largest value seen in each
 * space.
 *
 * @since 0.2.0
 * @category models
 */
export interface Expected {
  s: number
  d: number
  f: number
}

/**
 * Reads a MESSAGE frame whose type byte `type` was already read. Returns
 * `false` for a malformed frame.
 *
 * @since 0.2.0
 * @category codecs
 */
export const readMessage = (r: Reader, type: number, prev: Previous, seen: Expected, out: MessageFrame): boolean => {
  const tier = TIERS[type & 0x03]
  if (tier === undefined) return false
  out.tier = tier
  const next = (type & MSG_NEXT) !== 0
  out.fragment = (type & MSG_FRAG) !== 0
  if (next && tier === "None") return false
  const explicit = !next && tier !== "None"
  out.s = -1
  out.d = -1
  out.dBefore = -1
  if (next) {
    if (!prev.valid) return false
    const n = prev.nextD()
    out.s = prev.s + 1
    out.dBefore = n
    if (tier === "Delivery") out.d = n
  }
  if (explicit || out.fragment) {
    const flags = r.u8()
    if ((flags & 0xf8) !== 0) return false
    const relative = (flags & 2) !== 0, fragRelative = (flags & 4) !== 0, inSet = (flags & 1) !== 0
    if (!explicit && (relative || inSet)) return false
    if (!out.fragment && fragRelative) return false
    if (explicit) {
      let dv: number
      if (relative) {
        if (!prev.valid) return false
        out.s = prev.s + unzigzag(r.varint())
        dv = prev.dValue() + unzigzag(r.varint())
      } else {
        out.s = decodeTruncated(r.uint(4), 4, seen.s + 1)
        dv = decodeTruncated(r.uint(4), 4, seen.d + 1)
      }
      if (tier === "Order") {
        if (inSet) return false
        out.dBefore = dv
      } else {
        out.d = dv
        const offset = inSet ? r.varint() : 0
        if (inSet && offset === 0) return false
        out.dBefore = dv - offset
      }
    }
    if (out.fragment) {
      if (fragRelative) {
        if (!prev.fragValid) return false
        out.f = prev.f + unzigzag(r.varint())
      } else out.f = decodeTruncated(r.uint(4), 4, seen.f + 1)
      out.offset = r.varint()
      out.total = r.varint()
    }
  }
  const length = (type & MSG_LEN) !== 0 ? r.varint() : r.remaining()
  if (!r.ok || length > r.remaining()) return false
  out.buf = r.buf
  out.start = r.pos
  out.length = length
  r.pos += length
  if (tier !== "None" && (out.s < 0 || out.dBefore < 0 || (tier === "Delivery" && out.d < 0))) return false
  if (out.fragment) {
    if (out.f < 0 || out.offset + length > out.total || length === 0) return false
    prev.fragValid = true
    prev.f = out.f
    if (out.f > seen.f) seen.f = out.f
  }
  if (tier !== "None") {
    if (out.s > seen.s) seen.s = out.s
    const dv = tier === "Delivery" ? out.d : out.dBefore
    if (dv > seen.d) seen.d = dv
  }
  prev.set(out, length, out.fragment)
  return true
}

/**
 * Reads a MESSAGE_RUN frame's count (type byte already read): the number of
 * messages `readRunMessage` then reads, or −1 when the frame is malformed (no
 * Order/Delivery frame without F before it in the packet, a count of 0, or
 * more data than the packet holds).
 *
 * @since 0.2.0
 * @category codecs
 */
export const readRunCount = (r: Reader, prev: Previous): number => {
  const count = r.varint()
  if (!r.ok || !prev.valid || prev.length < 1 || count < 1 || count > r.remaining() / prev.length) return -1
  return count
}

/**
 * Reads the next message of a MESSAGE_RUN frame whose count `readRunCount`
 * accepted (so its data is there): the ids N gives it, the previous frame's
 * tier and length.
 *
 * @since 0.2.0
 * @category codecs
 */
export const readRunMessage = (r: Reader, prev: Previous, seen: Expected, out: MessageFrame): void => {
  const n = prev.nextD()
  out.tier = prev.tier
  out.fragment = false
  out.s = prev.s + 1
  out.dBefore = n
  out.d = prev.tier === "Delivery" ? n : -1
  out.buf = r.buf
  out.start = r.pos
  out.length = prev.length
  r.pos += prev.length
  if (out.s > seen.s) seen.s = out.s
  if (n > seen.d) seen.d = n
  prev.set(out, out.length, false)
}

// --- ACK -----------------------------------------------------------------------------

/**
 * A decoded ACK frame: acknowledged ranges, highest first.
 *
 * @since 0.2.0
 * @category models
 */
export class AckFrame {
  largest = 0
  /** Ack delay in milliseconds. */
  delayMs = 0
  /** Ranges `lo[i]..hi[i]` for i < count, highest first. */
  count = 0
  readonly lo: Array<number> = []
  readonly hi: Array<number> = []
}

/**
 * Writes an ACK frame for the ranges `lo[i]..hi[i]` (ascending arrays), highest
 * first, at most `MAX_ACK_RANGES` of them and only ranges above `floor`.
 * Returns `false` when nothing was written.
 *
 * @since 0.2.0
 * @category codecs
 */
export const writeAck = (
  w: Writer,
  lo: ReadonlyArray<number>,
  hi: ReadonlyArray<number>,
  floor: number,
  delayMs: number
): boolean => {
  let count = lo.length
  if (count === 0) return false
  const last = count - 1
  if (hi[last]! < floor) return false
  let first = Math.max(0, last - MAX_ACK_RANGES + 1)
  while (first < last && hi[first]! < floor) first++
  count = last - first + 1
  const start = w.pos
  w.u8(FrameType.ACK)
  w.varint(hi[last]!)
  w.varint(Math.max(0, Math.round((delayMs * 1000) / (1 << ACK_DELAY_EXPONENT))))
  w.varint(count - 1)
  w.varint(hi[last]! - Math.max(lo[last]!, floor))
  for (let i = last - 1; i >= first; i--) {
    const gap = lo[i + 1]! - hi[i]! - 2
    w.varint(gap)
    w.varint(hi[i]! - Math.max(lo[i]!, floor))
  }
  if (!w.ok) {
    w.pos = start
    w.ok = true
    return false
  }
  return true
}

/**
 * Reads an ACK frame (type byte already read). Returns `false` when malformed.
 *
 * @since 0.2.0
 * @category codecs
 */
export const readAck = (r: Reader, out: AckFrame): boolean => {
  out.count = 0
  const largest = r.varint()
  const delay = r.varint()
  const count = r.varint()
  if (!r.ok || count >= 256) return false
  let hi = largest
  let lo = hi - r.varint()
  if (lo < 0) return false
  out.largest = largest
  out.delayMs = (delay * (1 << ACK_DELAY_EXPONENT)) / 1000
  out.lo[0] = lo
  out.hi[0] = hi
  for (let i = 1; i <= count; i++) {
    const gap = r.varint()
    const len = r.varint()
    hi = lo - gap - 2
    lo = hi - len
    if (lo < 0 || !r.ok) return false
    out.lo[i] = lo
    out.hi[i] = hi
  }
  out.count = count + 1
  return r.ok
}

// --- CLOSE, MAX_DATA -------------------------------------------------------------------------

/**
 * @since 0.2.0
 * @category codecs
 */
export const writeClose = (w: Writer, code: number, reason: Uint8Array): void => {
  w.u8(FrameType.CLOSE)
  w.varint(code)
  const r = reason.length > MAX_REASON ? reason.subarray(0, MAX_REASON) : reason
  w.varint(r.length)
  w.bytes(r)
}

/**
 * @since 0.2.0
 * @category codecs
 */
export const writeMaxData = (w: Writer, limit: number): void => {
  w.u8(FrameType.MAX_DATA)
  w.varint(limit)
}
