/**
 * The splitter of the delimited framer: a frame is the bytes before the next
 * delimiter, which is consumed. Frames inside one chunk are views of it; a
 * frame that spans chunks is assembled once, in a fresh array. Each byte is
 * scanned once, however the stream is split.
 *
 * @internal
 */
import type { Splitter } from "../Framer.ts"
import { PendingBytes } from "./PendingBytes.ts"
import * as FrameError from "../FrameError.ts"

/** The index of `delimiter` in `bytes` at or after `from`, or -1. @internal */
export const indexOf = (bytes: Uint8Array, delimiter: Uint8Array, from: number): number => {
  const first = delimiter[0]!
  if (delimiter.length === 1) return bytes.indexOf(first, from)
  const last = bytes.length - delimiter.length
  for (let i = bytes.indexOf(first, from); i >= 0 && i <= last; i = bytes.indexOf(first, i + 1)) {
    let k = 1
    while (k < delimiter.length && bytes[i + k] === delimiter[k]) k++
    if (k === delimiter.length) return i
  }
  return -1
}

/** @internal */
export class DelimitedSplitter implements Splitter {
  readonly #name: string
  readonly #delimiter: Uint8Array
  readonly #maxFrame: number
  readonly #pending: PendingBytes
  #failed: FrameError.FrameError | undefined = undefined

  constructor(name: string, delimiter: Uint8Array, maxFrame: number) {
    this.#name = name
    this.#delimiter = delimiter
    this.#maxFrame = maxFrame
    this.#pending = new PendingBytes(maxFrame + delimiter.length)
  }

  get buffered(): number {
    return this.#pending.length
  }

  push(chunk: Uint8Array): Array<Uint8Array> | FrameError.FrameError {
    if (this.#failed !== undefined) return this.#failed
    const d = this.#delimiter
    const out: Array<Uint8Array> = []
    let pos = 0
    if (this.#pending.length > 0) {
      // The delimiter may start in the pending bytes (only in their last d-1) and end in the chunk.
      let end = this.#straddle(chunk)
      let consumed: number
      if (end >= 0) {
        consumed = end
        end = this.#pending.length - (d.length - end)
      } else {
        const at = indexOf(chunk, d, 0)
        if (at < 0) {
          if (this.#pending.length + chunk.length > this.#maxFrame + d.length - 1) return this.#fail(this.#tooLarge(this.#pending.length + chunk.length))
          this.#pending.append(chunk, 0, chunk.length)
          return out
        }
        end = this.#pending.length + at
        consumed = at + d.length
      }
      if (end > this.#maxFrame) return this.#fail(this.#tooLarge(end))
      const frame = new Uint8Array(end)
      frame.set(this.#pending.bytes.subarray(0, Math.min(end, this.#pending.length)))
      if (end > this.#pending.length) frame.set(chunk.subarray(0, end - this.#pending.length), this.#pending.length)
      out.push(frame)
      this.#pending.length = 0
      pos = consumed
    }
    while (pos < chunk.length) {
      const at = indexOf(chunk, d, pos)
      if (at < 0) break
      if (at - pos > this.#maxFrame) return this.#fail(this.#tooLarge(at - pos))
      out.push(chunk.subarray(pos, at))
      pos = at + d.length
    }
    if (pos < chunk.length) {
      const rest = chunk.length - pos
      if (rest > this.#maxFrame + d.length - 1) return this.#fail(this.#tooLarge(rest))
      this.#pending.append(chunk, pos, rest)
    }
    return out
  }

  end(): FrameError.FrameError | undefined {
    if (this.#failed !== undefined) return this.#failed
    if (this.#pending.length === 0) return undefined
    const residue = this.#pending.bytes.slice(0, this.#pending.length)
    this.#pending.length = 0
    return this.#fail(FrameError.truncated(this.#name, residue, this.#maxFrame))
  }

  /**
   * With a delimiter of d bytes that begins in the last d-1 pending bytes and
   * ends in `chunk`: how many bytes of the chunk it takes; otherwise -1.
   */
  #straddle(chunk: Uint8Array): number {
    const d = this.#delimiter
    for (let inPending = Math.min(d.length - 1, this.#pending.length); inPending >= 1; inPending--) {
      const inChunk = d.length - inPending
      if (inChunk > chunk.length) continue
      let ok = true
      for (let k = 0; k < inPending && ok; k++) ok = this.#pending.bytes[this.#pending.length - inPending + k] === d[k]
      for (let k = 0; k < inChunk && ok; k++) ok = chunk[k] === d[inPending + k]
      if (ok) return inChunk
    }
    return -1
  }

  #tooLarge(size: number): FrameError.FrameError {
    return FrameError.tooLarge(this.#name, size, this.#maxFrame)
  }

  #fail(e: FrameError.FrameError): FrameError.FrameError {
    this.#failed = e
    this.#pending.clear()
    return e
  }
}
