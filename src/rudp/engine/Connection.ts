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
 * What it does, and where: the wire format in `Packet.ts`, `Frame.ts` and
 * `Params.ts`; the state table in `State.ts`; loss recovery (RFC 9002) in
 * `Recovery.ts`; the send side in `Outbox.ts`; the receive side's ordering
 * rules in `Inbox.ts`. Bad input never throws: a malformed, corrupted,
 * duplicated or out-of-window packet is dropped and counted in `stats`.
 *
 * @since 0.2.0
 */
import type { Guarantee } from "../Guarantee.ts"
import { Arena } from "./Arena.ts"
import { decodeTruncated, Reader, Writer } from "./Bytes.ts"
import type { Config } from "./Config.ts"
import type { AckSample, CongestionController } from "./Congestion.ts"
import { AEAD_TAG_BYTES, CIPHER_ID, Handshake, type PacketKeys } from "./Crypto.ts"
import { DeliveryRate } from "./DeliveryRate.ts"
import { type AckFrame, FrameType, MAX_REASON, MESSAGE_HEADER_MAX, Previous, writeAck, writeClose, writeMaxData, writeMessage } from "./Frame.ts"
import { Deque } from "./Deque.ts"
import { Inbox, MESSAGE_CHARGE, type ReceivedMessage } from "./Inbox.ts"
import { OutMessage, Outbox } from "./Outbox.ts"
import {
  Header,
  type HeaderError,
  type LongType,
  patchLength,
  parseHeader,
  seal,
  shortHeaderMax,
  SUPPORTED_VERSIONS,
  TAG_BYTES,
  verifyTag,
  VERSION_1,
  writeLongHeader,
  writeShortHeader,
  writeVersionNegotiation
} from "./Packet.ts"
import { type Params, writeParams } from "./Params.ts"
import { Payload } from "./Payload.ts"
import { RangeSet } from "./RangeSet.ts"
import { PACKET_THRESHOLD, PERSISTENT_CONGESTION_THRESHOLD, RttEstimator, type SentPacket, SentPackets } from "./Recovery.ts"
import { type Action, acceptsMessages, type Event, sendsData, type State, transition } from "./State.ts"
import { Timers } from "./Timers.ts"

/**
 * Close codes carried by CLOSE frames.
 *
 * @since 0.2.0
 * @category constants
 */
export const CloseCode = {
  /** A graceful close: everything outstanding was delivered. */
  graceful: 0,
  /** A graceful close that ran out of time (`closeTimeout`) with data outstanding. */
  lingerTimeout: 1,
  /** The application aborted. */
  aborted: 2,
  /** The peer's parameters or version are unacceptable. */
  incompatible: 3,
  /** A server refused the connection (in a Retry packet: it is full). */
  refused: 4,
  /** The peer's HELLO failed authentication (a wrong key). */
  unauthenticated: 5
} as const

/**
 * Why a connection ended.
 *
 * @since 0.2.0
 * @category models
 */
export type CloseReason =
  /** This end closed gracefully: every Delivery message it sent was acknowledged. */
  | { readonly kind: "local" }
  /** The peer closed (its code and reason; code 0 is graceful). */
  | { readonly kind: "peer"; readonly code: number; readonly reason: string }
  /** No packet from the peer for the idle timeout (during the handshake or after). */
  | { readonly kind: "timeout"; readonly phase: "handshake" | "idle" }
  /** A graceful close ran out of time; `abandoned` Delivery messages were not acknowledged. */
  | { readonly kind: "linger-timeout"; readonly abandoned: number }
  /** `abort()` was called. */
  | { readonly kind: "aborted" }
  /** No common version, or unacceptable parameters. */
  | { readonly kind: "incompatible"; readonly detail: string }
  /** The server refused the connection (it has `maxPeers` peers); `detail` is its reason. */
  | { readonly kind: "refused"; readonly detail: string }
  /** Encryption: the peer's HELLO was not authenticated by the shared secret (a wrong key). */
  | { readonly kind: "unauthenticated"; readonly detail: string }

/**
 * What the engine tells its driver.
 *
 * @since 0.2.0
 * @category models
 */
export type EngineEvent =
  /** The handshake is done: both ends have each other's parameters. */
  | { readonly type: "connected" }
  /** `send` refused a message for a full queue earlier; there is room for it now. */
  | { readonly type: "writable" }
  /** A message queued before the handshake was longer than the peer accepts: dropped. */
  | { readonly type: "dropped"; readonly id: number; readonly reason: "too-large" }
  /** The peer closed; messages already received can still be read. */
  | { readonly type: "peer-closing"; readonly code: number; readonly reason: string }
  /** The connection is over; emitted once, last. */
  | { readonly type: "closed"; readonly reason: CloseReason }

/**
 * What `send` did: the message's id (a running number, all tiers), or why it
 * was refused — `"blocked"` (the send queue is full: wait for `writable`),
 * `"too-large"` (over the maximum message size) or `"closed"`.
 *
 * @since 0.2.0
 * @category models
 */
export type SendResult = number | "blocked" | "too-large" | "closed"

/**
 * Why a received packet was dropped.
 *
 * @since 0.2.0
 * @category models
 */
export type PacketDrop =
  | HeaderError
  | "unknown-cid"
  | "duplicate"
  | "malformed"
  | "flow-control"
  | "not-ready"
  | "unsupported-version"
  | "stale-hello"
  | "closed"
  | "unauthenticated"

/**
 * Counters of everything the engine did.
 *
 * @since 0.2.0
 * @category models
 */
export interface EngineStats {
  datagramsReceived: number
  datagramsSent: number
  bytesReceived: number
  bytesSent: number
  /** Received packets dropped, by reason. */
  dropped: Record<PacketDrop, number>
  /** Messages accepted by `send`, by tier. */
  messagesSent: Record<Guarantee, number>
  /** Packets declared lost (RFC 9002 §6.1). */
  packetsLost: number
  /** None/Order messages (or fragments) in lost packets: never resent. */
  lossyLost: number
  /** Delivery fragments sent again. */
  retransmissions: number
  /** Second copies of retransmissions, sent when nothing new was waiting. */
  redundantRetransmissions: number
  /** Probe timeouts that fired. */
  ptoCount: number
  acksSent: number
  pingsSent: number
  /** Version negotiation packets sent. */
  versionNegotiations: number
  /** Messages queued before the handshake that the peer's maximum message size refused. */
  droppedTooLarge: number
  /** RFC 9002 §7.6 persistent congestion detected. */
  persistentCongestion: number
  /** Client: Retry packets taken. */
  retries: number
  /** Server: times the anti-amplification limit held a packet back. */
  amplificationLimited: number
  /** Encryption: key updates this end started, and the peer's it followed (RFC 9001 §6). */
  keyUpdatesInitiated: number
  keyUpdatesFollowed: number
  /** Encryption: packets that failed authentication, over all keys (the integrity limit counts these). */
  authenticationFailures: number
}

const newStats = (): EngineStats => ({
  datagramsReceived: 0,
  datagramsSent: 0,
  bytesReceived: 0,
  bytesSent: 0,
  dropped: {
    "too-short": 0,
    tag: 0,
    "fixed-bit": 0,
    "reserved-bits": 0,
    length: 0,
    "cid-length": 0,
    "unknown-type": 0,
    "unknown-cid": 0,
    duplicate: 0,
    malformed: 0,
    "flow-control": 0,
    "not-ready": 0,
    "unsupported-version": 0,
    "stale-hello": 0,
    closed: 0,
    unauthenticated: 0
  },
  messagesSent: { None: 0, Order: 0, Delivery: 0 },
  packetsLost: 0,
  lossyLost: 0,
  retransmissions: 0,
  redundantRetransmissions: 0,
  ptoCount: 0,
  acksSent: 0,
  pingsSent: 0,
  versionNegotiations: 0,
  droppedTooLarge: 0,
  persistentCongestion: 0,
  retries: 0,
  amplificationLimited: 0,
  keyUpdatesInitiated: 0,
  keyUpdatesFollowed: 0,
  authenticationFailures: 0
})

/**
 * A snapshot of the connection for `info()`.
 *
 * @since 0.2.0
 * @category models
 */
export interface EngineInfo {
  readonly state: State
  readonly role: "client" | "server"
  /** RTT figures in milliseconds (`undefined` before the first sample). */
  readonly rtt: { readonly smoothed: number; readonly variance: number; readonly min: number; readonly latest: number } | undefined
  readonly bytesInFlight: number
  readonly packetsInFlight: number
  /** Messages waiting for their first transmission, and their bytes. */
  readonly sendQueue: { readonly messages: number; readonly bytes: number }
  /** Delivery messages sent and not yet fully acknowledged. */
  readonly unacked: number
  /** Fragments waiting to be sent again. */
  readonly retransmitQueue: number
  /** Messages released and not yet read, and messages waiting for earlier Delivery ones. */
  readonly received: { readonly ready: number; readonly waiting: number; readonly fragments: number }
  /** Flow control: what the peer allows us, what we used, what we allow it. */
  readonly flow: { readonly peerMaxData: number; readonly sent: number; readonly maxData: number; readonly blocked: boolean }
  readonly mtu: number
  readonly maxMessageSize: number
  /** Whether packets are sealed with an AEAD (encryption negotiated). */
  readonly encrypted: boolean
  readonly congestion: Readonly<Record<string, number>>
  readonly stats: EngineStats
  readonly inbox: { readonly released: Readonly<Record<Guarantee, number>>; readonly drops: Readonly<Record<string, number>> }
}

/**
 * How an endpoint server makes the engine of a connection it accepts.
 *
 * @since 0.2.0
 * @category models
 */
export interface EngineOptions {
  /** This end's connection id (a server picks it: its Retry named it). */
  readonly localCid?: Uint8Array | undefined
  /** The peer's address is proven (it returned a Retry token): no amplification limit. */
  readonly addressValidated?: boolean | undefined
}

/**
 * RFC 9000 §8.1: before a server has proof of its peer's address, it sends at
 * most this many times the bytes it received from it.
 *
 * @since 0.2.0
 * @category constants
 */
export const AMPLIFICATION_FACTOR = 3

/** CLOSE is sent again on a doubling PTO until the peer's answers, at most this many times in all. */
const CLOSE_SENDS = 5

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()
const retryReader = new Reader(new Uint8Array(0))

/** Bytes of a packet number that the receiver decodes unambiguously (RFC 9000 §17.1). */
const pnLength = (pn: number, largestAcked: number): number => {
  const unacked = largestAcked < 0 ? pn + 1 : pn - largestAcked
  return unacked < 0x40 ? 1 : unacked < 0x4000 ? 2 : unacked < 0x400000 ? 3 : 4
}

const randomCid = (random: () => number, length: number): Uint8Array => {
  const cid = new Uint8Array(length)
  for (let i = 0; i < length; i += 4) {
    const r = random()
    for (let k = 0; k < 4 && i + k < length; k++) cid[i + k] = (r >>> (8 * k)) & 0xff
  }
  return cid
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * One reliable-UDP connection.
 *
 * @since 0.2.0
 * @category engine
 */
export class RudpEngine {
  readonly config: Config
  readonly stats: EngineStats = newStats()
  readonly timers = new Timers()
  #state: State = "idle"

  // --- identity and handshake -------------------------------------------------------
  readonly localCid: Uint8Array
  /** The destination id of our Initials until the peer's own id is known (a Retry replaces it). */
  #initialDcid: Uint8Array
  #peerCid: Uint8Array | undefined = undefined
  #peer: Params | undefined = undefined
  /** The peer has our HELLO. */
  #confirmed = false
  #helloPending = false
  /** Whether the peer's HELLO came as an Initial (we answer with Handshake packets). */
  #answering = false
  #reason: CloseReason | undefined = undefined
  #closeCode: number = CloseCode.graceful
  #closeText: Uint8Array = new Uint8Array(0)
  #closePending = false
  #closeSends = 0
  #closeDeferred = false
  #peerClosed = false
  #lastPacketAt = 0
  #versionNegotiationPending: { readonly dcid: Uint8Array; readonly scid: Uint8Array } | undefined = undefined
  /** Server: the peer's address is proven (token, or a packet only the address's owner could send). */
  #addressValidated: boolean
  /** Client: the token of the server's Retry, sent in later Initials; whether a Retry was taken. */
  #token: Uint8Array | undefined = undefined
  #retried = false
  /** Packets accepted (passed every check). */
  packetsAccepted = 0
  /** Encryption: this end's handshake secrets, then the packet keys. */
  readonly #handshake: Handshake | undefined
  #keys: PacketKeys | undefined = undefined
  /** Bytes of a short packet's tag: CRC-32 (4), or the AEAD's (16). */
  readonly #shortTag: number
  #rxCopy: Uint8Array | undefined = undefined

  // --- send side --------------------------------------------------------------------
  readonly outbox = new Outbox()
  readonly #arena = new Arena()
  #nextS: number
  #nextD: number
  #nextF: number
  #nextMessage = 0
  /** The open set: its id and the Delivery messages before it (−1: no set open). */
  #setS = -1
  #setDBefore = 0
  #setUsed = false
  #peerMaxData = 0
  /** Delivery bytes (with charges) whose transmission started. */
  #deliverySent = 0
  #flowBlocked = false
  #blockedSize = -1
  #pingPending = false
  readonly #prev = new Previous()

  // --- loss recovery ------------------------------------------------------------------
  readonly rtt: RttEstimator
  readonly sent: SentPackets
  /** The congestion controller (and pacer) of this connection. */
  readonly cc: CongestionController
  readonly deliveryRate = new DeliveryRate()
  #nextPn: number
  #largestAcked = -1
  #bytesInFlight = 0
  #ackElicitingInFlight = 0
  #lastAckElicitingSent = 0
  #lossTime = 0
  #ptoCount = 0
  #probes = 0
  #lastSendOrReceive = 0

  // --- receive side -------------------------------------------------------------------
  readonly inbox: Inbox
  readonly received = new RangeSet(256)
  #largestReceived = -1
  #largestReceivedAt = 0
  #unackedEliciting = 0
  #ackNow = false
  #ackDirty = false
  /** Ranges at or below this were reported in an ACK the peer acknowledged. */
  #ackFloor = 0
  #maxDataSent = 0
  #maxDataPending = false

  // --- output -------------------------------------------------------------------------
  readonly #events: Array<EngineEvent> = []
  #eventHead = 0

  // --- scratch --------------------------------------------------------------------------
  readonly #header = new Header()
  readonly #payload = new Payload()
  readonly #writer = new Writer(new Uint8Array(0))
  #scratch: Uint8Array | undefined = undefined

  constructor(now: number, config: Config, options?: EngineOptions) {
    this.config = config
    this.localCid = options?.localCid?.slice() ?? randomCid(config.random, config.cidLength)
    this.#handshake = config.encryption === undefined ? undefined : new Handshake(config.encryption, randomCid(config.random, 32))
    this.#shortTag = config.encryption === undefined ? TAG_BYTES : AEAD_TAG_BYTES
    this.#addressValidated = config.role === "client" || options?.addressValidated === true
    this.#initialDcid = randomCid(config.random, Math.max(8, config.cidLength))
    this.#nextS = config.initialSet
    this.#nextD = config.initialDelivery
    this.#nextF = config.initialFragment
    this.#nextPn = config.initialPacket
    this.sent = new SentPackets(config.initialPacket)
    this.rtt = new RttEstimator(config.initialRtt)
    this.cc = config.congestion(config.mtu, config.initialRtt)
    this.inbox = new Inbox({
      maxMessageSize: config.maxMessageSize,
      receiveWindow: config.receiveWindow,
      readyLimit: config.readyLimit,
      lossyBudget: config.lossyBudget,
      fragmentTimeout: config.fragmentTimeout
    })
    this.#maxDataSent = config.receiveWindow
    this.#computeFragmentSizes()
    this.#lastPacketAt = now
    this.#lastSendOrReceive = now
    // The handshake (and a server's wait for one) is bounded by the idle timeout.
    this.timers.set("idle", now + config.idleTimeout)
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
    return this.#state
  }

  /** Whether the handshake is done (and the connection not closed). */
  get isConnected(): boolean {
    return sendsData(this.#state)
  }

  get isClosed(): boolean {
    return this.#state === "closed"
  }

  /** The reason the connection ended (or is ending), once known. */
  get closeReason(): CloseReason | undefined {
    return this.#reason
  }

  /** Whether the peer sent CLOSE. */
  get peerClosed(): boolean {
    return this.#peerClosed
  }

  /** The peer's parameters, once its HELLO arrived. */
  get peerParams(): Params | undefined {
    return this.#peer
  }

  #closeTransmitted = false

  /** Whether a CLOSE went out (a driver closing gracefully waits for it before it lets the socket go). */
  get closeTransmitted(): boolean {
    return this.#closeTransmitted
  }

  /** Whether packets are encrypted (the handshake derived keys). */
  get encrypted(): boolean {
    return this.#keys !== undefined
  }

  /** Whether the peer's address is proven (a server sends at most 3× what it received before). */
  get addressValidated(): boolean {
    return this.#addressValidated
  }

  /** The largest message the connection carries now. */
  get maxMessageSize(): number {
    return this.#peer === undefined ? this.config.maxMessageSize : Math.min(this.config.maxMessageSize, this.#peer.maxMessageSize)
  }

  /** The datagram size in use. */
  get mtu(): number {
    return this.#peer === undefined ? this.config.mtu : Math.min(this.config.mtu, this.#peer.maxDatagram)
  }

  // =====================================================================================
  // State machine
  // =====================================================================================

  #fire(event: Event, now: number): boolean {
    const cell = transition(this.#state, event)
    if (cell === undefined) return false
    this.#state = cell.next
    for (const action of cell.actions) this.#act(action, now)
    return true
  }

  #act(action: Action, now: number): void {
    switch (action) {
      case "send-hello":
        this.#helloPending = true
        return
      case "accept-hello":
        // The parameters were stored by #onHello before the event.
        return
      case "confirm":
        this.#confirmed = true
        return
      case "connected":
        this.#emit({ type: "connected" })
        this.timers.set("heartbeat", now + this.#heartbeat())
        if (this.#closeDeferred) this.#fire("close", now)
        return
      case "defer-close":
        this.#closeDeferred = true
        this.timers.set("linger", now + this.config.closeTimeout)
        // Nothing to deliver: no need to wait for the handshake.
        if (this.outbox.queue.length === 0) {
          this.#reason = { kind: "local" }
          this.#fire("flushed", now)
        }
        return
      case "start-flush":
        this.timers.set("linger", now + this.config.closeTimeout)
        this.#checkFlushed(now)
        return
      case "send-close": {
        this.#closePending = true
        this.#closeSends = 0
        const pto = this.#ptoBase()
        this.timers.set("pto", now + pto)
        this.timers.set("close", now + (2 ** CLOSE_SENDS - 1) * pto)
        return
      }
      case "drain":
        this.#peerClosed = true
        this.#closePending = true
        this.timers.set("close", now + 3 * this.#ptoBase())
        return
      case "quiesce":
        for (const name of ["ack", "loss", "pto", "heartbeat", "linger", "fragment", "resend", "pace"] as const) this.timers.clear(name)
        this.#helloPending = false
        this.#pingPending = false
        this.#maxDataPending = false
        return
      case "finish":
        this.timers.clearAll()
        this.#helloPending = false
        this.#emit({ type: "closed", reason: this.#reason ?? { kind: "local" } })
        return
    }
  }

  #emit(event: EngineEvent): void {
    this.#events.push(event)
  }

  #heartbeat(): number {
    return this.config.heartbeat
  }

  #idleTimeout(): number {
    const peer = this.#peer?.idleTimeout
    const t = peer === undefined ? this.config.idleTimeout : Math.min(this.config.idleTimeout, peer)
    return Math.max(t, 3 * this.#ptoBase())
  }

  #maxAckDelayOfPeer(): number {
    return this.#peer?.maxAckDelay ?? this.config.maxAckDelay
  }

  /** The probe timeout before backoff. */
  #ptoBase(): number {
    return this.rtt.pto(this.isConnected ? this.#maxAckDelayOfPeer() : 0)
  }

  // =====================================================================================
  // Inputs
  // =====================================================================================

  /**
   * A datagram from the peer. `bytes` is only read during the call (whatever
   * the engine keeps, it copies).
   */
  handleDatagram(now: number, bytes: Uint8Array): void {
    this.stats.datagramsReceived++
    this.stats.bytesReceived += bytes.length
    if (this.#state === "closed") return void this.stats.dropped.closed++
    const h = this.#header
    if (this.#handshake !== undefined && bytes.length > 0 && (bytes[0]! & 0x80) === 0) {
      // Encrypted short packet: remove the header protection (into a copy) before anything is read.
      if (this.#keys === undefined) return void this.stats.dropped["not-ready"]++
      const copy = this.#rxCopy !== undefined && this.#rxCopy.length >= bytes.length ? this.#rxCopy : (this.#rxCopy = new Uint8Array(Math.max(bytes.length, this.config.mtu)))
      if (this.#keys.unmask(bytes, 1 + this.config.cidLength, copy) < 0) return void this.stats.dropped["too-short"]++
      bytes = copy.subarray(0, bytes.length)
    }
    const bad = parseHeader(bytes, this.config.cidLength, h)
    if (bad !== undefined) return void this.stats.dropped[bad]++
    if (h.form === "version-negotiation") return this.#onVersionNegotiation(now, h)
    if (h.form === "long") {
      if (h.version !== VERSION_1) {
        this.stats.dropped["unsupported-version"]++
        if (h.type === "Initial" && bytes.length >= Math.min(1200, this.config.mtu)) {
          // RFC 9000 §17.2.1: our answer swaps the ids of the Initial.
          this.#versionNegotiationPending = { dcid: h.scid.slice(), scid: h.dcid.slice() }
        }
        return
      }
      if (h.type === "Retry") return this.#onRetry(now, h, bytes)
      // An Initial may be addressed to any id (the sender does not know ours yet).
      if (h.type !== "Initial" && !h.dcidIs(this.localCid)) return void this.stats.dropped["unknown-cid"]++
      if (this.#peerCid !== undefined && !sameBytes(h.scid, this.#peerCid)) return void this.stats.dropped["stale-hello"]++
    } else if (!h.dcidIs(this.localCid)) return void this.stats.dropped["unknown-cid"]++
    else if (this.#peer === undefined) return void this.stats.dropped["not-ready"]++
    else if (h.keyPhase !== 0 && this.#keys === undefined) return void this.stats.dropped["reserved-bits"]++

    const pn = decodeTruncated(h.pnTruncated, h.pnLength, this.#largestReceived + 1)
    // The tag covers the full packet number: a wrongly decoded (very late) packet fails here.
    if (pn < 0) return void this.stats.dropped.tag++
    if (h.form === "short" && this.#keys !== undefined) {
      // The AEAD: a modified, forged or misnumbered packet fails here (nothing of it is read).
      const keys = this.#keys
      // RFC 9001 §6.5: the previous keys open reordered packets for 3 × PTO after a switch.
      const end = keys.open(bytes, h.payloadStart, bytes.length, pn, now, 3 * this.#ptoBase())
      this.stats.keyUpdatesFollowed = keys.followed
      if (end < 0) {
        this.stats.dropped.tag++
        this.stats.authenticationFailures = keys.failures
        // RFC 9001 §6.6: past the integrity limit, the keys may be forgeable: end the connection.
        if (keys.integrityExceeded) this.#aeadLimit(now, `${keys.failures} packets failed authentication, past the integrity limit of ${keys.integrityLimit}`)
        return
      }
      h.payloadEnd = end
    } else if (!verifyTag(bytes, pn)) return void this.stats.dropped.tag++
    if (this.received.has(pn)) return void this.stats.dropped.duplicate++

    // Pass 1: decode every frame; nothing changes yet except the id references.
    const long = h.form === "long"
    const d = this.#payload
    const refused = d.decode(bytes, h.payloadStart, h.payloadEnd, long, this.inbox)
    if (refused !== undefined) return void this.stats.dropped[refused]++
    const ackEliciting = d.ackEliciting, close = d.close

    // Pass 2: the packet is accepted.
    this.received.add(pn)
    this.packetsAccepted++
    // Only the owner of the address answers our HELLO (a Handshake, or a short packet to our id).
    if (!this.#addressValidated && (!long || h.type === "Handshake")) this.#addressValidated = true
    if (pn > this.#largestReceived) {
      this.#largestReceived = pn
      this.#largestReceivedAt = now
    }
    this.#ackDirty = true
    this.#lastPacketAt = now
    this.#lastSendOrReceive = now
    if (ackEliciting) {
      this.#unackedEliciting++
      const inOrder = pn === this.#largestReceived && this.received.has(pn - 1)
      if (long || !inOrder || this.#unackedEliciting >= this.config.ackEvery || this.#state === "flushing") this.#ackNow = true
      else this.timers.setEarliest("ack", now + this.config.maxAckDelay)
    }
    if (this.#state === "closing") {
      // The peer's CLOSE (its answer to ours, or its own) ends the closing period;
      // anything else is answered with our CLOSE again (its first copy may have been lost).
      if (close !== undefined) {
        this.#peerClosed = true
        this.#fire("peer-close", now)
      } else this.#closePending = true
      return
    }
    if (this.#state === "draining") {
      if (close !== undefined) this.#closePending = true
      return
    }

    if (long) {
      this.#onHello(now, h.type, h.scid, d.hello!)
      // A HELLO that ended the connection (incompatible, not authenticated): nothing else of the packet counts.
      if ((this.#state as State) === "closed") return this.#afterInput(now)
    } else if (this.#state === "handshake" && this.#peer !== undefined) {
      // A short packet addressed to our id: the peer has our HELLO.
      this.#fire("confirmed", now)
      this.#maybeReady(now)
    }
    // Encrypted: a long packet is only CRC-protected; its ACKs (which could drop data unsent) are not believed.
    const trusted = !long || this.#handshake === undefined
    if (trusted) for (let i = 0; i < d.acks; i++) this.#onAck(now, d.ackFrames[i]!)
    if (d.maxData > this.#peerMaxData) {
      this.#peerMaxData = d.maxData
      this.#flowBlocked = false
    }
    for (let i = 0; i < d.messages; i++) this.inbox.accept(d.messageFrames[i]!, now)
    if (close !== undefined && (trusted || this.#keys === undefined)) {
      this.#reason = { kind: "peer", code: close.code, reason: close.reason }
      if (this.#fire("peer-close", now)) this.#emit({ type: "peer-closing", code: close.code, reason: close.reason })
    }
    this.#afterInput(now)
  }

  /**
   * A server's Retry: a token to send back in a new Initial (addressed to the
   * id the Retry names), or — with a CLOSE frame — a refusal. Only during our
   * handshake, only naming our id and the id our Initial used; one token only,
   * but a refusal also after it (a server that read our token too late refuses
   * the attempt rather than leave it to time out).
   */
  #onRetry(now: number, h: Header, bytes: Uint8Array): void {
    if (this.config.role !== "client" || this.#state !== "handshake" || this.#peer !== undefined || !h.dcidIs(this.localCid)) {
      return void this.stats.dropped["unknown-type"]++
    }
    if (!verifyTag(bytes, h.pnTruncated)) return void this.stats.dropped.tag++
    const r = retryReader.reset(bytes, h.payloadStart, h.payloadEnd)
    if (r.u8() !== FrameType.RETRY) return void this.stats.dropped.malformed++
    const odcid = r.bytes(r.u8())
    const token = r.bytes(r.varint())
    if (!r.ok || !sameBytes(odcid, this.#initialDcid)) return void this.stats.dropped.malformed++
    if (r.pos < r.end) {
      if (r.u8() !== FrameType.CLOSE) return void this.stats.dropped.malformed++
      const code = r.varint()
      const reason = r.bytes(Math.min(r.varint(), MAX_REASON))
      if (!r.ok || code !== CloseCode.refused) return void this.stats.dropped.malformed++
      this.#reason = { kind: "refused", detail: textDecoder.decode(reason) }
      this.#fire("incompatible", now)
      return
    }
    if (token.length === 0) return void this.stats.dropped.malformed++
    if (this.#retried) return void this.stats.dropped["unknown-type"]++
    this.#retried = true
    this.#token = token.slice()
    this.#initialDcid = h.scid.slice()
    this.#helloPending = true
    this.stats.retries++
    this.#afterInput(now)
  }

  #onHello(now: number, type: LongType, scid: Uint8Array, hello: Params | string): void {
    if (typeof hello === "string") {
      if (this.#peer !== undefined) return void this.stats.dropped.malformed++
      this.#incompatible(now, `the peer's parameters: ${hello}`)
      return
    }
    if (this.#peer === undefined) {
      if (hello.maxDatagram < 256) return this.#incompatible(now, "the peer's datagram size is under 256 bytes")
      if (this.#handshake !== undefined) {
        if (hello.crypto === undefined) return this.#incompatible(now, "the peer does not encrypt; this end requires encryption")
        const r = this.#handshake.complete(hello.crypto)
        if ("incompatible" in r) return this.#incompatible(now, r.incompatible)
        if ("unauthenticated" in r) return this.#unauthenticated(now, r.unauthenticated)
        this.#keys = r
      } else if (hello.crypto !== undefined) return this.#incompatible(now, "the peer requires encryption; this end has none configured")
      this.#peer = hello
      this.#peerCid = scid.slice()
      this.#peerMaxData = hello.initialMaxData
      this.inbox.start(hello.initialSet, hello.initialDelivery, hello.initialFragment)
      this.#fitQueuedToPeer(hello)
    }
    if (type === "Initial") {
      this.#answering = true
      this.#fire("initial", now)
    } else {
      this.#fire("handshake", now)
    }
    this.#maybeReady(now)
  }

  /**
   * Messages queued before the handshake were checked against our limits; the
   * peer's may be smaller. Longer messages than it accepts are dropped (and
   * reported); the rest are cut for its datagram size.
   */
  #fitQueuedToPeer(peer: Params): void {
    const o = this.outbox
    this.#computeFragmentSizes()
    const maxWhole = this.#maxWhole, fragSize = this.#fragSize
    const n = o.queue.length
    for (let i = 0; i < n; i++) {
      const m = o.queue.shift()!
      if (m.payload.length > peer.maxMessageSize) {
        o.queuedBytes -= m.payload.length
        m.dropped = true
        if (m.tier === "Delivery") o.unacked.settled()
        this.stats.droppedTooLarge++
        this.#emit({ type: "dropped", id: m.id, reason: "too-large" })
        continue
      }
      if (peer.maxDatagram < this.config.mtu) m.layout(maxWhole, fragSize, this.#takeF)
      o.queue.push(m)
    }
  }

  #maybeReady(now: number): void {
    if (this.#state === "handshake" && this.#peer !== undefined && this.#confirmed) this.#fire("ready", now)
  }

  /** The peer's HELLO failed authentication: end the handshake, telling the peer (CLOSE code 5). */
  #unauthenticated(now: number, detail: string): void {
    this.stats.dropped.unauthenticated++
    this.#reason = { kind: "unauthenticated", detail }
    this.#closeCode = CloseCode.unauthenticated
    this.#closeText = textEncoder.encode("authentication failed")
    this.#fire("reject", now)
  }

  /** RFC 9001 §6.6: a confidentiality or integrity limit was reached; the connection ends, telling the peer (CLOSE code 5). */
  #aeadLimit(now: number, detail: string): void {
    this.#reason = { kind: "unauthenticated", detail }
    this.#closeCode = CloseCode.unauthenticated
    this.#closeText = textEncoder.encode("AEAD limit reached")
    this.#fire("abort", now)
  }

  #incompatible(now: number, detail: string): void {
    this.#reason = { kind: "incompatible", detail }
    this.#closeCode = CloseCode.incompatible
    this.#closeText = textEncoder.encode(detail)
    this.#fire("incompatible", now)
  }

  #onVersionNegotiation(now: number, h: Header): void {
    // Only an answer to our own Initial counts: it names our id and the one we used.
    if (this.#state !== "handshake" || this.#peer !== undefined || !h.dcidIs(this.localCid) || !sameBytes(h.scid, this.#initialDcid)) {
      return void this.stats.dropped["unsupported-version"]++
    }
    if (h.versions.some((v) => SUPPORTED_VERSIONS.includes(v))) return void this.stats.dropped["unsupported-version"]++
    const theirs = h.versions.map((v) => `0x${v.toString(16).padStart(8, "0")}`).join(", ")
    this.#incompatible(now, `the peer speaks versions ${theirs}, this end 0x${VERSION_1.toString(16)}`)
  }

  /** Timers that are due. */
  handleTimeout(now: number): void {
    this.#settle()
    const t = this.timers
    if (t.take("close", now)) this.#fire("close-timer", now)
    if (this.#state === "closing" && t.take("pto", now)) {
      this.#closePending = true
      if (++this.#closeSends < CLOSE_SENDS) t.set("pto", now + this.#ptoBase() * 2 ** this.#closeSends)
    }
    if (t.take("idle", now)) {
      if (this.#lastSendOrReceive + this.#idleTimeout() <= now) {
        this.#reason = { kind: "timeout", phase: this.#peer === undefined || this.#state === "handshake" ? "handshake" : "idle" }
        this.#fire("idle-timeout", now)
      }
    }
    if (t.take("linger", now) && (this.#state === "flushing" || this.#state === "handshake")) {
      this.#reason = { kind: "linger-timeout", abandoned: this.outbox.unacked.size + this.outbox.queue.length }
      this.#closeCode = CloseCode.lingerTimeout
      this.#fire("linger-timeout", now)
    }
    if (t.take("loss", now)) this.#detectLost(now)
    if (t.take("pto", now)) this.#onPto()
    if (t.take("resend", now)) this.#resendScan(now)
    if (t.take("fragment", now)) this.inbox.expire(now)
    if (t.take("heartbeat", now) && sendsData(this.#state)) {
      if (this.#lastAckElicitingSent + this.#heartbeat() <= now) this.#pingPending = true
    }
    if (t.take("ack", now)) this.#ackNow = this.#ackDirty
    t.take("pace", now)
    this.#afterInput(now)
  }

  /**
   * Queues a message. The payload is copied. Returns its id, or why it was
   * refused (see `SendResult`).
   */
  send(_now: number, payload: Uint8Array, tier: Guarantee): SendResult {
    if (!acceptsMessages(this.#state) || this.#closeDeferred) return "closed"
    if (payload.length > this.maxMessageSize) return "too-large"
    const o = this.outbox
    if (o.queue.length > 0 && (o.queuedBytes + payload.length > this.config.sendQueueBytes || o.queue.length >= this.config.sendQueueMessages)) {
      this.#blockedSize = payload.length
      return "blocked"
    }
    let s = -1, d = -1, dBefore = -1
    if (tier !== "None") {
      if (this.#setS >= 0) {
        s = this.#setS
        dBefore = this.#setDBefore
        this.#setUsed = true
      } else {
        s = this.#nextS++
        dBefore = this.#nextD
      }
      if (tier === "Delivery") d = this.#nextD++
    }
    const id = this.#nextMessage++
    const m = new OutMessage(id, { tier, s, d, dBefore }, this.#arena.copy(payload, 0, payload.length), this.#maxWhole, this.#fragSize, this.#takeF)
    o.queue.push(m)
    o.queuedBytes += payload.length
    if (tier === "Delivery") o.unacked.add(m)
    this.stats.messagesSent[tier]++
    return id
  }

  readonly #takeF = (): number => this.#nextF++

  /** The largest message sent whole, and the fragment size of longer ones (for the datagram size in use). */
  #maxWhole = 0
  #fragSize = 0

  #computeFragmentSizes(): void {
    const header = shortHeaderMax(this.#peerCid?.length ?? this.config.cidLength) + this.#shortTag
    const mtu = this.mtu
    this.#maxWhole = mtu - header - (MESSAGE_HEADER_MAX - 24)
    this.#fragSize = mtu - header - MESSAGE_HEADER_MAX
  }

  /**
   * Opens a set: the messages sent until `closeSet` may be delivered in any
   * order among themselves. Sets do not nest; opening one closes the last.
   */
  openSet(): void {
    this.closeSet()
    this.#setS = this.#nextS
    this.#setDBefore = this.#nextD
    this.#setUsed = false
  }

  /** Closes the open set (no-op when none is open). */
  closeSet(): void {
    if (this.#setS < 0) return
    if (this.#setUsed) this.#nextS++
    this.#setS = -1
  }

  /** Whether a set is open. */
  get inSet(): boolean {
    return this.#setS >= 0
  }

  /**
   * Starts a graceful close: no new messages; what is queued or unacknowledged
   * is still delivered (within `closeTimeout`), then CLOSE goes out.
   */
  close(now: number): void {
    this.closeSet()
    this.#fire("close", now)
    this.#afterInput(now)
  }

  /** Ends the connection at once, telling the peer (CLOSE with code 2). */
  abort(now: number): void {
    if (this.#state === "closed") return
    this.#reason = { kind: "aborted" }
    this.#closeCode = CloseCode.aborted
    this.#closeText = textEncoder.encode("aborted")
    this.#fire("abort", now)
  }

  // =====================================================================================
  // Acknowledgements and loss (RFC 9002)
  // =====================================================================================

  #onAck(now: number, ack: AckFrame): void {
    const sent = this.sent
    if (ack.largest >= this.#nextPn) return void this.stats.dropped.malformed++
    // Collect first: the records go back to the pool as they are processed.
    const newly = this.#newlyAcked
    let count = 0
    const first = sent.firstPn(), last = sent.endPn() - 1
    let anyEliciting = false, ackedBytes = 0
    for (let k = 0; k < ack.count; k++) {
      const lo = Math.max(ack.lo[k]!, first), hi = Math.min(ack.hi[k]!, last)
      for (let pn = hi; pn >= lo; pn--) {
        const p = sent.get(pn)
        if (p === undefined) continue
        newly[count++] = p
        if (p.ackEliciting) anyEliciting = true
        if (p.inFlight) ackedBytes += p.size
      }
    }
    if (ack.largest > this.#largestAcked) this.#largestAcked = ack.largest
    if (count === 0) return
    const largest = newly[0]!
    if (largest.pn === ack.largest && anyEliciting) {
      const delay = this.isConnected ? Math.min(ack.delayMs, this.#maxAckDelayOfPeer()) : 0
      this.rtt.update(Math.max(0, now - largest.time), delay)
    }
    const rate = this.deliveryRate
    rate.begin()
    let largestAckedSentAt = 0
    for (let i = 0; i < count; i++) {
      const p = newly[i]!
      if (p.inFlight) rate.onAcked(p, now)
      if (p.time > largestAckedSentAt) largestAckedSentAt = p.time
      this.#packetAcked(now, p)
    }
    newly.fill(undefined as unknown as SentPacket, 0, count)
    if (ackedBytes > 0) {
      const sample = this.#ackSample
      sample.ackedBytes = ackedBytes
      sample.rtt = this.rtt
      sample.largestAckedSentAt = largestAckedSentAt
      sample.priorDelivered = rate.priorDelivered
      sample.appLimited = rate.appLimited
      sample.deliveryRate = rate.end(now, this.rtt.min)
      sample.delivered = rate.delivered
      sample.bytesInFlight = this.#bytesInFlight
      this.cc.onAck(now, sample)
    }
    this.#detectLost(now)
    this.#ptoCount = 0
    this.#probes = 0
  }

  readonly #newlyAcked: Array<SentPacket> = []
  readonly #ackSample: { -readonly [K in keyof AckSample]: AckSample[K] } = {
    ackedBytes: 0,
    rtt: undefined as unknown as AckSample["rtt"],
    largestAckedSentAt: 0,
    deliveryRate: 0,
    appLimited: false,
    delivered: 0,
    priorDelivered: 0,
    bytesInFlight: 0
  }

  /** One packet acknowledged: what it carried is done with. */
  #packetAcked(now: number, p: SentPacket): void {
    if (p.inFlight) this.#bytesInFlight -= p.size
    if (p.ackEliciting) this.#ackElicitingInFlight--
    const o = this.outbox
    for (let i = 0; i < p.items; i++) {
      const m = p.messages[i]!
      if (m.ack(p.fragments[i]!) && m.done) o.unacked.settled()
    }
    if (p.ackLargest >= this.#ackFloor) this.#ackFloor = p.ackLargest + 1
    const hello = p.hello
    this.sent.remove(p)
    if (hello && !this.#confirmed) {
      this.#fire("confirmed", now)
      this.#maybeReady(now)
    }
  }

  #detectLost(now: number): void {
    this.#lossTime = 0
    const largest = this.#largestAcked
    if (largest < 0) return
    const delay = this.rtt.lossDelay()
    const sent = this.sent
    let lostBytes = 0, lastLost = 0
    // RFC 9002 §7.6: a run of lost ack-eliciting packets (none acknowledged between) spanning
    // 3 × PTO is persistent congestion.
    let runStart = -1, longestRun = 0
    const end = Math.min(largest, sent.endPn() - 1)
    for (let pn = sent.firstPn(); pn <= end; pn++) {
      const p = sent.get(pn)
      if (p === undefined) {
        runStart = -1
        continue
      }
      // The same expression as the timer's deadline, so that a due timer always finds its loss.
      if (p.time + delay <= now || largest >= pn + PACKET_THRESHOLD) {
        if (p.inFlight) lostBytes += p.size
        lastLost = p.time
        if (p.ackEliciting) {
          if (runStart < 0) runStart = p.time
          else if (p.time - runStart > longestRun) longestRun = p.time - runStart
        }
        this.#packetLost(p)
      } else {
        runStart = -1
        const at = p.time + delay
        if (this.#lossTime === 0 || at < this.#lossTime) this.#lossTime = at
      }
    }
    if (lostBytes > 0) {
      const persistent = this.rtt.samples > 0 && longestRun >= PERSISTENT_CONGESTION_THRESHOLD * this.rtt.pto(this.#maxAckDelayOfPeer())
      if (persistent) this.stats.persistentCongestion++
      this.cc.onPacketsLost(now, lostBytes, lastLost, persistent)
    }
  }

  #packetLost(p: SentPacket): void {
    if (p.ackEliciting) this.stats.packetsLost++
    if (p.inFlight) this.#bytesInFlight -= p.size
    if (p.ackEliciting) this.#ackElicitingInFlight--
    this.stats.lossyLost += p.lossy
    if (this.config.resend === undefined) {
      for (let i = 0; i < p.items; i++) this.outbox.queueRetransmission(p.messages[i]!, p.fragments[i]!)
    }
    if (p.hello && !this.#confirmed) this.#helloPending = true
    if (p.maxData >= 0 && p.maxData >= this.#maxDataSent) this.#maxDataPending = true
    this.sent.remove(p)
  }

  #onPto(): void {
    this.stats.ptoCount++
    this.#ptoCount++
    if (!this.#confirmed && (this.#state === "handshake")) {
      this.#helloPending = true
      return
    }
    if (!sendsData(this.#state)) return
    // Probe with the oldest unacknowledged Delivery data, else a PING.
    this.#probes = 2
    let queued = 0
    for (let pn = this.sent.firstPn(); pn < this.sent.endPn() && queued < 2; pn++) {
      const p = this.sent.get(pn)
      if (p === undefined || p.items === 0) continue
      for (let i = 0; i < p.items; i++) {
        const m = p.messages[i]!, f = p.fragments[i]!
        if (!m.isAcked(f) && !m.isQueued(f)) {
          this.outbox.queueRetransmission(m, f)
          queued++
        }
      }
    }
    if (queued === 0) this.#pingPending = true
  }

  /** The crate's resend policy (opt-in): resend what the predicate says. */
  #resendScan(now: number): void {
    const predicate = this.config.resend
    if (predicate === undefined) return
    const newest = this.#nextD - 1
    for (const m of this.outbox.unacked.values()) {
      for (let i = 0; i < m.fragCount; i++) {
        if (i >= m.sentFragments && m.sentFragments < m.fragCount) break
        if (m.isAcked(i) || m.isQueued(i)) continue
        if (predicate(newest - m.d, now - m.sentAt(i))) this.outbox.queueRetransmission(m, i)
      }
    }
  }

  // =====================================================================================
  // Timers
  // =====================================================================================

  /**
   * Notes that the timers depend on what just happened. They are re-armed
   * lazily, once per batch of inputs and outputs, by `#settle` (the outputs
   * and `handleTimeout` call it first).
   */
  #afterInput(now: number): void {
    this.#dirty = true
    if (now > this.#dirtyAt) this.#dirtyAt = now
  }

  #dirty = false
  #dirtyAt = 0

  #settle(): void {
    if (!this.#dirty) return
    this.#dirty = false
    this.#rearm(this.#dirtyAt)
  }

  /** Re-arms the timers that depend on what happened. */
  #rearm(now: number): void {
    const t = this.timers
    if (this.#state === "closed") return
    // Idle: from the last packet received (or, with nothing heard lately, the last ack-eliciting sent).
    t.set("idle", this.#lastSendOrReceive + this.#idleTimeout())
    if (this.#state === "closing" || this.#state === "draining") return
    this.#checkFlushed(now)
    const after = this.#state as State
    if (after === "closing" || after === "closed") return
    // Loss detection and probe timeout (§6.2.1).
    if (this.#lossTime > 0) {
      t.set("loss", this.#lossTime)
      t.clear("pto")
    } else {
      t.clear("loss")
      if (this.#ackElicitingInFlight > 0 || (this.#state === "handshake" && !this.#confirmed && this.config.role === "client")) {
        const backoff = Math.min(this.#ptoCount, 16)
        t.set("pto", (this.#lastAckElicitingSent || now) + this.#ptoBase() * 2 ** backoff)
      } else t.clear("pto")
    }
    if (this.config.resend !== undefined && this.outbox.unacked.size > 0) t.setEarliest("resend", now + this.config.resendScan)
    const expiry = this.inbox.nextExpiry()
    if (expiry === undefined) t.clear("fragment")
    else t.set("fragment", expiry)
    if (!this.#ackDirty) t.clear("ack")
    // The heartbeat re-arms once its PING went out.
    if (sendsData(this.#state) && !this.#pingPending) t.set("heartbeat", this.#lastAckElicitingSent + this.#heartbeat())
    else t.clear("heartbeat")
    // A refused sender may try again.
    if (this.#blockedSize >= 0) {
      const o = this.outbox
      if (o.queue.length === 0 || (o.queuedBytes + this.#blockedSize <= this.config.sendQueueBytes && o.queue.length < this.config.sendQueueMessages)) {
        this.#blockedSize = -1
        this.#emit({ type: "writable" })
      }
    }
  }

  #checkFlushed(now: number): void {
    if (this.#state !== "flushing") return
    const o = this.outbox
    if (o.queue.length === 0 && o.unacked.size === 0 && o.retransmit.length === 0) {
      this.#reason = { kind: "local" }
      this.#closeCode = CloseCode.graceful
      this.#fire("flushed", now)
    }
  }

  // =====================================================================================
  // Outputs
  // =====================================================================================

  /** The next deadline, or `undefined` when nothing is due. */
  pollTimeout(): number | undefined {
    this.#settle()
    return this.timers.next()
  }

  /** The next event, or `undefined`. */
  pollEvent(): EngineEvent | undefined {
    this.#settle()
    if (this.#eventHead >= this.#events.length) {
      if (this.#eventHead > 0) {
        this.#events.length = 0
        this.#eventHead = 0
      }
      return undefined
    }
    return this.#events[this.#eventHead++]
  }

  /**
   * The next message released to the application, or `undefined`. Taking a
   * Delivery message frees its bytes from the receive window.
   */
  pollMessage(): ReceivedMessage | undefined {
    const m = this.inbox.poll()
    if (m !== undefined && m.guarantee === "Delivery" && sendsData(this.#state)) {
      // Open the window again once a quarter of it was read.
      if (this.inbox.maxData() - this.#maxDataSent >= this.config.receiveWindow / 4) this.#maxDataPending = true
    }
    return m
  }

  /**
   * Whether something besides new messages is waiting to go out now (a window
   * update, a CLOSE, the handshake, a keep-alive, an acknowledgement that is
   * due): a driver that batches its flushes flushes now.
   */
  get needsFlush(): boolean {
    return this.#maxDataPending || this.#closePending || this.#helloPending || this.#pingPending || (this.#ackDirty && this.#ackNow)
  }

  /** Bytes of ack-eliciting packets sent and not yet acknowledged or declared lost. */
  get bytesInFlight(): number {
    return this.#bytesInFlight
  }

  /** Whether a message is ready for `pollMessage`. */
  get hasMessage(): boolean {
    return this.inbox.ready.length > 0
  }

  /** Whether `send` would accept a message of `size` bytes now. */
  canSend(size: number): boolean {
    const o = this.outbox
    return acceptsMessages(this.#state) && !this.#closeDeferred && size <= this.maxMessageSize &&
      (o.queue.length === 0 || (o.queuedBytes + size <= this.config.sendQueueBytes && o.queue.length < this.config.sendQueueMessages))
  }

  /** Whether Delivery message `id` (a `send` result) was acknowledged by the peer. */
  isAcknowledged(id: number): boolean {
    return id < this.#nextMessage && !this.outbox.unacked.has(id)
  }

  /**
   * The next datagram to send, in a new array, or `undefined` when there is
   * nothing to send now.
   */
  pollTransmit(now: number): Uint8Array | undefined {
    const buf = this.#scratch ??= new Uint8Array(Math.max(this.config.mtu, 1200))
    const n = this.pollTransmitInto(now, buf)
    return n === 0 ? undefined : buf.slice(0, n)
  }

  /**
   * Writes the next datagram into `buf` (at least the MTU long) and returns its
   * length, or 0 when there is nothing to send now.
   */
  pollTransmitInto(now: number, buf: Uint8Array): number {
    // RFC 9000 §8.1: to an address not yet proven, at most three times what it sent us.
    if (!this.#addressValidated && this.stats.bytesSent + Math.min(buf.length, this.mtu) > AMPLIFICATION_FACTOR * this.stats.bytesReceived) {
      this.stats.amplificationLimited++
      return 0
    }
    // A graceful close whose data was all acknowledged sends its CLOSE now.
    if (this.#state === "flushing") this.#checkFlushed(now)
    if (this.#versionNegotiationPending !== undefined) {
      const w = this.#writer.reset(buf, 0, buf.length)
      const vn = this.#versionNegotiationPending
      const n = writeVersionNegotiation(w, vn.dcid, vn.scid, SUPPORTED_VERSIONS)
      this.#versionNegotiationPending = undefined
      this.stats.versionNegotiations++
      if (n > 0) return this.#count(n)
    }
    if (this.#closePending) return this.#count(this.#buildClose(now, buf))
    const state = this.#state
    if (state === "closed" || state === "closing" || state === "draining") return 0
    if (this.#helloPending) return this.#count(this.#buildHello(now, buf))
    if (!sendsData(state)) return 0
    const n = this.#buildShort(now, buf)
    // Out of data with room in the window: rate samples from now on say little about the path.
    if (n === 0 && this.outbox.queue.length === 0 && this.outbox.retransmit.length === 0 && this.#bytesInFlight < this.cc.window()) {
      this.deliveryRate.markAppLimited(this.#bytesInFlight)
    }
    return this.#count(n)
  }

  #count(n: number): number {
    if (n > 0) {
      this.stats.datagramsSent++
      this.stats.bytesSent += n
    }
    return n
  }

  /** The packet number to use next, and its length on the wire. */
  #takePn(): number {
    return this.#nextPn++
  }

  /** Writes an ACK frame if one is owed; returns whether it did. */
  #writeAckIfDirty(w: Writer, now: number, p: SentPacket): boolean {
    if (!this.#ackDirty) return false
    const rs = this.received
    if (!writeAck(w, rs.lo, rs.hi, this.#ackFloor, now - this.#largestReceivedAt)) return false
    p.ackLargest = this.#largestReceived
    this.#ackDirty = false
    this.#ackNow = false
    this.#unackedEliciting = 0
    this.timers.clear("ack")
    this.stats.acksSent++
    return true
  }

  #buildClose(now: number, buf: Uint8Array): number {
    this.#closePending = false
    this.#closeTransmitted = true
    const w = this.#writer.reset(buf, 0, Math.min(buf.length, this.mtu))
    w.end -= this.#shortTag
    const pn = this.#takePn()
    let lengthAt = -1, pnOffset = -1, headerEnd = 0
    if (this.#peerCid !== undefined && this.#peer !== undefined && this.#confirmed) {
      pnOffset = writeShortHeader(w, this.#peerCid, pn, 4)
      headerEnd = w.pos
    } else {
      lengthAt = writeLongHeader(w, this.#answering ? "Handshake" : "Initial", VERSION_1, this.#peerCid ?? this.#initialDcid, this.localCid, this.#token, pn, 4)
      // A long packet needs a HELLO: send ours (the peer may not have it).
      this.#writeHello(w)
    }
    // What we received is acknowledged with the CLOSE: a peer closing gracefully waits for it.
    if (this.#ackDirty) {
      const rs = this.received
      writeAck(w, rs.lo, rs.hi, this.#ackFloor, now - this.#largestReceivedAt)
    }
    writeClose(w, this.#closeCode, this.#closeText)
    if (!w.ok) return 0
    if (lengthAt >= 0) patchLength(buf, lengthAt, w.pos + TAG_BYTES)
    if (pnOffset >= 0) return this.#protect(w, pnOffset, 4, headerEnd, pn)
    return seal(buf, 0, w.pos, pn)
  }

  /** Seals a short packet: the CRC-32 tag, or (encrypted) the AEAD and header protection. */
  #protect(w: Writer, pnOffset: number, pnLength: number, headerEnd: number, pn: number): number {
    if (this.#keys === undefined) return seal(w.buf, 0, w.pos, pn)
    // The header-protection sample starts 4 bytes after the packet number: pad short payloads.
    while (w.pos - pnOffset < 4) w.u8(FrameType.PADDING)
    return this.#keys.seal(w.buf, pnOffset, pnLength, headerEnd, w.pos, pn)
  }

  #params(): Params {
    const c = this.config
    return {
      maxMessageSize: c.maxMessageSize,
      initialMaxData: c.receiveWindow,
      maxAckDelay: Math.ceil(c.maxAckDelay),
      idleTimeout: Math.ceil(c.idleTimeout),
      maxDatagram: c.mtu,
      initialSet: c.initialSet,
      initialDelivery: c.initialDelivery,
      initialFragment: c.initialFragment,
      heartbeat: Math.ceil(c.heartbeat),
      crypto: this.#cryptoParams()
    }
  }

  #cryptoParams(): Params["crypto"] {
    const hs = this.#handshake
    if (hs === undefined) return undefined
    const auth = hs.config.authentication
    // Key-pair mode: the MAC is keyed by the static DH with the peer (its key as configured, or as its HELLO gave it).
    const peerStatic = "privateKey" in auth ? auth.peerPublicKey ?? this.#peer?.crypto?.staticKey : undefined
    const mac = hs.ownMac(peerStatic) ?? new Uint8Array(32)
    return { ephemeral: hs.ephemeralPublic, cipher: CIPHER_ID[hs.config.cipher], mac, staticKey: hs.staticPublic }
  }

  #writeHello(w: Writer): void {
    w.u8(FrameType.HELLO)
    const lengthAt = w.pos
    w.varintWithLength(0, 2)
    const start = w.pos
    writeParams(w, this.#params())
    const n = w.pos - start
    w.buf[lengthAt] = 0x40 | ((n >>> 8) & 0x3f)
    w.buf[lengthAt + 1] = n & 0xff
  }

  #buildHello(now: number, buf: Uint8Array): number {
    this.#helloPending = false
    const type: LongType = this.#answering ? "Handshake" : "Initial"
    const w = this.#writer.reset(buf, 0, Math.min(buf.length, this.mtu))
    w.end -= TAG_BYTES
    const pn = this.#takePn()
    const p = this.sent.make()
    p.pn = pn
    const lengthAt = writeLongHeader(w, type, VERSION_1, this.#peerCid ?? this.#initialDcid, this.localCid, this.#token, pn, 4)
    this.#writeHello(w)
    this.#writeAckIfDirty(w, now, p)
    // Initials fill the datagram to 1200 bytes (or the MTU): a path that drops them is found at once.
    if (type === "Initial") w.zeros(Math.max(0, Math.min(1200, this.config.mtu) - TAG_BYTES - w.pos))
    if (!w.ok) return 0
    patchLength(buf, lengthAt, w.pos + TAG_BYTES)
    const n = seal(buf, 0, w.pos, pn)
    p.hello = true
    this.#recordSent(now, p, n, true)
    return n
  }

  /** What could go into a data packet now besides an ACK. */
  #hasContent(now: number): boolean {
    if (this.#pingPending || this.#maxDataPending || this.#probes > 0 || this.outbox.retransmit.length > 0) return true
    const head = this.outbox.queue.peek()
    if (head === undefined) return false
    if (!this.#congestionAllows(now)) return false
    return !(head.tier === "Delivery" && head.sentFragments === 0 && this.#deliverySent >= this.#peerMaxData)
  }

  #congestionAllows(now: number): boolean {
    const cc = this.cc
    if (this.#bytesInFlight + this.mtu > cc.window()) return false
    const at = cc.nextSendTime(now, this.mtu)
    if (at !== undefined && at > now) {
      this.timers.setEarliest("pace", at)
      return false
    }
    return true
  }

  #buildShort(now: number, buf: Uint8Array): number {
    const content = this.#hasContent(now)
    const ackDue = this.#ackDirty && (this.#ackNow || (this.timers.get("ack") ?? Number.POSITIVE_INFINITY) <= now)
    if (!content && !ackDue) return 0
    const keys = this.#keys
    if (keys !== undefined) {
      // RFC 9001 §6: new keys well before the confidentiality limit, once the peer has the current ones.
      if (keys.maybeUpdate(this.#largestAcked)) this.stats.keyUpdatesInitiated++
      if (keys.exhausted) {
        this.#aeadLimit(now, `the sending key sealed ${keys.sealed} packets, the confidentiality limit, and could not be updated`)
        return 0
      }
    }
    const w = this.#writer.reset(buf, 0, Math.min(buf.length, this.mtu))
    w.end -= this.#shortTag
    const pn = this.#takePn()
    const p = this.sent.make()
    p.pn = pn
    const pnBytes = pnLength(pn, this.#largestAcked)
    const pnOffset = writeShortHeader(w, this.#peerCid!, pn, pnBytes)
    const headerEnd = w.pos
    this.#writeAckIfDirty(w, now, p)
    let eliciting = false
    if (this.#maxDataPending) {
      const limit = this.inbox.maxData()
      writeMaxData(w, limit)
      if (w.ok) {
        this.#maxDataPending = false
        this.#maxDataSent = limit
        p.maxData = limit
        eliciting = true
      }
    }
    const probing = this.#probes > 0
    // Retransmissions first, then new messages, while they fit.
    const o = this.outbox
    const prev = this.#prev
    prev.clear()
    // Second copies owed from earlier packets (those queued by this packet go in a later one).
    const rq = this.#redundant, rf = this.#redundantFragment
    let owed = rq.length
    while (o.retransmit.length > 0 && (probing || this.#congestionAllows(now))) {
      const m = o.retransmit.peek()!, i = o.retransmitFragment.peek()!
      if (m.isAcked(i)) {
        o.retransmit.shift()
        o.retransmitFragment.shift()
        m.setQueued(i, false)
        continue
      }
      if (!writeMessage(w, m, m.fragment(i), m.data(i), prev)) break
      o.retransmit.shift()
      o.retransmitFragment.shift()
      m.setQueued(i, false)
      m.noteSent(i, now)
      this.#carry(p, m, i)
      this.stats.retransmissions++
      eliciting = true
      // Nothing new waits (an application sending at its own pace): the retransmission goes twice, in
      // this packet and the next, so that one more loss does not cost another round trip. A sender with
      // a queue (a bulk transfer) sends it once: its bytes go to new data.
      if (o.queue.length === 0 && rq.length < 64) {
        rq.push(m)
        rf.push(i)
      }
    }
    while (o.queue.length > 0 && (probing || this.#congestionAllows(now))) {
      const m = o.queue.peek()!
      const i = m.sentFragments
      const starting = i === 0 && m.tier === "Delivery"
      if (starting && this.#deliverySent >= this.#peerMaxData) {
        this.#flowBlocked = true
        break
      }
      if (!writeMessage(w, m, m.fragment(i), m.data(i), prev)) break
      if (starting) this.#deliverySent += m.payload.length + MESSAGE_CHARGE
      m.sentFragments++
      m.noteSent(i, now)
      if (m.tier === "Delivery") this.#carry(p, m, i)
      else p.lossy++
      eliciting = true
      if (m.sentFragments === m.fragCount) {
        o.queue.shift()
        o.queuedBytes -= m.payload.length
      }
    }
    // Second copies of earlier retransmissions (see above) fill the room a packet that goes anyway has
    // left: they never make a packet of their own, so they cost no datagram headers.
    while (eliciting && owed > 0) {
      owed--
      const m = rq.peek()!, i = rf.peek()!
      if (!m.isAcked(i) && !m.isQueued(i)) {
        if (!writeMessage(w, m, m.fragment(i), m.data(i), prev)) break
        this.#carry(p, m, i)
        this.stats.redundantRetransmissions++
      }
      rq.shift()
      rf.shift()
    }
    if (this.#pingPending || (probing && !eliciting)) {
      w.u8(FrameType.PING)
      if (w.ok) {
        this.#pingPending = false
        this.stats.pingsSent++
        eliciting = true
      }
    }
    if (w.pos === headerEnd || !w.ok) {
      // Nothing fitted after all: give the packet number back.
      this.#nextPn--
      this.sent.remove(p)
      return 0
    }
    if (this.#probes > 0 && eliciting) this.#probes--
    const n = this.#protect(w, pnOffset, pnBytes, headerEnd, pn)
    this.#recordSent(now, p, n, eliciting)
    return n
  }

  readonly #redundant = new Deque<OutMessage>(8)
  readonly #redundantFragment = new Deque<number>(8)

  #carry(p: SentPacket, m: OutMessage, i: number): void {
    p.messages[p.items] = m
    p.fragments[p.items++] = i
  }

  #recordSent(now: number, p: SentPacket, size: number, eliciting: boolean): void {
    p.time = now
    p.size = size
    p.ackEliciting = eliciting
    p.inFlight = eliciting
    this.sent.push(p)
    if (eliciting) {
      this.deliveryRate.onSent(p, now, this.#bytesInFlight)
      this.#bytesInFlight += size
      this.#ackElicitingInFlight++
      // QUIC §10.1: sending an ack-eliciting packet restarts the idle timer if none was sent since the last receipt.
      if (this.#lastAckElicitingSent <= this.#lastPacketAt) this.#lastSendOrReceive = now
      this.#lastAckElicitingSent = now
      this.cc.onPacketSent(now, size, this.#bytesInFlight)
    } else if (p.ackLargest < 0) {
      // Neither eliciting nor an ACK: nothing will ever acknowledge it; forget it.
      this.sent.remove(p)
      return
    }
    this.#afterInput(now)
  }

  // =====================================================================================
  // Introspection
  // =====================================================================================

  info(): EngineInfo {
    this.#settle()
    const o = this.outbox
    return {
      state: this.#state,
      role: this.config.role,
      rtt: this.rtt.samples === 0 ? undefined : { smoothed: this.rtt.smoothed, variance: this.rtt.variance, min: this.rtt.min, latest: this.rtt.latest },
      bytesInFlight: this.#bytesInFlight,
      packetsInFlight: this.#ackElicitingInFlight,
      sendQueue: { messages: o.queue.length, bytes: o.queuedBytes },
      unacked: o.unacked.size,
      retransmitQueue: o.retransmit.length,
      received: { ready: this.inbox.ready.length, waiting: this.inbox.waitingCount(), fragments: this.inbox.reassembly.size },
      flow: { peerMaxData: this.#peerMaxData, sent: this.#deliverySent, maxData: this.#maxDataSent, blocked: this.#flowBlocked },
      mtu: this.mtu,
      maxMessageSize: this.maxMessageSize,
      encrypted: this.#keys !== undefined,
      congestion: { ...this.cc.stats(), delivered: this.deliveryRate.delivered },
      stats: this.stats,
      inbox: { released: this.inbox.released, drops: { ...this.inbox.drops } }
    }
  }
}
