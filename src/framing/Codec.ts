/**
 * Codecs turn a frame into a typed message and a message into bytes, above
 * the framer (STYLE.md pattern 10). They are transport-agnostic: the payload a
 * codec sees is a frame from a `Framer` over a stream, one datagram over a
 * `DatagramSocket`, one DCCP datagram, or one reliable-UDP message.
 *
 * - `Codec.binary(schema, layout)`: a `Binary` layout (fixed binary records,
 *   tagged unions by type byte). The layout is the encoder, the decoder and
 *   `layout.schema`; `schema` is that schema or one of the same type with
 *   more checks (they then run on every message).
 * - `Codec.json(schema)`: JSON text through Schema (`Schema.toCodecJson`, so
 *   `bigint`s and byte arrays have a JSON form).
 * - `Codec.duplex({ encode, decode })`: one codec for what a side sends and
 *   another for what it receives (a SoupBinTCP client sends client packets and
 *   receives server packets).
 *
 * Encoding writes into a reused `EncodeBuffer` (`encodeInto`), so a sender
 * allocates nothing per message; `encode` returns a fresh copy. A value that
 * cannot be encoded, and a frame that cannot be decoded, give a `CodecError`
 * value (the frame is kept, copied, in the error) — never a thrown exception.
 * Decoded `Binary.bytes`/`rest` fields are views of the frame.
 *
 * @since 0.2.0
 */
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Binary from "./Binary.ts"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Codec"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.2.0
 * @category guards
 */
export const isCodec = (u: unknown): u is Codec<unknown, unknown> => typeof u === "object" && u !== null && TypeId in u

/**
 * @since 0.2.0
 * @category errors
 */
export class CodecError extends Schema.TaggedError<CodecError>()("CodecError", {
  kind: Schema.Literals(["Encode", "Decode"]),
  /** The codec's name. */
  codec: Schema.String,
  detail: Schema.String,
  /** With `Decode`: a copy of the offending frame. */
  frame: Schema.optional(Schema.Uint8Array),
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return this.frame === undefined
      ? `${this.codec}: cannot encode: ${this.detail}`
      : `${this.codec}: cannot decode a frame of ${this.frame.length} bytes: ${this.detail}`
  }
}

/**
 * A growable byte buffer that encoders write into and senders reuse.
 *
 * @since 0.2.0
 * @category models
 */
export class EncodeBuffer {
  bytes: Uint8Array
  constructor(capacity = 256) {
    this.bytes = new Uint8Array(Math.max(16, capacity))
  }
  /** Makes `bytes` at least `size` long, keeping the first `keep` bytes. */
  reserve(size: number, keep = 0): Uint8Array {
    if (size > this.bytes.length) {
      const grown = new Uint8Array(Math.max(size, this.bytes.length * 2))
      if (keep > 0) grown.set(this.bytes.subarray(0, keep))
      this.bytes = grown
    }
    return this.bytes
  }
}

/**
 * Encodes values of type `Out` and decodes frames into values of type `In`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Codec<in Out, out In = Out> {
  readonly [TypeId]: TypeId
  readonly name: string
  /**
   * Writes `message` into `buffer` from `offset` (growing it, keeping the
   * bytes before `offset`); returns the end offset.
   */
  readonly encodeInto: (message: Out, buffer: EncodeBuffer, offset: number) => number | CodecError
  /** The message in `frame`, or why there is none. */
  readonly decode: (frame: Uint8Array) => In | CodecError
}

/**
 * The message's bytes, in a fresh array.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encode = <Out>(codec: Codec<Out, unknown>, message: Out): Uint8Array | CodecError => {
  const buffer = new EncodeBuffer(64)
  const end = codec.encodeInto(message, buffer, 0)
  return end instanceof CodecError ? end : buffer.bytes.slice(0, end)
}

const decodeError = (codec: string, frame: Uint8Array, detail: string, cause?: unknown): CodecError =>
  new CodecError({ kind: "Decode", codec, detail, frame: frame.slice(), ...(cause === undefined ? {} : { cause }) })

const encodeError = (codec: string, detail: string, cause?: unknown): CodecError =>
  new CodecError({ kind: "Encode", codec, detail, ...(cause === undefined ? {} : { cause }) })

const describe = (u: unknown): string => (u instanceof Error ? u.message : String(u))

// --- binary --------------------------------------------------------------------------

/**
 * A codec of a `Binary` layout. Pass `layout.schema` (declared once: nothing
 * more runs per message), or a schema of the same type with more checks (a
 * price above zero, a branded id), which then validate every message both ways.
 *
 * @since 0.2.0
 * @category constructors
 */
export const binary = <A>(schema: Schema.Codec<A, any>, layout: Binary.Layout<A>): Codec<A, A> => {
  const name = `binary(${layout.name})`
  const refine: ((a: unknown) => string | undefined) | undefined = (schema as unknown) === layout.schema
    ? undefined
    : (() => {
      const check = Schema.decodeUnknownResult(Schema.toType(schema) as Schema.Codec<A, A>)
      return (a: unknown) => {
        const r = check(a)
        return Result.isFailure(r) ? r.failure.message : undefined
      }
    })()
  const problem: Binary.Problem = { detail: undefined }
  return {
    [TypeId]: TypeId,
    name,
    encodeInto: (message, buffer, offset) => {
      try {
        problem.detail = undefined
        if (refine !== undefined) {
          const issue = refine(message)
          if (issue !== undefined) return encodeError(name, issue)
        }
        const size = layout.sizeOf(message, problem)
        if (problem.detail !== undefined) return encodeError(name, problem.detail)
        const bytes = buffer.reserve(offset + size, offset)
        const end = layout.write(bytes, offset, message, problem)
        if (problem.detail !== undefined) return encodeError(name, problem.detail)
        return end
      } catch (e) {
        return encodeError(name, describe(e), e)
      }
    },
    decode: (frame) => {
      try {
        problem.detail = undefined
        const value = layout.read(frame, 0, frame.length, problem)
        if (problem.detail !== undefined) return decodeError(name, frame, problem.detail)
        if (refine !== undefined) {
          const issue = refine(value)
          if (issue !== undefined) return decodeError(name, frame, issue)
        }
        return value
      } catch (e) {
        return decodeError(name, frame, describe(e), e)
      }
    }
  }
}

// --- JSON ----------------------------------------------------------------------------

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder("utf-8", { fatal: true })

/**
 * A codec of UTF-8 JSON text for `schema` (its canonical JSON form, from
 * `Schema.toCodecJson`: `bigint`s as strings, bytes as base64).
 *
 * @since 0.2.0
 * @category constructors
 */
export const json = <S extends Schema.Top>(schema: S, options?: { readonly name?: string | undefined }): Codec<S["Type"], S["Type"]> => {
  const codec = Schema.fromJsonString(Schema.toCodecJson(schema))
  const encodeText = Schema.encodeUnknownResult(codec as unknown as Schema.Codec<S["Type"], string>)
  const decodeText = Schema.decodeUnknownResult(codec as unknown as Schema.Codec<S["Type"], string>)
  const name = `json(${options?.name ?? "schema"})`
  return {
    [TypeId]: TypeId,
    name,
    encodeInto: (message, buffer, offset) => {
      try {
        const text = encodeText(message)
        if (Result.isFailure(text)) return encodeError(name, text.failure.message)
        const s = text.success
        // UTF-8 takes at most 3 bytes per UTF-16 code unit
        let bytes = buffer.reserve(offset + s.length, offset)
        let r = utf8Encoder.encodeInto(s, bytes.subarray(offset))
        if (r.read < s.length) {
          bytes = buffer.reserve(offset + 3 * s.length, offset)
          r = utf8Encoder.encodeInto(s, bytes.subarray(offset))
        }
        return offset + r.written
      } catch (e) {
        return encodeError(name, describe(e), e)
      }
    },
    decode: (frame) => {
      let text: string
      try {
        text = utf8Decoder.decode(frame)
      } catch (e) {
        return decodeError(name, frame, "not UTF-8", e)
      }
      try {
        const r = decodeText(text)
        return Result.isFailure(r) ? decodeError(name, frame, r.failure.message) : r.success
      } catch (e) {
        return decodeError(name, frame, describe(e), e)
      }
    }
  }
}

// --- duplex --------------------------------------------------------------------------

/**
 * One codec from two: `encode` for what this side sends, `decode` for what it
 * receives.
 *
 * @since 0.2.0
 * @category constructors
 */
export const duplex = <Out, In>(parts: {
  readonly encode: Codec<Out, unknown>
  readonly decode: Codec<never, In>
}): Codec<Out, In> => ({
  [TypeId]: TypeId,
  name: `duplex(${parts.encode.name} / ${parts.decode.name})`,
  encodeInto: parts.encode.encodeInto,
  decode: parts.decode.decode
})
