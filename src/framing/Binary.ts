/**
 * Binary layouts: fixed binary records of the kind trading protocols use,
 * declared once. A layout is at the same time the encoder, the decoder and a
 * `Schema` of the decoded type (`layout.schema`), so the three cannot disagree;
 * `Codec.binary(layout.schema, layout)` turns it into a codec.
 *
 * ```ts
 * const EnterOrder = Binary.tagged("EnterOrder", "O", {
 *   userRef: Binary.u32(),                          // big-endian unless told
 *   side: Binary.char(["B", "S"]),
 *   quantity: Binary.u32(),
 *   symbol: Binary.ascii(8),                        // left-justified, space-padded
 *   price: Binary.u64({ as: "number" }),
 *   clOrdId: Binary.ascii(14)
 * })
 * const Inbound = Binary.union([EnterOrder, CancelOrder])   // selected by the first byte
 * ```
 *
 * Field kinds: integers `u8` `u16` `u32` `u64` `i8` `i16` `i32` `i64` (either
 * byte order; 64-bit as `bigint` or, checked, as `number`), floats `f32`
 * `f64`, fixed-width ASCII (`ascii`, left- or right-justified, any pad byte),
 * numeric ASCII (`numeric`, right-justified digits), one ASCII code out of a set
 * (`char`), raw bytes (`bytes`), the rest of the frame (`rest`), nested
 * structs, and tagged unions selected by a type byte (`tagged` + `union`).
 * A layout of variable size (`rest`, a struct or union ending in one) may only be
 * the last field of a struct: it takes the bytes left.
 *
 * Layouts never throw: a value that does not fit its field (out of range, too
 * long, not ASCII, the wrong type) and a frame that does not match the layout
 * are reported as a problem, which `Codec` turns into a `CodecError` naming the
 * field. Decoded `bytes`/`rest` fields are views of the frame (no copy).
 *
 * Speed: a struct's (or tagged message's) reader and writer are compiled once,
 * when the layout is declared, into code of their own (`new Function`, field
 * names quoted with `JSON.stringify`), so that each field access is monomorphic
 * and a decoded message is one object literal; integers are read and written
 * by one function per width and byte order.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"
import * as bytesModule from "./internal/bytes.ts"
import { type CompiledBody, compileBody } from "./internal/compile.ts"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Binary/Layout"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.2.0
 * @category guards
 */
export const isLayout = (u: unknown): u is Layout<unknown> => typeof u === "object" && u !== null && TypeId in u

/**
 * Where the first problem of an encode or decode is recorded (layouts do not
 * throw and do not allocate errors on the way).
 *
 * @since 0.2.0
 * @category models
 */
export interface Problem {
  detail: string | undefined
}

/**
 * A binary layout of values of type `A`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Layout<A> {
  readonly [TypeId]: TypeId
  /** For messages, e.g. `u16be`, `ascii(6)`, `EnterOrder`. */
  readonly name: string
  /** The `Schema` of the values this layout encodes and decodes. */
  readonly schema: Schema.Codec<A, A>
  /** The size in bytes when it is fixed, else `undefined`. */
  readonly size: number | undefined
  /** The fewest bytes a value takes. */
  readonly minSize: number
  /** The bytes `value` takes (a problem is recorded for a value of the wrong shape). */
  readonly sizeOf: (value: A, problem: Problem) => number
  /** Writes `value` at `at` (room for `sizeOf(value)` bytes is there); returns the end. */
  readonly write: (bytes: Uint8Array, at: number, value: A, problem: Problem) => number
  /** Reads a value from `bytes[at, end)`; a fixed layout gets exactly its size. */
  readonly read: (bytes: Uint8Array, at: number, end: number, problem: Problem) => A
}

/**
 * The type a layout encodes.
 *
 * @since 0.2.0
 * @category models
 */
export type Type<L> = L extends Layout<infer A> ? A : never

/**
 * @since 0.2.0
 * @category models
 */
export type Endian = "big" | "little"

const fixed = <A>(
  name: string,
  schema: Schema.Top,
  size: number,
  write: (bytes: Uint8Array, at: number, value: A, problem: Problem) => void,
  read: (bytes: Uint8Array, at: number, problem: Problem) => A
): Layout<A> => ({
  [TypeId]: TypeId,
  name,
  schema: schema as unknown as Schema.Codec<A, A>,
  size,
  minSize: size,
  sizeOf: () => size,
  write: (bytes, at, value, problem) => {
    write(bytes, at, value, problem)
    return at + size
  },
  read: (bytes, at, _end, problem) => read(bytes, at, problem)
})

const fail = (problem: Problem, detail: string): void => {
  if (problem.detail === undefined) problem.detail = detail
}

const show = (value: unknown): string =>
  typeof value === "string" ? JSON.stringify(value) : typeof value === "bigint" ? `${value}n` : String(value)

/** An option out of `choices` (or not given), else a `RangeError` naming it: declaring a layout is programming. */
const choice = <C extends string>(option: string, value: C | undefined, choices: ReadonlyArray<C>): C | undefined => {
  if (value !== undefined && !choices.includes(value)) {
    throw new RangeError(`${option} is ${choices.map((c) => JSON.stringify(c)).join(" or ")}, not ${show(value)}`)
  }
  return value
}

const endians: ReadonlyArray<Endian> = ["big", "little"]

// --- integers ----------------------------------------------------------------------

const integer = (signed: boolean, width: 1 | 2 | 4, endian: Endian): Layout<number> => {
  choice("endian", endian, endians)
  const [readU, writeU] = bytesModule.accessors(width, endian === "big")
  const bits = 8 * width
  const min = signed ? -(2 ** (bits - 1)) : 0
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1
  const shift = 32 - bits
  const name = `${signed ? "i" : "u"}${bits}${width === 1 ? "" : endian === "big" ? "be" : "le"}`
  return fixed<number>(
    name,
    Schema.Int.check(Schema.isBetween({ minimum: min, maximum: max })),
    width,
    (bytes, at, value, problem) => {
      if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        return fail(problem, `${name} cannot hold ${show(value)}`)
      }
      writeU(bytes, at, value)
    },
    !signed ? readU : width === 4 ? (bytes, at) => readU(bytes, at) | 0 : (bytes, at) => (readU(bytes, at) << shift) >> shift
  )
}

/**
 * @since 0.2.0
 * @category integers
 */
export const u8: Layout<number> = integer(false, 1, "big")

/**
 * @since 0.2.0
 * @category integers
 */
export const i8: Layout<number> = integer(true, 1, "big")

/**
 * @since 0.2.0
 * @category integers
 */
export const u16 = (endian: Endian = "big"): Layout<number> => integer(false, 2, endian)

/**
 * @since 0.2.0
 * @category integers
 */
export const i16 = (endian: Endian = "big"): Layout<number> => integer(true, 2, endian)

/**
 * @since 0.2.0
 * @category integers
 */
export const u32 = (endian: Endian = "big"): Layout<number> => integer(false, 4, endian)

/**
 * @since 0.2.0
 * @category integers
 */
export const i32 = (endian: Endian = "big"): Layout<number> => integer(true, 4, endian)

/**
 * Options of the 64-bit integers.
 *
 * @since 0.2.0
 * @category models
 */
export interface Int64Options<As extends "bigint" | "number"> {
  readonly endian?: Endian | undefined
  /**
   * `"bigint"` (default) for the full range; `"number"` keeps values within
   * `Number.MAX_SAFE_INTEGER` (a larger value on the wire is a decode problem).
   */
  readonly as?: As | undefined
}

const int64 = (signed: boolean, options: Int64Options<"bigint" | "number"> | undefined): Layout<bigint> | Layout<number> => {
  const big = (choice("endian", options?.endian, endians) ?? "big") === "big"
  choice("as", options?.as, ["bigint", "number"])
  const name = `${signed ? "i" : "u"}64${big ? "be" : "le"}`
  const [r32, w32] = bytesModule.accessors(4, big)
  const hiAt = big ? 0 : 4
  const loAt = big ? 4 : 0
  if (options?.as === "number") {
    const min = signed ? Number.MIN_SAFE_INTEGER : 0
    return fixed<number>(
      `${name} (number)`,
      Schema.Int.check(Schema.isBetween({ minimum: min, maximum: Number.MAX_SAFE_INTEGER })),
      8,
      (bytes, at, value, problem) => {
        if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) return fail(problem, `${name} cannot hold ${show(value)}`)
        const hi = Math.floor(value / 4294967296)
        w32(bytes, at + hiAt, hi) // a negative high half is stored in two's complement
        w32(bytes, at + loAt, value - hi * 4294967296)
      },
      (bytes, at, problem) => {
        const h = r32(bytes, at + hiAt)
        const v = (signed ? h | 0 : h) * 4294967296 + r32(bytes, at + loAt)
        if (!Number.isSafeInteger(v)) fail(problem, `${name} value beyond Number.MAX_SAFE_INTEGER (use as: "bigint")`)
        return v
      }
    )
  }
  const min = signed ? -(2n ** 63n) : 0n
  const max = signed ? 2n ** 63n - 1n : 2n ** 64n - 1n
  return fixed<bigint>(
    name,
    Schema.BigInt.check(Schema.isBetweenBigInt({ minimum: min, maximum: max })),
    8,
    (bytes, at, value, problem) => {
      if (typeof value !== "bigint" || value < min || value > max) return fail(problem, `${name} cannot hold ${show(value)}`)
      const u = BigInt.asUintN(64, value)
      w32(bytes, at + hiAt, Number(u >> 32n))
      w32(bytes, at + loAt, Number(u & 0xffffffffn))
    },
    (bytes, at) => {
      const u = (BigInt(r32(bytes, at + hiAt)) << 32n) | BigInt(r32(bytes, at + loAt))
      return signed ? BigInt.asIntN(64, u) : u
    }
  )
}

/**
 * An unsigned 64-bit integer, as `bigint` (default) or as a checked `number`.
 *
 * @since 0.2.0
 * @category integers
 */
export const u64: {
  (options?: Int64Options<"bigint">): Layout<bigint>
  (options: Int64Options<"number"> & { readonly as: "number" }): Layout<number>
} = ((options?: Int64Options<"bigint" | "number">) => int64(false, options)) as never

/**
 * A signed 64-bit integer, as `bigint` (default) or as a checked `number`.
 *
 * @since 0.2.0
 * @category integers
 */
export const i64: {
  (options?: Int64Options<"bigint">): Layout<bigint>
  (options: Int64Options<"number"> & { readonly as: "number" }): Layout<number>
} = ((options?: Int64Options<"bigint" | "number">) => int64(true, options)) as never

// --- floats --------------------------------------------------------------------------

const floatScratch = new DataView(new ArrayBuffer(8))
const floatBytes = new Uint8Array(floatScratch.buffer)

const float = (width: 4 | 8, endian: Endian): Layout<number> => {
  choice("endian", endian, endians)
  const little = endian === "little"
  const name = `f${8 * width}${little ? "le" : "be"}`
  return fixed<number>(
    name,
    Schema.Number,
    width,
    (bytes, at, value, problem) => {
      if (typeof value !== "number") return fail(problem, `${name} cannot hold ${show(value)}`)
      if (width === 4) floatScratch.setFloat32(0, value, little)
      else floatScratch.setFloat64(0, value, little)
      bytes.set(width === 4 ? floatBytes.subarray(0, 4) : floatBytes, at)
    },
    (bytes, at) => {
      for (let i = 0; i < width; i++) floatBytes[i] = bytes[at + i]!
      return width === 4 ? floatScratch.getFloat32(0, little) : floatScratch.getFloat64(0, little)
    }
  )
}

/**
 * A 32-bit IEEE 754 float (values round to the nearest `Math.fround`).
 *
 * @since 0.2.0
 * @category floats
 */
export const f32 = (endian: Endian = "big"): Layout<number> => float(4, endian)

/**
 * @since 0.2.0
 * @category floats
 */
export const f64 = (endian: Endian = "big"): Layout<number> => float(8, endian)

// --- ASCII ---------------------------------------------------------------------------

/**
 * @since 0.2.0
 * @category models
 */
export interface AsciiOptions {
  /** `"left"` (default): the text first, padding after; `"right"`: padding first. */
  readonly align?: "left" | "right" | undefined
  /** The pad character (default `" "`). */
  readonly pad?: string | undefined
}

const printable = (c: number) => c >= 0x20 && c <= 0x7e

/** Character codes of the field being decoded (decoding is synchronous: one field at a time). */
const charCodes: Array<number> = []

const padByte = (pad: string | undefined, fallback: string): number => {
  const p = pad ?? fallback
  if (p.length !== 1 || !printable(p.charCodeAt(0))) throw new RangeError(`a pad is one printable ASCII character, not ${JSON.stringify(p)}`)
  return p.charCodeAt(0)
}

const checkWidth = (width: number): number => {
  if (!Number.isInteger(width) || width < 1 || width > 65535) throw new RangeError(`a field width is an integer from 1 to 65535, not ${width}`)
  return width
}

const escapeRegExp = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")

/**
 * Fixed-width printable ASCII text, padded to `width` (left-justified and
 * space-padded unless told). Decoding removes the padding, so a value may not
 * begin (right-justified) or end (left-justified) with the pad character.
 *
 * @since 0.2.0
 * @category text
 */
export const ascii = (width: number, options?: AsciiOptions): Layout<string> => {
  checkWidth(width)
  const right = choice("align", options?.align, ["left", "right"]) === "right"
  const pad = padByte(options?.pad, " ")
  const padChar = String.fromCharCode(pad)
  const name = `ascii(${width}${right ? ", right" : ""}${padChar === " " ? "" : `, pad ${JSON.stringify(padChar)}`})`
  const others = `[\\x20-\\x7e]`
  const edge = `(?!${escapeRegExp(padChar)})[\\x20-\\x7e]`
  const pattern = new RegExp(right ? `^(?:${edge}${others}{0,${width - 1}})?$` : `^(?:${others}{0,${width - 1}}${edge})?$`)
  return fixed<string>(
    name,
    Schema.String.check(Schema.isMaxLength(width), Schema.isPattern(pattern)),
    width,
    (bytes, at, value, problem) => {
      if (typeof value !== "string") return fail(problem, `${name} cannot hold ${show(value)}`)
      const n = value.length
      if (n > width) return fail(problem, `${name}: ${show(value)} is longer than ${width}`)
      if (n > 0 && value.charCodeAt(right ? 0 : n - 1) === pad) {
        return fail(problem, `${name}: ${show(value)} ${right ? "begins" : "ends"} with the pad character`)
      }
      const start = right ? at + width - n : at
      // one pass: copy, and collect any character outside 0x20–0x7e in the sign bit
      let outside = 0
      for (let i = 0; i < n; i++) {
        const c = value.charCodeAt(i)
        outside |= (c - 0x20) | (0x7e - c)
        bytes[start + i] = c
      }
      if (outside < 0) return fail(problem, `${name}: ${show(value)} is not printable ASCII`)
      const padFrom = right ? at : at + n
      const padTo = right ? at + width - n : at + width
      for (let i = padFrom; i < padTo; i++) bytes[i] = pad
    },
    (bytes, at, problem) => {
      let from = at
      let to = at + width
      if (right) while (from < to && bytes[from] === pad) from++
      else while (to > from && bytes[to - 1] === pad) to--
      if (from === to) return ""
      // the character codes into a reused array, then one string (no intermediate strings)
      const n = to - from
      charCodes.length = n
      let outside = 0
      for (let i = 0; i < n; i++) {
        const c = bytes[from + i]!
        outside |= (c - 0x20) | (0x7e - c)
        charCodes[i] = c
      }
      if (outside < 0) {
        let i = from
        while (printable(bytes[i]!)) i++
        fail(problem, `${name}: byte 0x${bytes[i]!.toString(16).padStart(2, "0")} at ${i - at} is not printable ASCII`)
        return ""
      }
      return String.fromCharCode.apply(null, charCodes)
    }
  )
}

/**
 * @since 0.2.0
 * @category models
 */
export interface NumericOptions<As extends "number" | "bigint"> {
  /** The pad character (default `" "`; `"0"` for zero-filled fields, where all zeros read as 0). */
  readonly pad?: string | undefined
  /** `"number"` (default, up to `Number.MAX_SAFE_INTEGER`) or `"bigint"`. */
  readonly as?: As | undefined
}

const numericLayout = (width: number, options: NumericOptions<"number" | "bigint"> | undefined): Layout<number> | Layout<bigint> => {
  checkWidth(width)
  const pad = padByte(options?.pad, " ")
  const zeroPad = pad === 0x30
  const asBigint = choice("as", options?.as, ["number", "bigint"]) === "bigint"
  const name = `numeric(${width}${zeroPad ? ", zero-filled" : ""})`
  const writeDigits = (bytes: Uint8Array, at: number, digits: string) => {
    const start = at + width - digits.length
    for (let i = at; i < start; i++) bytes[i] = pad
    for (let i = 0; i < digits.length; i++) bytes[start + i] = digits.charCodeAt(i)
  }
  /** Skips the padding; the first digit's index, or -1 for a blank field (a problem unless zero-filled). */
  const firstDigit = (bytes: Uint8Array, at: number, problem: Problem): number => {
    let from = at
    const to = at + width
    while (from < to && bytes[from] === pad) from++
    if (from === to && !zeroPad) {
      fail(problem, `${name}: a blank field`)
      return -1
    }
    return from
  }
  const notDigit = (bytes: Uint8Array, at: number, i: number, problem: Problem) =>
    fail(problem, `${name}: byte 0x${bytes[i]!.toString(16).padStart(2, "0")} at ${i - at} is not a digit`)
  if (asBigint) {
    const max = 10n ** BigInt(width) - 1n
    return fixed<bigint>(
      name,
      Schema.BigInt.check(Schema.isBetweenBigInt({ minimum: 0n, maximum: max })),
      width,
      (bytes, at, value, problem) => {
        if (typeof value !== "bigint" || value < 0n || value > max) return fail(problem, `${name} cannot hold ${show(value)}`)
        writeDigits(bytes, at, value.toString())
      },
      (bytes, at, problem) => {
        const from = firstDigit(bytes, at, problem)
        if (from < 0) return 0n
        let s = ""
        for (let i = from; i < at + width; i++) {
          const c = bytes[i]!
          if (c < 0x30 || c > 0x39) {
            notDigit(bytes, at, i, problem)
            return 0n
          }
          s += String.fromCharCode(c)
        }
        return s === "" ? 0n : BigInt(s)
      }
    )
  }
  const max = Math.min(10 ** width - 1, Number.MAX_SAFE_INTEGER)
  return fixed<number>(
    name,
    Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: max })),
    width,
    (bytes, at, value, problem) => {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) return fail(problem, `${name} cannot hold ${show(value)}`)
      // digits from the right, without a string
      let v = value
      let i = at + width - 1
      do {
        bytes[i--] = 0x30 + (v % 10)
        v = Math.floor(v / 10)
      } while (v > 0)
      while (i >= at) bytes[i--] = pad
    },
    (bytes, at, problem) => {
      const from = firstDigit(bytes, at, problem)
      if (from < 0) return 0
      let v = 0
      for (let i = from; i < at + width; i++) {
        const d = bytes[i]! - 0x30
        if (d < 0 || d > 9) {
          notDigit(bytes, at, i, problem)
          return 0
        }
        v = v * 10 + d
      }
      if (v > Number.MAX_SAFE_INTEGER) fail(problem, `${name}: a value beyond Number.MAX_SAFE_INTEGER (use as: "bigint")`)
      return v
    }
  )
}

/**
 * A non-negative integer in ASCII digits, right-justified and padded to
 * `width` (space-padded unless told), as SoupBinTCP's sequence numbers.
 *
 * @since 0.2.0
 * @category text
 */
export const numeric: {
  (width: number, options?: NumericOptions<"number">): Layout<number>
  (width: number, options: NumericOptions<"bigint"> & { readonly as: "bigint" }): Layout<bigint>
} = ((width: number, options?: NumericOptions<"number" | "bigint">) => numericLayout(width, options)) as never

/**
 * One ASCII character out of `values` (a code such as a side, `"B"` or `"S"`).
 *
 * @since 0.2.0
 * @category text
 */
export const char = <const Values extends ReadonlyArray<string>>(values: Values): Layout<Values[number]> => {
  const allowed = new Set<string>(values)
  for (const v of values) {
    if (v.length !== 1 || !printable(v.charCodeAt(0))) throw new RangeError(`char values are single printable ASCII characters, not ${JSON.stringify(v)}`)
  }
  if (values.length === 0) throw new RangeError("char needs at least one value")
  const name = `char(${values.join("|")})`
  const byByte: Array<string | undefined> = new Array(256).fill(undefined)
  for (const v of values) byByte[v.charCodeAt(0)] = v
  return fixed<Values[number]>(
    name,
    Schema.Literals(values),
    1,
    (bytes, at, value, problem) => {
      if (typeof value !== "string" || !allowed.has(value)) return fail(problem, `${name} cannot hold ${show(value)}`)
      bytes[at] = value.charCodeAt(0)
    },
    (bytes, at, problem) => {
      const c = byByte[bytes[at]!]
      if (c === undefined) fail(problem, `${name}: ${JSON.stringify(String.fromCharCode(bytes[at]!))} is not one of them`)
      return c as Values[number]
    }
  )
}

// --- bytes ---------------------------------------------------------------------------

/**
 * Exactly `width` raw bytes (decoded as a view of the frame).
 *
 * @since 0.2.0
 * @category bytes
 */
export const bytes = (width: number): Layout<Uint8Array> => {
  checkWidth(width)
  const name = `bytes(${width})`
  return fixed<Uint8Array>(
    name,
    Schema.Uint8Array.check(Schema.isBetweenLength(width, width)),
    width,
    (out, at, value, problem) => {
      if (!(value instanceof Uint8Array) || value.length !== width) {
        return fail(problem, `${name} cannot hold ${value instanceof Uint8Array ? `${value.length} bytes` : show(value)}`)
      }
      out.set(value, at)
    },
    (bytes, at) => bytes.subarray(at, at + width)
  )
}

/**
 * The rest of the frame as raw bytes (a view of it): a trailing variable
 * payload. Only as the last field of a struct.
 *
 * @since 0.2.0
 * @category bytes
 */
export const rest: Layout<Uint8Array> = {
  [TypeId]: TypeId,
  name: "rest",
  schema: Schema.Uint8Array as unknown as Schema.Codec<Uint8Array, Uint8Array>,
  size: undefined,
  minSize: 0,
  sizeOf: (value, problem) => {
    if (value instanceof Uint8Array) return value.length
    fail(problem, `rest cannot hold ${show(value)}`)
    return 0
  },
  write: (out, at, value) => {
    out.set(value, at)
    return at + value.length
  },
  read: (bytes, at, end) => bytes.subarray(at, end)
}

// --- structs, tagged unions ------------------------------------------------------------

/**
 * @since 0.2.0
 * @category models
 */
export type Fields = { readonly [name: string]: Layout<any> }

/**
 * @since 0.2.0
 * @category models
 */
export type FieldsType<F extends Fields> = { readonly [K in keyof F]: Type<F[K]> }

/**
 * @since 0.2.0
 * @category models
 */
export interface Struct<F extends Fields> extends Layout<FieldsType<F>> {
  readonly fields: F
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

const compileFields = (owner: string, fields: Fields, tag: string | undefined): CompiledBody => {
  const entries = Object.keys(fields).map((n) => {
    const l = fields[n]
    if (!isLayout(l)) throw new RangeError(`${owner}.${n} is not a Binary layout`)
    return [n, l] as const
  })
  return compileBody(owner, entries, tag)
}

/**
 * A record of fields, in declaration order.
 *
 * @since 0.2.0
 * @category constructors
 */
export const struct = <const F extends Fields>(fields: F, name = "struct"): Struct<F> => {
  const body = compileFields(name, fields, undefined)
  const schemas: Record<string, Schema.Top> = {}
  for (const n of Object.keys(fields)) schemas[n] = fields[n]!.schema
  return {
    [TypeId]: TypeId,
    name,
    fields,
    schema: Schema.Struct(schemas) as unknown as Schema.Codec<FieldsType<F>, FieldsType<F>>,
    size: body.variable === undefined ? body.prefix : undefined,
    minSize: body.prefix + (body.variable?.minSize ?? 0),
    sizeOf: (value, problem) => {
      if (!isRecord(value)) {
        fail(problem, `${name} cannot hold ${show(value)}`)
        return 0
      }
      return body.sizeOf(value, problem)
    },
    write: (out, at, value, problem) => body.write(out, at, value as Record<string, unknown>, problem),
    read: (bytes, at, end, problem) => body.read(bytes, at, end, problem) as FieldsType<F>
  }
}

/**
 * A message of a tagged union: one type byte (`code`, a character or a number
 * 0–255), then its fields. Decoded values carry `_tag: tag`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Tagged<Tag extends string, F extends Fields> extends Layout<{ readonly _tag: Tag } & FieldsType<F>> {
  readonly tag: Tag
  readonly code: number
  readonly fields: F
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const tagged = <const Tag extends string, const F extends Fields>(tag: Tag, code: string | number, fields: F): Tagged<Tag, F> => {
  const byte = typeof code === "string" ? code.charCodeAt(0) : code
  if ((typeof code === "string" && code.length !== 1) || !Number.isInteger(byte) || byte < 0 || byte > 255) {
    throw new RangeError(`${tag}: a type code is one character or a byte, not ${JSON.stringify(code)}`)
  }
  if ("_tag" in fields) throw new RangeError(`${tag}: "_tag" is the union's own field`)
  const body = compileFields(tag, fields, tag)
  const schemas: Record<string, Schema.Top> = {}
  for (const n of Object.keys(fields)) schemas[n] = fields[n]!.schema
  type A = { readonly _tag: Tag } & FieldsType<F>
  const codeText = printable(byte) ? `'${String.fromCharCode(byte)}'` : `0x${byte.toString(16).padStart(2, "0")}`
  return {
    [TypeId]: TypeId,
    name: tag,
    tag,
    code: byte,
    fields,
    schema: Schema.TaggedStruct(tag, schemas) as unknown as Schema.Codec<A, A>,
    size: body.variable === undefined ? 1 + body.prefix : undefined,
    minSize: 1 + body.prefix + (body.variable?.minSize ?? 0),
    sizeOf: (value, problem) => {
      if (!isRecord(value)) {
        fail(problem, `${tag} cannot hold ${show(value)}`)
        return 0
      }
      return 1 + body.sizeOf(value, problem)
    },
    write: (out, at, value, problem) => {
      out[at] = byte
      return body.write(out, at + 1, value as unknown as Record<string, unknown>, problem)
    },
    read: (bytes, at, end, problem) => {
      if (bytes[at] !== byte) {
        fail(problem, `${tag}: type byte ${bytes[at]} is not ${codeText}`)
        return undefined as unknown as A
      }
      return body.read(bytes, at + 1, end, problem) as A
    }
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Union<Members extends ReadonlyArray<Tagged<any, any>>> extends Layout<Type<Members[number]>> {
  readonly members: Members
}

/**
 * A tagged union selected by its first byte: each member's `code`. Encoding
 * picks the member by `_tag`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const union = <const Members extends ReadonlyArray<Tagged<any, any>>>(members: Members, name = "union"): Union<Members> => {
  if (members.length === 0) throw new RangeError(`${name}: a union needs members`)
  const byCode: Array<Layout<any> | undefined> = new Array(256).fill(undefined)
  const byTag = new Map<string, Layout<any>>()
  for (const m of members) {
    if (byCode[m.code] !== undefined) throw new RangeError(`${name}: two members use type code ${m.code}`)
    if (byTag.has(m.tag)) throw new RangeError(`${name}: two members are tagged ${m.tag}`)
    byCode[m.code] = m
    byTag.set(m.tag, m)
  }
  const sizes = new Set(members.map((m) => m.size))
  type A = Type<Members[number]>
  const memberOf = (value: unknown, problem: Problem): Layout<any> | undefined => {
    const tag = isRecord(value) ? value["_tag"] : undefined
    const m = typeof tag === "string" ? byTag.get(tag) : undefined
    if (m === undefined) fail(problem, `${name}: no member tagged ${show(tag)}`)
    return m
  }
  return {
    [TypeId]: TypeId,
    name,
    members,
    schema: Schema.Union(members.map((m) => m.schema)) as unknown as Schema.Codec<A, A>,
    size: sizes.size === 1 ? members[0]!.size : undefined,
    minSize: Math.min(...members.map((m) => m.minSize)),
    sizeOf: (value, problem) => memberOf(value, problem)?.sizeOf(value, problem) ?? 0,
    write: (out, at, value, problem) => memberOf(value, problem)?.write(out, at, value, problem) ?? at,
    read: (bytes, at, end, problem) => {
      if (end <= at) {
        fail(problem, `${name}: an empty frame has no type byte`)
        return undefined as unknown as A
      }
      const m = byCode[bytes[at]!]
      if (m === undefined) {
        const c = bytes[at]!
        fail(problem, `${name}: unknown type byte 0x${c.toString(16).padStart(2, "0")}${printable(c) ? ` ('${String.fromCharCode(c)}')` : ""}`)
        return undefined as unknown as A
      }
      if (m.size !== undefined && end - at !== m.size) {
        fail(problem, `${m.name}: ${end - at} bytes for a layout of ${m.size}`)
        return undefined as unknown as A
      }
      return m.read(bytes, at, end, problem)
    }
  }
}
