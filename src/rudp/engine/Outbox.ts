/**
 * The send side's messages: each message is numbered when `send` accepts it
 * (set id, Delivery id), cut into fragments that fit a packet when it is longer
 * than one, queued for its first transmission, and — for `Delivery` — kept
 * until every fragment is acknowledged, a lost fragment going back into the
 * retransmission queue on its own. `None` and `Order` messages are forgotten
 * once sent.
 *
 * @since 0.2.0
 */
import type { Guarantee } from "../Guarantee.ts"
import { Deque } from "./Deque.ts"
import type { FragmentIds, MessageIds } from "./Frame.ts"

const ACKED = 1
const QUEUED = 2

/**
 * One message on the send side.
 *
 * @since 0.2.0
 * @category models
 */
export class OutMessage implements MessageIds {
  /** The engine's running message number (all tiers): receipts name it. */
  readonly id: number
  readonly tier: Guarantee
  readonly s: number
  /** Renumbered only before the first transmission (a message dropped before the handshake leaves no gap). */
  d: number
  dBefore: number
  readonly payload: Uint8Array
  /** Fragment id, or −1 when the message travels whole. */
  f = -1
  fragSize: number
  fragCount = 1
  /** Fragments sent for the first time so far. */
  sentFragments = 0
  /** Fragments acknowledged (Delivery). */
  ackedFragments = 0
  /** Per fragment: ACKED | QUEUED bits (Delivery, several fragments). */
  state: Uint8Array | undefined = undefined
  state0 = 0
  /** Time each fragment was last sent (for the resend predicate). */
  lastSent: Float64Array | undefined = undefined
  lastSent0 = 0

  constructor(id: number, ids: MessageIds, payload: Uint8Array, maxWhole: number, fragSize: number, nextF: () => number) {
    this.id = id
    this.tier = ids.tier
    this.s = ids.s
    this.d = ids.d
    this.dBefore = ids.dBefore
    this.payload = payload
    this.fragSize = payload.length
    this.layout(maxWhole, fragSize, nextF)
  }

  /**
   * Decides whether the message travels whole or in fragments of `fragSize`.
   * Called again when the handshake reveals a smaller datagram size, which is
   * only allowed before the first transmission.
   */
  layout(maxWhole: number, fragSize: number, nextF: () => number): void {
    if (this.sentFragments > 0) return
    if (this.payload.length <= maxWhole) {
      this.fragSize = this.payload.length
      this.fragCount = 1
      this.state = undefined
      return
    }
    if (this.f < 0) this.f = nextF()
    this.fragSize = fragSize
    this.fragCount = Math.ceil(this.payload.length / fragSize)
    this.state = this.tier === "Delivery" ? new Uint8Array(this.fragCount) : undefined
  }

  get fragmented(): boolean {
    return this.f >= 0
  }

  /** The data of fragment `i`. */
  data(i: number): Uint8Array {
    if (this.f < 0) return this.payload
    const start = i * this.fragSize
    return this.payload.subarray(start, Math.min(this.payload.length, start + this.fragSize))
  }

  /** The fragment header of fragment `i`, or `undefined` for a whole message. */
  fragment(i: number): FragmentIds | undefined {
    return this.f < 0 ? undefined : { f: this.f, offset: i * this.fragSize, total: this.payload.length }
  }

  isAcked(i: number): boolean {
    return ((this.state === undefined ? this.state0 : this.state[i]!) & ACKED) !== 0
  }

  /** Marks fragment `i` acknowledged; `true` when it was not yet. */
  ack(i: number): boolean {
    if (this.state === undefined) {
      if ((this.state0 & ACKED) !== 0) return false
      this.state0 = ACKED
    } else {
      if ((this.state[i]! & ACKED) !== 0) return false
      this.state[i] = ACKED
    }
    this.ackedFragments++
    return true
  }

  isQueued(i: number): boolean {
    return ((this.state === undefined ? this.state0 : this.state[i]!) & QUEUED) !== 0
  }

  setQueued(i: number, queued: boolean): void {
    if (this.state === undefined) this.state0 = queued ? this.state0 | QUEUED : this.state0 & ~QUEUED
    else this.state[i] = queued ? this.state[i]! | QUEUED : this.state[i]! & ~QUEUED
  }

  get done(): boolean {
    return this.ackedFragments === this.fragCount
  }

  /** Removed before it was sent (the peer's limits refused it). */
  dropped = false

  noteSent(i: number, now: number): void {
    if (this.state === undefined) this.lastSent0 = now
    else (this.lastSent ??= new Float64Array(this.fragCount))[i] = now
  }

  sentAt(i: number): number {
    return this.state === undefined ? this.lastSent0 : this.lastSent?.[i] ?? 0
  }
}

/**
 * Queues of the send side: first transmissions (bounded) and retransmissions.
 *
 * @since 0.2.0
 * @category models
 */
export class Outbox {
  /** Messages waiting for (the rest of) their first transmission. */
  readonly queue = new Deque<OutMessage>(64)
  queuedBytes = 0
  /** Fragments to send again: message and fragment index, in parallel. */
  readonly retransmit = new Deque<OutMessage>(64)
  readonly retransmitFragment = new Deque<number>(64)
  /** Delivery messages not yet fully acknowledged. */
  readonly unacked = new Unacked()

  queueRetransmission(m: OutMessage, i: number): void {
    if (m.isAcked(i) || m.isQueued(i)) return
    m.setQueued(i, true)
    this.retransmit.push(m)
    this.retransmitFragment.push(i)
  }

  /** Drops the queued first transmissions (a close that abandons them); returns how many. */
  clearQueue(): number {
    const n = this.queue.length
    this.queue.clear()
    this.queuedBytes = 0
    return n
  }
}

/**
 * The Delivery messages not yet fully acknowledged, in the order they were
 * sent (so by id): acknowledged ones leave from the front as soon as every
 * message before them is done too; `has` searches by id.
 *
 * @since 0.2.0
 * @category models
 */
export class Unacked {
  readonly #q = new Deque<OutMessage>(256)
  /** Messages still waiting for an acknowledgement. */
  size = 0

  add(m: OutMessage): void {
    this.#q.push(m)
    this.size++
  }

  /** `m` was fully acknowledged (or dropped). */
  settled(): void {
    this.size--
    const q = this.#q
    for (let h = q.peek(); h !== undefined && (h.done || h.dropped); h = q.peek()) q.shift()
  }

  /** Whether message `id` is still waiting. */
  has(id: number): boolean {
    const q = this.#q
    let lo = 0, hi = q.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const m = q.at(mid)!
      if (m.id === id) return !m.done && !m.dropped
      if (m.id < id) lo = mid + 1
      else hi = mid - 1
    }
    return false
  }

  /** The messages still waiting, oldest first. */
  *values(): Generator<OutMessage> {
    const q = this.#q
    for (let i = 0; i < q.length; i++) {
      const m = q.at(i)!
      if (!m.done && !m.dropped) yield m
    }
  }
}
