/**
 * The state of one reliable-UDP connection, shared by the parts of the engine:
 * the state machine (`../Connection.ts`) and, beside it, packet assembly
 * (`Transmit.ts`), acknowledgements and loss (`LossRecovery.ts`), the
 * handshake (`Handshake.ts`) and the receive pipeline (`Receive.ts`). One
 * plain object with public fields, so that the parts read and write it as the
 * one class did its private fields (no copies, no closures per packet). It is
 * internal: the driver sees `RudpEngine`.
 *
 * @since 0.2.0
 */
import { Arena } from "../Arena.ts"
import { Writer } from "../Bytes.ts"
import type { Config } from "../Config.ts"
import type { AckSample, CongestionController } from "../Congestion.ts"
import { AEAD_TAG_BYTES, Handshake, type PacketKeys } from "../Crypto.ts"
import { DeliveryRate } from "../DeliveryRate.ts"
import { MESSAGE_HEADER_MAX, Previous } from "../Frame.ts"
import { Deque } from "../Deque.ts"
import { Inbox } from "../Inbox.ts"
import { type OutMessage, Outbox } from "../Outbox.ts"
import { Header, shortHeaderMax, TAG_BYTES } from "../Packet.ts"
import type { Params } from "../Params.ts"
import { PathMtu } from "../PathMtu.ts"
import { Payload } from "../Payload.ts"
import { RangeSet } from "../RangeSet.ts"
import { RttEstimator, type SentPacket, SentPackets } from "../Recovery.ts"
import { type Event, sendsData, type State } from "../State.ts"
import { Timers } from "../Timers.ts"
import { randomCid } from "./ConnectionIds.ts"
import { CloseCode, type CloseReason, type EngineEvent } from "./Events.ts"
import { type EngineStats, newStats } from "./Stats.ts"

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
 * The state machine's entry point, as the parts call it: fires `event` and
 * returns whether the state table had a transition for it.
 *
 * @since 0.2.0
 * @category models
 */
export type Fire = (event: Event, now: number) => boolean

/**
 * The fields of one connection.
 *
 * @since 0.2.0
 * @category models
 */
export class ConnectionState {
  readonly config: Config
  readonly stats: EngineStats = newStats()
  readonly timers = new Timers()
  state: State = "idle"

  // --- identity and handshake -------------------------------------------------------
  readonly localCid: Uint8Array
  /** The destination id of our Initials until the peer's own id is known (a Retry replaces it). */
  initialDcid: Uint8Array
  peerCid: Uint8Array | undefined = undefined
  peer: Params | undefined = undefined
  /** The peer has our HELLO. */
  confirmed = false
  helloPending = false
  /** Whether the peer's HELLO came as an Initial (we answer with Handshake packets). */
  answering = false
  reason: CloseReason | undefined = undefined
  closeCode: number = CloseCode.graceful
  closeText: Uint8Array = new Uint8Array(0)
  closePending = false
  closeSends = 0
  closeDeferred = false
  peerClosed = false
  lastPacketAt = 0
  versionNegotiationPending: { readonly dcid: Uint8Array; readonly scid: Uint8Array } | undefined = undefined
  /** Server: the peer's address is proven (token, or a packet only the address's owner could send). */
  addressValidated: boolean
  /** Client: the token of the server's Retry, sent in later Initials; whether a Retry was taken. */
  token: Uint8Array | undefined = undefined
  retried = false
  /** Packets accepted (passed every check). */
  packetsAccepted = 0
  /** Encryption: this end's handshake secrets, then the packet keys. */
  readonly handshake: Handshake | undefined
  keys: PacketKeys | undefined = undefined
  /** Bytes of a short packet's tag: CRC-32 (4), or the AEAD's (16). */
  readonly shortTag: number
  rxCopy: Uint8Array | undefined = undefined

  // --- send side --------------------------------------------------------------------
  readonly outbox = new Outbox()
  readonly arena = new Arena()
  nextS: number
  nextD: number
  nextF: number
  nextMessage = 0
  /** Messages dropped before the handshake for the peer's `maxMessageSize`: id → that limit. */
  readonly droppedTooLarge = new Map<number, number>()
  /** The open set: its id and the Delivery messages before it (−1: no set open). */
  setS = -1
  setDBefore = 0
  setUsed = false
  peerMaxData = 0
  /** Delivery bytes (with charges) whose transmission started. */
  deliverySent = 0
  flowBlocked = false
  blockedSize = -1
  pingPending = false
  readonly prev = new Previous()

  // --- loss recovery ------------------------------------------------------------------
  readonly rtt: RttEstimator
  readonly sent: SentPackets
  /** The congestion controller (and pacer) of this connection. */
  readonly cc: CongestionController
  readonly deliveryRate = new DeliveryRate()
  /** Path MTU discovery: the datagram size in use. */
  readonly pmtu: PathMtu
  /** What the local route allows (the driver's `setPathLimit`), or `Infinity`. */
  pathLimit = Number.POSITIVE_INFINITY
  nextPn: number
  largestAcked = -1
  bytesInFlight = 0
  ackElicitingInFlight = 0
  lastAckElicitingSent = 0
  lossTime = 0
  ptoCount = 0
  probes = 0
  lastSendOrReceive = 0

  // --- receive side -------------------------------------------------------------------
  readonly inbox: Inbox
  readonly received = new RangeSet(256)
  largestReceived = -1
  largestReceivedAt = 0
  unackedEliciting = 0
  ackNow = false
  ackDirty = false
  /** Ranges at or below this were reported in an ACK the peer acknowledged. */
  ackFloor = 0
  maxDataSent = 0
  /** When the last MAX_DATA went out (the receive window's auto-tuning). */
  lastMaxDataAt = Number.NEGATIVE_INFINITY
  maxDataPending = false

  // --- output -------------------------------------------------------------------------
  readonly events: Array<EngineEvent> = []
  eventHead = 0

  // --- scratch --------------------------------------------------------------------------
  readonly header = new Header()
  readonly payload = new Payload()
  readonly writer = new Writer(new Uint8Array(0))
  scratch: Uint8Array | undefined = undefined

  /** A CLOSE went out. */
  closeTransmitted = false
  /** The largest message sent whole, and the fragment size of longer ones (for the datagram size in use). */
  maxWhole = 0
  fragSize = 0
  /** Second copies owed (see `Transmit.ts`): the fragment, and whether it was a retransmission. */
  readonly redundant = new Deque<OutMessage>(8)
  readonly redundantFragment = new Deque<number>(8)
  readonly redundantRetransmitted = new Deque<boolean>(8)
  /** Scratch of `onAck`: the packets one ACK frame newly acknowledged, and the sample for the controller. */
  readonly newlyAcked: Array<SentPacket> = []
  readonly ackSample: { -readonly [K in keyof AckSample]: AckSample[K] } = {
    ackedBytes: 0,
    rtt: undefined as unknown as AckSample["rtt"],
    largestAckedSentAt: 0,
    deliveryRate: 0,
    appLimited: false,
    delivered: 0,
    priorDelivered: 0,
    bytesInFlight: 0
  }
  /** The timers need re-arming (from `dirtyAt` on): see `RudpEngine.#settle`. */
  dirty = false
  dirtyAt = 0
  /** The state machine (set by the engine). */
  readonly fire: Fire
  /** Hands out fragment ids (one function per connection, given to `OutMessage`). */
  readonly takeF = (): number => this.nextF++

  constructor(now: number, config: Config, options: EngineOptions | undefined, fire: Fire) {
    this.fire = fire
    this.config = config
    this.localCid = options?.localCid?.slice() ?? randomCid(config.random, config.cidLength)
    this.handshake = config.encryption === undefined ? undefined : new Handshake(config.encryption, randomCid(config.random, 32))
    this.shortTag = config.encryption === undefined ? TAG_BYTES : AEAD_TAG_BYTES
    this.addressValidated = config.role === "client" || options?.addressValidated === true
    this.initialDcid = randomCid(config.random, Math.max(8, config.cidLength))
    this.nextS = config.initialSet
    this.nextD = config.initialDelivery
    this.nextF = config.initialFragment
    this.nextPn = config.initialPacket
    this.sent = new SentPackets(config.initialPacket)
    this.rtt = new RttEstimator(config.initialRtt)
    this.cc = config.congestion(config.mtu, config.initialRtt)
    this.pmtu = new PathMtu(config.mtu, config.mtu)
    this.inbox = new Inbox({
      maxMessageSize: config.maxMessageSize,
      receiveWindow: config.receiveWindow,
      readyLimit: config.readyLimit,
      lossyBudget: config.lossyBudget,
      fragmentTimeout: config.fragmentTimeout
    })
    this.maxDataSent = config.receiveWindow
    this.computeFragmentSizes()
    this.lastPacketAt = now
    this.lastSendOrReceive = now
    // The handshake (and a server's wait for one) is bounded by the idle timeout.
    this.timers.set("idle", now + config.idleTimeout)
  }

  /** The datagram size in use (path MTU discovery's; the base until the handshake is done). */
  get mtu(): number {
    return this.pmtu.current
  }

  /** The size both ends know their path carries: the smaller of both configured `mtu`s. Fragments are cut for it. */
  get baseMtu(): number {
    return this.peer === undefined ? this.config.mtu : Math.min(this.config.mtu, this.peer.baseDatagram)
  }

  /** The bound of path MTU discovery: this end's `maxMtu`, what the peer receives, what the route allows. */
  get mtuLimit(): number {
    const peer = this.peer === undefined ? this.config.mtu : this.peer.maxDatagram
    return Math.min(this.config.maxMtu, peer, this.pathLimit)
  }

  /** The datagram size in use changed: the congestion controller and pacer count in it. */
  mtuChanged(): void {
    this.cc.setMtu?.(this.pmtu.current)
  }

  /** The largest message the connection carries now. */
  get maxMessageSize(): number {
    return this.peer === undefined ? this.config.maxMessageSize : Math.min(this.config.maxMessageSize, this.peer.maxMessageSize)
  }

  /** Whether the handshake is done (and the connection not closed). */
  get isConnected(): boolean {
    return sendsData(this.state)
  }

  emit(event: EngineEvent): void {
    this.events.push(event)
  }

  heartbeat(): number {
    return this.config.heartbeat
  }

  idleTimeout(): number {
    const peer = this.peer?.idleTimeout
    const t = peer === undefined ? this.config.idleTimeout : Math.min(this.config.idleTimeout, peer)
    return Math.max(t, 3 * this.ptoBase())
  }

  maxAckDelayOfPeer(): number {
    return this.peer?.maxAckDelay ?? this.config.maxAckDelay
  }

  /** The probe timeout before backoff. */
  ptoBase(): number {
    return this.rtt.pto(this.isConnected ? this.maxAckDelayOfPeer() : 0)
  }

  /** The packet number to use next. */
  takePn(): number {
    return this.nextPn++
  }

  computeFragmentSizes(): void {
    const header = shortHeaderMax(this.peerCid?.length ?? this.config.cidLength) + this.shortTag
    // Cut for the base, not the size in use: after a fallback every fragment still fits a datagram.
    const mtu = this.baseMtu
    this.maxWhole = mtu - header - (MESSAGE_HEADER_MAX - 24)
    this.fragSize = mtu - header - MESSAGE_HEADER_MAX
  }

  /**
   * Notes that the timers depend on what just happened. They are re-armed
   * lazily, once per batch of inputs and outputs (the engine's outputs and
   * `handleTimeout` settle them first).
   */
  afterInput(now: number): void {
    this.dirty = true
    if (now > this.dirtyAt) this.dirtyAt = now
  }

  /** A graceful close whose data was all acknowledged moves on to send its CLOSE. */
  checkFlushed(now: number): void {
    if (this.state !== "flushing") return
    const o = this.outbox
    if (o.queue.length === 0 && o.unacked.size === 0 && o.retransmit.length === 0) {
      this.reason = { kind: "local" }
      this.closeCode = CloseCode.graceful
      this.fire("flushed", now)
    }
  }

  /** Both HELLOs are through: the connection is ready. */
  maybeReady(now: number): void {
    if (this.state === "handshake" && this.peer !== undefined && this.confirmed) this.fire("ready", now)
  }
}
