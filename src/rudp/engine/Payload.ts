/**
 * A packet's frames, decoded in one pass before anything changes: the
 * connection accepts the packet (and acts on its frames) only when every frame
 * decodes, the long/short header rules hold, and its Delivery data fits the
 * receive window. A packet refused here is not acknowledged, so a sender that
 * obeys the window loses nothing: it sends the data again.
 *
 * @since 0.2.0
 */
import { Reader } from "./Bytes.ts"
import { AckFrame, FrameType, MAX_REASON, MessageFrame, Previous, readAck, readMessage, readRunCount, readRunMessage } from "./Frame.ts"
import type { Inbox } from "./Inbox.ts"
import { type Params, readParams } from "./Params.ts"

const textDecoder = new TextDecoder()

/**
 * Why a payload was refused.
 *
 * @since 0.2.0
 * @category models
 */
export type PayloadError = "malformed" | "flow-control"

/**
 * The decoded frames of one packet; one object is reused for every packet.
 *
 * @since 0.2.0
 * @category models
 */
export class Payload {
  /** ACK frames: the first `acks` of `ackFrames`. */
  acks = 0
  readonly ackFrames: Array<AckFrame> = []
  /** MESSAGE frames: the first `messages` of `messageFrames`. */
  messages = 0
  readonly messageFrames: Array<MessageFrame> = []
  ackEliciting = false
  /** The HELLO's parameters, or what is wrong with them (long headers only). */
  hello: Params | string | undefined = undefined
  /** The largest MAX_DATA value, or −1. */
  maxData = -1
  close: { readonly code: number; readonly reason: string } | undefined = undefined
  /** Delivery bytes the messages would add to the receive side. */
  cost = 0
  readonly #reader = new Reader(new Uint8Array(0))
  readonly #prev = new Previous()

  /**
   * Decodes the frames of `bytes[start, end)`. Message ids are recovered
   * against the inbox's references (which they advance); nothing else
   * changes. Returns `undefined` when the packet may be accepted.
   */
  decode(bytes: Uint8Array, start: number, end: number, long: boolean, inbox: Inbox): PayloadError | undefined {
    const r = this.#reader.reset(bytes, start, end)
    this.acks = 0
    this.messages = 0
    this.ackEliciting = false
    this.hello = undefined
    this.maxData = -1
    this.close = undefined
    this.cost = 0
    this.#prev.clear()
    while (r.pos < r.end) {
      const type = r.u8()
      if (type === FrameType.PADDING) continue
      if (type === FrameType.PING) {
        this.ackEliciting = true
        continue
      }
      if (type === FrameType.ACK) {
        const ack = this.ackFrames[this.acks] ?? (this.ackFrames[this.acks] = new AckFrame())
        if (!readAck(r, ack)) return "malformed"
        this.acks++
        continue
      }
      if (type === FrameType.CLOSE) {
        const code = r.varint()
        const n = r.varint()
        if (!r.ok || n > MAX_REASON) return "malformed"
        const reason = r.bytes(n)
        if (!r.ok) return "malformed"
        this.close = { code, reason: textDecoder.decode(reason) }
        continue
      }
      if (type === FrameType.MAX_DATA) {
        this.maxData = Math.max(this.maxData, r.varint())
        this.ackEliciting = true
        if (!r.ok) return "malformed"
        continue
      }
      if (type === FrameType.HELLO) {
        if (!long || this.hello !== undefined) return "malformed"
        const n = r.varint()
        if (!r.ok || r.pos + n > r.end) return "malformed"
        const helloEnd = r.pos + n
        this.hello = readParams(r, helloEnd)
        r.pos = helloEnd
        this.ackEliciting = true
        continue
      }
      if ((type & 0xe0) === FrameType.MESSAGE) {
        if (long) return "malformed"
        const frame = this.#nextFrame()
        if (!readMessage(r, type, this.#prev, inbox.expected, frame)) return "malformed"
        if (!this.#admit(inbox, frame)) return "flow-control"
        this.ackEliciting = true
        continue
      }
      if (type === FrameType.MESSAGE_RUN) {
        if (long) return "malformed"
        const count = readRunCount(r, this.#prev)
        if (count < 0) return "malformed"
        for (let i = 0; i < count; i++) {
          const frame = this.#nextFrame()
          readRunMessage(r, this.#prev, inbox.expected, frame)
          if (!this.#admit(inbox, frame)) return "flow-control"
        }
        this.ackEliciting = true
        continue
      }
      return "malformed"
    }
    if (!r.ok) return "malformed"
    if (long && this.hello === undefined) return "malformed"
    if (this.cost > 0 && !inbox.fits(this.cost)) return "flow-control"
    return undefined
  }

  /** The reused frame for the next MESSAGE. */
  #nextFrame(): MessageFrame {
    return this.messageFrames[this.messages] ?? (this.messageFrames[this.messages] = new MessageFrame())
  }

  /** Counts a decoded message and its receive-window cost; `false` when the window cannot take it. */
  #admit(inbox: Inbox, frame: MessageFrame): boolean {
    const c = inbox.deliveryCost(frame)
    if (c < 0) return false
    this.cost += c
    this.messages++
    return true
  }
}
