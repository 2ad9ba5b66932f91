/**
 * The sans-IO DCCP connection engine (RFC 4340, with CCIDs plugged in through
 * `Ccid.ts`).
 *
 * A plain class with no I/O, no clock and no randomness of its own. The driver
 * feeds it `handleDatagram(now, bytes)`, `handleTimeout(now)`, `send(now, …)`
 * and `close(now)`, then drains, in this order, `pollTransmit(now)` until it
 * returns `undefined`, `pollTimeout()` (the next deadline, or `undefined` when
 * nothing is due) and `pollEvent()`. `now` is milliseconds of a monotonic
 * clock; a `now` earlier than one already seen is treated as that one.
 *
 * This file is the connection's own state machine: sequence numbers (§7),
 * the receive pipeline of §8.5 — one method per step, in the RFC's order —
 * the local events (API calls and timers) and what the packets it sends
 * carry. What each state does with each packet type is read from the table in
 * `State.ts`. Everything else lives beside it in `connection/` (the layout of
 * quinn-proto's `connection/`): counters (`Stats`), what the application is
 * handed (`Delivery`), when to acknowledge (`Acks`), timestamps and the
 * handshake RTT (`Timestamps`), feature-negotiation glue (`Negotiation`), the
 * CCIDs (`Congestion`) and the options in and out (`IncomingOptions`,
 * `OutgoingOptions`). Bad input never throws: it is counted in `stats` and
 * dropped.
 *
 * @since 0.1.0
 */
import type { CcidContext, Feedback, ReceivedPacket } from "./Ccid.ts"
import { crc32c, type PseudoHeader, verifyDccpChecksum } from "./Checksum.ts"
import {
  type ConnectionConfig,
  incomingPseudoHeader,
  maxPacketBytes,
  maxPayloadSize,
  outgoingPseudoHeader,
  type Path
} from "./Config.ts"
import { AckSchedule } from "./connection/Acks.ts"
import { Congestion } from "./connection/Congestion.ts"
import { type ConnectionEvent, Delivery } from "./connection/Delivery.ts"
import { emptyReceivedOptions, processOptions, type ReceivedOptions } from "./connection/IncomingOptions.ts"
import { initialSettings, proposeCcidRequests, proposeServerFeatures } from "./connection/Negotiation.ts"
import { isEstablished, type OptionSources, writeOptions } from "./connection/OutgoingOptions.ts"
import { type ConnectionStats, newStats } from "./connection/Stats.ts"
import { Timestamps } from "./connection/Timestamps.ts"
import { Feature, FeatureNegotiation } from "./Features.ts"
import { DropState, type OptionFailure, OptionWriter, parseOptions } from "./Options.ts"
import {
  decodePacketInto,
  emptyPacket,
  encodePacketInto,
  fixedHeaderLength,
  hasAck,
  type Packet,
  PACKET_TYPE_CODE,
  type PacketFields,
  type PacketType,
  ResetCode
} from "./Packet.ts"
import { randomIss } from "./Random.ts"
import { ReceiveHistory, type RecordOutcome } from "./ReceiveHistory.ts"
import { SendQueue } from "./SendQueue.ts"
import * as Seq from "./Seq.ts"
import { type Action, LOCAL, type LocalEvent, RECEIVE, type Reaction, type Role, type State } from "./State.ts"
import { type TimerName, Timers } from "./Timers.ts"

export type {
  /**
   * Why a connection ended.
   *
   * @since 0.1.0
   * @category models
   */
  CloseReason,
  /**
   * What the engine tells the application.
   *
   * @since 0.1.0
   * @category models
   */
  ConnectionEvent
} from "./connection/Delivery.ts"

export type {
  /**
   * Counters of everything the engine did, dropped packets above all.
   *
   * @since 0.1.0
   * @category models
   */
  ConnectionStats
} from "./connection/Stats.ts"

/**
 * What `send` did with a datagram.
 *
 * @since 0.1.0
 * @category models
 */
export type SendResult = "queued" | "queue-full" | "too-large" | "closed"

/**
 * A snapshot for `info()`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionInfo {
  readonly state: State
  readonly role: Role
  readonly mps: number
  readonly iss: number
  readonly isr: number | undefined
  readonly gss: number
  readonly gsr: number | undefined
  readonly gar: number
  readonly txCcid: number
  readonly rxCcid: number
  readonly handshakeRttMs: number | undefined
  readonly sendQueueLength: number
  /** The sending CCID's figures (`CcidSender.info`). */
  readonly sender: Readonly<Record<string, number>> | undefined
  /** The receiving CCID's figures (`CcidReceiver.info`). */
  readonly receiver: Readonly<Record<string, number>> | undefined
  readonly features: Readonly<Record<string, { readonly local: number; readonly remote: number }>>
}

/**
 * A hook that sees every state transition; for tests and tracing.
 *
 * @since 0.1.0
 * @category models
 */
export type TransitionObserver = (from: State, to: State, cause: PacketType | LocalEvent) => void

/** A control packet waiting to be built and sent. */
type ControlPacket =
  | { readonly kind: "Request" | "Response" | "Ack" | "CloseReq" | "Close" }
  | { readonly kind: "Sync" | "SyncAck"; readonly ack: number }
  | {
    readonly kind: "Reset"
    readonly code: number
    readonly data: ArrayLike<number>
    readonly ack: number
    /** Set for Resets outside our sequence space (step 2 of §8.5). */
    readonly seq?: number
  }

/** A packet that passed steps 1–7: its extended sequence and acknowledgement numbers. */
interface Admitted {
  readonly p: Packet
  readonly reaction: Reaction
  readonly seq: number
  readonly ack: number | undefined
}

/** What step 8 learned about a packet. */
interface Acknowledgeable {
  readonly received: ReceivedOptions
  readonly outcome: RecordOutcome
  readonly outOfOrder: boolean
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The actions of a reaction that performs none. */
const NO_ACTIONS: ReadonlyArray<Action> = []

/** The admitted-packet record's value before its first packet. */
const IGNORE: Reaction = { kind: "ignore" }

const NO_BYTES = new Uint8Array(0)
/** Where `pollTransmit` encodes before copying out (grown to the largest `maxPacketSize`). */
let pollBuffer = new Uint8Array(2048)

/**
 * Arguments to start a client connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectArgs {
  readonly path: Path
  readonly serviceCode: number
  readonly config: ConnectionConfig
  readonly observer?: TransitionObserver | undefined
}

/**
 * Arguments the listener uses to create a server connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface AcceptArgs {
  readonly path: Path
  readonly config: ConnectionConfig
  readonly observer?: TransitionObserver | undefined
}

/**
 * One DCCP connection.
 *
 * @since 0.1.0
 * @category engine
 */
export class DccpEngine {
  readonly role: Role
  readonly path: Path
  readonly config: ConnectionConfig
  readonly stats: ConnectionStats = newStats()
  private stateValue: State = "CLOSED"
  private readonly observer: TransitionObserver | undefined
  private clock = -Infinity

  // Sequence numbers (RFC 4340 §7.1).
  private iss = 0
  private isr: number | undefined
  private gss = 0
  private gsr: number | undefined
  private gar = 0
  private osr = 0

  readonly serviceCode: number
  private readonly features: FeatureNegotiation
  private readonly congestion = new Congestion()
  private readonly history: ReceiveHistory
  private readonly timers = new Timers()
  private readonly acks = new AckSchedule(this.timers)
  private readonly timestamps = new Timestamps()
  private readonly delivery: Delivery
  private readonly queue: SendQueue
  private readonly control: Array<ControlPacket> = []
  private readonly optionSources: OptionSources
  private pathMtu: number
  // Per-packet scratch, reused: what the CCIDs and the pipeline see is valid
  // during the call that receives it.
  private readonly writer = new OptionWriter(0)
  private readonly fields: Mutable<PacketFields>
  private readonly pseudo: PseudoHeader
  /** Where `transmitInto` encodes the packet it is building. */
  private out: Uint8Array = NO_BYTES
  private outAt = 0
  private largestMtu: number
  private readonly received: ReceivedOptions = emptyReceivedOptions()
  /** The packet `handleDatagram` decodes into (read during the call only). */
  private readonly packetScratch = emptyPacket()
  /** What steps 1–7 and step 8 pass on, one record each, rewritten for every packet. */
  private readonly admittedScratch: Mutable<Admitted> = { p: this.packetScratch, reaction: IGNORE, seq: 0, ack: undefined }
  private readonly acknowledgeableScratch: Mutable<Acknowledgeable> = { received: this.received, outcome: "new", outOfOrder: false }
  private readonly feedbackScratch: Mutable<Feedback> = {
    type: "Ack",
    seq: 0,
    ack: undefined,
    ackVector: undefined,
    dataDropped: undefined,
    elapsedMs: undefined,
    slowReceiver: false,
    ndpCount: undefined,
    carriesData: false
  }
  private readonly arrivalScratch: Mutable<ReceivedPacket> = {
    type: "Ack",
    seq: 0,
    carriesData: false,
    payloadBytes: 0,
    ccval: 0,
    outOfOrder: false,
    ndpCount: undefined
  }

  // Handshake (§8.1).
  private responseSeq: number | undefined
  private initCookie: Uint8Array | undefined
  private responseCookie: Uint8Array | undefined
  private lastRequestSeq: number | undefined
  private lastSyncAt = -Infinity
  private retransmissions = 0
  private retransmitInterval = 0

  // The application's side: backpressure and closing (§8.3).
  private wasFull = false
  private appClosed = false
  private pendingClose: LocalEvent | undefined
  private closeInitiator: "local" | "peer" | undefined

  private constructor(role: Role, path: Path, config: ConnectionConfig, serviceCode: number, observer: TransitionObserver | undefined) {
    this.role = role
    this.path = path
    this.config = config
    this.serviceCode = serviceCode >>> 0
    this.observer = observer
    this.pathMtu = this.largestMtu = config.pathMtu
    this.pseudo = outgoingPseudoHeader(path)
    this.fields = {
      type: "Ack",
      sourcePort: path.localPort,
      destinationPort: path.remotePort,
      seq: 0,
      ack: undefined,
      ccval: 0,
      cscov: 0,
      serviceCode: undefined,
      resetCode: undefined,
      resetData: undefined,
      options: undefined,
      payload: undefined,
      short: false
    }
    this.queue = new SendQueue(config.queuePolicy, config.txQueueLength)
    this.history = new ReceiveHistory(config.maxAckHistory)
    this.delivery = new Delivery(config.receiveBufferPackets)
    this.features = new FeatureNegotiation(role, initialSettings(role, config), config.maxChangeTransmissions)
    this.optionSources = {
      features: this.features,
      acks: this.acks,
      timestamps: this.timestamps,
      delivery: this.delivery,
      history: this.history,
      congestion: this.congestion,
      changeSpacingMs: () => this.featureRetransmitMs(),
      armFeatureTimer: () => this.armFeatureTimer()
    }
  }

  /**
   * Starts an active open: CLOSED → REQUEST, and a Request is queued.
   * Service code 0xFFFFFFFF is invalid (RFC 5595; Linux EINVAL) and is sent
   * as 0 (no service).
   */
  static connect(now: number, args: ConnectArgs): DccpEngine {
    const code = args.serviceCode >>> 0
    const engine = new DccpEngine("client", args.path, args.config, code === 0xffffffff ? 0 : code, args.observer)
    engine.tick(now)
    engine.iss = randomIss(args.config.random)
    // The first Request carries ISS (§7.1), so GSS starts one below it.
    engine.gss = Seq.add(engine.iss, -1)
    engine.gar = engine.iss
    engine.local("connect", now)
    return engine
  }

  /**
   * Creates a server connection for a Request that passed step 3 of §8.5 and
   * runs the Request through the rest of the pipeline: the engine enters
   * RESPOND and queues its Response.
   */
  static respond(
    now: number,
    args: AcceptArgs,
    request: Packet,
    serviceCode: number,
    stateless?: { readonly iss: number; readonly cookie: Uint8Array }
  ): DccpEngine {
    const iss = stateless?.iss ?? randomIss(args.config.random)
    const engine = DccpEngine.forServer(now, args, serviceCode, iss, request.seq)
    engine.responseCookie = stateless?.cookie
    // The Response will carry ISS.
    engine.gss = Seq.add(engine.iss, -1)
    engine.processDecoded(now, request)
    return engine
  }

  /**
   * Creates a server connection from a valid Init Cookie (§8.1.4): the
   * Response with sequence number `iss` was already sent statelessly, and
   * `requestOptions` are the feature options of the Request it answered.
   * The cookie-carrying Ack or DataAck is then processed as in RESPOND.
   */
  static fromCookie(
    now: number,
    args: AcceptArgs,
    cookie: { readonly iss: number; readonly isr: number; readonly serviceCode: number; readonly issuedAt: number },
    requestOptions: Uint8Array,
    ack: Packet
  ): DccpEngine {
    const engine = DccpEngine.forServer(now, args, cookie.serviceCode, cookie.iss, cookie.isr)
    engine.gss = cookie.iss
    engine.responseSeq = cookie.iss
    engine.lastRequestSeq = cookie.isr
    engine.timestamps.responseSentAt = now - ((Math.floor(now) - cookie.issuedAt) >>> 0)
    engine.replayRequestOptions(requestOptions)
    engine.processDecoded(now, ack)
    return engine
  }

  private static forServer(now: number, args: AcceptArgs, serviceCode: number, iss: number, isr: number): DccpEngine {
    const engine = new DccpEngine("server", args.path, args.config, serviceCode, args.observer)
    engine.tick(now)
    engine.iss = iss
    engine.gar = iss
    engine.isr = isr
    engine.gsr = isr
    engine.osr = isr
    engine.setState("RESPOND", now, "Request")
    return engine
  }

  /**
   * Re-runs the negotiation a Request's feature options caused, without
   * sending anything: the Response already confirmed them.
   */
  private replayRequestOptions(options: Uint8Array): void {
    for (const parsed of parseOptions(options, "Request").options) {
      const o = parsed.option
      if (o.kind === "Change" || o.kind === "Confirm") this.features.receive(o, parsed.mandatory, parsed.value)
    }
    this.features.discardConfirms()
    proposeServerFeatures(this.features, this.config)
    this.features.markChangesSent()
  }

  /** The current state. */
  get state(): State {
    return this.stateValue
  }

  /** Whether the connection is over and the engine holds nothing: it can be discarded. */
  get isFinished(): boolean {
    return this.stateValue === "CLOSED" && this.control.length === 0 && this.timers.next() === undefined
  }

  /** Maximum Packet Size: the largest payload `send` accepts (RFC 4340 §14). */
  get mps(): number {
    return maxPayloadSize(this.pathMtu, this.path.family, this.config.encapsulation)
  }

  /** The driver learned a new path MTU (e.g. from ICMP, RFC 4340 §14.1). */
  setPathMtu(mtu: number): void {
    this.pathMtu = Math.max(mtu, this.path.family === "ipv4" ? 576 : 1280)
    this.largestMtu = Math.max(this.largestMtu, this.pathMtu)
  }

  private tick(now: number): number {
    if (now > this.clock) this.clock = now
    return this.clock
  }

  // ---------------------------------------------------------------------------
  // Application API
  // ---------------------------------------------------------------------------

  /**
   * Queues one datagram. `priority` is used by the `prio` queue policy.
   * Datagrams wait in REQUEST until the connection can carry data.
   */
  send(now: number, payload: Uint8Array, priority = 0): SendResult {
    this.tick(now)
    const s = this.stateValue
    const sendable = s === "REQUEST" || s === "PARTOPEN" || s === "OPEN" || (s === "RESPOND" && this.role === "server")
    if (this.appClosed || !sendable) {
      this.stats.sendRefused++
      return "closed"
    }
    if (payload.length > this.mps) {
      this.stats.sendRefused++
      return "too-large"
    }
    const result = this.queue.push(payload.slice(), priority)
    if (result.kind === "full") {
      this.stats.sendRefused++
      this.wasFull = true
      return "queue-full"
    }
    if (result.kind === "queued-evicting") this.stats.sendEvicted++
    return "queued"
  }

  /**
   * Graceful close (RFC 4340 §8.3). Queued data is sent first, for at most
   * `lingerMs`. A client sends Close; a server sends CloseReq (or Close, with
   * `serverTimewait`). Data that arrives afterwards is dropped and reported
   * with Data Dropped "Application Not Listening".
   */
  close(now: number): void {
    this.tick(now)
    if (this.appClosed) return
    this.appClosed = true
    const event: LocalEvent = this.role === "server" && this.config.serverTimewait ? "close-server-timewait" : "close"
    const draining = (this.stateValue === "OPEN" || this.stateValue === "PARTOPEN") && this.queue.length > 0
    if (draining) {
      this.pendingClose = event
      this.timers.set("linger", now + this.config.lingerMs)
      return
    }
    this.closeNow(event, now)
  }

  private closeNow(event: LocalEvent, now: number): void {
    this.pendingClose = undefined
    this.timers.clear("linger")
    this.queue.clear()
    if (this.closeInitiator === undefined) this.closeInitiator = "local"
    this.local(event, now)
  }

  /** Abortive close: Reset(Aborted) and CLOSED (RFC 4340 §5.6). */
  abort(now: number): void {
    this.tick(now)
    this.appClosed = true
    this.local("abort", now)
  }

  /**
   * The application could not take the data of packet `seq` (its own receive
   * queue was full): the data is reported dropped with Data Dropped "Receive
   * Buffer" (RFC 4340 §11.7) on the following acknowledgements, so the sender's
   * CCID slows down instead of taking the acknowledgement as delivery.
   */
  dropReceived(seq: number): void {
    this.dropData(seq, DropState.ReceiveBuffer)
    this.stats.dataPacketsDelivered--
  }

  /** The send queue holds `txQueueLength` datagrams: `send` would answer "queue-full". */
  get sendQueueFull(): boolean {
    return this.queue.isFull
  }

  /** The next event for the application, or `undefined`. */
  pollEvent(): ConnectionEvent | undefined {
    return this.delivery.poll()
  }

  /** A snapshot of the connection for diagnostics. */
  info(): ConnectionInfo {
    const features: Record<string, { local: number; remote: number }> = {}
    for (const [name, n] of Object.entries(Feature)) {
      features[name] = { local: this.features.value(n, "local"), remote: this.features.value(n, "remote") }
    }
    return {
      state: this.stateValue,
      role: this.role,
      mps: this.mps,
      iss: this.iss,
      isr: this.isr,
      gss: this.gss,
      gsr: this.gsr,
      gar: this.gar,
      txCcid: this.features.value(Feature.CCID, "local"),
      rxCcid: this.features.value(Feature.CCID, "remote"),
      handshakeRttMs: this.timestamps.handshakeRtt,
      sendQueueLength: this.queue.length,
      sender: this.congestion.sender?.info(),
      receiver: this.congestion.receiver?.info(),
      features
    }
  }

  // ---------------------------------------------------------------------------
  // State transitions (all of them go through the tables in State.ts)
  // ---------------------------------------------------------------------------

  /** Runs a local event through `LOCAL`; returns whether the table has a cell for it. */
  private local(event: LocalEvent, now: number): boolean {
    const reaction = LOCAL[this.role][this.stateValue][event]
    if (reaction === undefined) return false
    switch (reaction.action) {
      case "send-request":
        this.control.push({ kind: "Request" })
        break
      case "send-ack":
        this.control.push({ kind: "Ack" })
        break
      case "send-close":
        this.control.push({ kind: "Close" })
        break
      case "send-closereq":
        this.control.push({ kind: "CloseReq" })
        break
      case "send-reset-aborted":
        if (this.gsr !== undefined) this.control.push({ kind: "Reset", code: ResetCode.Aborted, data: [0, 0, 0], ack: this.gsr })
        break
      case "none":
        break
    }
    if (event === "abort") this.delivery.finish({ kind: "aborted" })
    if (event === "give-up" && reaction.next === "CLOSED") this.delivery.finish({ kind: "timeout", phase: this.timeoutPhase() })
    if (reaction.next !== this.stateValue || event === "retransmit") this.setState(reaction.next, now, event)
    return true
  }

  private timeoutPhase(): "request" | "respond" | "close" {
    switch (this.stateValue) {
      case "REQUEST":
        return "request"
      case "RESPOND":
        return "respond"
      default:
        return "close"
    }
  }

  private setState(next: State, now: number, cause: PacketType | LocalEvent): void {
    const from = this.stateValue
    this.stateValue = next
    if (from !== next) this.observer?.(from, next, cause)
    switch (next) {
      case "REQUEST":
        this.armRetransmit(now, this.config.request, cause === "retransmit")
        break
      case "RESPOND":
        this.timers.set("retransmit", now + this.config.respondTimeoutMs)
        break
      case "PARTOPEN":
        if (from !== "PARTOPEN") {
          this.activate(now)
          this.delivery.emit({ type: "connected" })
        }
        this.armRetransmit(now, this.config.partOpen, from === "PARTOPEN")
        break
      case "OPEN":
        if (from !== "OPEN") {
          this.timers.clear("retransmit")
          if (from === "PARTOPEN") this.features.discardSentConfirms()
          if (this.role === "server") {
            this.activate(now)
            this.delivery.emit({ type: "connected" })
            // Acknowledge the handshake Ack at once so that the client leaves
            // PARTOPEN even when the server has no data to send.
            this.acks.now()
          }
          this.features.freezeCcid()
        }
        break
      case "CLOSEREQ":
      case "CLOSING":
        this.armRetransmit(now, this.closeSchedule(), from === next)
        break
      case "TIMEWAIT":
        this.delivery.finish({ kind: "closed", by: this.closeInitiator ?? "local" })
        this.tearDown()
        this.timers.set("timewait", now + this.config.timewaitMs)
        break
      case "CLOSED":
        this.delivery.finish({ kind: "closed", by: this.closeInitiator ?? "local" })
        this.tearDown()
        break
      case "LISTEN":
        break
    }
  }

  private closeSchedule(): { initialMs: number; maxMs: number; retries: number } {
    const rto = this.congestion.rtoMs()
    const initial = rto !== undefined ? Math.max(rto, 200) : this.config.close.initialMs
    return { ...this.config.close, initialMs: Math.min(initial, this.config.close.initialMs) }
  }

  /** Starts (or, on a retransmission, backs off) the retransmission timer. */
  private armRetransmit(now: number, schedule: { initialMs: number; maxMs: number; retries: number }, backoff: boolean): void {
    if (backoff) {
      this.retransmissions++
      this.retransmitInterval = Math.min(this.retransmitInterval * 2, schedule.maxMs)
    } else {
      this.retransmissions = 0
      this.retransmitInterval = schedule.initialMs
    }
    this.timers.set("retransmit", now + this.retransmitInterval)
  }

  private tearDown(): void {
    // Only Resets still matter once the connection is gone.
    for (let i = this.control.length - 1; i >= 0; i--) if (this.control[i]!.kind !== "Reset") this.control.splice(i, 1)
    this.timers.clearAll()
    this.queue.clear()
    this.pendingClose = undefined
    this.acks.clear()
    this.congestion.clear()
  }

  /**
   * Activates the negotiated features: builds the CCIDs of both
   * half-connections (client on the Response, server on the handshake Ack,
   * like Linux `dccp_feat_activate_values`).
   */
  private activate(now: number): void {
    const context: CcidContext = {
      mps: () => this.mps,
      localAckRatio: () => this.features.value(Feature.AckRatio, "local"),
      remoteAckRatio: () => this.features.value(Feature.AckRatio, "remote"),
      localSequenceWindow: () => this.features.value(Feature.SequenceWindow, "local"),
      remoteSequenceWindow: () => this.features.value(Feature.SequenceWindow, "remote"),
      gss: () => this.gss,
      handshakeRtt: () => this.timestamps.handshakeRtt
    }
    this.congestion.activate(
      now,
      context,
      this.config.ccidRegistry,
      this.features.value(Feature.CCID, "local"),
      this.features.value(Feature.CCID, "remote")
    )
    this.takeCcidRequests()
  }

  /** Proposes what the sender CCID asked for. */
  private takeCcidRequests(): void {
    if (this.congestion.sender === undefined) return
    proposeCcidRequests(this.features, this.congestion.takeRequests())
    if (this.features.hasPendingChanges) this.armFeatureTimer()
  }

  private armFeatureTimer(): void {
    if (!this.timers.isSet("feature")) this.timers.set("feature", this.clock + this.featureRetransmitMs())
  }

  /** How often an unconfirmed Change is retransmitted once established: the sender's RTO, else 1 s. */
  private featureRetransmitMs(): number {
    return this.congestion.rtoMs() ?? 1000
  }

  // ---------------------------------------------------------------------------
  // Receiving: the pipeline of RFC 4340 §8.5, one method per step
  // ---------------------------------------------------------------------------

  /**
   * Processes one received DCCP packet (the bytes after the IP or UDP header).
   * `checksumVerified` tells the engine the driver already checked the DCCP
   * checksum (e.g. a listener that demultiplexed it).
   */
  handleDatagram(now: number, bytes: Uint8Array, meta?: { readonly checksumVerified?: boolean }): void {
    now = this.tick(now)
    this.stats.datagramsReceived++
    const p = this.checkHeader(bytes, meta?.checksumVerified === true)
    if (p !== undefined) this.acceptFlow(now, p)
  }

  /**
   * Processes a packet the caller already decoded and checked (step 1 of
   * §8.5: header and checksum), e.g. a listener that demultiplexed it. Its
   * `payload` and `options` may be views of the caller's buffer: they are
   * read during the call only.
   */
  handlePacket(now: number, p: Packet): void {
    now = this.tick(now)
    this.stats.datagramsReceived++
    this.acceptFlow(now, p)
  }

  /** Step 2 looks the flow up; a connection only accepts its own ports. */
  private acceptFlow(now: number, p: Packet): void {
    if (p.sourcePort !== this.path.remotePort || p.destinationPort !== this.path.localPort) {
      this.stats.droppedWrongPort++
      return
    }
    this.processDecoded(now, p)
  }

  /** Steps 2–16 for a decoded packet of this connection's flow. */
  private processDecoded(now: number, p: Packet): void {
    const reaction = RECEIVE[this.role][this.stateValue][p.type]
    if (!this.checkPortsAndTimewait(p, reaction)) return
    // Step 3 (LISTEN) belongs to the listener.
    const admitted = this.stateValue === "REQUEST"
      ? this.prepareSequenceInRequest(p, reaction)
      : this.checkSequenceNumbers(now, p, reaction)
    if (admitted === undefined) return
    if (!this.checkUnexpectedType(now, admitted)) return
    const acknowledgeable = this.processOptionsAndMarkAcknowledgeable(now, admitted)
    if (acknowledgeable === undefined) return
    this.processByState(now, admitted, acknowledgeable)
  }

  /**
   * Step 1: Check header basics (§8.5). Packets that fail are ignored, never
   * answered: a header that does not decode, or a bad checksum (native DCCP
   * only; over UDP the UDP checksum protects the datagram, RFC 6773).
   */
  private checkHeader(bytes: Uint8Array, checksumVerified: boolean): Packet | undefined {
    const p = this.packetScratch
    const error = decodePacketInto(bytes, p)
    if (error !== undefined) {
      this.stats.droppedHeader[error]++
      return undefined
    }
    if (!checksumVerified && this.config.encapsulation === "ip") {
      if (!verifyDccpChecksum(incomingPseudoHeader(this.path), p.bytes, p.coverage)) {
        this.stats.droppedChecksum++
        return undefined
      }
    }
    return p
  }

  /**
   * Step 2: Check ports and process TIMEWAIT state. Where this connection does
   * not exist for the packet (CLOSED, TIMEWAIT), answer with Reset(No
   * Connection) unless the packet is itself a Reset; cells the role never
   * reaches, and those for the listener's step 3, drop the packet.
   */
  private checkPortsAndTimewait(p: Packet, reaction: Reaction): boolean {
    switch (reaction.kind) {
      case "no-connection":
        this.stats.droppedNoConnection++
        this.control.push({
          kind: "Reset",
          code: ResetCode.NoConnection,
          data: [0, 0, 0],
          seq: p.ack !== undefined ? Seq.add(p.ack, 1) : 0,
          ack: p.seq
        })
        return false
      case "ignore":
      case "unreachable":
      case "accept":
      case "accept-if-cookie":
        this.stats.droppedNoConnection++
        return false
      default:
        return true
    }
  }

  /**
   * Short sequence numbers are accepted only when the peer may send them
   * (§7.6.1); both numbers are extended to 48 bits (§7.6).
   */
  private extend(p: Packet, reaction: Reaction): Admitted | undefined {
    if (!p.extended && (this.gsr === undefined || this.features.value(Feature.AllowShortSeqnos, "remote") !== 1)) {
      this.stats.droppedShortSequence++
      return undefined
    }
    const admitted = this.admittedScratch
    admitted.p = p
    admitted.reaction = reaction
    admitted.seq = p.extended ? p.seq : Seq.extendShort(this.gsr!, p.seq)
    admitted.ack = p.ack === undefined ? undefined : p.extended ? p.ack : Seq.extendShort(this.gss, p.ack)
    return admitted
  }

  /**
   * Step 4: Prepare sequence numbers in REQUEST. Only Response and Reset are
   * valid (the table's other cells say packet-error), and only when they
   * acknowledge one of our Requests; the Response sets ISR, GSR and GAR.
   * Steps 5 and 6 are omitted in REQUEST: this step validated P.ackno.
   */
  private prepareSequenceInRequest(p: Packet, reaction: Reaction): Admitted | undefined {
    const admitted = this.extend(p, reaction)
    if (admitted === undefined) return undefined
    const { seq, ack } = admitted
    if (reaction.kind === "packet-error" || ack === undefined || !this.ackValid(ack, false)) {
      if (p.type !== "Reset") {
        // Reset Data 1 names the offending packet type (§5.6).
        this.control.push({ kind: "Reset", code: ResetCode.PacketError, data: [PACKET_TYPE_CODE[p.type], 0, 0], ack: seq })
      }
      this.stats.droppedUnexpected++
      return undefined
    }
    this.isr = seq
    this.gsr = seq
    this.gar = ack
    return admitted
  }

  /**
   * Step 5: Prepare sequence numbers for Sync — a Sync or SyncAck with a valid
   * acknowledgement may move GSR forward. Step 6: Check sequence numbers
   * (§7.5.3) — an invalid packet is answered with a Sync and dropped.
   */
  private checkSequenceNumbers(now: number, p: Packet, reaction: Reaction): Admitted | undefined {
    const admitted = this.extend(p, reaction)
    if (admitted === undefined) return undefined
    const { seq, ack } = admitted
    if (p.type === "Sync" || p.type === "SyncAck") {
      if (ack !== undefined && this.ackValid(ack, false) && Seq.delta(this.swl(), seq) >= 0) {
        this.updateGsr(seq)
      } else {
        this.stats.droppedSequenceInvalid++
        return undefined
      }
    }
    return this.checkSequence(now, p.type, seq, ack) ? admitted : undefined
  }

  /**
   * Step 7: Check for unexpected packet types: answered with a Sync (for
   * Requests and Responses once OPEN, only when P.seqno ≥ OSR).
   */
  private checkUnexpectedType(now: number, { reaction, seq }: Admitted): boolean {
    if (reaction.kind !== "unexpected" && reaction.kind !== "unexpected-if-after-osr") return true
    this.stats.droppedUnexpected++
    if (reaction.kind === "unexpected" || Seq.delta(this.osr, seq) >= 0) this.queueSync(now, seq)
    return false
  }

  /**
   * Step 8: Process options and mark acknowledgeable. A failed option resets
   * the connection; otherwise the packet is recorded in the receive history
   * (and the newest arrival time kept for Elapsed Time), the acknowledgement it
   * carries may let the history forget (§11.4.2), and the handshake learns
   * what the packet settled: the server's own Changes after a Request, the
   * Response's Service Code, Init Cookie and RTT, the server's handshake RTT.
   */
  private processOptionsAndMarkAcknowledgeable(now: number, { p, seq, ack }: Admitted): Acknowledgeable | undefined {
    const parsed = parseOptions(p.options, p.type)
    if (parsed.truncated) this.stats.optionsTruncated++
    if (parsed.failure !== undefined) return void this.protocolReset(now, parsed.failure)
    const received = this.received
    const failure = processOptions(now, p.type, parsed.options, this.features, this.congestion, this.timestamps, received)
    if (failure !== undefined) return void this.protocolReset(now, failure)
    const previousHead = this.history.head
    const outcome = this.history.record(seq)
    if (outcome === "new") this.acks.headReceivedAt = now
    const outOfOrder = outcome === "filled-hole" ||
      (outcome === "new" && previousHead !== undefined && Seq.delta(previousHead, seq) > 1)
    if (ack !== undefined && !this.history.onAckReceived(ack) && received.ackVector !== undefined) {
      this.history.onAckVectorReceived(ack, received.ackVector)
    }
    if (
      this.role === "server" && this.stateValue === "OPEN" && ack !== undefined && this.responseSeq !== undefined &&
      !Seq.isAfter(ack, this.responseSeq)
    ) {
      // The client has heard nothing from us since the Response: it is still
      // in PARTOPEN and needs a packet to open (§8.1.5).
      this.acks.now()
    }
    if (this.stateValue === "RESPOND" && p.type === "Request") {
      // The server's own Changes follow from the CCIDs the Request settled.
      proposeServerFeatures(this.features, this.config)
    }
    if (this.stateValue === "REQUEST" && p.type === "Response") {
      if (p.serviceCode !== this.serviceCode) {
        // §8.1.2: the Response must echo the Request's Service Code.
        return void this.protocolReset(now, { resetCode: ResetCode.BadServiceCode, data: [0, 0, 0] })
      }
      this.initCookie = received.initCookie
      this.timestamps.responseReceived(now, received.timestampEcho, this.retransmissions)
    }
    if (this.stateValue === "RESPOND" && p.type !== "Request") this.timestamps.answered(now)
    const acknowledgeable = this.acknowledgeableScratch
    acknowledgeable.received = received
    acknowledgeable.outcome = outcome
    acknowledgeable.outOfOrder = outOfOrder
    return acknowledgeable
  }

  /**
   * Steps 9–16, as the state table says for this state and packet type: the
   * listed actions in order, then the next state. A packet that leaves the
   * connection alive is then shown to the CCIDs, and Confirms owed go out at
   * once.
   */
  private processByState(now: number, { p, reaction, seq, ack }: Admitted, { received, outcome, outOfOrder }: Acknowledgeable): void {
    const actions = reaction.kind === "process" ? reaction.actions : NO_ACTIONS
    const next = reaction.kind === "process" ? reaction.next : this.stateValue
    for (let i = 0; i < actions.length; i++) this.perform(actions[i]!, p, seq, received, outcome)
    if (next !== this.stateValue) this.setState(next, now, p.type)
    if (this.stateValue === "CLOSED" || this.stateValue === "TIMEWAIT") return
    // A packet older than the receive history may have been delivered already:
    // it is treated as a duplicate, never delivered twice (docs/dccp.md).
    const seen = outcome === "duplicate" || outcome === "too-old"
    this.feedCcids(now, p, seq, ack, received, seen, outOfOrder)
    if (this.features.hasPendingConfirms && this.stateValue !== "RESPOND" && this.stateValue !== "PARTOPEN") this.acks.now()
  }

  /** Steps 9–16: one action of the receive table. */
  private perform(action: Action, p: Packet, seq: number, received: ReceivedOptions, outcome: RecordOutcome): void {
    switch (action) {
      case "enter-timewait":
        return this.processReset(p)
      case "enter-partopen":
        // Step 10; the PARTOPEN timer is set on entering the state.
        return
      case "send-response":
        // Step 11: answer each new Request once; duplicates are ignored (Linux does the same).
        if (this.lastRequestSeq === undefined || Seq.isAfter(seq, this.lastRequestSeq)) {
          this.lastRequestSeq = seq
          this.control.push({ kind: "Response" })
        }
        return
      case "enter-open":
        // Steps 11 and 12: the connection opens with this packet.
        this.osr = seq
        return
      case "send-ack":
        this.control.push({ kind: "Ack" })
        return
      case "send-close":
        // Step 13: the server asked us to close.
        if (this.closeInitiator === undefined) this.closeInitiator = "peer"
        this.delivery.emit({ type: "peer-closing" })
        this.queue.clear()
        this.control.push({ kind: "Close" })
        return
      case "send-reset-closed":
        // Step 14.
        if (this.closeInitiator === undefined) {
          this.closeInitiator = "peer"
          this.delivery.emit({ type: "peer-closing" })
        }
        this.control.push({ kind: "Reset", code: ResetCode.Closed, data: [0, 0, 0], ack: this.gsr ?? seq })
        this.delivery.finish({ kind: "closed", by: this.closeInitiator })
        return
      case "send-syncack":
        // Step 15.
        this.control.push({ kind: "SyncAck", ack: seq })
        return
      case "deliver":
        // Step 16.
        return this.processData(p, seq, received, outcome)
    }
  }

  /**
   * Step 9: Process Reset. The connection ends; a Reset(Closed) after a close
   * began, or Reset(No Connection) after our Close (the peer answering a
   * retransmitted Close after its Reset(Closed) was lost), ends it gracefully.
   */
  private processReset(p: Packet): void {
    const code = p.resetCode ?? 0
    const completesOurClose = this.closeInitiator === "local" && code === ResetCode.NoConnection
    if ((code === ResetCode.Closed && this.closeInitiator !== undefined) || completesOurClose) {
      this.delivery.finish({ kind: "closed", by: this.closeInitiator! })
    } else {
      this.delivery.finish({ kind: "reset", code, data: (p.resetData ?? new Uint8Array(3)).slice() })
    }
  }

  /**
   * Step 16: Process data. Duplicates are not delivered again; data the
   * application closed on, coverage below our minimum (§9.2.1), a wrong Data
   * Checksum (§9.3) or a full receive buffer is dropped and reported with Data
   * Dropped (§11.7).
   */
  private processData(p: Packet, seq: number, received: ReceivedOptions, outcome: RecordOutcome): void {
    if (outcome === "duplicate") {
      this.stats.droppedDuplicateData++
      return
    }
    if (outcome === "too-old") {
      this.stats.droppedTooOldData++
      return
    }
    if (this.appClosed) return this.dropData(seq, DropState.ApplicationNotListening)
    const min = this.features.value(Feature.MinimumChecksumCoverage, "local")
    if (p.cscov !== 0 && !(min > 0 && p.cscov >= min)) {
      // §9.2.1: coverage below the minimum; the header was checked, the data is dropped.
      return this.dropData(seq, DropState.ProtocolConstraints)
    }
    if (
      this.features.value(Feature.CheckDataChecksum, "local") === 1 && received.dataChecksum !== undefined &&
      crc32c(p.payload) !== received.dataChecksum
    ) {
      return this.dropData(seq, DropState.Corrupt)
    }
    if (this.delivery.isFull) {
      this.delivery.slowReceiver = true
      return this.dropData(seq, DropState.ReceiveBuffer)
    }
    this.stats.dataPacketsDelivered++
    this.stats.payloadBytesDelivered += p.payload.length
    this.delivery.data(p.payload.slice(), seq)
  }

  private dropData(seq: number, dropState: number): void {
    this.history.markDropped(seq, dropState)
    this.stats.dataDropped[dropState] = (this.stats.dataDropped[dropState] ?? 0) + 1
  }

  /** What a valid packet tells the CCIDs: feedback for our sender, an arrival for our receiver. */
  private feedCcids(
    now: number,
    p: Packet,
    seq: number,
    ack: number | undefined,
    received: ReceivedOptions,
    duplicate: boolean,
    outOfOrder: boolean
  ): void {
    const carries = (p.type === "Data" || p.type === "DataAck") && !duplicate
    if (this.congestion.sender !== undefined) {
      const feedback = this.feedbackScratch
      feedback.type = p.type
      feedback.seq = seq
      feedback.ack = ack
      feedback.ackVector = received.ackVector
      feedback.dataDropped = received.dataDropped
      feedback.elapsedMs = received.elapsedMs
      feedback.slowReceiver = received.slowReceiver
      feedback.ndpCount = received.ndpCount
      feedback.carriesData = carries
      this.congestion.feedback(now, feedback)
      this.takeCcidRequests()
    }
    const arrival = this.arrivalScratch
    arrival.type = p.type
    arrival.seq = seq
    arrival.carriesData = carries
    arrival.payloadBytes = p.payload.length
    arrival.ccval = p.ccval
    arrival.outOfOrder = outOfOrder
    arrival.ndpCount = received.ndpCount
    const decision = this.congestion.received(now, arrival)
    if (decision !== undefined) {
      if (decision.kind === "now") this.acks.now()
      else if (decision.kind === "by") this.acks.by(decision.at)
    }
    this.syncCcidTimers()
  }

  private syncCcidTimers(): void {
    this.congestion.syncTimers(this.timers, this.clock, this.queue.length > 0)
  }

  /** SWL (§7.5.1): max(GSR + 1 − floor(W/4), ISR), W the peer's Sequence Window. */
  private swl(): number {
    const w = this.features.value(Feature.SequenceWindow, "remote")
    return Seq.sequenceWindowLow(this.gsr ?? 0, this.isr ?? 0, w)
  }

  /** SWH (§7.5.1): GSR + 1 + floor(3W/4). */
  private swh(): number {
    const w = this.features.value(Feature.SequenceWindow, "remote")
    return Seq.add(this.gsr ?? 0, 1 + Math.floor((3 * w) / 4))
  }

  /**
   * Whether `ack` lies in [AWL, AWH] = [max(GSS + 1 − W', ISS), GSS] (§7.5.1),
   * or for Close, CloseReq and Reset in [GAR, AWH] (§7.5.3).
   */
  private ackValid(ack: number, closing: boolean): boolean {
    const low = closing ? this.gar : Seq.ackWindowLow(this.gss, this.iss, this.features.value(Feature.SequenceWindow, "local"))
    return Seq.isBetween(ack, low, this.gss)
  }

  private updateGsr(seq: number): void {
    if (this.gsr === undefined || Seq.isAfter(seq, this.gsr)) this.gsr = seq
  }

  /** Step 6 (§7.5.3): sequence and acknowledgement validity, or a Sync. */
  private checkSequence(now: number, type: PacketType, seq: number, ack: number | undefined): boolean {
    const closing = type === "CloseReq" || type === "Close" || type === "Reset"
    const lswl = closing ? Seq.add(this.gsr ?? 0, 1) : this.swl()
    if (Seq.isBetween(seq, lswl, this.swh()) && (ack === undefined || this.ackValid(ack, closing))) {
      this.updateGsr(seq)
      if (type !== "Sync" && ack !== undefined && Seq.isAfter(ack, this.gar)) this.gar = ack
      return true
    }
    this.stats.droppedSequenceInvalid++
    // A Reset is answered with a Sync acknowledging GSR, anything else P.seqno.
    this.queueSync(now, type === "Reset" ? (this.gsr ?? seq) : seq)
    return false
  }

  /** A Sync, rate-limited as §7.5.4 recommends. */
  private queueSync(now: number, ack: number): void {
    if (now - this.lastSyncAt < this.config.syncRateLimitMs) {
      this.stats.syncsRateLimited++
      return
    }
    this.lastSyncAt = now
    this.control.push({ kind: "Sync", ack })
  }

  /** A Reset caused by the peer's packet (options or packet errors), then CLOSED. */
  private protocolReset(now: number, failure: OptionFailure | { resetCode: number; data: ArrayLike<number> }): void {
    this.control.push({ kind: "Reset", code: failure.resetCode, data: failure.data, ack: this.gsr ?? 0 })
    this.delivery.finish({ kind: "protocol-error", code: failure.resetCode })
    this.setState("CLOSED", now, "Reset")
  }

  // ---------------------------------------------------------------------------
  // Timers
  // ---------------------------------------------------------------------------

  /** Runs every timer due at `now`. */
  handleTimeout(now: number): void {
    now = this.tick(now)
    for (const name of this.timers.expire(now)) this.onTimer(name, now)
    this.syncCcidTimers()
  }

  private onTimer(name: TimerName, now: number): void {
    switch (name) {
      case "timewait":
        this.local("timewait-expired", now)
        return
      case "retransmit": {
        const s = this.stateValue
        if (s === "RESPOND") {
          this.local("give-up", now)
          return
        }
        const schedule = s === "REQUEST" ? this.config.request : s === "PARTOPEN" ? this.config.partOpen : this.config.close
        this.local(this.retransmissions >= schedule.retries ? "give-up" : "retransmit", now)
        return
      }
      case "linger":
        if (this.pendingClose !== undefined) this.closeNow(this.pendingClose, now)
        return
      case "ccid":
        this.congestion.sender?.onTimeout(now)
        this.takeCcidRequests()
        return
      case "pace":
        return
      case "feature":
        if (this.features.hasPendingChanges && (this.stateValue === "OPEN" || this.stateValue === "PARTOPEN")) {
          this.control.push({ kind: "Ack" })
          this.armFeatureTimer()
        }
        return
      case "delayedAck":
        this.acks.expire()
        return
    }
  }

  /** The next deadline, or `undefined` when no timer is set. */
  pollTimeout(): number | undefined {
    return this.timers.next()
  }

  // ---------------------------------------------------------------------------
  // Sending
  // ---------------------------------------------------------------------------

  /** The next packet to send, or `undefined` when there is nothing to send now. */
  pollTransmit(now: number): Uint8Array | undefined {
    let buffer = pollBuffer
    if (buffer.length < this.maxPacketSize) buffer = pollBuffer = new Uint8Array(this.maxPacketSize)
    const n = this.transmitInto(now, buffer, 0)
    return n === 0 ? undefined : buffer.slice(0, n)
  }

  /**
   * The largest packet this engine can produce: `transmitInto` needs this much
   * room. It depends on the largest path MTU the engine was given.
   */
  get maxPacketSize(): number {
    return maxPacketBytes(this.largestMtu, this.path.family, this.config.encapsulation)
  }

  /**
   * `pollTransmit` without an allocation: encodes the next packet into `out` at
   * `offset` and returns its length, or 0 when there is nothing to send now.
   * `out` must have `maxPacketSize` bytes of room from `offset`.
   */
  transmitInto(now: number, out: Uint8Array, offset: number): number {
    now = this.tick(now)
    this.out = out
    this.outAt = offset
    const control = this.control.shift()
    if (control !== undefined) return this.buildControl(now, control)

    const data = this.nextData(now)
    if (data !== 0) return data

    if (this.acks.owed === "now" && isEstablished(this.stateValue)) return this.buildPacket(now, "Ack")
    if (this.acks.owed === "now") this.acks.owed = "none"
    return 0
  }

  private nextData(now: number): number {
    const s = this.stateValue
    const sender = this.congestion.sender
    if ((s !== "OPEN" && s !== "PARTOPEN") || sender === undefined || this.queue.length === 0) return 0
    if (sender.sendTime(now) > now) {
      this.syncCcidTimers()
      return 0
    }
    const item = this.queue.shift()!
    // PARTOPEN: every packet carries an Ack (§8.1.5). OPEN: DataAck when an
    // acknowledgement or feature option is owed, or the peer's packets have
    // not been acknowledged yet (acks of acks, RFC 4341 §6.2).
    const needsAck = s === "PARTOPEN" || this.acks.owed !== "none" || this.features.hasOutstanding ||
      this.timestamps.echoOwed || this.acks.unacknowledged(this.gsr)
    const length = this.buildPacket(now, needsAck ? "DataAck" : "Data", item.payload)
    sender.onDataSent(now, this.gss, item.payload.length)
    this.stats.dataPacketsSent++
    this.stats.payloadBytesSent += item.payload.length
    // A sender refused for a full queue hears "writable" once half of it has
    // left, not after each packet: it then queues several at once instead of
    // waking up for every datagram (TCP wakes writers on free space similarly).
    if (this.wasFull && this.queue.length <= this.queue.capacity >> 1) {
      this.wasFull = false
      this.delivery.emit({ type: "writable" })
    }
    if (this.pendingClose !== undefined && this.queue.length === 0) this.closeNow(this.pendingClose, now)
    this.syncCcidTimers()
    return length
  }

  private buildControl(now: number, c: ControlPacket): number {
    switch (c.kind) {
      case "Request":
        return this.buildPacket(now, "Request", NO_BYTES, undefined, undefined, this.serviceCode)
      case "Response": {
        this.timestamps.responseSentAt = now
        const length = this.buildPacket(now, "Response", NO_BYTES, undefined, undefined, this.serviceCode)
        this.responseSeq = this.gss
        return length
      }
      case "Ack":
        return this.buildPacket(now, "Ack")
      case "CloseReq":
        return this.buildPacket(now, "CloseReq")
      case "Close":
        return this.buildPacket(now, "Close")
      case "Sync":
        this.stats.syncsSent++
        return this.buildPacket(now, "Sync", NO_BYTES, c.ack)
      case "SyncAck":
        return this.buildPacket(now, "SyncAck", NO_BYTES, c.ack)
      case "Reset":
        this.stats.resetsSent++
        return this.buildPacket(now, "Reset", NO_BYTES, c.ack, c.seq, undefined, c.code, c.data)
    }
  }

  /** Option bytes a packet of this type and payload may carry. */
  private optionBudget(type: PacketType, payloadLength: number): number {
    const room = maxPacketBytes(this.pathMtu, this.path.family, this.config.encapsulation) - fixedHeaderLength(type, true) -
      payloadLength
    return Math.max(0, Math.min(1020 - fixedHeaderLength(type, true), room))
  }

  /** The Init Cookie a packet carries: the server's in its stateless Response, the client's echo in PARTOPEN (§8.1.4). */
  private cookieFor(type: PacketType): Uint8Array | undefined {
    if (type === "Response") return this.responseCookie
    if ((type === "Ack" || type === "DataAck") && this.stateValue === "PARTOPEN") return this.initCookie
    return undefined
  }

  /**
   * Encodes one packet into `out` at `outAt` (set by `transmitInto`) and
   * returns its length. `ack` and `seq` are given only for packets that answer
   * a particular packet (Sync, SyncAck, Reset).
   */
  private buildPacket(
    now: number,
    type: PacketType,
    payload: Uint8Array = NO_BYTES,
    ack?: number,
    seq?: number,
    serviceCode?: number,
    resetCode?: number,
    resetData?: ArrayLike<number>
  ): number {
    // Every packet consumes a sequence number (§7.1), except Resets answering
    // packets of no connection, whose numbers come from the packet (§8.5 step 2).
    const answering = seq !== undefined
    if (seq === undefined) seq = this.gss = Seq.add(this.gss, 1)
    const withAck = hasAck(type)
    const explicitAck = ack !== undefined
    if (withAck && ack === undefined) ack = this.gsr ?? 0
    const isData = type === "Data" || type === "DataAck"
    const writer = this.writer
    writer.reset(this.optionBudget(type, payload.length))
    if (!answering) {
      writeOptions(this.optionSources, writer, now, type, this.stateValue, payload, ack, this.gss, this.cookieFor(type))
    }
    const sender = this.congestion.sender
    const f = this.fields
    f.type = type
    f.seq = seq
    f.ack = withAck ? ack : undefined
    f.ccval = isData && sender !== undefined ? sender.ccval(now) : 0
    f.cscov = isData ? this.dataCsCov() : 0
    f.serviceCode = serviceCode
    f.resetCode = resetCode
    f.resetData = resetData
    f.options = writer.padded()
    f.payload = payload
    const length = encodePacketInto(this.out, this.outAt, f, this.pseudo)
    this.stats.datagramsSent++
    if (withAck && type !== "Reset" && !explicitAck) {
      this.acks.acknowledged(this.gsr)
      this.congestion.receiver?.onAckSent(now)
    }
    this.acks.sent(isData)
    return length
  }

  /** CsCov for our data packets (§9.2): partial only when configured and the peer accepts it. */
  private dataCsCov(): number {
    if (this.config.encapsulation !== "ip" || this.config.sendCsCov === 0) return 0
    const min = this.features.value(Feature.MinimumChecksumCoverage, "remote")
    return min === 0 ? 0 : Math.max(this.config.sendCsCov, min)
  }
}
