/**
 * DCCP options (RFC 4340 §5.8): parsing with the Mandatory rules, writing with
 * padding to a 4-byte boundary, and the run-length encodings of the Ack Vector
 * (§11.4) and Data Dropped (§11.7) options.
 *
 * Parsing follows RFC 4340 §5.8: options 0–31 are one byte; 32–255 are
 * type-length-value where the length counts the type and length bytes. An
 * option with a nonsensical length ("length byte less than two or more than
 * the remaining space in the options portion of the header") is ignored
 * together with all the option space after it. A known option whose length
 * is wrong for its type is an Option Error (Reset code 5), as in Linux.
 *
 * @since 0.1.0
 */
import type { PacketType } from "./Packet.ts"
import { PrefixViews } from "./PrefixViews.ts"
import * as Seq from "./Seq.ts"

/**
 * Option type numbers (RFC 4340 §5.8, Table 3).
 *
 * @since 0.1.0
 * @category constants
 */
export const OptionType = {
  Padding: 0,
  Mandatory: 1,
  SlowReceiver: 2,
  ChangeL: 32,
  ConfirmL: 33,
  ChangeR: 34,
  ConfirmR: 35,
  InitCookie: 36,
  NdpCount: 37,
  AckVector0: 38,
  AckVector1: 39,
  DataDropped: 40,
  Timestamp: 41,
  TimestampEcho: 42,
  ElapsedTime: 43,
  DataChecksum: 44
} as const

/**
 * A decoded option. Feature values are the raw value bytes; `Features.ts`
 * interprets them per feature. Time values are in units of 10 microseconds.
 *
 * @since 0.1.0
 * @category models
 */
export type DccpOption =
  | { readonly kind: "SlowReceiver" }
  | { readonly kind: "Change"; readonly end: "L" | "R"; readonly feature: number; readonly value: Uint8Array }
  | { readonly kind: "Confirm"; readonly end: "L" | "R"; readonly feature: number; readonly value: Uint8Array }
  | { readonly kind: "InitCookie"; readonly cookie: Uint8Array }
  | { readonly kind: "NdpCount"; readonly count: number }
  | { readonly kind: "AckVector"; readonly nonce: 0 | 1; readonly cells: Uint8Array }
  | { readonly kind: "DataDropped"; readonly blocks: Uint8Array }
  | { readonly kind: "Timestamp"; readonly value: number }
  | { readonly kind: "TimestampEcho"; readonly value: number; readonly elapsed: number | undefined }
  | { readonly kind: "ElapsedTime"; readonly elapsed: number }
  | { readonly kind: "DataChecksum"; readonly crc: number }
  | { readonly kind: "Ccid"; readonly type: number; readonly data: Uint8Array }
  | { readonly kind: "Unknown"; readonly type: number; readonly data: Uint8Array }

/**
 * One parsed option and whether a Mandatory option preceded it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParsedOption {
  readonly option: DccpOption
  readonly mandatory: boolean
  /** The option type byte. */
  readonly type: number
  /** The value bytes (after type and length), for Reset Data fields. */
  readonly value: Uint8Array
}

/**
 * Reset code and Data 1–3 for an option-processing failure (RFC 4340 §5.6:
 * Data 1 is the option type, Data 2–3 the first bytes of its value).
 *
 * @since 0.1.0
 * @category models
 */
export interface OptionFailure {
  readonly resetCode: 5 | 6
  readonly data: readonly [number, number, number]
}

/**
 * The result of parsing an options area.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParsedOptions {
  readonly options: ReadonlyArray<ParsedOption>
  /** Set when an option had a nonsensical length and the rest was ignored. */
  readonly truncated: boolean
  /** Set when the options are in error; the packet must be answered with a Reset. */
  readonly failure: OptionFailure | undefined
}

/**
 * Builds the Reset data for a failed option.
 *
 * @since 0.1.0
 * @category constructors
 */
export const optionFailure = (resetCode: 5 | 6, type: number, value: Uint8Array): OptionFailure => ({
  resetCode,
  data: [type, value[0] ?? 0, value[1] ?? 0]
})

/**
 * Whether an option may be processed on a packet of `packetType`. Options
 * marked "N" in RFC 4340 Table 3 are ignored on DCCP-Data packets; Ack Vector,
 * Data Dropped and Elapsed Time need an Acknowledgement Number (§11.4, §11.7,
 * §13.2), so they are ignored on Requests and Data as well (Linux does the same).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isPermittedOn = (type: number, packetType: PacketType): boolean => {
  const isData = packetType === "Data"
  const withoutAck = isData || packetType === "Request"
  switch (type) {
    case OptionType.Mandatory:
    case OptionType.ChangeL:
    case OptionType.ConfirmL:
    case OptionType.ChangeR:
    case OptionType.ConfirmR:
    case OptionType.InitCookie:
      return !isData
    case OptionType.AckVector0:
    case OptionType.AckVector1:
    case OptionType.DataDropped:
    case OptionType.ElapsedTime:
      return !withoutAck
    default:
      return true
  }
}

const readUint = (bytes: Uint8Array, start: number, length: number): number => {
  let v = 0
  for (let i = 0; i < length; i++) v = v * 256 + bytes[start + i]!
  return v
}

/**
 * Decodes one TLV option of a known type, or returns `undefined` when its
 * length is wrong for that type (an Option Error).
 */
const decodeKnown = (type: number, value: Uint8Array): DccpOption | undefined => {
  const n = value.length
  switch (type) {
    case OptionType.ChangeL:
    case OptionType.ChangeR:
    case OptionType.ConfirmL:
    case OptionType.ConfirmR: {
      // Feature number plus value; an empty Confirm is just the feature number (§6.6.7).
      if (n < 1) return undefined
      const end = type === OptionType.ChangeL || type === OptionType.ConfirmL ? "L" : "R"
      const kind = type === OptionType.ChangeL || type === OptionType.ChangeR ? "Change" : "Confirm"
      return { kind, end, feature: value[0]!, value: value.subarray(1) }
    }
    case OptionType.InitCookie:
      return { kind: "InitCookie", cookie: value }
    case OptionType.NdpCount:
      // 1 to 6 bytes (§7.7).
      return n >= 1 && n <= 6 ? { kind: "NdpCount", count: readUint(value, 0, n) } : undefined
    case OptionType.AckVector0:
    case OptionType.AckVector1:
      return { kind: "AckVector", nonce: type === OptionType.AckVector0 ? 0 : 1, cells: value }
    case OptionType.DataDropped:
      return { kind: "DataDropped", blocks: value }
    case OptionType.Timestamp:
      return n === 4 ? { kind: "Timestamp", value: readUint(value, 0, 4) } : undefined
    case OptionType.TimestampEcho:
      // Echo value plus an optional 2- or 4-byte elapsed time (§13.3).
      if (n === 4) return { kind: "TimestampEcho", value: readUint(value, 0, 4), elapsed: undefined }
      if (n === 6 || n === 8) {
        return { kind: "TimestampEcho", value: readUint(value, 0, 4), elapsed: readUint(value, 4, n - 4) }
      }
      return undefined
    case OptionType.ElapsedTime:
      return n === 2 || n === 4 ? { kind: "ElapsedTime", elapsed: readUint(value, 0, n) } : undefined
    case OptionType.DataChecksum:
      return n === 4 ? { kind: "DataChecksum", crc: readUint(value, 0, 4) } : undefined
    default:
      return type >= 128 ? { kind: "Ccid", type, data: value } : { kind: "Unknown", type, data: value }
  }
}

const EMPTY: Uint8Array = new Uint8Array(0)

/**
 * Parses an options area (RFC 4340 §5.8) for a packet of `packetType`.
 *
 * Mandatory (§5.8.2): it applies to the option that follows. Mandatory as the
 * last option, or followed by Mandatory or Padding, is an Option Error (5).
 * A Mandatory option on a Data packet is ignored, like every "N" option.
 * An unknown option after Mandatory is a Mandatory Error (6); whether a known
 * option "could not be processed" is decided where it is processed.
 *
 * @since 0.1.0
 * @category decoding
 */
export const parseOptions = (area: Uint8Array, packetType: PacketType): ParsedOptions => {
  const options: Array<ParsedOption> = []
  let mandatory = false
  let truncated = false
  let i = 0
  while (i < area.length) {
    const type = area[i]!
    let value = EMPTY
    let next = i + 1
    if (type >= 32) {
      const length = area[i + 1]
      if (length === undefined || length < 2 || i + length > area.length) {
        truncated = true
        break
      }
      value = area.subarray(i + 2, i + length)
      next = i + length
    }
    i = next
    if (!isPermittedOn(type, packetType)) {
      mandatory = false
      continue
    }
    if (type === OptionType.Mandatory) {
      if (mandatory) return { options, truncated, failure: optionFailure(5, OptionType.Mandatory, area.subarray(i)) }
      mandatory = true
      continue
    }
    if (type === OptionType.Padding) {
      if (mandatory) return { options, truncated, failure: optionFailure(5, OptionType.Mandatory, area.subarray(i - 1)) }
      continue
    }
    const isMandatory = mandatory
    mandatory = false
    if (type === OptionType.SlowReceiver) {
      options.push({ option: { kind: "SlowReceiver" }, mandatory: isMandatory, type, value })
      continue
    }
    if (type < 32) {
      // Reserved single-byte options 3–31.
      if (isMandatory) return { options, truncated, failure: optionFailure(6, type, value) }
      options.push({ option: { kind: "Unknown", type, data: value }, mandatory: false, type, value })
      continue
    }
    const option = decodeKnown(type, value)
    if (option === undefined) return { options, truncated, failure: optionFailure(5, type, value) }
    if (option.kind === "Unknown" && isMandatory) return { options, truncated, failure: optionFailure(6, type, value) }
    options.push({ option, mandatory: isMandatory, type, value })
  }
  if (mandatory) return { options, truncated, failure: optionFailure(5, OptionType.Mandatory, EMPTY) }
  return { options, truncated, failure: undefined }
}

/**
 * Largest option area: Data Offset is 8 bits of 32-bit words, so header plus
 * options is at most 1020 bytes (RFC 4340 §5.1).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_HEADER_BYTES = 1020

/**
 * Largest value of one TLV option: 255 minus the type and length bytes.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_OPTION_VALUE = 253

/**
 * Writes options into a byte buffer with a byte budget, then pads to a
 * multiple of 4 bytes with Padding (RFC 4340 §5.8: "the options ... are padded
 * ... to a multiple of 32 bits"). Every `add*` returns `false`, writing
 * nothing, when the option would exceed the budget. A connection keeps one
 * writer and `reset`s it for each packet: writing allocates nothing.
 *
 * @since 0.1.0
 * @category encoding
 */
export class OptionWriter {
  private readonly buffer = new Uint8Array(MAX_HEADER_BYTES)
  /** `padded`'s views of `buffer` (padded lengths are multiples of 4). */
  private readonly views = new PrefixViews(this.buffer, 4)
  private used = 0
  private budget: number

  /** `budget` is the most option bytes the packet may carry, padding included. */
  constructor(budget: number) {
    this.budget = OptionWriter.round(budget)
  }

  private static round(budget: number): number {
    const b = Math.min(Math.max(0, budget), MAX_HEADER_BYTES)
    return b - (b % 4)
  }

  /** Empties the writer for another packet with this budget. @since 0.2.0 */
  reset(budget: number): void {
    this.budget = OptionWriter.round(budget)
    this.used = 0
  }

  /** Bytes written so far (before padding). */
  get length(): number {
    return this.used
  }

  /** Bytes still available; padding always fits because the budget is a multiple of 4. */
  get remaining(): number {
    return this.budget - this.used
  }

  /** The budget is a multiple of 4, so padding fits whenever the unpadded bytes do. */
  private fits(n: number): boolean {
    return this.used + n <= this.budget
  }

  /** Appends a raw TLV option (type ≥ 32) or a single-byte option (type < 32, empty value). */
  addRaw(type: number, value: ArrayLike<number> = EMPTY): boolean {
    const b = this.buffer
    if (type < 32) {
      if (!this.fits(1)) return false
      b[this.used++] = type
      return true
    }
    const n = value.length
    if (n > MAX_OPTION_VALUE || !this.fits(2 + n)) return false
    b[this.used] = type
    b[this.used + 1] = 2 + n
    // A few bytes (an Ack Vector's cells, mostly) cost less copied by a loop than by `set`'s builtin call.
    if (value instanceof Uint8Array && n > 16) b.set(value, this.used + 2)
    else for (let i = 0; i < n; i++) b[this.used + 2 + i] = value[i]! & 0xff
    this.used += 2 + n
    return true
  }

  /** Appends a TLV option whose value is `value` as `length` big-endian bytes (up to 6). @since 0.2.0 */
  addUint(type: number, value: number, length: number): boolean {
    if (!this.fits(2 + length)) return false
    this.buffer[this.used] = type
    this.buffer[this.used + 1] = 2 + length
    this.put(this.used + 2, value, length)
    this.used += 2 + length
    return true
  }

  /** Writes `value` as `length` big-endian bytes at `offset`. */
  private put(offset: number, value: number, length: number): void {
    let v = value
    for (let i = length - 1; i >= 0; i--) {
      this.buffer[offset + i] = v % 256
      v = Math.floor(v / 256)
    }
  }

  /** Appends Mandatory followed by `type`/`value`, or nothing if both do not fit. */
  addMandatory(type: number, value: ArrayLike<number>): boolean {
    const size = 1 + (type < 32 ? 1 : 2 + value.length)
    if (!this.fits(size)) return false
    this.buffer[this.used++] = OptionType.Mandatory
    return this.addRaw(type, value)
  }

  /** Change or Confirm option: feature number, then value bytes (empty for an empty Confirm). */
  addFeature(kind: "Change" | "Confirm", end: "L" | "R", feature: number, value: ArrayLike<number>, mandatory = false): boolean {
    const type = kind === "Change"
      ? (end === "L" ? OptionType.ChangeL : OptionType.ChangeR)
      : (end === "L" ? OptionType.ConfirmL : OptionType.ConfirmR)
    const bytes = [feature, ...Array.from(value)]
    return mandatory ? this.addMandatory(type, bytes) : this.addRaw(type, bytes)
  }

  /** Timestamp (§13.1), `value` in 10 µs units. */
  addTimestamp(value: number): boolean {
    return this.addUint(OptionType.Timestamp, value >>> 0, 4)
  }

  /** Timestamp Echo (§13.3) with an optional elapsed time in 10 µs units (2 bytes if it fits, else 4). */
  addTimestampEcho(value: number, elapsed: number | undefined): boolean {
    if (elapsed === undefined || elapsed <= 0) return this.addUint(OptionType.TimestampEcho, value >>> 0, 4)
    const e = Math.min(elapsed, 0xffffffff)
    const n = e <= 0xffff ? 2 : 4
    if (!this.fits(6 + n)) return false
    this.buffer[this.used] = OptionType.TimestampEcho
    this.buffer[this.used + 1] = 6 + n
    this.put(this.used + 2, value >>> 0, 4)
    this.put(this.used + 6, e, n)
    this.used += 6 + n
    return true
  }

  /** Elapsed Time (§13.2) in 10 µs units. */
  addElapsedTime(elapsed: number): boolean {
    const e = Math.min(Math.max(0, elapsed), 0xffffffff)
    return this.addUint(OptionType.ElapsedTime, e, e <= 0xffff ? 2 : 4)
  }

  /** NDP Count (§7.7.1) in the fewest bytes that hold it. */
  addNdpCount(count: number): boolean {
    return this.addUint(OptionType.NdpCount, count, minimalLength(count))
  }

  /** Data Checksum (§9.3): CRC-32c of the application data. */
  addDataChecksum(crc: number): boolean {
    return this.addUint(OptionType.DataChecksum, crc >>> 0, 4)
  }

  /**
   * Ack Vector cells (§11.4), split across as many Ack Vector options as
   * needed. Writes all the cells that fit, newest first, and returns how many.
   */
  addAckVector(cells: Uint8Array, nonce: 0 | 1 = 0): number {
    const type = nonce === 0 ? OptionType.AckVector0 : OptionType.AckVector1
    // One option holds all the cells (the common case): no view of them is made.
    if (cells.length <= MAX_OPTION_VALUE && cells.length <= this.remaining - 2) return this.addRaw(type, cells) ? cells.length : 0
    let written = 0
    while (written < cells.length) {
      const n = Math.min(MAX_OPTION_VALUE, cells.length - written, this.remaining - 2)
      if (n <= 0) break
      this.addRaw(type, cells.subarray(written, written + n))
      written += n
    }
    return written
  }

  /**
   * The option bytes padded with Padding (0) to a multiple of 4, as a view
   * of the writer's buffer: valid until the next `reset` or `add*`.
   * @since 0.2.0
   */
  padded(): Uint8Array {
    const b = this.buffer
    const end = this.used + ((4 - (this.used % 4)) % 4)
    // At most 3 bytes: a loop costs less than `fill`'s builtin call.
    for (let i = this.used; i < end; i++) b[i] = 0
    // One view per padded length, made once: a packet's options allocate nothing.
    return this.views.of(end)
  }

  /** The option bytes, padded with Padding options to a multiple of 4, as a new array. */
  finish(): Uint8Array {
    return this.padded().slice()
  }
}

/**
 * The fewest bytes (1–6) that hold `value` big-endian.
 *
 * @since 0.1.0
 * @category encoding
 */
export const minimalLength = (value: number): number => {
  let n = 1
  while (n < 6 && value >= 2 ** (8 * n)) n++
  return n
}

/**
 * `value` as `length` big-endian bytes (up to 6, so up to 48-bit values).
 *
 * @since 0.1.0
 * @category encoding
 */
export const uintBytes = (value: number, length: number): Array<number> => {
  const out = new Array<number>(length)
  let v = value
  for (let i = length - 1; i >= 0; i--) {
    out[i] = v % 256
    v = Math.floor(v / 256)
  }
  return out
}

/**
 * Reads a big-endian unsigned integer of up to 6 bytes.
 *
 * @since 0.1.0
 * @category decoding
 */
export const readUintBytes = (bytes: Uint8Array): number => readUint(bytes, 0, Math.min(bytes.length, 6))

/**
 * Ack Vector packet states (RFC 4340 §11.4): 0 Received, 1 Received ECN
 * Marked, 2 reserved, 3 Not Yet Received.
 *
 * @since 0.1.0
 * @category constants
 */
export const AckState = { Received: 0, ReceivedMarked: 1, NotReceived: 3 } as const

/**
 * A run of consecutive sequence numbers with one state, newest first:
 * it covers `high`, `high − 1`, …, `high − length + 1`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AckRun {
  readonly state: number
  readonly high: number
  readonly length: number
}

/**
 * Encodes runs (newest first, `length` ≥ 1) as Ack Vector cells: each byte is
 * State (2 bits) and Run Length (6 bits) where Run Length counts the packets
 * after the first, so one cell covers 1–64 packets (§11.4).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeAckVectorCells = (runs: ReadonlyArray<{ readonly state: number; readonly length: number }>): Uint8Array => {
  const out: Array<number> = []
  for (const run of runs) {
    let left = run.length
    while (left > 0) {
      const n = Math.min(left, 64)
      out.push(((run.state & 3) << 6) | (n - 1))
      left -= n
    }
  }
  return Uint8Array.from(out)
}

/**
 * Decodes Ack Vector cells anchored at `ackno` into runs, newest first.
 * Several Ack Vector options in one packet concatenate (§11.4), so pass their
 * cells joined in order.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeAckVector = (ackno: number, cells: Uint8Array): Array<AckRun> => {
  const runs: Array<AckRun> = []
  let high = ackno
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i]!
    const length = (cell & 0x3f) + 1
    runs.push({ state: cell >>> 6, high, length })
    high = Seq.add(high, -length)
  }
  return runs
}

/**
 * Data Dropped drop states (RFC 4340 §11.7.1).
 *
 * @since 0.1.0
 * @category constants
 */
export const DropState = {
  ProtocolConstraints: 0,
  ApplicationNotListening: 1,
  ReceiveBuffer: 2,
  Corrupt: 3,
  DeliveredCorrupt: 7
} as const

/**
 * A Data Dropped run: `dropState` undefined means a Normal Block (packets whose
 * data was not dropped), otherwise a Drop Block.
 *
 * @since 0.1.0
 * @category models
 */
export interface DropRun {
  readonly dropState: number | undefined
  readonly high: number
  readonly length: number
}

/**
 * Encodes Data Dropped blocks (§11.7): a Normal Block is `0|Run Length(7)`,
 * a Drop Block `1|Drop State(3)|Run Length(4)`; each covers Run Length + 1
 * packets, counting back from the Acknowledgement Number like the Ack Vector.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeDataDropped = (
  runs: ReadonlyArray<{ readonly dropState: number | undefined; readonly length: number }>
): Uint8Array => {
  const out: Array<number> = []
  for (const run of runs) {
    let left = run.length
    const max = run.dropState === undefined ? 128 : 16
    while (left > 0) {
      const n = Math.min(left, max)
      out.push(run.dropState === undefined ? n - 1 : 0x80 | ((run.dropState & 7) << 4) | (n - 1))
      left -= n
    }
  }
  return Uint8Array.from(out)
}

/**
 * Decodes Data Dropped blocks anchored at `ackno`, newest first.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeDataDropped = (ackno: number, blocks: Uint8Array): Array<DropRun> => {
  const runs: Array<DropRun> = []
  let high = ackno
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!
    const drop = (b & 0x80) !== 0
    const length = (drop ? b & 0x0f : b & 0x7f) + 1
    runs.push({ dropState: drop ? (b >>> 4) & 7 : undefined, high, length })
    high = Seq.add(high, -length)
  }
  return runs
}
