/**
 * Packet headers of the wire format, version 1 (docs/rudp.md, "Wire format",
 * byte by byte). One UDP datagram carries one packet:
 *
 * ```
 * short header (after the handshake)        long header (handshake)
 * 0 1 S R R K P P   form 0, fixed 1         1 1 T T R R P P   form 1, fixed 1, type TT
 * dcid               (receiver's length)     version           u32
 * packet number      1–4 bytes (PP + 1)      dcid length u8, dcid (0–20 bytes)
 * frames …                                   scid length u8, scid (0–20 bytes)
 * integrity tag      4 bytes                 token length varint, token   (Initial only)
 *                                            length varint (pn + frames + tag)
 *                                            packet number 1–4 bytes
 *                                            frames …
 *                                            integrity tag 4 bytes
 * ```
 *
 * S (spin) and R (reserved) are 0 in version 1, and so is K (key phase) in a
 * packet without encryption (with it, K names the key generation); the bits that
 * header protection masks in RFC 9001 §5.4 (the low 5 bits of a short header's
 * first byte, the low 4 of a long header's, and the packet number) sit where
 * that scheme expects them, so version 2 can add AEAD and header protection
 * without moving a field. Version 1's integrity tag is the CRC-32 of
 * everything before it, its initial value derived from the full packet number:
 * like the AEAD nonce of QUIC, the number makes a packet whose truncated number
 * was decoded wrongly (a very late duplicate) fail the check. The AEAD tag
 * takes its place. Long header types: 0 Initial,
 * 1 Handshake, 2 Retry (reserved for the stateless retry of the endpoint
 * server), 3 reserved. A version negotiation packet is a long header with
 * version 0 followed by the supported versions (u32 each) and the tag.
 *
 * @since 0.2.0
 */
import { crc32 as zlibCrc32 } from "node:zlib"
import { Reader, type Writer } from "./Bytes.ts"

/**
 * The protocol version this engine speaks.
 *
 * @since 0.2.0
 * @category constants
 */
export const VERSION_1 = 0x52550001

/**
 * The versions this engine accepts, preferred first.
 *
 * @since 0.2.0
 * @category constants
 */
export const SUPPORTED_VERSIONS: ReadonlyArray<number> = [VERSION_1]

/**
 * Bytes of the integrity tag at the end of every packet.
 *
 * @since 0.2.0
 * @category constants
 */
export const TAG_BYTES = 4

/**
 * Longest connection id.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_CID = 20

/**
 * Long header packet types.
 *
 * @since 0.2.0
 * @category models
 */
export type LongType = "Initial" | "Handshake" | "Retry"

const LONG_TYPES: ReadonlyArray<LongType | undefined> = ["Initial", "Handshake", "Retry", undefined]

/**
 * A parsed header; one object is reused for every packet.
 *
 * @since 0.2.0
 * @category models
 */
export class Header {
  form: "short" | "long" | "version-negotiation" = "short"
  type: LongType = "Initial"
  version = 0
  /** The destination id: `dcidLength` bytes of `buf` at `dcidAt` (compared in place, see `dcidIs`). */
  buf: Uint8Array = new Uint8Array(0)
  dcidAt = 0
  dcidLength = 0
  /** A view of the destination id. */
  get dcid(): Uint8Array {
    return this.buf.subarray(this.dcidAt, this.dcidAt + this.dcidLength)
  }
  /** Whether the destination id is `cid`. */
  dcidIs(cid: Uint8Array): boolean {
    if (cid.length !== this.dcidLength) return false
    const b = this.buf, at = this.dcidAt
    for (let i = 0; i < cid.length; i++) if (b[at + i] !== cid[i]) return false
    return true
  }
  scid: Uint8Array = new Uint8Array(0)
  token: Uint8Array = new Uint8Array(0)
  /** A short header's key phase bit (0 or 1; 0 without encryption). */
  keyPhase = 0
  /** Packet number bytes (1–4) and their value. */
  pnLength = 1
  pnTruncated = 0
  /** Where the frames start and end (the tag excluded). */
  payloadStart = 0
  payloadEnd = 0
  /** Version negotiation: the versions offered. */
  readonly versions: Array<number> = []
}

/**
 * Why a datagram was not a packet of ours.
 *
 * @since 0.2.0
 * @category models
 */
export type HeaderError = "too-short" | "tag" | "fixed-bit" | "reserved-bits" | "length" | "cid-length" | "unknown-type"

/**
 * The tag of `bytes[start, end)` for packet number `pn` (0 for version
 * negotiation packets): CRC-32 with the packet number folded into its initial
 * value, so a packet read with another number fails (CRC-32 is linear: two
 * initial values give tags that differ by the CRC of zeros from their XOR).
 *
 * @since 0.2.0
 * @category codecs
 */
export const tagOf = (bytes: Uint8Array, start: number, end: number, pn: number): number =>
  crc32(bytes, start, end, pnSeed(pn))

/** CRC-32 (IEEE 802.3, zlib's) by table, one byte at a time. */
const TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

/** Below this many bytes the table beats `zlib.crc32`, whose per-call cost (argument checks) is ~0.5 µs. */
const ZLIB_FROM = 512

/**
 * The CRC-32 of `bytes[start, end)` continuing from `seed` (zlib's
 * `crc32(data, value)`): by table for short packets, by zlib for long ones;
 * the same function either way (`test/rudp/codec.test.ts` checks).
 *
 * @since 0.2.0
 * @category codecs
 */
export const crc32 = (bytes: Uint8Array, start: number, end: number, seed: number): number => {
  if (end - start >= ZLIB_FROM) return zlibCrc32(bytes.subarray(start, end), seed) >>> 0
  let c = ~seed
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/** A 32-bit value for a packet number: distinct for numbers that differ by a multiple of 2^8, 2^16 or 2^32. */
const pnSeed = (pn: number): number => ((pn >>> 0) ^ Math.imul(Math.floor(pn / 4294967296), 0x9e3779b1)) >>> 0

/**
 * Whether the tag at the end of `bytes` is right for packet number `pn`.
 *
 * @since 0.2.0
 * @category codecs
 */
export const verifyTag = (bytes: Uint8Array, pn: number): boolean => {
  const end = bytes.length - TAG_BYTES
  const tag = ((bytes[end]! << 24) | (bytes[end + 1]! << 16) | (bytes[end + 2]! << 8) | bytes[end + 3]!) >>> 0
  return tagOf(bytes, 0, end, pn) === tag
}

/**
 * Writes the tag of `buf[start, end)` for packet `pn` at `end`; returns the
 * packet's end.
 *
 * @since 0.2.0
 * @category codecs
 */
export const seal = (buf: Uint8Array, start: number, end: number, pn: number): number => {
  const t = tagOf(buf, start, end, pn)
  buf[end] = t >>> 24
  buf[end + 1] = (t >>> 16) & 0xff
  buf[end + 2] = (t >>> 8) & 0xff
  buf[end + 3] = t & 0xff
  return end + TAG_BYTES
}

/**
 * Writes a short header; returns the offset of the packet number.
 *
 * @since 0.2.0
 * @category codecs
 */
export const writeShortHeader = (w: Writer, dcid: Uint8Array, pn: number, pnLength: number): number => {
  w.u8(0x40 | (pnLength - 1))
  w.bytes(dcid)
  const at = w.pos
  w.uint(pn, pnLength)
  return at
}

/**
 * Writes a long header up to and including the packet number, with a 2-byte
 * length field to be filled by `patchLength`. Returns the length field's offset.
 *
 * @since 0.2.0
 * @category codecs
 */
export const writeLongHeader = (
  w: Writer,
  type: LongType,
  version: number,
  dcid: Uint8Array,
  scid: Uint8Array,
  token: Uint8Array | undefined,
  pn: number,
  pnLength: number
): number => {
  w.u8(0xc0 | (LONG_TYPES.indexOf(type) << 4) | (pnLength - 1))
  w.u32(version)
  w.u8(dcid.length)
  w.bytes(dcid)
  w.u8(scid.length)
  w.bytes(scid)
  if (type === "Initial") {
    w.varint(token?.length ?? 0)
    if (token !== undefined) w.bytes(token)
  }
  const lengthAt = w.pos
  w.varintWithLength(0, 2)
  w.uint(pn, pnLength)
  return lengthAt
}

/**
 * Fills a long header's length field: the bytes from after it to the packet's
 * end, tag included.
 *
 * @since 0.2.0
 * @category codecs
 */
export const patchLength = (buf: Uint8Array, lengthAt: number, packetEnd: number): void => {
  const n = packetEnd - (lengthAt + 2)
  buf[lengthAt] = 0x40 | ((n >>> 8) & 0x3f)
  buf[lengthAt + 1] = n & 0xff
}

/**
 * Writes a version negotiation packet (version 0, our versions, tag) into
 * `buf`; returns its length.
 *
 * @since 0.2.0
 * @category codecs
 */
export const writeVersionNegotiation = (w: Writer, dcid: Uint8Array, scid: Uint8Array, versions: ReadonlyArray<number>): number => {
  const start = w.pos
  w.u8(0xc0)
  w.u32(0)
  w.u8(dcid.length)
  w.bytes(dcid)
  w.u8(scid.length)
  w.bytes(scid)
  for (const v of versions) w.u32(v)
  if (!w.ok || w.room() < TAG_BYTES) return 0
  return seal(w.buf, start, w.pos, 0) - start
}

const reader = new Reader(new Uint8Array(0))

/**
 * Parses the header of `bytes` into `out`; `cidLength` is the length of our
 * own connection ids (short headers carry no length). Returns `undefined` on
 * success, or why the datagram is not a packet of ours. The tag is checked
 * once the packet number is known (`verifyTag`), except for version
 * negotiation packets, which have none and are checked here.
 *
 * @since 0.2.0
 * @category codecs
 */
export const parseHeader = (bytes: Uint8Array, cidLength: number, out: Header): HeaderError | undefined => {
  const n = bytes.length
  if (n < 1 + TAG_BYTES + 1) return "too-short"
  const end = n - TAG_BYTES
  const first = bytes[0]!
  if ((first & 0x40) === 0 && (first & 0x80) !== 0) {
    // A long header without the fixed bit is only valid as version negotiation.
  } else if ((first & 0x40) === 0) return "fixed-bit"
  const r = reader.reset(bytes, 1, end)
  if ((first & 0x80) === 0) {
    if ((first & 0x38) !== 0) return "reserved-bits"
    out.form = "short"
    out.keyPhase = (first >> 2) & 1
    out.buf = bytes
    out.dcidAt = r.pos
    out.dcidLength = cidLength
    r.skip(cidLength)
    out.pnLength = (first & 0x03) + 1
    out.pnTruncated = r.uint(out.pnLength)
    if (!r.ok) return "too-short"
    out.payloadStart = r.pos
    out.payloadEnd = end
    return undefined
  }
  out.version = r.u32()
  const dl = r.u8()
  if (dl > MAX_CID) return "cid-length"
  out.buf = bytes
  out.dcidAt = r.pos
  out.dcidLength = dl
  r.skip(dl)
  const sl = r.u8()
  if (sl > MAX_CID) return "cid-length"
  out.scid = r.bytes(sl)
  if (!r.ok) return "too-short"
  if (out.version === 0) {
    if (!verifyTag(bytes, 0)) return "tag"
    out.form = "version-negotiation"
    out.versions.length = 0
    if (r.remaining() % 4 !== 0 || r.remaining() === 0) return "length"
    while (r.remaining() > 0) out.versions.push(r.u32())
    return undefined
  }
  if ((first & 0x40) === 0) return "fixed-bit"
  if ((first & 0x0c) !== 0) return "reserved-bits"
  const type = LONG_TYPES[(first >> 4) & 0x03]
  if (type === undefined) return "unknown-type"
  out.form = "long"
  out.type = type
  if (type === "Initial") {
    const tl = r.varint()
    out.token = r.bytes(tl)
  } else out.token = out.token.subarray(0, 0)
  const length = r.varint()
  if (!r.ok) return "too-short"
  if (length !== r.remaining() + TAG_BYTES) return "length"
  out.pnLength = (first & 0x03) + 1
  out.pnTruncated = r.uint(out.pnLength)
  if (!r.ok) return "too-short"
  out.payloadStart = r.pos
  out.payloadEnd = end
  return undefined
}

/**
 * Bytes of the longest short header for a connection id length.
 *
 * @since 0.2.0
 * @category codecs
 */
export const shortHeaderMax = (cidLength: number): number => 1 + cidLength + 4

/**
 * Bytes of the longest long header (Initial with no token, 4-byte packet number).
 *
 * @since 0.2.0
 * @category codecs
 */
export const longHeaderMax = (dcidLength: number, scidLength: number, tokenLength: number): number =>
  1 + 4 + 1 + dcidLength + 1 + scidLength + (tokenLength < 64 ? 1 : 2) + tokenLength + 2 + 4
