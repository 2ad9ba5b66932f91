/**
 * What a connection hands its application: the event queue that `pollEvent`
 * drains, and the receive buffer's accounting — how many data events wait
 * undelivered, and whether this endpoint is a Slow Receiver (RFC 4340 §11.6)
 * because they pile up.
 *
 * @since 0.2.0
 */

/**
 * Why a connection ended.
 *
 * @since 0.1.0
 * @category models
 */
export type CloseReason =
  /** Graceful close, initiated by this endpoint or by the peer (§8.3). */
  | { readonly kind: "closed"; readonly by: "local" | "peer" }
  /** The peer sent a Reset (§5.6) other than the Closed that ends a graceful close. */
  | { readonly kind: "reset"; readonly code: number; readonly data: Uint8Array }
  /** `abort()` was called. */
  | { readonly kind: "aborted" }
  /** This endpoint reset the connection because of the peer's packets (codes 4–6). */
  | { readonly kind: "protocol-error"; readonly code: number }
  /** Retransmissions were given up (a client in PARTOPEN never gives up; see State.ts). */
  | { readonly kind: "timeout"; readonly phase: "request" | "respond" | "close" }

/**
 * What the engine tells the application.
 *
 * @since 0.1.0
 * @category models
 */
export type ConnectionEvent =
  /** Data may now be sent: PARTOPEN for a client, OPEN for a server. */
  | { readonly type: "connected" }
  | { readonly type: "data"; readonly payload: Uint8Array; readonly seq: number }
  /** The send queue has room again after `send` returned `"queue-full"`. */
  | { readonly type: "writable" }
  /** The peer started closing (CloseReq or Close received): no more data should be sent. */
  | { readonly type: "peer-closing" }
  /** The connection is over; emitted once. */
  | { readonly type: "closed"; readonly reason: CloseReason }

/**
 * The event queue and receive-buffer accounting of one connection.
 *
 * @since 0.2.0
 * @category models
 */
export class Delivery {
  private readonly events: Array<ConnectionEvent> = []
  private head = 0
  private closedEmitted = false
  /** Data events queued and not yet taken by `poll`. */
  undelivered = 0
  /** Whether outgoing acknowledgements carry Slow Receiver (§11.6). */
  slowReceiver = false
  /** The receive buffer, in data events (`receiveBufferPackets`). */
  private readonly capacity: number

  constructor(capacity: number) {
    this.capacity = capacity
  }

  /** Queues an event for the application. */
  emit(event: ConnectionEvent): void {
    this.events.push(event)
  }

  /** Emits `closed` the first time only. */
  finish(reason: CloseReason): void {
    if (this.closedEmitted) return
    this.closedEmitted = true
    this.emit({ type: "closed", reason })
  }

  /** Whether the receive buffer is full: new data is dropped (Data Dropped state 2). */
  get isFull(): boolean {
    return this.undelivered >= this.capacity
  }

  /**
   * Queues received data. Three quarters full makes this endpoint a Slow
   * Receiver until the application catches up to half.
   */
  data(payload: Uint8Array, seq: number): void {
    this.undelivered++
    if (this.undelivered >= (this.capacity * 3) / 4) this.slowReceiver = true
    this.emit({ type: "data", payload, seq })
  }

  /** The next event, or `undefined`. */
  poll(): ConnectionEvent | undefined {
    if (this.head >= this.events.length) return undefined
    const event = this.events[this.head++]!
    if (this.head > 64 && this.head * 2 > this.events.length) {
      this.events.splice(0, this.head)
      this.head = 0
    }
    if (event.type === "data") {
      this.undelivered--
      if (this.slowReceiver && this.undelivered <= this.capacity / 2) this.slowReceiver = false
    }
    return event
  }
}
