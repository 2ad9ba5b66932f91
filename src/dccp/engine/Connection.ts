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
 * Receiving follows the pseudocode of RFC 4340 §8.5 step by step; each step
 * is marked in `handleDatagram`. What happens in each state for each packet
 * type is read from the table in `State.ts`. Bad input never throws: it is
 * counted in `stats` and dropped.
 *
 * @since 0.1.0
 */
import type { CcidContext, CcidReceiver, CcidSender, Feedback } from "./Ccid.ts"
import { crc32c, verifyDccpChecksum } from "./Checksum.ts"
import {
  type ConnectionConfig,
  incomingPseudoHeader,
  maxPacketBytes,
  maxPayloadSize,
  outgoingPseudoHeader,
  type Path
} from "./Config.ts"
import { Feature, FeatureNegotiation, type FeatureSetting } from "./Features.ts"
import {
  decodePacket,
  encodePacket,
  fixedHeaderLength,
  hasAck,
  type HeaderError,
  type Packet,
  PACKET_TYPE_CODE,
  type PacketType,
  ResetCode
} from "./Packet.ts"
import { DropState, type OptionFailure, OptionType, OptionWriter, type ParsedOption, parseOptions } from "./Options.ts"
import { randomIss } from "./Random.ts"
import { ReceiveHistory, type RecordOutcome } from "./ReceiveHistory.ts"
import { SendQueue } from "./SendQueue.ts"
import * as Seq from "./Seq.ts"
import { type Action, LOCAL, type LocalEvent, RECEIVE, type Role, type State } from "./State.ts"
import { type TimerName, Timers } from "./Timers.ts"

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
 * What `send` did with a datagram.
 *
 * @since 0.1.0
 * @category models
 */
export type SendResult = "queued" | "queue-full" | "too-large" | "closed"

/**
 * Counters of everything the engine did, dropped packets above all.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionStats {
  datagramsReceived: number
  datagramsSent: number
  dataPacketsSent: number
  dataPacketsDelivered: number
  payloadBytesSent: number
  payloadBytesDelivered: number
  /** Step 1 header failures, by reason. */
  droppedHeader: Record<HeaderError, number>
  droppedChecksum: number
  droppedWrongPort: number
  droppedShortSequence: number
  droppedSequenceInvalid: number
  droppedUnexpected: number
  droppedNoConnection: number
  droppedDuplicateData: number
  /** Data older than the receive history remembers: it may have been delivered, so it is not. */
  droppedTooOldData: number
  /** Option areas cut short by a nonsensical option length (§5.8). */
  optionsTruncated: number
  /** Application data dropped, by Data Dropped drop state (§11.7). */
  dataDropped: Record<number, number>
  syncsSent: number
  syncsRateLimited: number
  resetsSent: number
  sendRefused: number
  sendEvicted: number
}

const newStats = (): ConnectionStats => ({
  datagramsReceived: 0,
  datagramsSent: 0,
  dataPacketsSent: 0,
  dataPacketsDelivered: 0,
  payloadBytesSent: 0,
  payloadBytesDelivered: 0,
  droppedHeader: {
    "too-short": 0,
    "unknown-type": 0,
    "short-seq-for-type": 0,
    "data-offset-too-small": 0,
    "data-offset-too-large": 0,
    "cscov-too-large": 0
  },
  droppedChecksum: 0,
  droppedWrongPort: 0,
  droppedShortSequence: 0,
  droppedSequenceInvalid: 0,
  droppedUnexpected: 0,
  droppedNoConnection: 0,
  droppedDuplicateData: 0,
  droppedTooOldData: 0,
  optionsTruncated: 0,
  dataDropped: {},
  syncsSent: 0,
  syncsRateLimited: 0,
  resetsSent: 0,
  sendRefused: 0,
  sendEvicted: 0
})

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
  readonly sender: Readonly<Record<string, number>> | undefined
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

/** Options gathered from one packet in step 8. */
interface ReceivedOptions {
  ackVector: Uint8Array | undefined
  dataDropped: Uint8Array | undefined
  elapsedMs: number | undefined
  slowReceiver: boolean
  ndpCount: number | undefined
  dataChecksum: number | undefined
  initCookie: Uint8Array | undefined
  timestampEcho: { readonly value: number; readonly elapsed: number | undefined } | undefined
}

const concat = (a: Uint8Array | undefined, b: Uint8Array): Uint8Array => {
  if (a === undefined) return b
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** The 32-bit Timestamp value (units of 10 µs) for `now` in ms (§13.1). */
const timestampOf = (now: number): number => (Math.floor(now * 100) >>> 0) || 1

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
  private sender: CcidSender | undefined
  private receiver: CcidReceiver | undefined
  private readonly history: ReceiveHistory
  private readonly timers = new Timers()
  private readonly queue: SendQueue
  private readonly control: Array<ControlPacket> = []
  private readonly events: Array<ConnectionEvent> = []
  private eventsHead = 0
  private undeliveredData = 0
  private pathMtu: number

  private ackOwed: "none" | "later" | "now" = "none"
  private lastAckedGsr: number | undefined
  /** When the packet that moved the receive history's head arrived. */
  private headReceivedAt: number | undefined
  private nonDataSinceData = 0
  private slowReceiver = false
  private timestampEcho: { readonly value: number; readonly receivedAt: number } | undefined
  private requestTimestamp: { readonly value: number; readonly sentAt: number } | undefined
  private responseSentAt: number | undefined
  private responseSeq: number | undefined
  private handshakeRtt: number | undefined
  private initCookie: Uint8Array | undefined
  private responseCookie: Uint8Array | undefined
  private lastRequestSeq: number | undefined
  private lastSyncAt = -Infinity
  private retransmissions = 0
  private retransmitInterval = 0
  private wasFull = false
  private appClosed = false
  private pendingClose: LocalEvent | undefined
  private closeInitiator: "local" | "peer" | undefined
  private closedEmitted = false

  private constructor(role: Role, path: Path, config: ConnectionConfig, serviceCode: number, observer: TransitionObserver | undefined) {
    this.role = role
    this.path = path
    this.config = config
    this.serviceCode = serviceCode >>> 0
    this.observer = observer
    this.pathMtu = config.pathMtu
    this.queue = new SendQueue(config.queuePolicy, config.txQueueLength)
    this.history = new ReceiveHistory(config.maxAckHistory)
    this.features = new FeatureNegotiation(role, this.initialSettings(), config.maxChangeTransmissions)
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
    engine.responseSentAt = now - ((Math.floor(now) - cookie.issuedAt) >>> 0)
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
    this.proposeServerFeatures()
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
  }

  private tick(now: number): number {
    if (now > this.clock) this.clock = now
    return this.clock
  }

  // ---------------------------------------------------------------------------
  // Feature settings
  // ---------------------------------------------------------------------------

  private ccidList(): ReadonlyArray<number> {
    const list = this.config.ccids.filter((id) => this.config.ccidRegistry.has(id))
    return list.length > 0 ? list : [2]
  }

  private partialCoverage(): boolean {
    return this.config.encapsulation === "ip"
  }

  /** What this endpoint proposes and accepts (RFC 4340 §6.4). */
  private initialSettings(): Array<FeatureSetting> {
    const client = this.role === "client"
    const ccids = this.ccidList()
    const settings: Array<FeatureSetting> = [
      // CCID for both half-connections; a client asks, a server answers.
      { feature: Feature.CCID, end: "local", preference: ccids, propose: client, mandatory: false },
      { feature: Feature.CCID, end: "remote", preference: ccids, propose: client, mandatory: false },
      // This engine never sends short sequence numbers but can receive them.
      { feature: Feature.AllowShortSeqnos, end: "local", preference: [0, 1], propose: false, mandatory: false },
      { feature: Feature.AllowShortSeqnos, end: "remote", preference: [0, 1], propose: false, mandatory: false },
      { feature: Feature.EcnIncapable, end: "remote", preference: [1, 0], propose: false, mandatory: false },
      { feature: Feature.SendAckVector, end: "local", preference: [1, 0], propose: false, mandatory: false },
      { feature: Feature.SendAckVector, end: "remote", preference: [1, 0], propose: false, mandatory: false },
      { feature: Feature.SendNdpCount, end: "remote", preference: [0, 1], propose: false, mandatory: false },
      { feature: Feature.CheckDataChecksum, end: "remote", preference: [0, 1], propose: false, mandatory: false }
    ]
    const own = this.ownProposals()
    settings.push(...own)
    if (!own.some((s) => s.feature === Feature.EcnIncapable)) {
      settings.push({ feature: Feature.EcnIncapable, end: "local", preference: [0, 1], propose: false, mandatory: false })
    }
    if (!own.some((s) => s.feature === Feature.SendNdpCount)) {
      settings.push({ feature: Feature.SendNdpCount, end: "local", preference: [0, 1], propose: false, mandatory: false })
    }
    if (!own.some((s) => s.feature === Feature.CheckDataChecksum)) {
      settings.push({ feature: Feature.CheckDataChecksum, end: "local", preference: [0, 1], propose: false, mandatory: false })
    }
    if (!this.partialCoverage()) {
      // RFC 6773: over UDP only full coverage.
      settings.push({ feature: Feature.MinimumChecksumCoverage, end: "local", preference: [0], propose: false, mandatory: false })
      settings.push({ feature: Feature.MinimumChecksumCoverage, end: "remote", preference: [0], propose: false, mandatory: false })
    }
    if (client && ccids.length === 1) {
      // Like Linux's dccp_feat_finalise_settings: with one CCID the client
      // knows its dependencies up front and asks for them in the Request.
      settings.push(...this.dependencySettings(ccids[0]!, ccids[0]!))
    }
    return settings
  }

  /** Changes this endpoint sends at connection start regardless of role. */
  private ownProposals(): Array<FeatureSetting> {
    const out: Array<FeatureSetting> = []
    if (this.config.ecnIncapable) {
      // §12.1: an endpoint that cannot report ECN marks must say so, or the
      // peer could send ECN-capable packets whose marks would go unreported.
      // A single value, Mandatory, exactly as Linux proposes it.
      out.push({ feature: Feature.EcnIncapable, end: "local", preference: [1], propose: true, mandatory: true })
    }
    if (this.config.sequenceWindow !== 100) {
      out.push({ feature: Feature.SequenceWindow, end: "local", preference: [this.config.sequenceWindow], propose: true, mandatory: false })
    }
    if (this.config.sendNdpCount) {
      out.push({ feature: Feature.SendNdpCount, end: "local", preference: [1, 0], propose: true, mandatory: false })
    }
    if (this.config.checkDataChecksum) {
      out.push({ feature: Feature.CheckDataChecksum, end: "local", preference: [1, 0], propose: true, mandatory: false })
    }
    const min = this.config.minimumChecksumCoverage
    if (this.partialCoverage() && min > 0) {
      // Linux registers RECV_CSCOV n as the list [n..15].
      const list = Array.from({ length: 16 - min }, (_, i) => min + i)
      out.push({ feature: Feature.MinimumChecksumCoverage, end: "local", preference: list, propose: true, mandatory: false })
    }
    return out
  }

  /** Features the chosen CCIDs need: ours as HC-sender (`tx`), the peer's (`rx`). */
  private dependencySettings(tx: number, rx: number): Array<FeatureSetting> {
    const out: Array<FeatureSetting> = []
    const add = (deps: ReadonlyArray<{ feature: number; end: "local" | "remote"; value: number; mandatory: boolean }>) => {
      for (const d of deps) {
        if (out.some((s) => s.feature === d.feature && s.end === d.end)) continue
        out.push({ feature: d.feature, end: d.end, preference: [d.value], propose: true, mandatory: d.mandatory })
      }
    }
    const txFactory = this.config.ccidRegistry.get(tx)
    const rxFactory = this.config.ccidRegistry.get(rx)
    if (txFactory !== undefined) add(txFactory.senderDependencies)
    if (rxFactory !== undefined) add(rxFactory.receiverDependencies)
    return out
  }

  /**
   * After the Request's options: the server proposes what the negotiated
   * CCIDs need (Linux `dccp_feat_server_ccid_dependencies`) unless the client
   * already settled it.
   */
  private proposeServerFeatures(): void {
    const tx = this.features.value(Feature.CCID, "local")
    const rx = this.features.value(Feature.CCID, "remote")
    for (const s of this.dependencySettings(tx, rx)) {
      if (this.features.value(s.feature, s.end) !== s.preference[0] && !this.features.hasPendingChange(s.feature, s.end)) {
        this.features.propose(s.feature, s.end, s.preference, s.mandatory)
      }
    }
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

  /** The next event for the application, or `undefined`. */
  pollEvent(): ConnectionEvent | undefined {
    if (this.eventsHead >= this.events.length) return undefined
    const event = this.events[this.eventsHead++]!
    if (this.eventsHead > 64 && this.eventsHead * 2 > this.events.length) {
      this.events.splice(0, this.eventsHead)
      this.eventsHead = 0
    }
    if (event.type === "data") {
      this.undeliveredData--
      if (this.slowReceiver && this.undeliveredData <= this.config.receiveBufferPackets / 2) this.slowReceiver = false
    }
    return event
  }

  private emit(event: ConnectionEvent): void {
    this.events.push(event)
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
      handshakeRttMs: this.handshakeRtt,
      sendQueueLength: this.queue.length,
      sender: this.sender?.info(),
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
    if (event === "abort") this.finish({ kind: "aborted" })
    if (event === "give-up" && reaction.next === "CLOSED") this.finish({ kind: "timeout", phase: this.timeoutPhase() })
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

  private finish(reason: CloseReason): void {
    if (this.closedEmitted) return
    this.closedEmitted = true
    this.emit({ type: "closed", reason })
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
          this.emit({ type: "connected" })
        }
        this.armRetransmit(now, this.config.partOpen, from === "PARTOPEN")
        break
      case "OPEN":
        if (from !== "OPEN") {
          this.timers.clear("retransmit")
          if (from === "PARTOPEN") this.features.discardSentConfirms()
          if (this.role === "server") {
            this.activate(now)
            this.emit({ type: "connected" })
            // Acknowledge the handshake Ack at once so that the client leaves
            // PARTOPEN even when the server has no data to send.
            this.ackNow()
          }
          this.features.freezeCcid()
        }
        break
      case "CLOSEREQ":
      case "CLOSING":
        this.armRetransmit(now, this.closeSchedule(), from === next)
        break
      case "TIMEWAIT":
        this.finish({ kind: "closed", by: this.closeInitiator ?? "local" })
        this.tearDown()
        this.timers.set("timewait", now + this.config.timewaitMs)
        break
      case "CLOSED":
        this.finish({ kind: "closed", by: this.closeInitiator ?? "local" })
        this.tearDown()
        break
      case "LISTEN":
        break
    }
  }

  private closeSchedule(): { initialMs: number; maxMs: number; retries: number } {
    const rto = this.sender?.info()["rtoMs"]
    const initial = rto !== undefined && Number.isFinite(rto) ? Math.max(rto, 200) : this.config.close.initialMs
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
    this.ackOwed = "none"
    this.sender = undefined
    this.receiver = undefined
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
      handshakeRtt: () => this.handshakeRtt
    }
    const tx = this.config.ccidRegistry.get(this.features.value(Feature.CCID, "local"))
    const rx = this.config.ccidRegistry.get(this.features.value(Feature.CCID, "remote"))
    this.sender = tx?.sender(context, now)
    this.receiver = rx?.receiver(context, now)
    this.takeCcidRequests()
  }

  private takeCcidRequests(): void {
    if (this.sender === undefined) return
    for (const r of this.sender.takeFeatureRequests()) {
      if (this.features.value(r.feature, "local") === r.value && !this.features.hasPendingChange(r.feature, "local")) continue
      this.features.propose(r.feature, "local", [r.value], false)
    }
    if (this.features.hasPendingChanges) this.armFeatureTimer()
  }

  private armFeatureTimer(): void {
    if (!this.timers.isSet("feature")) this.timers.set("feature", this.clock + this.featureRetransmitMs())
  }

  /** How often an unconfirmed Change is retransmitted once established: the sender's RTO, else 1 s. */
  private featureRetransmitMs(): number {
    const rto = this.sender?.info()["rtoMs"]
    return rto !== undefined && Number.isFinite(rto) ? rto : 1000
  }

  // ---------------------------------------------------------------------------
  // Receiving (RFC 4340 §8.5)
  // ---------------------------------------------------------------------------

  /**
   * Processes one received DCCP packet (the bytes after the IP or UDP header).
   * `checksumVerified` tells the engine the driver already checked the DCCP
   * checksum (e.g. a listener that demultiplexed it).
   */
  handleDatagram(now: number, bytes: Uint8Array, meta?: { readonly checksumVerified?: boolean }): void {
    now = this.tick(now)
    this.stats.datagramsReceived++

    // Step 1: Check header basics. Packets that fail are ignored, never answered.
    const decoded = decodePacket(bytes)
    if (!decoded.ok) {
      this.stats.droppedHeader[decoded.error]++
      return
    }
    const p = decoded.packet
    if (meta?.checksumVerified !== true && this.config.encapsulation === "ip") {
      if (!verifyDccpChecksum(incomingPseudoHeader(this.path), p.bytes, p.coverage)) {
        this.stats.droppedChecksum++
        return
      }
    }
    // Step 2 looks the flow up; a connection only accepts its own ports.
    if (p.sourcePort !== this.path.remotePort || p.destinationPort !== this.path.localPort) {
      this.stats.droppedWrongPort++
      return
    }
    this.processDecoded(now, p)
  }

  private processDecoded(now: number, p: Packet): void {
    const reaction = RECEIVE[this.role][this.stateValue][p.type]

    // Step 2: no socket, or TIMEWAIT: Reset(No Connection) unless P is a Reset.
    // Step 3 (LISTEN) belongs to the listener.
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
        return
      case "ignore":
      case "unreachable":
      case "accept":
      case "accept-if-cookie":
        this.stats.droppedNoConnection++
        return
      default:
        break
    }

    // Short sequence numbers are accepted only when the peer may send them (§7.6.1).
    if (!p.extended && (this.gsr === undefined || this.features.value(Feature.AllowShortSeqnos, "remote") !== 1)) {
      this.stats.droppedShortSequence++
      return
    }
    const seq = p.extended ? p.seq : Seq.extendShort(this.gsr!, p.seq)
    const ack = p.ack === undefined ? undefined : p.extended ? p.ack : Seq.extendShort(this.gss, p.ack)

    if (this.stateValue === "REQUEST") {
      // Step 4: Prepare sequence numbers in REQUEST. Only Response and Reset
      // are valid (the table's other cells say packet-error), and only when
      // they acknowledge one of our Requests.
      const { awl, awh } = this.ackWindow()
      if (reaction.kind === "packet-error" || ack === undefined || !Seq.isBetween(ack, awl, awh)) {
        if (p.type !== "Reset") {
          // Reset Data 1 names the offending packet type (§5.6).
          this.control.push({ kind: "Reset", code: ResetCode.PacketError, data: [PACKET_TYPE_CODE[p.type], 0, 0], ack: seq })
        }
        this.stats.droppedUnexpected++
        return
      }
      this.isr = seq
      this.gsr = seq
      this.gar = ack
      // Steps 5 and 6 are omitted in REQUEST: step 4 validated P.ackno.
    } else {
      // Step 5: Prepare sequence numbers for Sync.
      if (p.type === "Sync" || p.type === "SyncAck") {
        const { swl } = this.sequenceWindow()
        const { awl, awh } = this.ackWindow()
        if (ack !== undefined && Seq.isBetween(ack, awl, awh) && Seq.delta(swl, seq) >= 0) {
          this.updateGsr(seq)
        } else {
          this.stats.droppedSequenceInvalid++
          return
        }
      }
      // Step 6: Check sequence numbers.
      if (!this.checkSequence(now, p.type, seq, ack)) return
    }

    // Step 7: Check for unexpected packet types.
    if (reaction.kind === "unexpected" || reaction.kind === "unexpected-if-after-osr") {
      this.stats.droppedUnexpected++
      if (reaction.kind === "unexpected" || Seq.delta(this.osr, seq) >= 0) this.queueSync(now, seq)
      return
    }
    // Step 8: Process options and mark acknowledgeable.
    const parsed = parseOptions(p.options, p.type)
    if (parsed.truncated) this.stats.optionsTruncated++
    if (parsed.failure !== undefined) return this.protocolReset(now, parsed.failure)
    const received = this.processOptions(now, p, parsed.options)
    if (received === undefined) return
    const previousHead = this.history.head
    const outcome = this.history.record(seq)
    if (outcome === "new") this.headReceivedAt = now
    const outOfOrder = outcome === "filled-hole" ||
      (outcome === "new" && previousHead !== undefined && Seq.delta(previousHead, seq) > 1)
    if (ack !== undefined) this.history.onAckReceived(ack)
    if (
      this.role === "server" && this.stateValue === "OPEN" && ack !== undefined && this.responseSeq !== undefined &&
      !Seq.isAfter(ack, this.responseSeq)
    ) {
      // The client has heard nothing from us since the Response: it is still
      // in PARTOPEN and needs a packet to open (§8.1.5).
      this.ackNow()
    }

    if (this.stateValue === "RESPOND" && p.type === "Request") {
      // The server's own Changes follow from the CCIDs the Request settled.
      this.proposeServerFeatures()
    }
    if (this.stateValue === "REQUEST" && p.type === "Response") {
      if (p.serviceCode !== this.serviceCode) {
        // §8.1.2: the Response must echo the Request's Service Code.
        return this.protocolReset(now, { resetCode: ResetCode.BadServiceCode, data: [0, 0, 0] })
      }
      this.initCookie = received.initCookie
      this.handshakeRttFromEcho(now, received)
    }
    if (this.stateValue === "RESPOND" && p.type !== "Request" && this.responseSentAt !== undefined && this.handshakeRtt === undefined) {
      this.handshakeRtt = Math.max(0, now - this.responseSentAt)
    }

    // Steps 9–16, as the table says.
    const actions = reaction.kind === "process" ? reaction.actions : []
    const next = reaction.kind === "process" ? reaction.next : this.stateValue
    // A packet older than the receive history may have been delivered already:
    // it is treated as a duplicate, never delivered twice (docs/dccp.md).
    const seen = outcome === "duplicate" || outcome === "too-old"
    for (const action of actions) this.perform(action, p, seq, received, outcome)
    if (next !== this.stateValue) this.setState(next, now, p.type)
    if (this.stateValue === "CLOSED" || this.stateValue === "TIMEWAIT") return

    // Congestion control sees every packet that got this far.
    this.feedCcids(now, p, seq, ack, received, seen, outOfOrder)
    if (this.features.hasPendingConfirms && this.stateValue !== "RESPOND" && this.stateValue !== "PARTOPEN") this.ackNow()
  }

  private sequenceWindow(): { swl: number; swh: number } {
    const w = this.features.value(Feature.SequenceWindow, "remote")
    return Seq.sequenceWindow(this.gsr ?? 0, this.isr ?? 0, w)
  }

  private ackWindow(): { awl: number; awh: number } {
    const w = this.features.value(Feature.SequenceWindow, "local")
    return Seq.ackWindow(this.gss, this.iss, w)
  }

  private updateGsr(seq: number): void {
    if (this.gsr === undefined || Seq.isAfter(seq, this.gsr)) this.gsr = seq
  }

  /** Step 6 (§7.5.3): sequence and acknowledgement validity, or a Sync. */
  private checkSequence(now: number, type: PacketType, seq: number, ack: number | undefined): boolean {
    const { swl, swh } = this.sequenceWindow()
    const { awl, awh } = this.ackWindow()
    const closing = type === "CloseReq" || type === "Close" || type === "Reset"
    const lswl = closing ? Seq.add(this.gsr ?? 0, 1) : swl
    const lawl = closing ? this.gar : awl
    if (Seq.isBetween(seq, lswl, swh) && (ack === undefined || Seq.isBetween(ack, lawl, awh))) {
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
    this.finish({ kind: "protocol-error", code: failure.resetCode })
    this.setState("CLOSED", now, "Reset")
  }

  /** Step 8: the options of one packet. Returns `undefined` after a Reset. */
  private processOptions(now: number, p: Packet, options: ReadonlyArray<ParsedOption>): ReceivedOptions | undefined {
    const received: ReceivedOptions = {
      ackVector: undefined,
      dataDropped: undefined,
      elapsedMs: undefined,
      slowReceiver: false,
      ndpCount: undefined,
      dataChecksum: undefined,
      initCookie: undefined,
      timestampEcho: undefined
    }
    for (const parsed of options) {
      const o = parsed.option
      switch (o.kind) {
        case "Change":
        case "Confirm": {
          const failure = this.features.receive(o, parsed.mandatory, parsed.value)
          if (failure !== undefined) {
            this.protocolReset(now, failure)
            return undefined
          }
          break
        }
        case "SlowReceiver":
          received.slowReceiver = true
          break
        case "InitCookie":
          // Only a Response carries a cookie for the client to echo (§8.1.4).
          if (p.type === "Response") received.initCookie = o.cookie.slice()
          break
        case "NdpCount":
          received.ndpCount = o.count
          break
        case "AckVector":
          received.ackVector = concat(received.ackVector, o.cells)
          break
        case "DataDropped":
          received.dataDropped = concat(received.dataDropped, o.blocks)
          break
        case "Timestamp":
          // Linux ignores a zero Timestamp; so do we (§13.1 leaves zero unspecified).
          if (o.value !== 0) this.timestampEcho = { value: o.value, receivedAt: now }
          break
        case "TimestampEcho":
          received.timestampEcho = { value: o.value, elapsed: o.elapsed }
          if (o.elapsed !== undefined) received.elapsedMs = Math.max(received.elapsedMs ?? 0, o.elapsed / 100)
          break
        case "ElapsedTime":
          received.elapsedMs = Math.max(received.elapsedMs ?? 0, o.elapsed / 100)
          break
        case "DataChecksum":
          received.dataChecksum = o.crc
          break
        case "Ccid": {
          // 128–191 go to the HC-receiver, 192–255 to the HC-sender (§10.3).
          const understood = o.type < 192
            ? (this.receiver?.handleOption(o.type, o.data) ?? false)
            : (this.sender?.handleOption(o.type, o.data) ?? false)
          if (!understood && parsed.mandatory) {
            this.protocolReset(now, { resetCode: ResetCode.MandatoryError, data: [o.type, o.data[0] ?? 0, o.data[1] ?? 0] })
            return undefined
          }
          break
        }
        case "Unknown":
          break
      }
    }
    return received
  }

  private handshakeRttFromEcho(now: number, received: ReceivedOptions): void {
    const echo = received.timestampEcho
    const sent = this.requestTimestamp
    if (echo !== undefined && sent !== undefined) {
      // The echo names which Request the Response answers (§13.3).
      const age = ((timestampOf(now) - echo.value) >>> 0) / 100
      const rtt = age - (echo.elapsed ?? 0) / 100
      if (rtt >= 0 && age < 600_000) this.handshakeRtt = rtt
    } else if (sent !== undefined && this.retransmissions === 0) {
      // A single Request: the Response can only answer that one.
      this.handshakeRtt = Math.max(0, now - sent.sentAt)
    }
  }

  /** Steps 9–16: one action of the receive table. */
  private perform(action: Action, p: Packet, seq: number, received: ReceivedOptions, outcome: RecordOutcome): void {
    switch (action) {
      case "enter-timewait": {
        // Step 9: a Reset tears the connection down.
        const code = p.resetCode ?? 0
        // After we sent Close, Reset(No Connection) is the peer answering a
        // retransmitted Close once it has already closed and forgotten the
        // connection (its Reset(Closed) was lost): the close completed.
        const completesOurClose = this.closeInitiator === "local" && code === ResetCode.NoConnection
        if ((code === ResetCode.Closed && this.closeInitiator !== undefined) || completesOurClose) {
          this.finish({ kind: "closed", by: this.closeInitiator! })
        } else {
          this.finish({ kind: "reset", code, data: (p.resetData ?? new Uint8Array(3)).slice() })
        }
        return
      }
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
        this.osr = seq
        return
      case "send-ack":
        this.control.push({ kind: "Ack" })
        return
      case "send-close":
        // Step 13: the server asked us to close.
        if (this.closeInitiator === undefined) this.closeInitiator = "peer"
        this.emit({ type: "peer-closing" })
        this.queue.clear()
        this.control.push({ kind: "Close" })
        return
      case "send-reset-closed":
        // Step 14.
        if (this.closeInitiator === undefined) {
          this.closeInitiator = "peer"
          this.emit({ type: "peer-closing" })
        }
        this.control.push({ kind: "Reset", code: ResetCode.Closed, data: [0, 0, 0], ack: this.gsr ?? seq })
        this.finish({ kind: "closed", by: this.closeInitiator })
        return
      case "send-syncack":
        // Step 15.
        this.control.push({ kind: "SyncAck", ack: seq })
        return
      case "deliver":
        // Step 16.
        this.deliver(p, seq, received, outcome)
        return
    }
  }

  private dropData(seq: number, dropState: number): void {
    this.history.markDropped(seq, dropState)
    this.stats.dataDropped[dropState] = (this.stats.dataDropped[dropState] ?? 0) + 1
  }

  private deliver(p: Packet, seq: number, received: ReceivedOptions, outcome: RecordOutcome): void {
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
    if (this.undeliveredData >= this.config.receiveBufferPackets) {
      this.slowReceiver = true
      return this.dropData(seq, DropState.ReceiveBuffer)
    }
    this.undeliveredData++
    if (this.undeliveredData >= (this.config.receiveBufferPackets * 3) / 4) this.slowReceiver = true
    this.stats.dataPacketsDelivered++
    this.stats.payloadBytesDelivered += p.payload.length
    this.emit({ type: "data", payload: p.payload.slice(), seq })
  }

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
    if (this.sender !== undefined) {
      const feedback: Feedback = {
        type: p.type,
        seq,
        ack,
        ackVector: received.ackVector,
        dataDropped: received.dataDropped,
        elapsedMs: received.elapsedMs,
        slowReceiver: received.slowReceiver,
        ndpCount: received.ndpCount,
        carriesData: carries
      }
      this.sender.onFeedback(now, feedback)
      this.takeCcidRequests()
    }
    if (this.receiver !== undefined) {
      const decision = this.receiver.onPacketReceived(now, {
        type: p.type,
        seq,
        carriesData: carries,
        payloadBytes: p.payload.length,
        ccval: p.ccval,
        outOfOrder
      })
      if (decision.kind === "now") this.ackNow()
      else if (decision.kind === "by") this.ackBy(decision.at)
    }
    this.syncCcidTimers()
  }

  private ackNow(): void {
    this.ackOwed = "now"
    this.timers.clear("delayedAck")
  }

  private ackBy(at: number): void {
    if (this.ackOwed === "now") return
    this.ackOwed = "later"
    this.timers.setEarliest("delayedAck", at)
  }

  private syncCcidTimers(): void {
    const deadline = this.sender?.nextTimeout()
    if (deadline === undefined) this.timers.clear("ccid")
    else this.timers.set("ccid", deadline)
    if (this.sender !== undefined && this.queue.length > 0) {
      const at = this.sender.sendTime(this.clock)
      if (Number.isFinite(at) && at > this.clock) this.timers.set("pace", at)
      else this.timers.clear("pace")
    } else {
      this.timers.clear("pace")
    }
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
        this.sender?.onTimeout(now)
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
        if (this.ackOwed === "later") this.ackOwed = "now"
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
    now = this.tick(now)
    const control = this.control.shift()
    if (control !== undefined) return this.buildControl(now, control)

    const data = this.nextData(now)
    if (data !== undefined) return data

    if (this.ackOwed === "now" && this.canAck()) return this.buildPacket(now, "Ack", {})
    this.ackOwed = this.ackOwed === "now" ? "none" : this.ackOwed
    return undefined
  }

  private canAck(): boolean {
    const s = this.stateValue
    return s === "PARTOPEN" || s === "OPEN" || s === "CLOSEREQ" || s === "CLOSING"
  }

  private nextData(now: number): Uint8Array | undefined {
    const s = this.stateValue
    if ((s !== "OPEN" && s !== "PARTOPEN") || this.sender === undefined || this.queue.length === 0) return undefined
    if (this.sender.sendTime(now) > now) {
      this.syncCcidTimers()
      return undefined
    }
    const item = this.queue.shift()!
    // PARTOPEN: every packet carries an Ack (§8.1.5). OPEN: DataAck when an
    // acknowledgement or feature option is owed, or the peer's packets have
    // not been acknowledged yet (acks of acks, RFC 4341 §6.2).
    const needsAck = s === "PARTOPEN" || this.ackOwed !== "none" || this.features.hasOutstanding ||
      this.timestampEcho !== undefined || (this.gsr !== undefined && this.lastAckedGsr !== this.gsr)
    const bytes = this.buildPacket(now, needsAck ? "DataAck" : "Data", { payload: item.payload })
    this.sender.onDataSent(now, this.gss, item.payload.length)
    this.stats.dataPacketsSent++
    this.stats.payloadBytesSent += item.payload.length
    if (this.wasFull && !this.queue.isFull) {
      this.wasFull = false
      this.emit({ type: "writable" })
    }
    if (this.pendingClose !== undefined && this.queue.length === 0) this.closeNow(this.pendingClose, now)
    this.syncCcidTimers()
    return bytes
  }

  private buildControl(now: number, c: ControlPacket): Uint8Array {
    switch (c.kind) {
      case "Request":
        return this.buildPacket(now, "Request", { serviceCode: this.serviceCode })
      case "Response": {
        this.responseSentAt = now
        const bytes = this.buildPacket(now, "Response", { serviceCode: this.serviceCode })
        this.responseSeq = this.gss
        return bytes
      }
      case "Ack":
        return this.buildPacket(now, "Ack", {})
      case "CloseReq":
        return this.buildPacket(now, "CloseReq", {})
      case "Close":
        return this.buildPacket(now, "Close", {})
      case "Sync":
        this.stats.syncsSent++
        return this.buildPacket(now, "Sync", { ack: c.ack })
      case "SyncAck":
        return this.buildPacket(now, "SyncAck", { ack: c.ack })
      case "Reset":
        this.stats.resetsSent++
        return this.buildPacket(now, "Reset", { ack: c.ack, seq: c.seq, resetCode: c.code, resetData: c.data })
    }
  }

  /** Option bytes a packet of this type and payload may carry. */
  private optionBudget(type: PacketType, payloadLength: number): number {
    const room = maxPacketBytes(this.pathMtu, this.path.family, this.config.encapsulation) - fixedHeaderLength(type, true) -
      payloadLength
    return Math.max(0, Math.min(1020 - fixedHeaderLength(type, true), room))
  }

  private buildPacket(
    now: number,
    type: PacketType,
    fields: {
      readonly payload?: Uint8Array
      readonly serviceCode?: number
      readonly ack?: number
      readonly seq?: number | undefined
      readonly resetCode?: number
      readonly resetData?: ArrayLike<number>
    }
  ): Uint8Array {
    // Every packet consumes a sequence number (§7.1), except Resets answering
    // packets of no connection, whose numbers come from the packet (§8.5 step 2).
    const seq = fields.seq ?? (this.gss = Seq.add(this.gss, 1))
    const withAck = hasAck(type)
    const ack = withAck ? (fields.ack ?? this.gsr ?? 0) : undefined
    const payload = fields.payload ?? new Uint8Array(0)
    const isData = type === "Data" || type === "DataAck"
    const writer = new OptionWriter(this.optionBudget(type, payload.length))
    if (fields.seq === undefined) this.writeOptions(now, writer, type, payload, ack)
    const cscov = isData ? this.dataCsCov() : 0
    const bytes = encodePacket(
      {
        type,
        sourcePort: this.path.localPort,
        destinationPort: this.path.remotePort,
        seq,
        ack,
        ccval: isData && this.sender !== undefined ? this.sender.ccval(now) : 0,
        cscov,
        serviceCode: fields.serviceCode,
        resetCode: fields.resetCode,
        resetData: fields.resetData,
        options: writer.finish(),
        payload
      },
      outgoingPseudoHeader(this.path)
    )
    this.stats.datagramsSent++
    if (withAck && type !== "Reset" && fields.ack === undefined) {
      this.lastAckedGsr = this.gsr
      this.ackOwed = "none"
      this.timers.clear("delayedAck")
      this.receiver?.onAckSent(now)
    }
    this.nonDataSinceData = isData ? 0 : this.nonDataSinceData + 1
    return bytes
  }

  /** CsCov for our data packets (§9.2): partial only when configured and the peer accepts it. */
  private dataCsCov(): number {
    if (!this.partialCoverage() || this.config.sendCsCov === 0) return 0
    const min = this.features.value(Feature.MinimumChecksumCoverage, "remote")
    return min === 0 ? 0 : Math.max(this.config.sendCsCov, min)
  }

  /** The options of an outgoing packet, most important first so they fit. */
  private writeOptions(now: number, w: OptionWriter, type: PacketType, payload: Uint8Array, ack: number | undefined): void {
    const isData = type === "Data" || type === "DataAck"
    const established = this.stateValue === "PARTOPEN" || this.stateValue === "OPEN" || this.stateValue === "CLOSEREQ" ||
      this.stateValue === "CLOSING"
    if (isData && this.features.value(Feature.CheckDataChecksum, "remote") === 1) w.addDataChecksum(crc32c(payload))
    if (this.features.value(Feature.SendNdpCount, "local") === 1 && this.nonDataSinceData > 0) {
      // §7.7: consecutive non-data packets sent before this one.
      w.addNdpCount(this.nonDataSinceData)
    }
    if (type === "Request") {
      this.requestTimestamp = { value: timestampOf(now), sentAt: now }
      w.addTimestamp(this.requestTimestamp.value)
    }
    if (this.timestampEcho !== undefined && type !== "Data") {
      const elapsed = Math.round((now - this.timestampEcho.receivedAt) * 100)
      if (w.addTimestampEcho(this.timestampEcho.value, elapsed)) this.timestampEcho = undefined
    }
    if (this.slowReceiver && established) w.addRaw(OptionType.SlowReceiver)
    if ((type === "Ack" || type === "DataAck") && established && this.headReceivedAt !== undefined && ack === this.history.head) {
      // §13.2: how long the acknowledged packet waited for this acknowledgement,
      // so that the sender can take delayed acks out of its RTT samples.
      const elapsed = Math.round((now - this.headReceivedAt) * 100)
      if (elapsed >= 100) w.addElapsedTime(elapsed)
    }
    if (type !== "Data" && type !== "Reset" && type !== "Sync" && type !== "SyncAck") {
      // Feature negotiation rides on every non-Data packet (§6); Confirms
      // repeat on every PARTOPEN Ack (see Features.ts).
      this.features.writeOptions(w, this.stateValue === "PARTOPEN", now, this.features.hasPendingChanges && established ? this.featureRetransmitMs() : 0)
      if (this.features.hasPendingChanges && established) this.armFeatureTimer()
    }
    if (type === "Response" && this.responseCookie !== undefined) w.addRaw(OptionType.InitCookie, this.responseCookie)
    if ((type === "Ack" || type === "DataAck") && this.stateValue === "PARTOPEN" && this.initCookie !== undefined) {
      // §8.1.4: the client echoes the Init Cookie in PARTOPEN.
      w.addRaw(OptionType.InitCookie, this.initCookie)
    }
    if (established && ack !== undefined && type !== "Reset") {
      this.sender?.writeOptions(w, type, now)
      this.receiver?.writeOptions(w, type, now)
      if (this.history.hasDrops) {
        const blocks = this.history.dataDroppedBlocks(ack, Math.min(253, w.remaining - 2))
        if (blocks !== undefined && blocks.length > 0) w.addRaw(OptionType.DataDropped, blocks)
      }
      if (this.features.value(Feature.SendAckVector, "local") === 1) {
        // §11.5: every acknowledgement carries an Ack Vector. Older cells are
        // cut when space runs out (§11.4 allows covering less).
        const room = w.remaining - 2 * Math.ceil(w.remaining / 255)
        const cells = this.history.ackVectorCells(ack, room)
        if (cells.length > 0 && w.addAckVector(cells) > 0) this.history.onAckVectorSent(Seq.add(this.gss, 0), ack)
      }
    }
  }
}
