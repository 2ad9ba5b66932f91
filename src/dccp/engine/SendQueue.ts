/**
 * The bounded queue of datagrams waiting for the congestion controller, with
 * the two policies of Linux's `net/dccp/qpolicy.c`:
 *
 * - `simple`: first in, first out; when `capacity` datagrams are queued the
 *   next `push` is refused (Linux: the socket is not writable, a non-blocking
 *   send fails with EAGAIN).
 * - `prio`: every datagram has a priority (Linux `DCCP_SCM_PRIORITY`);
 *   the highest priority leaves first, first in first out among equals. A
 *   full queue never refuses: like Linux `qpolicy_prio_full`, it drops the
 *   oldest of the lowest-priority queued datagrams and takes the new one.
 *
 * The capacity defaults to 5, Linux's `tx_qlen`.
 *
 * @since 0.1.0
 */

/**
 * The queueing policy.
 *
 * @since 0.1.0
 * @category models
 */
export type QueuePolicy = "simple" | "prio"

/**
 * A queued datagram.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueuedDatagram {
  readonly payload: Uint8Array
  readonly priority: number
  /** Arrival order, for FIFO among equal priorities. */
  readonly order: number
}

/**
 * What `push` did.
 *
 * @since 0.1.0
 * @category models
 */
export type PushResult =
  | { readonly kind: "queued" }
  | { readonly kind: "queued-evicting"; readonly evicted: QueuedDatagram }
  | { readonly kind: "full" }

/**
 * A bounded send queue.
 *
 * @since 0.1.0
 * @category models
 */
export class SendQueue {
  private readonly items: Array<QueuedDatagram> = []
  private order = 0
  readonly policy: QueuePolicy
  readonly capacity: number

  constructor(policy: QueuePolicy, capacity: number) {
    this.policy = policy
    this.capacity = Math.max(1, capacity)
  }

  get length(): number {
    return this.items.length
  }

  get isFull(): boolean {
    return this.items.length >= this.capacity
  }

  push(payload: Uint8Array, priority = 0): PushResult {
    const item: QueuedDatagram = { payload, priority: this.policy === "prio" ? priority : 0, order: this.order++ }
    if (this.items.length < this.capacity) {
      this.items.push(item)
      return { kind: "queued" }
    }
    if (this.policy === "simple") return { kind: "full" }
    // prio: drop the first lowest-priority datagram (Linux `qpolicy_prio_worst_skb`).
    let worst = 0
    for (let i = 1; i < this.items.length; i++) {
      if (this.items[i]!.priority < this.items[worst]!.priority) worst = i
    }
    const victim = this.items[worst]!
    this.items.splice(worst, 1)
    this.items.push(item)
    return { kind: "queued-evicting", evicted: victim }
  }

  /** The datagram that leaves next, without removing it. */
  peek(): QueuedDatagram | undefined {
    if (this.items.length === 0) return undefined
    if (this.policy === "simple") return this.items[0]
    let best = 0
    for (let i = 1; i < this.items.length; i++) {
      if (this.items[i]!.priority > this.items[best]!.priority) best = i
    }
    return this.items[best]
  }

  /** Removes and returns the datagram that leaves next. */
  shift(): QueuedDatagram | undefined {
    const next = this.peek()
    if (next === undefined) return undefined
    this.items.splice(this.items.indexOf(next), 1)
    return next
  }

  clear(): number {
    const n = this.items.length
    this.items.length = 0
    return n
  }
}
