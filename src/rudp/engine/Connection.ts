/**
 * The sans-IO reliable-UDP engine: one connection between two endpoints.
 *
 * A plain class with no I/O, no clock and no randomness of its own. The driver
 * feeds it `handleDatagram(now, bytes)`, `handleTimeout(now)`, `send(now, …)`,
 * `close(now)`, then drains, in this order, `pollTransmit(now)` (or
 * `pollTransmitInto`) until it returns nothing, `pollTimeout()` (the next
 * deadline, `undefined` when nothing is due), `pollEvent()` and
 * `pollMessage()`. `now` is milliseconds of a monotonic clock.
 *
 * This file is the connection's state machine (the table is `State.ts`): what
 * each input does, which transition it fires and what the transition's
 * actions do, and the timers re-armed after. Everything else lives beside it
 * in `connection/` (the layout of quinn-proto's `connection/`): the fields all
 * parts share (`ConnectionState`), packet assembly (`Transmit`),
 * acknowledgements and loss (`LossRecovery`), the handshake (`Handshake`), the
 * receive pipeline's checks (`Receive`), counters (`Stats`), events and close
 * reasons (`Events`) and the `info()` snapshot (`Info`). The wire format is in
 * `Packet.ts`, `Frame.ts` and `Params.ts`; loss recovery's records (RFC 9002)
 * in `Recovery.ts`; the send side in `Outbox.ts`; the receive side's ordering
 * rules in `Inbox.ts`. Bad input never throws: a malformed, corrupted,
 * duplicated or out-of-window packet is dropped and counted in `stats`.
 *
 * @since 0.2.0
 */
import type { Guarantee } from "../Guarantee.ts"
import type { Config } from "./Config.ts"
import type { CongestionController } from "./Congestion.ts"
import type { DeliveryRate } from "./DeliveryRate.ts"
import type { Inbox, ReceivedMessage } from "./Inbox.ts"
import { OutMessage, type Outbox } from "./Outbox.ts"
import { parseHeader, VERSION_1 } from "./Packet.ts"
import type { Params } from "./Params.ts"
import type { Payload } from "./Payload.ts"
import type { RangeSet } from "./RangeSet.ts"
import type { RttEstimator, SentPackets } from "./Recovery.ts"
import { type Action, acceptsMessages, type Event, sendsData, type State, transition } from "./State.ts"
import type { Timers } from "./Timers.ts"
import { ConnectionState, type EngineOptions } from "./connection/ConnectionState.ts"
import { CloseCode, type CloseReason, type EngineEvent, type SendResult } from "./connection/Events.ts"
import { onHello, onRetry, onVersionNegotiation } from "./connection/Handshake.ts"
import { type EngineInfo, engineInfo } from "./connection/Info.ts"
import { detectLost, onAck, onPto, resendScan } from "./connection/LossRecovery.ts"
import { authenticate, isAddressedHere, onUnsupportedVersion, recordReceipt, removeHeaderProtection } from "./connection/Receive.ts"
import type { EngineStats } from "./connection/Stats.ts"
import { pollTransmitBatch, pollTransmitInto } from "./connection/Transmit.ts"

export { type EngineOptions } from "./connection/ConnectionState.ts"
export { CloseCode, type CloseReason, type EngineEvent, type SendResult } from "./connection/Events.ts"
export { type EngineInfo } from "./connection/Info.ts"
export { type EngineStats, type PacketDrop } from "./connection/Stats.ts"
export { AMPLIFICATION_FACTOR } from "./connection/Transmit.ts"

/** CLOSE is sent again on a doubling PTO until the peer's answers, at most this many times in all. */
const CLOSE_SENDS = 5

const textEncoder = new TextEncoder()

/**
 * One reliable-UDP connection.
 *
 * @since 0.2.0
 * @category engine
 */
export class RudpEngine {
  /** The fields every part of the engine shares (internal). */
  readonly #c: ConnectionState
  readonly config: Config
  readonly stats: EngineStats
  readonly timers: Timers
  readonly localCid: Uint8Array
  readonly outbox: Outbox
  readonly rtt: RttEstimator
  readonly sent: SentPackets
  /** The congestion controller (and pacer) of this connection. */
  readonly cc: CongestionController
  readonly deliveryRate: DeliveryRate
  readonly inbox: Inbox
  readonly received: RangeSet

  constructor(now: number, config: Config, options?: EngineOptions) {
    const c = this.#c = new ConnectionState(now, config, options, (event, at) => this.#fire(event, at))
    this.config = c.config
    this.stats = c.stats
    this.timers = c.timers
    this.localCid = c.localCid
    this.outbox = c.outbox
    this.rtt = c.rtt
    this.sent = c.sent
    this.cc = c.cc
    this.deliveryRate = c.deliveryRate
    this.inbox = c.inbox
    this.received = c.received
    if (config.role === "client") this.#fire("start", now)
  }


  /**
   * A client engine: it sends its HELLO at once.
   *
   * @since 0.2.0
   */
  static client(now: number, config: Config): RudpEngine {
    return new RudpEngine(now, { ...config, role: "client" })
  }

  /**
   * A server engine: it waits for a client's Initial.
   *
   * @since 0.2.0
   */
  static server(now: number, config: Config): RudpEngine {
    return new RudpEngine(now, { ...config, role: "server" })
  }


  get state(): State {
    return this.#c.state
  }

  /** Whether the handshake is done (and the connection not closed). */
  get isConnected(): boolean {
    return this.#c.isConnected
  }

  get isClosed(): boolean {
    return this.#c.state === "closed"
  }

  /** The reason the connection ended (or is ending), once known. */
  get closeReason(): CloseReason | undefined {
    return this.#c.reason
  }

  /** Whether the peer sent CLOSE. */
  get peerClosed(): boolean {
    return this.#c.peerClosed
  }

  /** The peer's parameters, once its HELLO arrived. */
  get peerParams(): Params | undefined {
    return this.#c.peer
  }

  /** Whether a CLOSE went out (a driver closing gracefully waits for it before it lets the socket go). */
  get closeTransmitted(): boolean {
    return this.#c.closeTransmitted
  }

  /** Whether packets are encrypted (the handshake derived keys). */
  get encrypted(): boolean {
    return this.#c.keys !== undefined
  }

  /** Whether the peer's address is proven (a server sends at most 3× what it received before). */
  get addressValidated(): boolean {
    return this.#c.addressValidated
  }

  /** Packets accepted (passed every check). */
  get packetsAccepted(): number {
    return this.#c.packetsAccepted
  }

  /** The largest message the connection carries now. */
  get maxMessageSize(): number {
    return this.#c.maxMessageSize
  }

  /** The datagram size in use. */
  get mtu(): number {
    return this.#c.mtu
  }

  /**
   * What the local route allows, in UDP payload bytes (the driver reads the
   * interface's or the route's MTU): path MTU discovery never goes above it,
   * and a size in use above it comes down at once (never below the base).
   */
  setPathLimit(now: number, bytes: number): void {
    const c = this.#c
    if (!(bytes > 0) || bytes >= c.pathLimit) return
    c.pathLimit = bytes
    if (c.peer !== undefined && c.pmtu.setLimit(now, c.mtuLimit)) c.mtuChanged()
    c.afterInput(now)
  }

  // =====================================================================================
  // State machine
  // =====================================================================================

  #fire(event: Event, now: number): boolean {
    const c = this.#c
    const cell = transition(c.state, event)
    if (cell === undefined) return false
    c.state = cell.next
    for (const action of cell.actions) this.#act(action, now)
    return true
  }

  #act(action: Action, now: number): void {
    const c = this.#c
    switch (action) {
      case "send-hello":
        c.helloPending = true
        return
      case "accept-hello":
        // The parameters were stored by onHello (connection/Handshake.ts) before the event.
        return
      case "confirm":
        c.confirmed = true
        return
      case "connected":
        c.emit({ type: "connected" })
        c.timers.set("heartbeat", now + c.heartbeat())
        if (c.closeDeferred) this.#fire("close", now)
        return
      case "defer-close":
        c.closeDeferred = true
        c.timers.set("linger", now + c.config.closeTimeout)
        // Nothing to deliver: no need to wait for the handshake.
        if (c.outbox.queue.length === 0) {
          c.reason = { kind: "local" }
          this.#fire("flushed", now)
        }
        return
      case "start-flush":
        c.timers.set("linger", now + c.config.closeTimeout)
        c.checkFlushed(now)
        return
      case "send-close": {
        c.closePending = true
        c.closeSends = 0
        const pto = c.ptoBase()
        c.timers.set("pto", now + pto)
        c.timers.set("close", now + (2 ** CLOSE_SENDS - 1) * pto)
        return
      }
      case "drain":
        c.peerClosed = true
        c.closePending = true
        c.timers.set("close", now + 3 * c.ptoBase())
        return
      case "quiesce":
        for (const name of ["ack", "loss", "pto", "heartbeat", "linger", "fragment", "resend", "pace", "pmtu"] as const) c.timers.clear(name)
        c.helloPending = false
        c.pingPending = false
        c.maxDataPending = false
        return
      case "finish":
        c.timers.clearAll()
        c.helloPending = false
        c.emit({ type: "closed", reason: c.reason ?? { kind: "local" } })
        return
    }
  }


  // =====================================================================================
  // Inputs
  // =====================================================================================

  /**
   * A datagram from the peer. `bytes` is only read during the call (whatever
   * the engine keeps, it copies). The pipeline: header protection, header,
   * addressing, authentication, the frames decoded (nothing changes yet), the
   * receipt recorded; then what the frames do.
   */
  handleDatagram(now: number, datagram: Uint8Array): void {
    const c = this.#c
    c.stats.datagramsReceived++
    c.stats.bytesReceived += datagram.length
    if (c.state === "closed") return void c.stats.dropped.closed++
    const bytes = removeHeaderProtection(c, datagram)
    if (bytes === undefined) return
    const h = c.header
    const bad = parseHeader(bytes, c.config.cidLength, h)
    if (bad !== undefined) return void c.stats.dropped[bad]++
    if (h.form === "version-negotiation") return onVersionNegotiation(c, now, h)
    if (h.form === "long") {
      if (h.version !== VERSION_1) return onUnsupportedVersion(c, h, bytes.length)
      if (h.type === "Retry") return onRetry(c, now, h, bytes)
    }
    if (!isAddressedHere(c, h)) return
    const pn = authenticate(c, now, h, bytes)
    if (pn < 0) return
    // Pass 1: decode every frame; nothing changes yet except the id references.
    const d = c.payload
    const refused = d.decode(bytes, h.payloadStart, h.payloadEnd, h.form === "long", c.inbox)
    if (refused !== undefined) return void c.stats.dropped[refused]++
    // Pass 2: the packet is accepted.
    recordReceipt(c, now, h, pn, d.ackEliciting)
    if (c.state === "closing" || c.state === "draining") return this.#whileClosing(now, d)
    this.#process(now, h.form === "long", d)
  }

  /**
   * A packet while closing: the peer's CLOSE (its answer to ours, or its own)
   * ends the closing period; anything else is answered with our CLOSE again
   * (its first copy may have been lost). While draining, only a CLOSE is
   * answered.
   */
  #whileClosing(now: number, d: Payload): void {
    const c = this.#c
    if (c.state === "closing") {
      if (d.close !== undefined) {
        c.peerClosed = true
        this.#fire("peer-close", now)
      } else c.closePending = true
    } else if (d.close !== undefined) c.closePending = true
  }

  /** What the frames of an accepted packet do: the HELLO, ACKs, MAX_DATA, messages, CLOSE. */
  #process(now: number, long: boolean, d: Payload): void {
    const c = this.#c
    const close = d.close
    if (long) {
      onHello(c, now, c.header.type, c.header.scid, d.hello!)
      // A HELLO that ended the connection (incompatible, not authenticated): nothing else of the packet counts.
      if ((c.state as State) === "closed") return c.afterInput(now)
    } else if (c.state === "handshake" && c.peer !== undefined) {
      // A short packet addressed to our id: the peer has our HELLO.
      this.#fire("confirmed", now)
      c.maybeReady(now)
    }
    // Encrypted: a long packet is only CRC-protected; its ACKs (which could drop data unsent) are not believed.
    const trusted = !long || c.handshake === undefined
    if (trusted) for (let i = 0; i < d.acks; i++) onAck(c, now, d.ackFrames[i]!)
    if (d.maxData > c.peerMaxData) {
      c.peerMaxData = d.maxData
      c.flowBlocked = false
    }
    for (let i = 0; i < d.messages; i++) c.inbox.accept(d.messageFrames[i]!, now)
    if (close !== undefined && (trusted || c.keys === undefined)) {
      c.reason = { kind: "peer", code: close.code, reason: close.reason }
      if (this.#fire("peer-close", now)) c.emit({ type: "peer-closing", code: close.code, reason: close.reason })
    }
    c.afterInput(now)
  }

  /** Timers that are due. */
  handleTimeout(now: number): void {
    const c = this.#c
    this.#settle()
    const t = c.timers
    if (t.take("close", now)) this.#fire("close-timer", now)
    if (c.state === "closing" && t.take("pto", now)) {
      c.closePending = true
      if (++c.closeSends < CLOSE_SENDS) t.set("pto", now + c.ptoBase() * 2 ** c.closeSends)
    }
    if (t.take("idle", now)) {
      if (c.lastSendOrReceive + c.idleTimeout() <= now) {
        c.reason = { kind: "timeout", phase: c.peer === undefined || c.state === "handshake" ? "handshake" : "idle" }
        this.#fire("idle-timeout", now)
      }
    }
    if (t.take("linger", now) && (c.state === "flushing" || c.state === "handshake")) {
      c.reason = { kind: "linger-timeout", abandoned: c.outbox.unacked.size + c.outbox.queue.length }
      c.closeCode = CloseCode.lingerTimeout
      this.#fire("linger-timeout", now)
    }
    if (t.take("loss", now)) detectLost(c, now)
    if (t.take("pto", now)) onPto(c)
    if (t.take("resend", now)) resendScan(c, now)
    if (t.take("fragment", now)) c.inbox.expire(now)
    if (t.take("heartbeat", now) && sendsData(c.state)) {
      if (c.lastAckElicitingSent + c.heartbeat() <= now) c.pingPending = true
    }
    if (t.take("ack", now)) c.ackNow = c.ackDirty
    t.take("pace", now)
    if (t.take("pmtu", now)) c.pmtu.tick(now)
    c.afterInput(now)
  }

  /**
   * Queues a message. The payload is copied. Returns its id, or why it was
   * refused (see `SendResult`).
   */
  send(_now: number, payload: Uint8Array, tier: Guarantee): SendResult {
    const c = this.#c
    if (!acceptsMessages(c.state) || c.closeDeferred) return "closed"
    if (payload.length > c.maxMessageSize) return "too-large"
    const o = c.outbox
    if (o.queue.length > 0 && (o.queuedBytes + payload.length > c.config.sendQueueBytes || o.queue.length >= c.config.sendQueueMessages)) {
      c.blockedSize = payload.length
      return "blocked"
    }
    let s = -1, d = -1, dBefore = -1
    if (tier !== "None") {
      if (c.setS >= 0) {
        s = c.setS
        dBefore = c.setDBefore
        c.setUsed = true
      } else {
        s = c.nextS++
        dBefore = c.nextD
      }
      if (tier === "Delivery") d = c.nextD++
    }
    const id = c.nextMessage++
    const m = new OutMessage(id, { tier, s, d, dBefore }, c.arena.copy(payload, 0, payload.length), c.maxWhole, c.fragSize, c.takeF)
    o.queue.push(m)
    o.queuedBytes += payload.length
    if (tier === "Delivery") o.unacked.add(m)
    c.stats.messagesSent[tier]++
    return id
  }


  /**
   * Opens a set: the messages sent until `closeSet` may be delivered in any
   * order among themselves. Sets do not nest; opening one closes the last.
   */
  openSet(): void {
    const c = this.#c
    this.closeSet()
    c.setS = c.nextS
    c.setDBefore = c.nextD
    c.setUsed = false
  }

  /** Closes the open set (no-op when none is open). */
  closeSet(): void {
    const c = this.#c
    if (c.setS < 0) return
    if (c.setUsed) c.nextS++
    c.setS = -1
  }

  /** Whether a set is open. */
  get inSet(): boolean {
    const c = this.#c
    return c.setS >= 0
  }

  /**
   * Starts a graceful close: no new messages; what is queued or unacknowledged
   * is still delivered (within `closeTimeout`), then CLOSE goes out.
   */
  close(now: number): void {
    const c = this.#c
    this.closeSet()
    this.#fire("close", now)
    c.afterInput(now)
  }

  /** Ends the connection at once, telling the peer (CLOSE with code 2). */
  abort(now: number): void {
    const c = this.#c
    if (c.state === "closed") return
    c.reason = { kind: "aborted" }
    c.closeCode = CloseCode.aborted
    c.closeText = textEncoder.encode("aborted")
    this.#fire("abort", now)
  }


  // =====================================================================================
  // Timers
  // =====================================================================================

  /** Re-arms the timers once per batch of inputs and outputs (see `ConnectionState.afterInput`). */
  #settle(): void {
    const c = this.#c
    if (!c.dirty) return
    c.dirty = false
    this.#rearm(c.dirtyAt)
  }

  /** Re-arms the timers that depend on what happened. */
  #rearm(now: number): void {
    const c = this.#c
    const t = c.timers
    if (c.state === "closed") return
    // Idle: from the last packet received (or, with nothing heard lately, the last ack-eliciting sent).
    t.set("idle", c.lastSendOrReceive + c.idleTimeout())
    if (c.state === "closing" || c.state === "draining") return
    c.checkFlushed(now)
    const after = c.state as State
    if (after === "closing" || after === "closed") return
    // Loss detection and probe timeout (§6.2.1).
    if (c.lossTime > 0) {
      t.set("loss", c.lossTime)
      t.clear("pto")
    } else {
      t.clear("loss")
      if (c.ackElicitingInFlight > 0 || (c.state === "handshake" && !c.confirmed && c.config.role === "client")) {
        const backoff = Math.min(c.ptoCount, 16)
        t.set("pto", (c.lastAckElicitingSent || now) + c.ptoBase() * 2 ** backoff)
      } else t.clear("pto")
    }
    if (c.config.resend !== undefined && c.outbox.unacked.size > 0) t.setEarliest("resend", now + c.config.resendScan)
    const expiry = c.inbox.nextExpiry()
    if (expiry === undefined) t.clear("fragment")
    else t.set("fragment", expiry)
    if (!c.ackDirty) t.clear("ack")
    // The heartbeat re-arms once its PING went out.
    if (sendsData(c.state) && !c.pingPending) t.set("heartbeat", c.lastAckElicitingSent + c.heartbeat())
    else t.clear("heartbeat")
    // A completed (or fallen back) path MTU search starts again later; pollTransmit sends its probes.
    if (c.state === "established" && c.pmtu.phase === "done") t.set("pmtu", c.pmtu.nextSearchAt)
    else t.clear("pmtu")
    // A refused sender may try again.
    if (c.blockedSize >= 0) {
      const o = c.outbox
      if (o.queue.length === 0 || (o.queuedBytes + c.blockedSize <= c.config.sendQueueBytes && o.queue.length < c.config.sendQueueMessages)) {
        c.blockedSize = -1
        c.emit({ type: "writable" })
      }
    }
  }

  // =====================================================================================
  // Outputs
  // =====================================================================================

  /** The next deadline, or `undefined` when nothing is due. */
  pollTimeout(): number | undefined {
    const c = this.#c
    this.#settle()
    return c.timers.next()
  }

  /** The next event, or `undefined`. */
  pollEvent(): EngineEvent | undefined {
    const c = this.#c
    this.#settle()
    if (c.eventHead >= c.events.length) {
      if (c.eventHead > 0) {
        c.events.length = 0
        c.eventHead = 0
      }
      return undefined
    }
    return c.events[c.eventHead++]
  }

  /**
   * The next message released to the application, or `undefined`. Taking a
   * Delivery message frees its bytes from the receive window.
   */
  pollMessage(): ReceivedMessage | undefined {
    const c = this.#c
    const m = c.inbox.poll()
    if (m !== undefined && m.guarantee === "Delivery" && sendsData(c.state)) {
      // Open the window again once a quarter of it was read.
      if (c.inbox.maxData() - c.maxDataSent >= c.inbox.window / 4) c.maxDataPending = true
    }
    return m
  }

  /**
   * Whether something besides new messages is waiting to go out now (a window
   * update, a CLOSE, the handshake, a keep-alive, an acknowledgement that is
   * due): a driver that batches its flushes flushes now.
   */
  get needsFlush(): boolean {
    const c = this.#c
    return c.maxDataPending || c.closePending || c.helloPending || c.pingPending || (c.ackDirty && c.ackNow)
  }

  /** Bytes of ack-eliciting packets sent and not yet acknowledged or declared lost. */
  get bytesInFlight(): number {
    const c = this.#c
    return c.bytesInFlight
  }

  /** Whether a message is ready for `pollMessage`. */
  get hasMessage(): boolean {
    const c = this.#c
    return c.inbox.ready.length > 0
  }

  /** Whether `send` would accept a message of `size` bytes now. */
  canSend(size: number): boolean {
    const c = this.#c
    const o = c.outbox
    return acceptsMessages(c.state) && !c.closeDeferred && size <= c.maxMessageSize &&
      (o.queue.length === 0 || (o.queuedBytes + size <= c.config.sendQueueBytes && o.queue.length < c.config.sendQueueMessages))
  }

  /** Whether Delivery message `id` (a `send` result) was acknowledged by the peer. */
  /** The peer's `maxMessageSize` when message `id` was dropped before the handshake for being longer, else `undefined`. */
  droppedTooLarge(id: number): number | undefined {
    return this.#c.droppedTooLarge.get(id)
  }

  /** Whether `id` is the id `send` returned for one of this connection's messages. */
  wasSent(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.#c.nextMessage
  }

  isAcknowledged(id: number): boolean {
    const c = this.#c
    return id < c.nextMessage && !c.outbox.unacked.has(id)
  }

  /**
   * The next datagram to send, in a new array, or `undefined` when there is
   * nothing to send now.
   */
  pollTransmit(now: number): Uint8Array | undefined {
    const c = this.#c
    const buf = c.scratch ??= new Uint8Array(Math.max(c.config.maxMtu, 1200))
    const n = this.pollTransmitInto(now, buf)
    return n === 0 ? undefined : buf.slice(0, n)
  }

  /**
   * Writes the next datagram into `buf` (at least the MTU long) and returns its
   * length, or 0 when there is nothing to send now.
  /**
   * Writes the next datagram into `buf` (at least the MTU long) and returns its
   * length, or 0 when there is nothing to send now.
   */
  pollTransmitInto(now: number, buf: Uint8Array): number {
    return pollTransmitInto(this.#c, now, buf)
  }

  /** `pollTransmitInto` into each of `bufs` (lengths into `lengths`); returns how many. Encrypted: one header-protection call for all. */
  pollTransmitBatch(now: number, bufs: ReadonlyArray<Uint8Array>, lengths: Array<number>): number {
    return pollTransmitBatch(this.#c, now, bufs, lengths)
  }

  // =====================================================================================
  // Introspection
  // =====================================================================================

  info(): EngineInfo {
    this.#settle()
    return engineInfo(this.#c)
  }
}
