/**
 * The DCCP driver: one transport socket, one timer, and either one client
 * engine or one listener with the connections it accepted. The engines are
 * sans-IO; this is where they meet the reactor:
 *
 * - every packet the transport receives goes to the engine (or the listener)
 *   owning its flow; packets for other ports are left alone (a raw socket sees
 *   every DCCP packet on the host);
 * - after every input — packet (for an established connection: at the end of
 *   its receive batch), timer, send, close — the driver drains, in the
 *   engine's order, the packets to send (`transmitInto`, straight into
 *   the transport's native send area), the events (`pollEvent`, to the
 *   connection's queues and signals), then re-arms one timerfd at
 *   `pollTimeout`, or disarms it: no timer fires when nothing is due;
 * - packets leave in batches, up to 32 per `sendmmsg`: what a batch of
 *   received packets (one `recvmmsg`) caused is sent together at its end
 *   (the acknowledgements of a burst, say); datagrams the application sends
 *   leave when its fiber yields (a microtask), a burst of sends together;
 *   what a timer, a close or an abort causes is sent at once.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { IoError } from "../../IoError.ts"
import type { Timer } from "../../poll/Timer.ts"
import type { Registration } from "../../reactor/Reactor.ts"
import type { CloseReason, ConnectionEvent, DccpEngine } from "../engine/Connection.ts"
import { type DccpListener, noConnectionReset } from "../engine/Listener.ts"
import { PACKET_TYPE_CODE } from "../engine/Packet.ts"
import * as DccpError from "../DccpError.ts"
import { type Peer, SEND_BATCH, type Transport } from "../transport/Transport.ts"
import { Inbox } from "./Inbox.ts"

const now = (): number => performance.now()

/** The type codes of the packets that carry data (RFC 4340 §5.1), read from an encoded header's byte 8. */
const DATA = PACKET_TYPE_CODE.Data
const DATA_ACK = PACKET_TYPE_CODE.DataAck

/** Schedules the deferred send flush (`Endpoint.afterSend`) as a microtask. */
const resolved = Promise.resolve()

/** Reset code 6 (RFC 4340 §6.6.9): a feature negotiation marked Mandatory found no value both ends accept. */
const MANDATORY_ERROR = 6
const MANDATORY_DETAIL = "a mandatory feature negotiation failed (Reset: Mandatory Error): the two ends have no value in common — " +
  "for the CCID, give `ccid` (or `txCcid`/`rxCcid`) a value the other end also lists"

/** The error a close reason means for a connection's users. @internal */
export const closeError = (reason: CloseReason, connected: boolean): DccpError.DccpError => {
  switch (reason.kind) {
    case "closed":
      return DccpError.make("Closed", reason.by === "local" ? "the connection was closed" : "the peer closed the connection")
    case "reset":
      return reason.code === 3 && !connected
        ? DccpError.make("ConnectionRefused", "no DCCP listener on the port (Reset: No Connection)", 3)
        : reason.code === 8
        ? DccpError.make("BadServiceCode", "the server does not offer this service code", 8)
        : reason.code === MANDATORY_ERROR
        ? DccpError.make("Reset", MANDATORY_DETAIL, reason.code)
        : DccpError.make("Reset", `the peer reset the connection (${DccpError.resetName(reason.code)})`, reason.code)
    case "aborted":
      return DccpError.make("Aborted", "the connection was aborted")
    case "protocol-error":
      return reason.code === MANDATORY_ERROR
        ? DccpError.make("ProtocolError", MANDATORY_DETAIL, reason.code)
        : DccpError.make("ProtocolError", `the peer violated the protocol (${DccpError.resetName(reason.code)})`, reason.code)
    case "timeout":
      return DccpError.make("TimedOut", `no answer to the ${reason.phase === "request" ? "Request" : reason.phase === "respond" ? "Response" : "Close"} retransmissions`)
  }
}

/**
 * One connection as its users see it: received datagrams (its `Inbox`, which
 * holds what arrives before the application first asks, up to its capacity),
 * and the signals for connected, writable and finished.
 *
 * @internal
 */
export class Handle {
  readonly engine: DccpEngine
  readonly peer: Peer
  readonly endpoint: Endpoint
  readonly inbox: Inbox
  readonly connected = Deferred.makeUnsafe<void, DccpError.DccpError>()
  readonly finished = Deferred.makeUnsafe<CloseReason>()
  /** Fibers waiting in `send` for room in the send queue, resumed inline by "writable" or "closed". */
  readonly #writers: Array<(effect: Effect.Effect<void>) => void> = []
  /**
   * Waits until the engine reports room in the send queue (or the end of the
   * connection). Like the inbox, the waiting fiber is resumed inline, within
   * the turn that freed the room, not on a later turn of the event loop.
   */
  readonly writable: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.reason !== undefined) return resume(Effect.void)
    this.#writers.push(resume)
    return Effect.sync(() => {
      const i = this.#writers.indexOf(resume)
      if (i >= 0) this.#writers.splice(i, 1)
    })
  })

  #wakeWriters(): void {
    const writers = this.#writers.splice(0)
    for (const w of writers) w(Effect.void)
  }
  isConnected = false
  peerClosing = false
  reason: CloseReason | undefined = undefined
  /** Datagrams that arrived while the receive queue was full. */
  receiveDropped = 0
  /** A server connection (held in `Endpoint.connections`). */
  accepted = false
  /** A `send` waits for the endpoint's deferred flush (`Endpoint.afterSend`). */
  sendPending = false
  /** Packets of the current receive batch wait to be answered (`Endpoint.onBatchEnd`). */
  encodePending = false

  constructor(engine: DccpEngine, peer: Peer, endpoint: Endpoint, capacity: number) {
    this.engine = engine
    this.peer = peer
    this.endpoint = endpoint
    this.inbox = new Inbox(capacity)
  }

  /** The error the connection's end means for its users (kind `Closed` for a graceful close). */
  error(): DccpError.DccpError {
    return this.reason === undefined ? DccpError.make("Closed", "the connection is closing") : closeError(this.reason, this.isConnected)
  }

  /** Applies one engine event. */
  onEvent(event: ConnectionEvent): void {
    switch (event.type) {
      case "connected":
        this.isConnected = true
        Deferred.doneUnsafe(this.connected, Effect.void)
        return
      case "data":
        if (this.inbox.offer(event.payload)) return
        // The application is behind: tell the peer (Data Dropped, Receive Buffer).
        this.receiveDropped++
        this.engine.dropReceived(event.seq)
        return
      case "writable":
        this.#wakeWriters()
        return
      case "peer-closing":
        this.peerClosing = true
        return
      case "closed": {
        this.reason = event.reason
        if (this.accepted) this.endpoint.closing.push(this)
        Deferred.doneUnsafe(this.connected, Effect.fail(closeError(event.reason, this.isConnected)))
        // A graceful close ends the stream of datagrams; anything else fails it.
        this.inbox.end(closeError(event.reason, this.isConnected), event.reason.kind === "closed")
        this.#wakeWriters()
        Deferred.doneUnsafe(this.finished, Effect.succeed(event.reason))
        return
      }
    }
  }

  drainEvents(): void {
    for (let e = this.engine.pollEvent(); e !== undefined; e = this.engine.pollEvent()) this.onEvent(e)
  }
}

/** @internal */
export class Endpoint {
  readonly transport: Transport
  readonly timer: Timer
  readonly timerRegistration: Registration
  client: Handle | undefined = undefined
  listener: DccpListener | undefined = undefined
  /** Answer packets for flows nobody owns with Reset(No Connection) (DCCP-UDP servers). */
  resetUnknown = false
  /** A server's connections, by their engines. */
  readonly connections = new Map<DccpEngine, Handle>()
  /** Server connections that have closed and may still hold timers (see `collect`). */
  readonly closing: Array<Handle> = []
  /**
   * The peers of the server's connections, by transport key, with how many
   * connections use each: held while a connection exists, released when it is
   * forgotten. A source that only sends packets (garbage, Requests answered
   * with cookies) leaves nothing here.
   */
  readonly livePeers = new Map<string, { readonly peer: Peer; refs: number }>()
  /** The addresses of the packet being handled, for the listener (one object, rewritten). */
  readonly #addresses: { family: "ipv4" | "ipv6"; localAddress: Uint8Array; remoteAddress: Uint8Array; transportKey: string } = {
    family: "ipv4",
    localAddress: new Uint8Array(4),
    remoteAddress: new Uint8Array(4),
    transportKey: ""
  }
  /** The peer of the packet being handled (replies to it need no lookup). */
  #packetPeer: Peer | undefined = undefined
  incoming: ((handle: Handle) => void) | undefined = undefined
  /** Receive-queue capacity of accepted connections. */
  receiveCapacity = 1024
  #armedAt: number | undefined = undefined
  unknownPackets = 0

  constructor(transport: Transport, timer: Timer, timerRegistration: Registration) {
    this.transport = transport
    this.timer = timer
    this.timerRegistration = timerRegistration
  }

  /** A packet from the transport. */
  readonly onPacket = (bytes: Uint8Array, peer: Peer, localIp: Uint8Array): void => {
    if (bytes.length < 4) return void this.unknownPackets++
    const sourcePort = (bytes[0]! << 8) | bytes[1]!
    const destinationPort = (bytes[2]! << 8) | bytes[3]!
    const t = now()
    const client = this.client
    if (client !== undefined) {
      if (destinationPort !== this.clientLocalPort || sourcePort !== this.clientRemotePort || peer.key !== client.peer.key) {
        this.unknownPackets++
        return
      }
      client.engine.handleDatagram(t, bytes)
      // Answered, and the timer re-armed, at the end of the batch (`onBatchEnd`).
      this.#owe(client)
      client.drainEvents()
      return
    }
    const listener = this.listener
    if (listener === undefined) return
    if (destinationPort !== listener.config.port) {
      this.unknownPackets++
      if (this.resetUnknown) {
        const reset = noConnectionReset(bytes, { family: this.transport.family, localAddress: localIp, remoteAddress: peer.ip, transportKey: peer.key }, this.transport.encapsulation)
        if (reset !== undefined) this.transport.send(reset, peer)
      }
      return
    }
    this.#packetPeer = peer
    const addresses = this.#addresses
    addresses.family = this.transport.family
    addresses.localAddress = localIp
    addresses.remoteAddress = peer.ip
    addresses.transportKey = peer.key
    listener.handleDatagram(t, bytes, addresses)
    const engine = listener.lastEngine
    const handle = engine === undefined ? undefined : this.connections.get(engine)
    if (handle === undefined) this.encode(t)
    else this.#owe(handle)
    this.drainListener()
    this.#packetPeer = undefined
    if (engine !== undefined) this.connections.get(engine)?.drainEvents()
    // A connection's packet re-arms the timer at the end of its batch (`onBatchEnd`), not per packet:
    // the listener's deadline is the earliest of all its connections'.
    if (handle === undefined) this.rearm(t)
    this.collect()
  }

  /**
   * The peer a listener transmission or event is for: the peer of the packet
   * being handled, a connection's peer, or (a half-open connection's
   * retransmission) the transport's reading of the key.
   */
  #peerOf(key: string | undefined): Peer | undefined {
    if (key === undefined) return undefined
    const current = this.#packetPeer
    if (current !== undefined && current.key === key) return current
    return this.livePeers.get(key)?.peer ?? this.transport.peerFor(key)
  }

  #retain(peer: Peer): void {
    const live = this.livePeers.get(peer.key)
    if (live !== undefined) live.refs++
    else this.livePeers.set(peer.key, { peer, refs: 1 })
  }

  #release(peer: Peer): void {
    const live = this.livePeers.get(peer.key)
    if (live !== undefined && --live.refs === 0) this.livePeers.delete(peer.key)
  }

  clientLocalPort = 0
  clientRemotePort = 0

  /**
   * An ICMP report for a client's peer: during the handshake nobody is there to
   * answer (like TCP's ECONNREFUSED), so the connection is refused at once;
   * afterwards it is a hint only, and the engine's timers decide.
   */
  readonly onUnreachable = (error: IoError): void => {
    const client = this.client
    if (client === undefined || client.isConnected || client.reason !== undefined) return
    const reason = error.kind === "ConnectionRefused" ? "ConnectionRefused" : "Io"
    Deferred.doneUnsafe(client.connected, Effect.fail(DccpError.make(reason, `ICMP: ${error.message}`)))
    client.engine.abort(now())
    this.afterInput(client)
  }

  /** The timer fired. */
  onTimer(): void {
    const t = now()
    this.#armedAt = undefined
    if (this.client !== undefined) {
      this.client.engine.handleTimeout(t)
      this.flush(t)
      this.client.drainEvents()
    } else if (this.listener !== undefined) {
      this.listener.handleTimeout(t)
      this.flush(t)
      this.drainListener()
      for (const h of this.connections.values()) h.drainEvents()
    }
    this.rearm(t)
    this.collect()
  }

  /** After an application input (send, close, abort, connect) on `handle`: sends what it caused at once. */
  afterInput(handle: Handle): void {
    const t = now()
    this.flush(t)
    handle.drainEvents()
    this.rearm(t)
    this.collect()
  }

  /**
   * After `send` queued a datagram on `handle`: the packets go out when the
   * sending fiber yields (a microtask), so that a burst of sends leaves as one
   * `sendmmsg`. Anything that sends at once (`afterInput`, a timer, the end of
   * a batch of received packets) takes them along earlier.
   */
  afterSend(handle: Handle): void {
    // A reply sent by a fiber the end of a receive batch resumed (`onBatchEnd`)
    // leaves with that batch's acknowledgement, in the flush that follows.
    if (handle.encodePending && this.#answering) return
    if (!handle.sendPending) {
      handle.sendPending = true
      this.#sent.push(handle)
    }
    if (this.#sendScheduled) return
    this.#sendScheduled = true
    // A promise reaction, not `queueMicrotask`: the same microtask queue, without
    // the async_hooks resource Node makes for every `queueMicrotask` call.
    void resolved.then(this.#afterSends)
  }

  readonly #sent: Array<Handle> = []
  #sendScheduled = false
  readonly #afterSends = (): void => {
    this.#sendScheduled = false
    this.#flushAndSettle(this.#sent, "sendPending")
  }

  /**
   * The end of a batch of received packets: what they caused leaves together.
   * The packets of established connections are encoded only now, so that one
   * acknowledgement (its Ack Vector covers them all) answers the batch and
   * replies the application queued while the batch was handled carry it.
   * Answers whether data packets left (a reply, which the peer may answer at
   * once; a bare acknowledgement asks for nothing), so that the receive loop
   * looks for that answer before it parks (`drained`).
   */
  readonly onBatchEnd = (): boolean => {
    const before = this.#dataSent
    this.#answerBatch()
    return this.#dataSent !== before
  }

  #answerBatch(): void {
    const owed = this.#owed
    if (owed.length === 0) return this.sendPending()
    // The batch's datagrams go to the fibers waiting for them first: their replies leave with the acknowledgement.
    this.#answering = true
    try {
      for (let i = 0; i < owed.length; i++) owed[i]!.inbox.release()
    } finally {
      this.#answering = false
    }
    this.#flushAndSettle(owed, "encodePending")
  }

  /**
   * Sends what is due, then settles `handles` (clearing the flag that listed
   * them): sending may have freed room in a send queue ("writable") or
   * finished a close. Then re-arms the timer and collects finished connections.
   */
  #flushAndSettle(handles: Array<Handle>, listedBy: "sendPending" | "encodePending"): void {
    const t = now()
    this.flush(t)
    // Only the handles listed now: a fiber resumed by `drainEvents` may send at
    // once and list its handle again, for the next flush; that entry stays.
    const settled = handles.length
    for (let i = 0; i < settled; i++) {
      const h = handles[i]!
      h[listedBy] = false
      h.drainEvents()
    }
    handles.splice(0, settled)
    this.rearm(t)
    this.collect()
  }

  /** `onBatchEnd` is resuming the fibers waiting for the batch's datagrams; their sends leave in its flush. */
  #answering = false

  /** Connections that handled packets of this batch whose answers are not encoded yet (see `onBatchEnd`). */
  readonly #owed: Array<Handle> = []

  #owe(handle: Handle): void {
    if (handle.encodePending) return
    handle.encodePending = true
    handle.inbox.hold()
    this.#owed.push(handle)
  }

  /** Sends everything the engine (or the listener) has queued, with what is pending. */
  flush(t: number): void {
    this.encode(t)
    this.sendPending()
  }

  /**
   * Encodes everything the engine (or the listener) has queued straight into
   * the transport's send area, behind the packets already pending there; a
   * full batch (`SEND_BATCH` packets, or the area) is sent with one `sendmmsg`.
   * `sendPending` sends the rest.
   */
  encode(t: number): void {
    const client = this.client
    if (client !== undefined) return void this.#fill(t, client)
    if (this.listener !== undefined) this.#fill(t, undefined)
  }

  /**
   * Makes room in `handle`'s full send queue before a `send`: what its CCID
   * lets go now is encoded into the send area at once, to leave with the
   * batch. Linux hands a datagram to the CCID in `sendmsg` itself, so its
   * `tx_qlen` counts only the datagrams the CCID holds back; without this the
   * driver's deferred flush would count as well, and every batch would carry
   * at most `txQueueLength` datagrams. Only this connection is encoded (a
   * listener's other connections wait for the flush).
   */
  makeRoom(handle: Handle): void {
    if (this.#fill(performance.now(), handle)) this.afterSend(handle)
  }

  /**
   * `encode` from `handle`'s engine alone, or (`undefined`) from the client's
   * engine or the listener's. Returns whether it encoded a packet.
   */
  #fill(t: number, handle: Handle | undefined): boolean {
    const listener = this.listener
    const transport = this.transport
    const offsets = this.#offsets, lengths = this.#lengths, peers = this.#peers
    const bound = handle !== undefined ? handle.engine.maxPacketSize : listener!.maxPacketSize
    if (this.#count === 0) this.#area = transport.sendArea()
    if (this.#area.length < bound) {
      // Packets larger than the send area: the flush sends them one by one.
      if (handle !== undefined && handle !== this.client) return false
      this.sendPending()
      this.#flushOneByOne(t)
      return false
    }
    let encoded = false
    for (;;) {
      if (this.#count === SEND_BATCH || this.#area.length - this.#used < bound) {
        this.sendPending()
        this.#area = transport.sendArea()
      }
      const used = this.#used
      let length: number
      let peer: Peer | undefined
      if (handle !== undefined) {
        length = handle.engine.transmitInto(t, this.#area, used)
        peer = handle.peer
      } else {
        length = listener!.transmitInto(t, this.#area, used)
        if (length !== 0) peer = this.#peerOf(listener!.transmitPath?.transportKey)
      }
      if (length === 0) return encoded
      // A packet whose peer is gone (a half-open connection's) is dropped.
      if (peer === undefined) continue
      encoded = true
      const typeCode = (this.#area[used + 8]! >>> 1) & 0x0f
      if (typeCode === DATA || typeCode === DATA_ACK) this.#dataSent++
      const count = this.#count
      offsets[count] = used
      lengths[count] = length
      peers[count] = peer
      this.#count = count + 1
      this.#used = used + length
    }
  }

  /** Sends the packets `encode` left in the send area. */
  sendPending(): void {
    const count = this.#count
    if (count === 0) return
    this.#count = 0
    this.#used = 0
    this.transport.sendPacked(this.#offsets, this.#lengths, this.#peers, count)
  }

  /** `flush` for packets larger than the send area (a path MTU near 64 KiB): one send each. */
  #flushOneByOne(t: number): void {
    if (this.client !== undefined) {
      const peer = this.client.peer
      for (let b = this.client.engine.pollTransmit(t); b !== undefined; b = this.client.engine.pollTransmit(t)) this.transport.send(b, peer)
      return
    }
    const listener = this.listener!
    for (let x = listener.pollTransmit(t); x !== undefined; x = listener.pollTransmit(t)) {
      const peer = this.#peerOf(x.path.transportKey)
      if (peer !== undefined) this.transport.send(x.bytes, peer)
    }
  }

  /** Data and DataAck packets encoded (`onBatchEnd` tells the receive loop whether a batch's answer carried data). */
  #dataSent = 0

  /** The batch being built in the transport's send area: `#count` packets, `#used` bytes. */
  #area: Uint8Array = new Uint8Array(0)
  #count = 0
  #used = 0
  readonly #offsets = new Int32Array(SEND_BATCH)
  readonly #lengths = new Int32Array(SEND_BATCH)
  readonly #peers: Array<Peer> = []

  drainListener(): void {
    const listener = this.listener
    if (listener === undefined) return
    for (let e = listener.pollEvent(); e !== undefined; e = listener.pollEvent()) {
      const peer = this.#peerOf(e.path.transportKey)
      if (peer === undefined) {
        e.connection.abort(now())
        continue
      }
      const handle = new Handle(e.connection, peer, this, this.receiveCapacity)
      handle.accepted = true
      this.connections.set(e.connection, handle)
      this.#retain(peer)
      handle.drainEvents()
      if (this.incoming !== undefined) this.incoming(handle)
      else e.connection.abort(now())
    }
  }

  /**
   * Forgets finished server connections. Only those that have closed (every way
   * into CLOSED emits "closed" first) can be finished, so only they are looked
   * at, not every connection after every input.
   */
  collect(): void {
    const closing = this.closing
    if (closing.length === 0) return
    let kept = 0
    for (const h of closing) {
      if (!h.engine.isFinished) {
        closing[kept++] = h
        continue
      }
      this.connections.delete(h.engine)
      this.#release(h.peer)
    }
    closing.length = kept
  }

  /**
   * Keeps the timerfd armed at or before the next deadline. It is set only when
   * the deadline comes earlier than the armed expiry (or nothing is armed). A
   * deadline that moves later, or goes away, leaves the armed expiry in place:
   * it fires early, the engine finds nothing due, and `onTimer` arms the real
   * deadline. The delayed-ack and retransmission deadlines move later with
   * nearly every packet, so this saves a `timerfd_settime` per packet.
   */
  rearm(t: number): void {
    const deadline = this.client !== undefined ? this.client.engine.pollTimeout() : this.listener?.pollTimeout()
    if (deadline === undefined) return
    const armed = this.#armedAt
    if (armed !== undefined && armed <= deadline) return
    this.#armedAt = deadline
    this.timer.setMillis(Math.max(0.001, deadline - t))
  }

  /** The timer's wait-and-fire loop (ends when the timer is closed). */
  timerLoop(): Effect.Effect<void> {
    const expiry = this.timerRegistration.readIo(() => this.timer.read())
    return Effect.forever(
      Effect.flatMap(expiry, () => Effect.sync(() => this.onTimer())),
      { disableYield: true }
    ).pipe(Effect.ignore)
  }
}
