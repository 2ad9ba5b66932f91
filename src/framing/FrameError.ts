/**
 * The error of a framer: a frame longer than the framer allows, a stream that
 * ended inside a frame, or bytes that cannot start a frame. Framers return it
 * as a value (they are pure and never throw); it is yieldable, so
 * `return yield* error` fails an Effect with it.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * What went wrong.
 *
 * - `TooLarge`: a frame's payload is longer than `maxFrame` (announced by a
 *   length field, or no delimiter within `maxFrame` bytes), or a payload given
 *   to `frame` is. Nothing more is buffered: the stream must be closed.
 * - `Truncated`: the stream ended inside a frame; `residue` holds its bytes.
 * - `Malformed`: bytes that cannot be a frame (a length field smaller than the
 *   header it counts, a payload containing the delimiter, a payload of the wrong
 *   size for a fixed-size framer).
 *
 * @since 0.2.0
 * @category models
 */
export const FrameErrorKind = Schema.Literals(["TooLarge", "Truncated", "Malformed"])

/**
 * @since 0.2.0
 * @category models
 */
export type FrameErrorKind = typeof FrameErrorKind.Type

/**
 * @since 0.2.0
 * @category errors
 */
export class FrameError extends Schema.TaggedError<FrameError>()("FrameError", {
  kind: FrameErrorKind,
  /** The framer's name, e.g. `lengthPrefixed(u16be)`. */
  framer: Schema.String,
  /** The size involved: the announced or buffered frame size, or the payload's. */
  size: Schema.Number,
  maxFrame: Schema.Number,
  detail: Schema.String,
  /** With `Truncated`: the bytes of the incomplete frame (a copy). */
  residue: Schema.optional(Schema.Uint8Array)
}) {
  override get message(): string {
    return `${this.framer}: ${this.detail}`
  }
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const tooLarge = (framer: string, size: number, maxFrame: number, what = "frame"): FrameError =>
  new FrameError({
    kind: "TooLarge",
    framer,
    size,
    maxFrame,
    detail: `${what} of ${size} bytes is over maxFrame ${maxFrame}`
  })

/**
 * @since 0.2.0
 * @category constructors
 */
export const truncated = (framer: string, residue: Uint8Array, maxFrame: number): FrameError =>
  new FrameError({
    kind: "Truncated",
    framer,
    size: residue.length,
    maxFrame,
    detail: `the stream ended inside a frame (${residue.length} bytes buffered)`,
    residue
  })

/**
 * @since 0.2.0
 * @category constructors
 */
export const malformed = (framer: string, size: number, maxFrame: number, detail: string): FrameError =>
  new FrameError({ kind: "Malformed", framer, size, maxFrame, detail })
