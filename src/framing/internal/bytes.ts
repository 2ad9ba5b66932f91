/**
 * Integer accessors of the binary layouts, one function per width and byte
 * order (no loops, no DataView per message). Readers return unsigned values;
 * writers take any integer and store its low bits (two's complement for
 * negative ones).
 *
 * @internal
 */

/** @internal */
export type Reader = (b: Uint8Array, at: number) => number
/** @internal */
export type Writer = (b: Uint8Array, at: number, v: number) => void

/** @internal */
export const u8: Reader = (b, at) => b[at]!
/** @internal */
export const u16be: Reader = (b, at) => (b[at]! << 8) | b[at + 1]!
/** @internal */
export const u16le: Reader = (b, at) => b[at]! | (b[at + 1]! << 8)
/** @internal */
export const u32be: Reader = (b, at) => b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!)
/** @internal */
export const u32le: Reader = (b, at) => b[at + 3]! * 0x1000000 + ((b[at + 2]! << 16) | (b[at + 1]! << 8) | b[at]!)

/** @internal */
export const w8: Writer = (b, at, v) => {
  b[at] = v
}
/** @internal */
export const w16be: Writer = (b, at, v) => {
  b[at] = v >>> 8
  b[at + 1] = v
}
/** @internal */
export const w16le: Writer = (b, at, v) => {
  b[at] = v
  b[at + 1] = v >>> 8
}
/** @internal */
export const w32be: Writer = (b, at, v) => {
  b[at] = v >>> 24
  b[at + 1] = v >>> 16
  b[at + 2] = v >>> 8
  b[at + 3] = v
}
/** @internal */
export const w32le: Writer = (b, at, v) => {
  b[at] = v
  b[at + 1] = v >>> 8
  b[at + 2] = v >>> 16
  b[at + 3] = v >>> 24
}

/** The reader and writer of an unsigned integer of `width` bytes. @internal */
export const accessors = (width: 1 | 2 | 4, big: boolean): readonly [Reader, Writer] =>
  width === 1 ? [u8, w8] : width === 2 ? (big ? [u16be, w16be] : [u16le, w16le]) : big ? [u32be, w32be] : [u32le, w32le]
