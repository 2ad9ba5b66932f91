/**
 * Byte cursors for the wire format: QUIC's variable-length integers (RFC 9000
 * §16: 1, 2, 4 or 8 bytes, the length in the two top bits of the first byte)
 * and the truncated numbers of RFC 9000 §17.1 / Appendix A (packet numbers,
 * and the 32-bit ids of a packet's first message frame).
 *
 * Neither cursor throws or allocates: a `Reader` that runs past its end, or
 * meets a number it cannot represent, sets `ok = false` and returns 0 from then
 * on; a `Writer` never writes past its buffer (callers check `room()` first,
 * and an overrun sets `ok = false`). Numbers are JavaScript safe integers:
 * internal ids never exceed 2^53, which a connection cannot reach.
 *
 * @since 0.2.0
 */

/**
 * The largest value a variable-length integer carries here (2^53 − 1: a
 * JavaScript safe integer; QUIC allows up to 2^62 − 1, and a larger value is
 * read as malformed).
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER

/**
 * Bytes a variable-length integer needs.
 *
 * @since 0.2.0
 * @category codecs
 */
export const varintLength = (v: number): 1 | 2 | 4 | 8 => v < 64 ? 1 : v < 16384 ? 2 : v < 1073741824 ? 4 : 8

/**
 * A cursor over the region `[pos, end)` of a buffer; `ok` turns false at the
 * first overrun or bad number and stays false until `reset`.
 *
 * @since 0.2.0
 * @category models
 */
export class Cursor {
  buf: Uint8Array
  pos: number
  end: number
  ok = true

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf
    this.pos = pos
    this.end = end
  }

  /** Points the cursor at a new buffer region. */
  reset(buf: Uint8Array, pos = 0, end = buf.length): this {
    this.buf = buf
    this.pos = pos
    this.end = end
    this.ok = true
    return this
  }
}

/**
 * A write cursor over a buffer.
 *
 * @since 0.2.0
 * @category models
 */
export class Writer extends Cursor {

  room(): number {
    return this.end - this.pos
  }

  u8(v: number): void {
    if (this.pos + 1 > this.end) return void (this.ok = false)
    this.buf[this.pos++] = v & 0xff
  }

  u16(v: number): void {
    if (this.pos + 2 > this.end) return void (this.ok = false)
    const b = this.buf
    b[this.pos++] = (v >>> 8) & 0xff
    b[this.pos++] = v & 0xff
  }

  u32(v: number): void {
    if (this.pos + 4 > this.end) return void (this.ok = false)
    const b = this.buf
    b[this.pos++] = (v >>> 24) & 0xff
    b[this.pos++] = (v >>> 16) & 0xff
    b[this.pos++] = (v >>> 8) & 0xff
    b[this.pos++] = v & 0xff
  }

  /** `n` (1, 2, 4 or 8) low-order bytes of `v`, big-endian. */
  uint(v: number, n: number): void {
    if (this.pos + n > this.end) return void (this.ok = false)
    const b = this.buf
    if (n === 8) {
      const hi = Math.floor(v / 4294967296)
      this.u32(hi)
      this.u32(v >>> 0)
      return
    }
    const low = n === 4 ? v % 4294967296 : v % (1 << (8 * n))
    for (let i = n - 1; i >= 0; i--) b[this.pos + (n - 1 - i)] = (low >>> (8 * i)) & 0xff
    this.pos += n
  }

  varint(v: number): void {
    if (v < 64) return this.u8(v)
    if (v < 16384) return this.u16(0x4000 | v)
    if (v < 1073741824) return this.u32((0x80000000 | v) >>> 0)
    if (this.pos + 8 > this.end) return void (this.ok = false)
    this.u32((0xc0000000 | Math.floor(v / 4294967296)) >>> 0)
    this.u32(v >>> 0)
  }

  /** A varint in exactly `n` bytes (1, 2, 4 or 8), for fields filled in later. */
  varintWithLength(v: number, n: 1 | 2 | 4 | 8): void {
    if (n === 1) return this.u8(v)
    if (n === 2) return this.u16(0x4000 | v)
    if (n === 4) return this.u32((0x80000000 | v) >>> 0)
    this.u32((0xc0000000 | Math.floor(v / 4294967296)) >>> 0)
    this.u32(v >>> 0)
  }

  bytes(src: Uint8Array): void {
    if (this.pos + src.length > this.end) return void (this.ok = false)
    this.buf.set(src, this.pos)
    this.pos += src.length
  }

  /** `n` zero bytes (PADDING). */
  zeros(n: number): void {
    if (this.pos + n > this.end) return void (this.ok = false)
    this.buf.fill(0, this.pos, this.pos + n)
    this.pos += n
  }
}

/**
 * A read cursor over a buffer region.
 *
 * @since 0.2.0
 * @category models
 */
export class Reader extends Cursor {

  remaining(): number {
    return this.end - this.pos
  }

  fail(): number {
    this.ok = false
    this.pos = this.end
    return 0
  }

  u8(): number {
    if (this.pos + 1 > this.end) return this.fail()
    return this.buf[this.pos++]!
  }

  u16(): number {
    if (this.pos + 2 > this.end) return this.fail()
    const b = this.buf
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!
    this.pos += 2
    return v
  }

  u32(): number {
    if (this.pos + 4 > this.end) return this.fail()
    const b = this.buf
    const v = ((b[this.pos]! << 24) | (b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!) >>> 0
    this.pos += 4
    return v
  }

  /** An `n`-byte (1, 2, 4 or 8) big-endian unsigned number. */
  uint(n: number): number {
    if (n === 1) return this.u8()
    if (n === 2) return this.u16()
    if (n === 4) return this.u32()
    const hi = this.u32()
    const lo = this.u32()
    const v = hi * 4294967296 + lo
    return v > MAX_VARINT ? this.fail() : v
  }

  varint(): number {
    if (this.pos >= this.end) return this.fail()
    const first = this.buf[this.pos]!
    const prefix = first >> 6
    if (prefix === 0) {
      this.pos++
      return first
    }
    if (prefix === 1) return this.u16() & 0x3fff
    if (prefix === 2) return (this.u32() & 0x3fffffff) >>> 0
    const hi = this.u32() & 0x3fffffff
    const lo = this.u32()
    const v = hi * 4294967296 + lo
    return v > MAX_VARINT ? this.fail() : v
  }

  /** A view of the next `n` bytes (no copy), or an empty view on overrun. */
  bytes(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) {
      this.fail()
      return this.buf.subarray(0, 0)
    }
    const v = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) this.fail()
    else this.pos += n
  }
}

// --- truncated numbers --------------------------------------------------------------

/**
 * Recovers a number from its `bytes` low-order bytes: the candidate closest to
 * `expected` (RFC 9000 Appendix A.3, for any width). `bytes` = 8 means the
 * value was sent whole. Returns −1 when no non-negative safe integer fits.
 *
 * @since 0.2.0
 * @category codecs
 */
export const decodeTruncated = (truncated: number, bytes: number, expected: number): number => {
  if (bytes >= 8) return truncated
  const win = bytes === 1 ? 0x100 : bytes === 2 ? 0x10000 : 0x100000000
  const half = win / 2
  const base = expected - (expected % win)
  let candidate = base + truncated
  if (candidate <= expected - half && candidate + win <= MAX_VARINT) candidate += win
  else if (candidate > expected + half && candidate >= win) candidate -= win
  return candidate >= 0 ? candidate : -1
}
