/**
 * The splitter of every framer that can tell a frame's length from its first
 * bytes (length-prefixed, fixed-size, custom): frames that lie inside one chunk
 * are yielded as views of it; a frame that spans chunks is assembled once, in a
 * fresh array, so every yielded frame stays valid after the next push.
 *
 * @internal
 */
import * as FrameError from "../FrameError.ts"
import type { Splitter } from "../Framer.ts"
import { PendingBytes } from "./PendingBytes.ts"

/** What a measured framer provides. @internal */
export interface Measure {
  readonly name: string
  readonly maxFrame: number
  /** The largest frame on the wire (payload ≤ maxFrame plus header and trailer). */
  readonly maxWire: number
  /**
   * The wire length of the frame that starts at `bytes[0]`, `undefined` while
   * more bytes are needed to tell, or an error.
   */
  readonly measure: (bytes: Uint8Array) => number | undefined | FrameError.FrameError
  /**
   * The payload of a complete wire frame. `owned`: the frame is a fresh array
   * the splitter made (it may be rewritten in place); otherwise it is a view of
   * the caller's chunk and must not be.
   */
  readonly payload: (wire: Uint8Array, owned: boolean) => Uint8Array
}

/** @internal */
export class MeasuredSplitter implements Splitter {
  readonly #m: Measure
  readonly #pending: PendingBytes
  #failed: FrameError.FrameError | undefined = undefined

  constructor(m: Measure) {
    this.#m = m
    this.#pending = new PendingBytes(m.maxWire)
  }

  get buffered(): number {
    return this.#pending.length
  }

  push(chunk: Uint8Array): Array<Uint8Array> | FrameError.FrameError {
    if (this.#failed !== undefined) return this.#failed
    const m = this.#m
    const out: Array<Uint8Array> = []
    let pos = 0
    if (this.#pending.length > 0) {
      const before = this.#pending.length
      // Append what could still belong to the pending frame (never more than a whole frame).
      const take = Math.min(chunk.length, m.maxWire - before)
      this.#pending.append(chunk, 0, take)
      const size = m.measure(this.#pending.bytes.subarray(0, this.#pending.length))
      if (size instanceof FrameError.FrameError) return this.#fail(size)
      if (size === undefined) {
        if (take < chunk.length) return this.#fail(FrameError.tooLarge(m.name, this.#pending.length, m.maxFrame, "an unmeasurable frame"))
        return out
      }
      if (size > m.maxWire) return this.#fail(this.#tooLarge(size))
      if (size > this.#pending.length) return out // every byte of the chunk went into the pending frame
      out.push(m.payload(this.#pending.bytes.slice(0, size), true))
      pos = size - before
      this.#pending.length = 0
    }
    while (pos < chunk.length) {
      const rest = pos === 0 ? chunk : chunk.subarray(pos)
      const size = m.measure(rest)
      if (size instanceof FrameError.FrameError) return this.#fail(size)
      if (size === undefined) {
        if (rest.length > m.maxWire) return this.#fail(FrameError.tooLarge(m.name, rest.length, m.maxFrame, "an unmeasurable frame"))
        break
      }
      if (size > m.maxWire) return this.#fail(this.#tooLarge(size))
      if (size > rest.length) break
      out.push(m.payload(size === rest.length ? rest : rest.subarray(0, size), false))
      pos += size
    }
    if (pos < chunk.length) this.#pending.append(chunk, pos, chunk.length - pos)
    return out
  }

  end(): FrameError.FrameError | undefined {
    if (this.#failed !== undefined) return this.#failed
    if (this.#pending.length === 0) return undefined
    const residue = this.#pending.bytes.slice(0, this.#pending.length)
    this.#pending.length = 0
    return this.#fail(FrameError.truncated(this.#m.name, residue, this.#m.maxFrame))
  }

  #tooLarge(wire: number): FrameError.FrameError {
    const m = this.#m
    return FrameError.tooLarge(m.name, wire - (m.maxWire - m.maxFrame), m.maxFrame)
  }

  #fail(e: FrameError.FrameError): FrameError.FrameError {
    this.#failed = e
    this.#pending.clear()
    return e
  }
}
