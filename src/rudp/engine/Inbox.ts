/**
 * The receive side's ordering machine. Messages arrive in any order, possibly
 * twice, possibly in fragments; it releases them to the application according
 * to their tier and set (docs/rudp.md, "Semantics"):
 *
 * - `current` is the set of the last sequenced (Order/Delivery) message
 *   released; `prefix` the first Delivery id not yet released (every one below
 *   it was). A sequenced message of set `s` may be released once every
 *   Delivery message of the sets before it was (`dBefore ≤ prefix`) and no
 *   later set was released (`s ≥ current`). One that must wait waits in
 *   `waiting` (ordered by set); an Order message that comes too late is
 *   dropped, as is a Delivery message seen before.
 * - `None` messages are released at once (duplicates never get here: the
 *   connection drops repeated packet numbers).
 * - Fragments are collected per fragment id; a complete message goes through
 *   the same rules. An incomplete None/Order message expires after
 *   `fragmentTimeout` (it is never resent).
 *
 * Memory is bounded: Delivery data by the receive window (the sender may not
 * exceed it, and a packet that would is refused), None/Order data by
 * `lossyBudget` and `readyLimit` (the excess is dropped and counted — those
 * tiers may lose messages).
 *
 * @since 0.2.0
 */
import type { Guarantee } from "../Guarantee.ts"
import { Arena } from "./Arena.ts"
import { Deque } from "./Deque.ts"
import type { Expected, MessageFrame } from "./Frame.ts"
import { RangeSet } from "./RangeSet.ts"

/**
 * A message released to the application.
 *
 * @since 0.2.0
 * @category models
 */
export interface ReceivedMessage {
  readonly payload: Uint8Array
  readonly guarantee: Guarantee
  /** The set it belongs to (the sender's numbering; −1 for None). */
  readonly set: number
}

/**
 * Bytes charged per Delivery message on top of its payload, against the
 * receive window (so that empty messages are bounded too).
 *
 * @since 0.2.0
 * @category constants
 */
export const MESSAGE_CHARGE = 16

/**
 * Why the inbox dropped something.
 *
 * @since 0.2.0
 * @category models
 */
export interface InboxDrops {
  /** A Delivery message (or fragment) received again. */
  duplicate: number
  /** An Order message that arrived after a later set was released (counted once per message, by its first fragment). */
  lateOrder: number
  /** Later fragments of late Order messages (the message is counted in `lateOrder`). */
  lateFragment: number
  /** None/Order messages dropped because the ready queue or the lossy budget was full. */
  lossyOverflow: number
  /** None/Order messages whose fragments did not all arrive in time. */
  fragmentTimeout: number
  /** Fragments that contradict earlier fragments of the same message. */
  fragmentMismatch: number
}

/** A message on the receive side: waiting, or released (it is the `ReceivedMessage` then). */
class Pending implements ReceivedMessage {
  readonly guarantee: Guarantee
  /** Its set (`s`; −1 for None). */
  readonly set: number
  readonly d: number
  readonly dBefore: number
  readonly payload: Uint8Array
  constructor(tier: Guarantee, s: number, d: number, dBefore: number, payload: Uint8Array) {
    this.guarantee = tier
    this.set = tier === "None" ? -1 : s
    this.d = d
    this.dBefore = dBefore
    this.payload = payload
  }
}

class Reassembly {
  readonly tier: Guarantee
  readonly s: number
  readonly d: number
  readonly dBefore: number
  readonly total: number
  readonly createdAt: number
  readonly got = new RangeSet(1 << 20)
  readonly chunks: Array<Uint8Array> = []
  readonly offsets: Array<number> = []
  bytes = 0
  constructor(frame: MessageFrame, now: number) {
    this.tier = frame.tier
    this.s = frame.s
    this.d = frame.d
    this.dBefore = frame.dBefore
    this.total = frame.total
    this.createdAt = now
  }
  matches(frame: MessageFrame): boolean {
    return frame.tier === this.tier && frame.s === this.s && frame.d === this.d && frame.dBefore === this.dBefore &&
      frame.total === this.total
  }
  assemble(): Uint8Array {
    const out = new Uint8Array(this.total)
    for (let i = 0; i < this.chunks.length; i++) out.set(this.chunks[i]!, this.offsets[i]!)
    return out
  }
}

/**
 * Receive-side limits.
 *
 * @since 0.2.0
 * @category models
 */
export interface InboxLimits {
  readonly maxMessageSize: number
  readonly receiveWindow: number
  readonly readyLimit: number
  readonly lossyBudget: number
  readonly fragmentTimeout: number
}

/**
 * @since 0.2.0
 * @category models
 */
export class Inbox {
  readonly limits: InboxLimits
  /** References for truncated ids: the largest value seen per space. */
  readonly expected: Expected = { s: -1, d: -1, f: -1 }
  current = -1
  prefix = 0
  readonly releasedAbove = new Set<number>()
  readonly waiting: Array<Pending> = []
  waitingHead = 0
  readonly waitingD = new Set<number>()
  readonly reassembly = new Map<number, Reassembly>()
  readonly ready = new Deque<ReceivedMessage>(256)
  /** Delivery bytes held (waiting, ready, fragments), with the per-message charge. */
  deliveryHeld = 0
  /** None/Order bytes held (waiting, ready, fragments). */
  lossyHeld = 0
  readyLossy = 0
  /** Delivery bytes (with charges) the application has taken: the receive window's base. */
  consumed = 0
  /** The receive window now: `limits.receiveWindow` at first, grown by `growWindow`. */
  window: number
  readonly released = { None: 0, Order: 0, Delivery: 0 }
  readonly drops: InboxDrops = { duplicate: 0, lateOrder: 0, lateFragment: 0, lossyOverflow: 0, fragmentTimeout: 0, fragmentMismatch: 0 }
  readonly #arena = new Arena()

  constructor(limits: InboxLimits) {
    this.limits = limits
    this.window = limits.receiveWindow
  }

  /** Doubles the receive window, up to `max`; whether it grew. */
  growWindow(max: number): boolean {
    if (this.window >= max) return false
    this.window = Math.min(2 * this.window, max)
    return true
  }

  /** The peer's first ids, from its HELLO. */
  start(initialSet: number, initialDelivery: number, initialFragment: number): void {
    this.current = initialSet - 1
    this.prefix = initialDelivery
    this.expected.s = initialSet - 1
    this.expected.d = initialDelivery - 1
    this.expected.f = initialFragment - 1
  }

  /** The largest Delivery bytes (cumulative, with charges) the sender may have sent. */
  maxData(): number {
    return this.consumed + this.window
  }

  /** Whether Delivery id `d` was received before (released, waiting). */
  isDuplicate(d: number): boolean {
    return d < this.prefix || this.releasedAbove.has(d) || this.waitingD.has(d)
  }

  /**
   * Bytes `frame` would add to the Delivery data held, or −1 when it is out of
   * the window (a sender exceeding the advertised window).
   */
  deliveryCost(frame: MessageFrame): number {
    if (frame.tier !== "Delivery" || this.isDuplicate(frame.d)) return 0
    if (frame.d - this.prefix > (this.window + this.limits.maxMessageSize) / MESSAGE_CHARGE + 1) return -1
    if (frame.fragment) {
      if (frame.total > this.limits.maxMessageSize) return -1
      const r = this.reassembly.get(frame.f)
      if (r !== undefined && r.got.coveredIn(frame.offset, frame.offset + frame.length - 1) > 0) return 0
      return frame.length + (r === undefined ? MESSAGE_CHARGE : 0)
    }
    if (frame.length > this.limits.maxMessageSize) return -1
    return frame.length + MESSAGE_CHARGE
  }

  /** Whether `cost` more Delivery bytes fit (the window plus one message of slack). */
  fits(cost: number): boolean {
    return this.deliveryHeld + cost <= this.window + this.limits.maxMessageSize + MESSAGE_CHARGE
  }

  /** Takes one decoded MESSAGE frame (whose data is only valid during the call). */
  accept(frame: MessageFrame, now: number): void {
    if (frame.fragment) return this.#fragment(frame, now)
    const tier = frame.tier
    if (tier === "Delivery") {
      if (this.isDuplicate(frame.d)) return void this.drops.duplicate++
      this.deliveryHeld += frame.length + MESSAGE_CHARGE
    } else {
      if (tier === "Order" && frame.s < this.current) return void this.drops.lateOrder++
      if (this.lossyHeld + frame.length > this.limits.lossyBudget) return void this.drops.lossyOverflow++
      this.lossyHeld += frame.length
    }
    this.#arrive(new Pending(tier, frame.s, frame.d, frame.dBefore, frame.copy(this.#arena)))
  }

  #fragment(frame: MessageFrame, now: number): void {
    const tier = frame.tier
    if (tier === "Delivery" && this.isDuplicate(frame.d)) return void this.drops.duplicate++
    if (tier === "Order" && frame.s < this.current) {
      // One count per message: by its first fragment, here or with its reassembly.
      const held = this.reassembly.get(frame.f)
      if (held !== undefined) this.#dropLate(frame.f, held)
      if (frame.offset === 0 && held?.got.has(0) !== true) this.drops.lateOrder++
      else this.drops.lateFragment++
      return
    }
    if (frame.total > this.limits.maxMessageSize) return void this.drops.fragmentMismatch++
    let r = this.reassembly.get(frame.f)
    if (r !== undefined && !r.matches(frame)) return void this.drops.fragmentMismatch++
    const last = frame.offset + frame.length - 1
    if (r !== undefined && r.got.coveredIn(frame.offset, last) > 0) {
      // A repeated (or overlapping) fragment: the copy we hold stays.
      return void this.drops.duplicate++
    }
    const size = frame.length
    const charge = size + (r === undefined && tier === "Delivery" ? MESSAGE_CHARGE : 0)
    if (tier === "Delivery") this.deliveryHeld += charge
    else {
      if (this.lossyHeld + size > this.limits.lossyBudget) return void this.drops.lossyOverflow++
      this.lossyHeld += size
    }
    if (r === undefined) {
      r = new Reassembly(frame, now)
      this.reassembly.set(frame.f, r)
    }
    r.got.addRange(frame.offset, last)
    r.chunks.push(frame.copy(this.#arena))
    r.offsets.push(frame.offset)
    r.bytes += size
    if (r.bytes < r.total) return
    this.reassembly.delete(frame.f)
    this.#arrive(new Pending(tier, r.s, r.d, r.dBefore, r.assemble()))
  }

  /** A whole message whose bytes are already counted as held. */
  #arrive(m: Pending): void {
    if (m.guarantee === "None") return void this.#release(m)
    if (m.set < this.current) {
      // Every Delivery message of an earlier set was released already: a late Order message.
      return this.#drop(m, m.guarantee === "Order" ? "lateOrder" : "duplicate")
    }
    if (m.dBefore <= this.prefix) {
      if (this.#release(m)) this.#drainWaiting()
      return
    }
    // Wait, ordered by set.
    const w = this.waiting
    let i = w.length
    while (i > this.waitingHead && w[i - 1]!.set > m.set) i--
    if (i === w.length) w.push(m)
    else w.splice(i, 0, m)
    if (m.guarantee === "Delivery") this.waitingD.add(m.d)
  }

  #drop(m: Pending, reason: keyof InboxDrops): void {
    this.drops[reason]++
    if (m.guarantee === "Delivery") this.deliveryHeld -= m.payload.length + MESSAGE_CHARGE
    else this.lossyHeld -= m.payload.length
  }

  /** Releases `m` to the ready queue; `true` when the Delivery prefix advanced. */
  #release(m: Pending): boolean {
    const tier = m.guarantee
    if (tier !== "None" && m.set > this.current) {
      this.current = m.set
      if (this.reassembly.size > 0) this.#dropLateReassemblies()
    }
    if (tier !== "Delivery" && this.readyLossy >= this.limits.readyLimit) {
      this.#drop(m, "lossyOverflow")
      return false
    }
    this.ready.push(m)
    this.released[tier]++
    if (tier !== "Delivery") {
      this.readyLossy++
      return false
    }
    if (m.d !== this.prefix) {
      this.releasedAbove.add(m.d)
      return false
    }
    this.prefix++
    while (this.releasedAbove.delete(this.prefix)) this.prefix++
    return true
  }

  #drainWaiting(): void {
    const w = this.waiting
    while (this.waitingHead < w.length) {
      const m = w[this.waitingHead]!
      if (m.dBefore > this.prefix) break
      w[this.waitingHead++] = undefined as unknown as Pending
      if (m.guarantee === "Delivery") this.waitingD.delete(m.d)
      if (m.set < this.current) this.#drop(m, m.guarantee === "Order" ? "lateOrder" : "duplicate")
      else this.#release(m)
    }
    if (this.waitingHead > 64 && this.waitingHead * 2 > w.length) {
      w.splice(0, this.waitingHead)
      this.waitingHead = 0
    } else if (this.waitingHead === w.length) {
      w.length = 0
      this.waitingHead = 0
    }
  }

  /** The next released message; its bytes leave the window. */
  poll(): ReceivedMessage | undefined {
    const m = this.ready.shift()
    if (m === undefined) return undefined
    if (m.guarantee === "Delivery") {
      const charge = m.payload.length + MESSAGE_CHARGE
      this.deliveryHeld -= charge
      this.consumed += charge
    } else {
      this.lossyHeld -= m.payload.length
      this.readyLossy--
    }
    return m
  }

  /** When the oldest incomplete None/Order message expires, or `undefined`. */
  nextExpiry(): number | undefined {
    if (this.reassembly.size === 0) return undefined
    let t: number | undefined
    for (const r of this.reassembly.values()) {
      if (r.tier === "Delivery") continue
      const at = r.createdAt + this.limits.fragmentTimeout
      if (t === undefined || at < t) t = at
    }
    return t
  }

  /** An incomplete Order message became late: dropped, counted once (with its first fragment). */
  #dropLate(f: number, r: Reassembly): void {
    this.reassembly.delete(f)
    this.lossyHeld -= r.bytes
    if (r.got.has(0)) this.drops.lateOrder++
  }

  #dropLateReassemblies(): void {
    for (const [f, r] of this.reassembly) if (r.tier === "Order" && r.s < this.current) this.#dropLate(f, r)
  }

  /** Drops incomplete None/Order messages that expired or became late. */
  expire(now: number): void {
    for (const [f, r] of this.reassembly) {
      if (r.tier === "Delivery") continue
      const late = r.tier === "Order" && r.s < this.current
      if (!late && r.createdAt + this.limits.fragmentTimeout > now) continue
      this.reassembly.delete(f)
      this.lossyHeld -= r.bytes
      if (!late) this.drops.fragmentTimeout++
      else if (r.got.has(0)) this.drops.lateOrder++
    }
  }

  /** Counts of what is held. */
  waitingCount(): number {
    return this.waiting.length - this.waitingHead
  }
}
