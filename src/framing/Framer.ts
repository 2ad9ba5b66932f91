/**
 * Framers cut a byte stream into frames and put frames back on one. A framer
 * is pure (no Effect, no I/O) and below the codecs: it knows where a message
 * begins and ends, a `Codec` knows what the bytes mean (STYLE.md pattern 10).
 *
 * A `Framer` is a description shared by every connection; `splitter()` makes
 * the per-stream state:
 *
 * - `splitter.push(chunk)` returns the payloads of the frames the chunk
 *   completes, in order. A frame that lies inside one chunk is a view of it (no
 *   copy); a frame that spans chunks is assembled once, in a fresh array. Every
 *   payload stays valid after later pushes. A frame over `maxFrame` is a
 *   `FrameError` of kind `TooLarge` as soon as it is known (from the length
 *   field, or when `maxFrame` bytes pass without a delimiter): nothing is
 *   buffered without bound, and the splitter stays failed — close the stream.
 * - `splitter.end()` at the end of the stream returns a `Truncated` error with
 *   the residue when a frame was left incomplete (links does the same).
 * - `framer.frame(payload)` gives header, payload and trailer as separate
 *   arrays for one `writev`; `framer.seal(buffer, n)` writes header and trailer
 *   around a payload already placed at `buffer[headerLength]`, for senders that
 *   encode in place.
 *
 * The payload is what the codec sees: the frame without its length field or
 * delimiter. `maxFrame` bounds the payload.
 *
 * Invalid options (a width of 3, a negative `maxFrame`) are programming errors:
 * the constructors throw `RangeError`.
 *
 * @since 0.2.0
 */
import * as FrameError from "./FrameError.ts"
import { DelimitedSplitter, indexOf as indexOfDelimiter } from "./internal/DelimitedSplitter.ts"
import { type Measure, MeasuredSplitter } from "./internal/MeasuredSplitter.ts"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Framer"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.2.0
 * @category guards
 */
export const isFramer = (u: unknown): u is Framer => typeof u === "object" && u !== null && TypeId in u

/**
 * The state of one stream being cut into frames.
 *
 * @since 0.2.0
 * @category models
 */
export interface Splitter {
  /** The payloads of the frames `chunk` completes, or the error that ends the stream. */
  readonly push: (chunk: Uint8Array) => Array<Uint8Array> | FrameError.FrameError
  /** At the end of the stream: a `Truncated` error if a frame is incomplete. */
  readonly end: () => FrameError.FrameError | undefined
  /** Bytes held for an incomplete frame. */
  readonly buffered: number
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Framer {
  readonly [TypeId]: TypeId
  /** For messages and errors, e.g. `lengthPrefixed(u16be)`. */
  readonly name: string
  /** The largest payload, in bytes. */
  readonly maxFrame: number
  /** Bytes before the payload on the wire. */
  readonly headerLength: number
  /** Bytes after the payload on the wire. */
  readonly trailerLength: number
  /** Fresh state for one stream. */
  readonly splitter: () => Splitter
  /** Header, payload and trailer, for one `writev`; or an error for a payload that cannot be framed. */
  readonly frame: (payload: Uint8Array) => ReadonlyArray<Uint8Array> | FrameError.FrameError
  /**
   * Writes header and trailer around the `payloadLength` bytes at
   * `buffer[headerLength]`; returns the frame's length (from `buffer[0]`).
   * `buffer` must hold `headerLength + payloadLength + trailerLength` bytes.
   */
  readonly seal: (buffer: Uint8Array, payloadLength: number) => number | FrameError.FrameError
}

const checkMaxFrame = (maxFrame: number, limit = 2 ** 31): number => {
  if (!Number.isInteger(maxFrame) || maxFrame < 1 || maxFrame > limit) {
    throw new RangeError(`maxFrame is an integer from 1 to ${limit}, not ${maxFrame}`)
  }
  return maxFrame
}

const build = (parts: Omit<Framer, TypeId>): Framer => ({ [TypeId]: TypeId, ...parts })

// --- length-prefixed ---------------------------------------------------------------

/**
 * @since 0.2.0
 * @category models
 */
export interface LengthPrefixedOptions {
  /** Bytes of the length field. */
  readonly width: 1 | 2 | 4
  /** Byte order of the length field (default `"big"`, network order). */
  readonly endian?: "big" | "little" | undefined
  /**
   * Bytes of the message before the length field (default 0). They are part of
   * the payload: `frame` inserts the length field after them, and the
   * splitter removes it (with `offset > 0` that costs a copy of the frame).
   */
  readonly offset?: number | undefined
  /**
   * Whether the length counts the length field and the bytes before it
   * (default `false`: it counts what follows the field, as SoupBinTCP's does).
   */
  readonly includesHeader?: boolean | undefined
  /** The largest payload (default: the most the length field can count for widths 1 and 2, 1 MiB for width 4). */
  readonly maxFrame?: number | undefined
}

/**
 * Frames that start with a length field: SoupBinTCP's framing is
 * `lengthPrefixed({ width: 2 })`, links' `PacketLengthU16Framer<START, true,
 * ADD>` is `lengthPrefixed({ width: 2, offset: START, includesHeader: !ADD })`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const lengthPrefixed = (options: LengthPrefixedOptions): Framer => {
  if (typeof options !== "object" || options === null) throw new RangeError(`lengthPrefixed needs options ({ width: 1 | 2 | 4, … }), not ${String(options)}`)
  const width = options.width
  if (width !== 1 && width !== 2 && width !== 4) throw new RangeError(`width is 1, 2 or 4, not ${String(width)}`)
  const endian = options.endian ?? "big"
  if (endian !== "big" && endian !== "little") throw new RangeError(`endian is "big" or "little", not ${JSON.stringify(endian)}`)
  const big = endian === "big"
  const offset = options.offset ?? 0
  if (!Number.isInteger(offset) || offset < 0 || offset > 1024) throw new RangeError(`offset is an integer from 0 to 1024, not ${offset}`)
  const includesHeader = options.includesHeader ?? false
  const header = offset + width
  const fieldMax = width === 4 ? 2 ** 32 - 1 : 2 ** (8 * width) - 1
  const largest = includesHeader ? fieldMax - header : fieldMax
  if (largest < 1) throw new RangeError(`a ${width}-byte length that includes a ${header}-byte header leaves no room for a payload`)
  const maxFrame = checkMaxFrame(options.maxFrame ?? Math.min(largest, width === 4 ? 1024 * 1024 : largest), Math.min(largest, 2 ** 31))
  if (maxFrame < offset) throw new RangeError(`maxFrame ${maxFrame} is shorter than the ${offset} bytes before the length field`)
  const name = `lengthPrefixed(u${8 * width}${width === 1 ? "" : big ? "be" : "le"}${offset > 0 ? `@${offset}` : ""}${includesHeader ? ", includes header" : ""})`

  const readField = (b: Uint8Array): number =>
    width === 1
      ? b[offset]!
      : width === 2
      ? big ? (b[offset]! << 8) | b[offset + 1]! : b[offset]! | (b[offset + 1]! << 8)
      : big
      ? b[offset]! * 0x1000000 + ((b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!)
      : b[offset + 3]! * 0x1000000 + ((b[offset + 2]! << 16) | (b[offset + 1]! << 8) | b[offset]!)
  const writeField = (b: Uint8Array, at: number, value: number): void => {
    for (let i = 0; i < width; i++) {
      const shift = 8 * (big ? width - 1 - i : i)
      b[at + i] = Math.floor(value / 2 ** shift) & 0xff
    }
  }

  const measure: Measure = {
    name,
    maxFrame,
    maxWire: maxFrame + width,
    measure: (bytes) => {
      if (bytes.length < header) return undefined
      const field = readField(bytes)
      if (!includesHeader) return header + field
      if (field < header) return FrameError.malformed(name, field, maxFrame, `a length of ${field} is shorter than the ${header}-byte header it counts`)
      return field
    },
    payload: offset === 0
      ? (wire) => wire.subarray(width)
      : (wire, owned) => {
        if (owned) {
          wire.copyWithin(width, 0, offset)
          return wire.subarray(width)
        }
        const out = new Uint8Array(wire.length - width)
        out.set(wire.subarray(0, offset))
        out.set(wire.subarray(header), offset)
        return out
      }
  }
  const fieldFor = (payloadLength: number) => includesHeader ? payloadLength + width : payloadLength - offset
  const check = (payloadLength: number): FrameError.FrameError | undefined => {
    if (payloadLength > maxFrame) return FrameError.tooLarge(name, payloadLength, maxFrame, "payload")
    if (payloadLength < offset) {
      return FrameError.malformed(name, payloadLength, maxFrame, `a payload of ${payloadLength} bytes is shorter than the ${offset} bytes before the length field`)
    }
    return undefined
  }
  return build({
    name,
    maxFrame,
    headerLength: width,
    trailerLength: 0,
    splitter: () => new MeasuredSplitter(measure),
    frame: (payload) => {
      const e = check(payload.length)
      if (e !== undefined) return e
      const field = new Uint8Array(width)
      writeField(field, 0, fieldFor(payload.length))
      return offset === 0 ? [field, payload] : [payload.subarray(0, offset), field, payload.subarray(offset)]
    },
    seal: (buffer, payloadLength) => {
      const e = check(payloadLength)
      if (e !== undefined) return e
      // The payload sits after `width` free bytes; its first `offset` bytes move in front of the field.
      if (offset > 0) buffer.copyWithin(0, width, width + offset)
      writeField(buffer, offset, fieldFor(payloadLength))
      return width + payloadLength
    }
  })
}

// --- fixed size ----------------------------------------------------------------------

/**
 * Frames of exactly `size` bytes, with no header.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fixedSize = (size: number): Framer => {
  checkMaxFrame(size)
  const name = `fixedSize(${size})`
  const measure: Measure = { name, maxFrame: size, maxWire: size, measure: () => size, payload: (wire) => wire }
  const check = (n: number) =>
    n === size ? undefined : FrameError.malformed(name, n, size, `a payload of ${n} bytes for a fixed size of ${size}`)
  return build({
    name,
    maxFrame: size,
    headerLength: 0,
    trailerLength: 0,
    splitter: () => new MeasuredSplitter(measure),
    frame: (payload) => check(payload.length) ?? [payload],
    seal: (_, n) => check(n) ?? n
  })
}

// --- delimited -----------------------------------------------------------------------

/**
 * @since 0.2.0
 * @category models
 */
export interface DelimitedOptions {
  /** The largest payload (the bytes before a delimiter). */
  readonly maxFrame: number
}

/**
 * Frames ended by `delimiter` (a string is UTF-8 encoded: `"\n"` for
 * newline-delimited JSON). The payload excludes the delimiter; `frame` refuses
 * a payload that contains it.
 *
 * @since 0.2.0
 * @category constructors
 */
export const delimited = (delimiter: Uint8Array | string, options: DelimitedOptions): Framer => {
  const d = typeof delimiter === "string" ? new TextEncoder().encode(delimiter) : delimiter.slice()
  if (d.length < 1 || d.length > 64) throw new RangeError(`a delimiter has 1 to 64 bytes, not ${d.length}`)
  const maxFrame = checkMaxFrame(options?.maxFrame)
  const name = `delimited(${JSON.stringify(new TextDecoder().decode(d))})`
  const check = (payload: Uint8Array): FrameError.FrameError | undefined => {
    if (payload.length > maxFrame) return FrameError.tooLarge(name, payload.length, maxFrame, "payload")
    const at = indexOfDelimiter(payload, d, 0)
    return at < 0 ? undefined : FrameError.malformed(name, payload.length, maxFrame, `the payload contains the delimiter at byte ${at}`)
  }
  return build({
    name,
    maxFrame,
    headerLength: 0,
    trailerLength: d.length,
    splitter: () => new DelimitedSplitter(name, d, maxFrame),
    frame: (payload) => check(payload) ?? [payload, d],
    seal: (buffer, n) => {
      const e = check(buffer.subarray(0, n))
      if (e !== undefined) return e
      buffer.set(d, n)
      return n + d.length
    }
  })
}

// --- custom (make) --------------------------------------------------------------------------

/**
 * A framer of your own, links' `Framer` trait: tell the frame's length from its
 * first bytes, and write a header for a payload.
 *
 * @since 0.2.0
 * @category models
 */
export interface CustomOptions {
  readonly name?: string | undefined
  /** The largest payload. */
  readonly maxFrame: number
  /** Bytes before the payload (default 0): removed from what the splitter yields. */
  readonly headerLength?: number | undefined
  /** Constant bytes after the payload (default none): checked and removed by the splitter. */
  readonly trailer?: Uint8Array | undefined
  /**
   * The wire length (header, payload and trailer) of the frame that starts at
   * `bytes[0]`, or `undefined` while more bytes are needed to tell. A
   * `FrameError` (see `FrameError.malformed`) ends the stream.
   */
  readonly measure: (bytes: Uint8Array) => number | undefined | FrameError.FrameError
  /** Writes the `headerLength` bytes of the header for a payload of `payloadLength` bytes. */
  readonly writeHeader?: ((header: Uint8Array, payloadLength: number) => void) | undefined
}

/**
 * A custom framer (see `CustomOptions`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: CustomOptions): Framer => {
  const maxFrame = checkMaxFrame(options.maxFrame)
  const headerLength = options.headerLength ?? 0
  if (!Number.isInteger(headerLength) || headerLength < 0) throw new RangeError(`headerLength is an integer ≥ 0, not ${headerLength}`)
  if (headerLength > 0 && options.writeHeader === undefined) throw new RangeError("a custom framer with a header needs writeHeader")
  const trailer = options.trailer?.slice() ?? new Uint8Array(0)
  const name = options.name ?? "custom"
  const overhead = headerLength + trailer.length
  const measure: Measure = {
    name,
    maxFrame,
    maxWire: maxFrame + overhead,
    measure: (bytes) => {
      let size: number | undefined | FrameError.FrameError
      try {
        size = options.measure(bytes)
      } catch (e) {
        // framers return errors as values: a throwing measure ends the stream like a malformed frame
        return FrameError.malformed(name, bytes.length, maxFrame, `measure threw: ${e instanceof Error ? e.message : String(e)}`)
      }
      if (size === undefined || size instanceof FrameError.FrameError) return size
      // a frame of no bytes on the wire would be split forever from the same bytes
      if (!Number.isInteger(size) || size < Math.max(1, overhead)) {
        return FrameError.malformed(name, size, maxFrame, `measure returned ${size}, less than the ${Math.max(1, overhead)} bytes of the smallest frame (header and trailer, at least 1)`)
      }
      if (size > bytes.length || trailer.length === 0) return size
      for (let k = 0; k < trailer.length; k++) {
        if (bytes[size - trailer.length + k] !== trailer[k]) return FrameError.malformed(name, size, maxFrame, "the frame does not end with its trailer")
      }
      return size
    },
    payload: (wire) => wire.subarray(headerLength, wire.length - trailer.length)
  }
  const check = (n: number) => n > maxFrame ? FrameError.tooLarge(name, n, maxFrame, "payload") : undefined
  return build({
    name,
    maxFrame,
    headerLength,
    trailerLength: trailer.length,
    splitter: () => new MeasuredSplitter(measure),
    frame: (payload) => {
      const e = check(payload.length)
      if (e !== undefined) return e
      const out: Array<Uint8Array> = []
      if (headerLength > 0) {
        const header = new Uint8Array(headerLength)
        options.writeHeader!(header, payload.length)
        out.push(header)
      }
      out.push(payload)
      if (trailer.length > 0) out.push(trailer)
      return out
    },
    seal: (buffer, n) => {
      const e = check(n)
      if (e !== undefined) return e
      if (headerLength > 0) options.writeHeader!(buffer.subarray(0, headerLength), n)
      if (trailer.length > 0) buffer.set(trailer, headerLength + n)
      return headerLength + n + trailer.length
    }
  })
}


/**
 * Splits a whole byte sequence given as chunks: every payload, or the first
 * error (including `Truncated` when the last frame is incomplete). For tests
 * and one-shot use.
 *
 * @since 0.2.0
 * @category utils
 */
export const splitAll = (framer: Framer, chunks: Iterable<Uint8Array>): Array<Uint8Array> | FrameError.FrameError => {
  const splitter = framer.splitter()
  const out: Array<Uint8Array> = []
  for (const chunk of chunks) {
    const frames = splitter.push(chunk)
    if (frames instanceof FrameError.FrameError) return frames
    for (const f of frames) out.push(f)
  }
  return splitter.end() ?? out
}

/**
 * The error of a framer (also the `FrameError` namespace of the package).
 *
 * @since 0.2.0
 * @category errors
 */
export { FrameError } from "./FrameError.ts"
