/**
 * The DCCP packet codec (RFC 4340 §5): the generic header with long (X=1) and
 * short (X=0) sequence numbers, the Acknowledgement Number subheader, and the
 * per-type fields (Service Code, Reset Code and its data).
 *
 * Decoding never throws: it returns the packet as views into the input, or the
 * reason the packet fails the header checks of step 1 of the receive
 * pseudocode (RFC 4340 §8.5). Checksums are verified separately because they
 * need the pseudo-header and the connection's checksum policy.
 *
 * Encoding always writes X=1: Linux does not extend short sequence numbers
 * (measured on 6.1), so this engine never sends them.
 *
 * @since 0.1.0
 */
import type { Mutable } from "effect/Types"
import { coverageLength, type PseudoHeader, writeDccpChecksumAt } from "./Checksum.ts"

/**
 * The ten DCCP packet types (RFC 4340 §5.1). Types 10 (Listen, RFC 5596) and
 * 11–15 are not understood and are dropped in step 1.
 *
 * @since 0.1.0
 * @category models
 */
export type PacketType =
  | "Request"
  | "Response"
  | "Data"
  | "Ack"
  | "DataAck"
  | "CloseReq"
  | "Close"
  | "Reset"
  | "Sync"
  | "SyncAck"

/**
 * Packet types in wire order: the index is the 4-bit Type field.
 *
 * @since 0.1.0
 * @category constants
 */
export const PACKET_TYPES: ReadonlyArray<PacketType> = [
  "Request",
  "Response",
  "Data",
  "Ack",
  "DataAck",
  "CloseReq",
  "Close",
  "Reset",
  "Sync",
  "SyncAck"
]

/**
 * The 4-bit Type field of each packet type.
 *
 * @since 0.1.0
 * @category constants
 */
export const PACKET_TYPE_CODE: Readonly<Record<PacketType, number>> = {
  Request: 0,
  Response: 1,
  Data: 2,
  Ack: 3,
  DataAck: 4,
  CloseReq: 5,
  Close: 6,
  Reset: 7,
  Sync: 8,
  SyncAck: 9
}

/**
 * Reset codes (RFC 4340 §5.6). 12–127 are reserved, 128–255 CCID-specific.
 *
 * @since 0.1.0
 * @category constants
 */
export const ResetCode = {
  Unspecified: 0,
  Closed: 1,
  Aborted: 2,
  NoConnection: 3,
  PacketError: 4,
  OptionError: 5,
  MandatoryError: 6,
  ConnectionRefused: 7,
  BadServiceCode: 8,
  TooBusy: 9,
  BadInitCookie: 10,
  AggressionPenalty: 11
} as const

/**
 * Whether a packet of this type carries an Acknowledgement Number subheader
 * (every type except Request and Data, RFC 4340 §5.1).
 *
 * @since 0.1.0
 * @category predicates
 */
export const hasAck = (type: PacketType): boolean => type !== "Request" && type !== "Data"

/**
 * Whether a packet of this type carries application data that is delivered:
 * Data and DataAck (RFC 4340 §5.4). Request, Response, Ack, Sync and SyncAck
 * have data areas too, but this engine never delivers them (§5.7 forbids it for
 * Sync/SyncAck; see docs/dccp.md for the others).
 *
 * @since 0.1.0
 * @category predicates
 */
export const carriesData = (type: PacketType): boolean => type === "Data" || type === "DataAck"

/**
 * Whether short (X=0) sequence numbers are permitted for this type: only
 * Data, Ack and DataAck (RFC 4340 §5.1).
 *
 * @since 0.1.0
 * @category predicates
 */
export const allowsShortSeq = (type: PacketType): boolean => type === "Data" || type === "Ack" || type === "DataAck"

/**
 * The fixed header size of a packet type: the generic header, the ack
 * subheader if any, and the Service Code or Reset fields (RFC 4340 §5.2–5.7).
 *
 * @since 0.1.0
 * @category models
 */
export const fixedHeaderLength = (type: PacketType, extended: boolean): number => {
  const generic = extended ? 16 : 12
  const ack = hasAck(type) ? (extended ? 8 : 4) : 0
  const extra = type === "Request" || type === "Response" || type === "Reset" ? 4 : 0
  return generic + ack + extra
}

/**
 * A decoded packet. `options` and `payload` are views into the input bytes.
 * `seq` and `ack` are the raw field values: 48-bit when `extended`, else the
 * 24-bit short form that the receiver extends (RFC 4340 §7.6).
 *
 * @since 0.1.0
 * @category models
 */
export interface Packet {
  readonly type: PacketType
  readonly sourcePort: number
  readonly destinationPort: number
  /** Header plus options, in bytes (the Data Offset field × 4). */
  readonly dataOffset: number
  readonly ccval: number
  readonly cscov: number
  readonly checksum: number
  readonly extended: boolean
  readonly seq: number
  readonly ack: number | undefined
  readonly serviceCode: number | undefined
  readonly resetCode: number | undefined
  /** Reset Data 1–3. */
  readonly resetData: Uint8Array | undefined
  readonly options: Uint8Array
  readonly payload: Uint8Array
  /** Bytes the checksum covers (RFC 4340 §9.2). */
  readonly coverage: number
  /** The whole packet as received. */
  readonly bytes: Uint8Array
}

/**
 * Why a packet failed the step 1 header checks (RFC 4340 §8.5).
 *
 * @since 0.1.0
 * @category models
 */
export type HeaderError =
  | "too-short"
  | "unknown-type"
  | "short-seq-for-type"
  | "data-offset-too-small"
  | "data-offset-too-large"
  | "cscov-too-large"

/**
 * The result of decoding.
 *
 * @since 0.1.0
 * @category models
 */
export type DecodeResult =
  | { readonly ok: true; readonly packet: Packet }
  | { readonly ok: false; readonly error: HeaderError }

const read48 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 8) | b[o + 1]!) * 0x100000000 + ((b[o + 2]! << 24) >>> 0) + ((b[o + 3]! << 16) | (b[o + 4]! << 8) | b[o + 5]!)

const read24 = (b: Uint8Array, o: number): number => (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!

const read32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!)

const write48 = (b: Uint8Array, o: number, v: number): void => {
  const high = Math.floor(v / 0x100000000)
  const low = v >>> 0
  b[o] = (high >>> 8) & 0xff
  b[o + 1] = high & 0xff
  b[o + 2] = low >>> 24
  b[o + 3] = (low >>> 16) & 0xff
  b[o + 4] = (low >>> 8) & 0xff
  b[o + 5] = low & 0xff
}

const write24 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 16) & 0xff
  b[o + 1] = (v >>> 8) & 0xff
  b[o + 2] = v & 0xff
}

const write32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v >>> 24
  b[o + 1] = (v >>> 16) & 0xff
  b[o + 2] = (v >>> 8) & 0xff
  b[o + 3] = v & 0xff
}

/**
 * Decodes the header of `bytes` and runs the header checks of step 1 of the
 * receive pseudocode (RFC 4340 §8.5), except the checksum:
 * shorter than 12 bytes, or 16 with X=1; a type not understood; X=0 for a type
 * that must have X=1; Data Offset smaller than the type's fixed header or
 * larger than the packet; CsCov larger than the packet.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodePacket = (bytes: Uint8Array): DecodeResult => {
  const packet = emptyPacket()
  const error = decodePacketInto(bytes, packet)
  return error === undefined ? { ok: true, packet } : { ok: false, error }
}

/**
 * A packet record for `decodePacketInto` to fill.
 *
 * @since 0.2.0
 * @category decoding
 */
export const emptyPacket = (): Mutable<Packet> => ({
  type: "Data",
  sourcePort: 0,
  destinationPort: 0,
  dataOffset: 0,
  ccval: 0,
  cscov: 0,
  checksum: 0,
  extended: false,
  seq: 0,
  ack: undefined,
  serviceCode: undefined,
  resetCode: undefined,
  resetData: undefined,
  options: NONE,
  payload: NONE,
  coverage: 0,
  bytes: NONE
})

/**
 * `decodePacket` into a record the caller reuses (`emptyPacket`): the header
 * checks of step 1, then every field of `out` rewritten. Returns the error,
 * or `undefined` when `out` holds the packet (its `options`, `payload` and
 * `bytes` are views of `bytes`). A driver decoding one packet at a time
 * allocates no record per packet.
 *
 * @since 0.2.0
 * @category decoding
 */
export const decodePacketInto = (bytes: Uint8Array, out: Mutable<Packet>): HeaderError | undefined => {
  if (bytes.length < 12) return "too-short"
  const typeByte = bytes[8]!
  const typeCode = (typeByte >>> 1) & 0x0f
  const extended = (typeByte & 1) === 1
  if (extended && bytes.length < 16) return "too-short"
  const type = PACKET_TYPES[typeCode]
  if (type === undefined) return "unknown-type"
  if (!extended && !allowsShortSeq(type)) return "short-seq-for-type"
  const dataOffset = bytes[4]! * 4
  const fixed = fixedHeaderLength(type, extended)
  if (dataOffset < fixed) return "data-offset-too-small"
  if (dataOffset > bytes.length) return "data-offset-too-large"
  const cscov = bytes[5]! & 0x0f
  const coverage = coverageLength(dataOffset, cscov, bytes.length)
  if (coverage === undefined) return "cscov-too-large"

  let offset = extended ? 10 : 9
  const seq = extended ? read48(bytes, offset) : read24(bytes, offset)
  offset += extended ? 6 : 3
  let ack: number | undefined
  if (hasAck(type)) {
    // Acknowledgement Number subheader: Reserved(16)+Ack(48), or Reserved(8)+Ack(24).
    ack = extended ? read48(bytes, offset + 2) : read24(bytes, offset + 1)
    offset += extended ? 8 : 4
  }
  let serviceCode: number | undefined
  let resetCode: number | undefined
  let resetData: Uint8Array | undefined
  if (type === "Request" || type === "Response") {
    serviceCode = read32(bytes, offset)
  } else if (type === "Reset") {
    resetCode = bytes[offset]!
    resetData = bytes.subarray(offset + 1, offset + 4)
  }
  out.type = type
  out.sourcePort = (bytes[0]! << 8) | bytes[1]!
  out.destinationPort = (bytes[2]! << 8) | bytes[3]!
  out.dataOffset = dataOffset
  out.ccval = bytes[5]! >>> 4
  out.cscov = cscov
  out.checksum = (bytes[6]! << 8) | bytes[7]!
  out.extended = extended
  out.seq = seq
  out.ack = ack
  out.serviceCode = serviceCode
  out.resetCode = resetCode
  out.resetData = resetData
  out.options = fixed === dataOffset ? NONE : bytes.subarray(fixed, dataOffset)
  out.payload = dataOffset === bytes.length ? NONE : bytes.subarray(dataOffset)
  out.coverage = coverage
  out.bytes = bytes
  return undefined
}

/**
 * What to encode. `options` must already be padded to a multiple of 4 bytes
 * (see `Options.ts`); `ack` is required exactly for the types that carry one.
 *
 * @since 0.1.0
 * @category models
 */
export interface PacketFields {
  readonly type: PacketType
  readonly sourcePort: number
  readonly destinationPort: number
  readonly seq: number
  readonly ack?: number | undefined
  readonly ccval?: number | undefined
  readonly cscov?: number | undefined
  readonly serviceCode?: number | undefined
  readonly resetCode?: number | undefined
  readonly resetData?: ArrayLike<number> | undefined
  readonly options?: Uint8Array | undefined
  readonly payload?: Uint8Array | undefined
  /** Encode X=0 (short sequence numbers). Only for tests and peers known to extend them. */
  readonly short?: boolean | undefined
}

/** An empty options or payload field. */
const NONE = new Uint8Array(0)

/**
 * The length `fields` encode to.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodedLength = (fields: PacketFields): number =>
  fixedHeaderLength(fields.type, fields.short !== true) + (fields.options?.length ?? 0) + (fields.payload?.length ?? 0)

/**
 * Encodes a packet. When `pseudo` is given the checksum is computed over the
 * coverage CsCov selects; otherwise the Checksum field is left zero (for
 * callers that fill it later). Throws only on programmer errors (options not
 * padded, a header longer than 1020 bytes, X=0 for a type that forbids it);
 * the engine never calls it with such input.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodePacket = (fields: PacketFields, pseudo?: PseudoHeader): Uint8Array => {
  const out = new Uint8Array(encodedLength(fields))
  encodePacketInto(out, 0, fields, pseudo)
  return out
}

/**
 * Encodes a packet into `out` at `offset`, as `encodePacket` does, and returns
 * its length. `out` must have room for it (see `encodedLength`); bytes the
 * encoding does not set are zeroed, so the buffer may be reused.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodePacketInto = (out: Uint8Array, offset: number, fields: PacketFields, pseudo?: PseudoHeader): number => {
  const extended = fields.short !== true
  const type = fields.type
  if (!extended && !allowsShortSeq(type)) throw new RangeError(`X=0 is not allowed for ${type}`)
  const options = fields.options ?? NONE
  if (options.length % 4 !== 0) throw new RangeError("options must be padded to a multiple of 4 bytes")
  const payload = fields.payload ?? NONE
  const fixed = fixedHeaderLength(type, extended)
  const headerLength = fixed + options.length
  if (headerLength > 1020) throw new RangeError("header and options exceed 1020 bytes")
  const length = headerLength + payload.length
  if (offset + length > out.length) throw new RangeError(`no room for a ${length}-byte packet`)
  const o = offset
  out[o] = fields.sourcePort >>> 8
  out[o + 1] = fields.sourcePort & 0xff
  out[o + 2] = fields.destinationPort >>> 8
  out[o + 3] = fields.destinationPort & 0xff
  out[o + 4] = headerLength / 4
  out[o + 5] = (((fields.ccval ?? 0) & 0x0f) << 4) | ((fields.cscov ?? 0) & 0x0f)
  out[o + 6] = 0
  out[o + 7] = 0
  out[o + 8] = (PACKET_TYPE_CODE[type] << 1) | (extended ? 1 : 0)
  let at: number
  if (extended) {
    out[o + 9] = 0
    write48(out, o + 10, fields.seq)
    at = o + 16
  } else {
    write24(out, o + 9, fields.seq % 0x1000000)
    at = o + 12
  }
  if (hasAck(type)) {
    const ack = fields.ack ?? 0
    out[at] = 0
    out[at + 1] = 0
    if (extended) write48(out, at + 2, ack)
    else {
      write24(out, at + 1, ack % 0x1000000)
    }
    at += extended ? 8 : 4
  }
  if (type === "Request" || type === "Response") {
    write32(out, at, fields.serviceCode ?? 0)
  } else if (type === "Reset") {
    out[at] = fields.resetCode ?? 0
    const data = fields.resetData
    for (let i = 0; i < 3; i++) out[at + 1 + i] = data !== undefined ? (data[i] ?? 0) & 0xff : 0
  }
  if (options.length > 0) out.set(options, o + fixed)
  if (payload.length > 0) out.set(payload, o + headerLength)
  if (pseudo !== undefined) {
    const coverage = coverageLength(headerLength, fields.cscov ?? 0, length) ?? length
    writeDccpChecksumAt(pseudo, out, o, length, coverage)
  }
  return length
}
