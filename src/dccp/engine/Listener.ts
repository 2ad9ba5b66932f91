/**
 * The passive side of DCCP: one listening port, its service codes, and the
 * connections it accepted (RFC 4340 §8.1, step 3 of §8.5, RFC 5595).
 *
 * The listener demultiplexes packets by flow (addresses, ports and the
 * driver's `transportKey`) and passes them to the connection engines it
 * created. A Request for a service code the listener does not offer gets
 * Reset(Bad Service Code) (Linux answers the same, measured). Packets of no
 * connection get Reset(No Connection).
 *
 * Request floods: a bounded number of connections may sit in RESPOND. Past
 * that bound (or always, if so configured) the listener answers Requests
 * statelessly with an Init Cookie (§8.1.4, see `Cookie.ts`) and creates the
 * connection only when the client echoes the cookie in its Ack. Linux clients
 * do not echo Init Cookies (net/dccp parses no option 36), so cookies only
 * work with peers that implement §8.1.4, such as this engine; that is why the
 * default switches to cookies only under load.
 *
 * Like a connection, the listener is sans-IO: `handleDatagram`,
 * `handleTimeout`, then `pollTransmit` (each packet with the path to send it
 * on), `pollTimeout`, `pollEvent`.
 *
 * @since 0.1.0
 */
import { verifyDccpChecksum } from "./Checksum.ts"
import type { ConnectionConfig, Path } from "./Config.ts"
import { incomingPseudoHeader, maxPacketBytes, outgoingPseudoHeader } from "./Config.ts"
import { DccpEngine, type TransitionObserver } from "./Connection.ts"
import { MAX_COOKIE_OPTIONS, openCookie, sealCookie } from "./Cookie.ts"
import { decodePacket, decodePacketInto, emptyPacket, encodePacket, type HeaderError, PACKET_TYPE_CODE, type Packet, ResetCode } from "./Packet.ts"
import { OptionType, OptionWriter, parseOptions } from "./Options.ts"
import { randomIss } from "./Random.ts"
import * as Seq from "./Seq.ts"
import { RECEIVE } from "./State.ts"

/**
 * When to answer Requests with Init Cookies instead of keeping state.
 *
 * @since 0.1.0
 * @category models
 */
export type CookiePolicy = "never" | "when-busy" | "always"

/**
 * Listener configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListenerConfig {
  /** The DCCP port listened on. */
  readonly port: number
  /** Accepted service codes, 1 to 32 of them (Linux limit), none 0xFFFFFFFF (RFC 5595 §2). */
  readonly serviceCodes: ReadonlyArray<number>
  /** Configuration of every accepted connection. */
  readonly connection: ConnectionConfig
  readonly cookies: CookiePolicy
  /** Key of the Init Cookie MAC. */
  readonly cookieSecret: Uint8Array
  /** How long a cookie is honoured after its Response, ms. */
  readonly cookieLifetimeMs: number
  /** Connections allowed in RESPOND at once. */
  readonly maxHalfOpen: number
  /** Connections allowed in total. */
  readonly maxConnections: number
  readonly observer?: TransitionObserver | undefined
}

/**
 * A listener configuration from defaults; the cookie secret is drawn from the
 * connection's random source unless given.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeListenerConfig = (
  options: Partial<ListenerConfig> & Pick<ListenerConfig, "port" | "serviceCodes" | "connection">
): ListenerConfig => {
  const secret = options.cookieSecret ?? (() => {
    const out = new Uint8Array(32)
    for (let i = 0; i < 32; i += 4) {
      const r = options.connection.random()
      out[i] = r >>> 24
      out[i + 1] = (r >>> 16) & 0xff
      out[i + 2] = (r >>> 8) & 0xff
      out[i + 3] = r & 0xff
    }
    return out
  })()
  return {
    cookies: "when-busy",
    cookieLifetimeMs: 30_000,
    maxHalfOpen: 128,
    maxConnections: 4096,
    ...options,
    cookieSecret: secret
  }
}

/**
 * The addresses a datagram arrived with (the ports are in the DCCP header).
 *
 * @since 0.1.0
 * @category models
 */
export interface Addresses {
  readonly family: "ipv4" | "ipv6"
  readonly localAddress: Uint8Array
  readonly remoteAddress: Uint8Array
  readonly transportKey?: string | undefined
}

/**
 * A packet to send and where.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transmit {
  readonly bytes: Uint8Array
  readonly path: Path
}

/**
 * What the listener tells the application: a connection completed its
 * handshake (it is OPEN); its own events are read from the engine.
 *
 * @since 0.1.0
 * @category models
 */
export type ListenerEvent = { readonly type: "incoming"; readonly connection: DccpEngine; readonly path: Path }

/**
 * Listener counters.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListenerStats {
  datagramsReceived: number
  droppedHeader: number
  droppedChecksum: number
  droppedWrongPort: number
  requestsAccepted: number
  cookiesSent: number
  cookiesAccepted: number
  resetsNoConnection: number
  resetsBadServiceCode: number
  resetsBadCookie: number
  resetsTooBusy: number
}

const hex = (b: Uint8Array): string => {
  let s = ""
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, "0")
  return s
}

/** Whether `a` (4 or 16 bytes) equals the first `a.length` bytes of `b`. */
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const flowKey = (path: Path): string =>
  `${path.family}/${hex(path.remoteAddress)}/${path.remotePort}/${hex(path.localAddress)}/${path.transportKey ?? ""}`

const flowBytes = (path: Path): Uint8Array => new TextEncoder().encode(flowKey(path) + `/${path.localPort}`)

/**
 * Reset(No Connection) for a packet of no known flow (step 2 of RFC 4340
 * §8.5): sequence number P.ackno + 1 (0 if P has none), acknowledgement
 * P.seqno. Returns `undefined` for malformed packets, bad checksums and
 * Resets, which are never answered. For drivers that see packets for ports
 * nobody listens on.
 *
 * @since 0.1.0
 * @category constructors
 */
export const noConnectionReset = (bytes: Uint8Array, addresses: Addresses, encapsulation: "ip" | "udp"): Uint8Array | undefined => {
  const decoded = decodePacket(bytes)
  if (!decoded.ok) return undefined
  const p = decoded.packet
  const path: Path = {
    family: addresses.family,
    localAddress: addresses.localAddress,
    remoteAddress: addresses.remoteAddress,
    localPort: p.destinationPort,
    remotePort: p.sourcePort
  }
  if (encapsulation === "ip" && !verifyDccpChecksum(incomingPseudoHeader(path), p.bytes, p.coverage)) return undefined
  if (p.type === "Reset") return undefined
  return statelessReset(p, path, ResetCode.NoConnection)
}

/** A Reset outside any sequence space: numbers taken from the packet (§8.5 step 2). */
const statelessReset = (p: Packet, path: Path, code: number): Uint8Array =>
  encodePacket(
    {
      type: "Reset",
      sourcePort: path.localPort,
      destinationPort: path.remotePort,
      seq: p.ack !== undefined ? Seq.add(p.ack, 1) : 0,
      ack: p.seq,
      resetCode: code
    },
    outgoingPseudoHeader(path)
  )

interface Child {
  readonly engine: DccpEngine
  readonly path: Path
  readonly key: string
  announced: boolean
}

/**
 * A listening DCCP endpoint and the connections it accepted.
 *
 * @since 0.1.0
 * @category engine
 */
export class DccpListener {
  readonly config: ListenerConfig
  readonly stats: ListenerStats = {
    datagramsReceived: 0,
    droppedHeader: 0,
    droppedChecksum: 0,
    droppedWrongPort: 0,
    requestsAccepted: 0,
    cookiesSent: 0,
    cookiesAccepted: 0,
    resetsNoConnection: 0,
    resetsBadServiceCode: 0,
    resetsBadCookie: 0,
    resetsTooBusy: 0
  }
  /** Header failures by reason. */
  readonly headerErrors: Partial<Record<HeaderError, number>> = {}
  private readonly children = new Map<string, Child>()
  private order: Array<Child> = []
  private cursor = 0
  private readonly outgoing: Array<Transmit> = []
  private readonly events: Array<ListenerEvent> = []
  private accepting = true
  private clock = -Infinity
  /** The packet `handleDatagram` decodes into (an established connection reads it during the call only). */
  private readonly packetScratch = emptyPacket()

  /** Throws `RangeError` for an invalid service code list (a programming error, not network input). */
  constructor(config: ListenerConfig) {
    const codes = config.serviceCodes
    if (codes.length < 1 || codes.length > 32) throw new RangeError("a listener needs 1 to 32 service codes")
    for (const c of codes) {
      if (!Number.isInteger(c) || c < 0 || c >= 0xffffffff) throw new RangeError(`invalid service code ${c}`)
    }
    this.config = config
  }

  /** Connections currently tracked (any state). */
  get connectionCount(): number {
    return this.children.size
  }

  private halfOpen(): number {
    let n = 0
    for (const c of this.children.values()) if (c.engine.state === "RESPOND") n++
    return n
  }

  private tick(now: number): number {
    if (now > this.clock) this.clock = now
    return this.clock
  }

  /** Stops accepting: new Requests get Reset(No Connection); half-open connections are reset. */
  close(now: number): void {
    now = this.tick(now)
    this.accepting = false
    for (const child of this.children.values()) if (child.engine.state === "RESPOND") child.engine.abort(now)
  }

  /** Processes one received packet addressed to this listener's host. */
  handleDatagram(now: number, bytes: Uint8Array, addresses: Addresses): void {
    now = this.tick(now)
    this.lastEngine = undefined
    this.stats.datagramsReceived++
    // Step 1: Check header basics.
    const scratch = this.packetScratch
    const error = decodePacketInto(bytes, scratch)
    if (error !== undefined) {
      this.stats.droppedHeader++
      this.headerErrors[error] = (this.headerErrors[error] ?? 0) + 1
      return
    }
    let p: Packet = scratch
    if (p.destinationPort !== this.config.port) {
      this.stats.droppedWrongPort++
      return
    }
    if (
      this.config.connection.encapsulation === "ip" &&
      !verifyDccpChecksum({ family: addresses.family, source: addresses.remoteAddress, destination: addresses.localAddress }, p.bytes, p.coverage)
    ) {
      this.stats.droppedChecksum++
      return
    }
    // Step 2: Check ports and look up the flow.
    const key = this.flowKeyOf(addresses, p.sourcePort)
    const child = this.children.get(key)
    if (child !== undefined) {
      // The connection takes the packet as decoded and checked here.
      child.engine.handlePacket(now, p)
      this.lastEngine = child.engine
      this.afterChild(child)
      return
    }
    // No connection yet: what follows may keep the packet, so it gets its own record.
    p = { ...scratch }
    const path: Path = {
      family: addresses.family,
      localAddress: addresses.localAddress,
      remoteAddress: addresses.remoteAddress,
      localPort: this.config.port,
      remotePort: p.sourcePort,
      transportKey: addresses.transportKey
    }
    // Step 3: Process LISTEN state.
    const reaction = RECEIVE.server.LISTEN[p.type]
    switch (reaction.kind) {
      case "accept":
        return this.onRequest(now, p, path, key)
      case "accept-if-cookie":
        return this.onCookieAck(now, p, path, key)
      case "ignore":
        return
      default:
        return this.reply(p, path, ResetCode.NoConnection)
    }
  }

  private reply(p: Packet, path: Path, code: number): void {
    switch (code) {
      case ResetCode.NoConnection:
        this.stats.resetsNoConnection++
        break
      case ResetCode.BadServiceCode:
        this.stats.resetsBadServiceCode++
        break
      case ResetCode.BadInitCookie:
        this.stats.resetsBadCookie++
        break
      case ResetCode.TooBusy:
        this.stats.resetsTooBusy++
        break
    }
    this.outgoing.push({ bytes: statelessReset(p, path, code), path })
  }

  private onRequest(now: number, p: Packet, path: Path, key: string): void {
    if (!this.accepting) return this.reply(p, path, ResetCode.NoConnection)
    const code = p.serviceCode ?? 0
    // RFC 4340 §8.1.2, RFC 5595: the service code must be one we offer.
    if (!this.config.serviceCodes.includes(code)) return this.reply(p, path, ResetCode.BadServiceCode)
    if (this.children.size >= this.config.maxConnections) return this.reply(p, path, ResetCode.TooBusy)
    const busy = this.halfOpen() >= this.config.maxHalfOpen
    const useCookie = this.config.cookies === "always" || (busy && this.config.cookies === "when-busy")
    if (useCookie && this.respondStatelessly(now, p, path, code)) return
    if (busy) return this.reply(p, path, ResetCode.TooBusy)
    const engine = DccpEngine.respond(now, this.acceptArgs(path), p, code)
    this.stats.requestsAccepted++
    this.addChild(engine, path, key)
  }

  private acceptArgs(path: Path): { path: Path; config: ConnectionConfig; observer: TransitionObserver | undefined } {
    return { path, config: this.config.connection, observer: this.config.observer }
  }

  /** The feature options of a Request, re-encoded for a cookie, or `undefined` if too long. */
  private cookieOptions(p: Packet): Uint8Array | undefined {
    const writer = new OptionWriter(MAX_COOKIE_OPTIONS)
    for (const parsed of parseOptions(p.options, "Request").options) {
      const o = parsed.option
      if (o.kind !== "Change" && o.kind !== "Confirm") continue
      const ok = parsed.mandatory ? writer.addMandatory(parsed.type, parsed.value) : writer.addRaw(parsed.type, parsed.value)
      if (!ok) return undefined
    }
    return writer.finish()
  }

  /**
   * Answers a Request with an Init Cookie and keeps nothing (§8.1.4): a
   * throwaway engine produces exactly the Response a stateful one would.
   */
  private respondStatelessly(now: number, p: Packet, path: Path, code: number): boolean {
    const options = this.cookieOptions(p)
    if (options === undefined) return false
    const iss = randomIss(this.config.connection.random)
    const cookie = sealCookie(this.config.cookieSecret, flowBytes(path), {
      issuedAt: Math.floor(now) >>> 0,
      iss,
      isr: p.seq,
      serviceCode: code,
      requestOptions: options
    })
    if (cookie === undefined) return false
    // No observer: this engine never becomes a connection.
    const engine = DccpEngine.respond(now, { path, config: this.config.connection, observer: undefined }, p, code, { iss, cookie })
    for (let bytes = engine.pollTransmit(now); bytes !== undefined; bytes = engine.pollTransmit(now)) {
      this.outgoing.push({ bytes, path })
      // Byte 8 holds Type and X; a Request with bad options is answered with a Reset instead.
      if (((bytes[8]! >>> 1) & 0x0f) === PACKET_TYPE_CODE.Response) this.stats.cookiesSent++
    }
    return true
  }

  private onCookieAck(now: number, p: Packet, path: Path, key: string): void {
    let cookie: Uint8Array | undefined
    for (const parsed of parseOptions(p.options, p.type).options) {
      if (parsed.type === OptionType.InitCookie && parsed.option.kind === "InitCookie") cookie = parsed.option.cookie
    }
    if (cookie === undefined || !this.accepting) return this.reply(p, path, ResetCode.NoConnection)
    const contents = openCookie(this.config.cookieSecret, flowBytes(path), cookie, now, this.config.cookieLifetimeMs)
    // The Ack must acknowledge the Response the cookie came with.
    if (contents === undefined || p.ack !== contents.iss) return this.reply(p, path, ResetCode.BadInitCookie)
    if (this.children.size >= this.config.maxConnections) return this.reply(p, path, ResetCode.TooBusy)
    const engine = DccpEngine.fromCookie(now, this.acceptArgs(path), contents, contents.requestOptions, p)
    this.stats.cookiesAccepted++
    this.addChild(engine, path, key)
  }

  private addChild(engine: DccpEngine, path: Path, key: string): void {
    const child: Child = { engine, path, key, announced: false }
    this.children.set(key, child)
    this.order.push(child)
    this.afterChild(child)
  }

  private afterChild(child: Child): void {
    const s = child.engine.state
    if (!child.announced && (s === "OPEN" || s === "CLOSEREQ" || s === "CLOSING")) {
      child.announced = true
      this.events.push({ type: "incoming", connection: child.engine, path: child.path })
    }
    if (child.engine.isFinished) this.remove(child)
  }

  private remove(child: Child): void {
    if (this.children.get(child.key) === child) this.children.delete(child.key)
    const i = this.order.indexOf(child)
    if (i >= 0) {
      this.order.splice(i, 1)
      if (this.cursor > i) this.cursor--
    }
  }

  // The flow key of the last packet: a steady flow computes it once. The
  // addresses are compared by content (a driver may reuse one buffer).
  private readonly lastRemote = new Uint8Array(16)
  private readonly lastLocal = new Uint8Array(16)
  private lastFamily: "ipv4" | "ipv6" | undefined = undefined
  private lastPort = -1
  private lastTransportKey: string | undefined = undefined
  private lastKey = ""

  /** The key of the flow a packet from `sourcePort` at `addresses` belongs to (cached for the last flow). */
  private flowKeyOf(addresses: Addresses, sourcePort: number): string {
    const { remoteAddress: remote, localAddress: local } = addresses
    if (
      addresses.family === this.lastFamily && sourcePort === this.lastPort && addresses.transportKey === this.lastTransportKey &&
      sameBytes(remote, this.lastRemote) && sameBytes(local, this.lastLocal)
    ) return this.lastKey
    this.lastFamily = addresses.family
    this.lastPort = sourcePort
    this.lastTransportKey = addresses.transportKey
    this.lastRemote.set(remote.subarray(0, 16))
    this.lastLocal.set(local.subarray(0, 16))
    this.lastKey = flowKey({
      family: addresses.family,
      localAddress: local,
      remoteAddress: remote,
      localPort: this.config.port,
      remotePort: sourcePort,
      transportKey: addresses.transportKey
    })
    return this.lastKey
  }

  /** Runs the timers of every connection due at `now`. */
  handleTimeout(now: number): void {
    now = this.tick(now)
    for (const child of [...this.order]) {
      const at = child.engine.pollTimeout()
      if (at !== undefined && at <= now) {
        child.engine.handleTimeout(now)
        this.afterChild(child)
      }
    }
  }

  /** The next packet to send, from the listener itself or any connection (round robin). */
  pollTransmit(now: number): Transmit | undefined {
    now = this.tick(now)
    const own = this.outgoing.shift()
    if (own !== undefined) return own
    for (let n = 0; n < this.order.length; n++) {
      if (this.cursor >= this.order.length) this.cursor = 0
      const child = this.order[this.cursor]!
      this.cursor++
      const bytes = child.engine.pollTransmit(now)
      this.afterChild(child)
      if (bytes !== undefined) return { bytes, path: child.path }
    }
    return undefined
  }

  /**
   * The room `transmitInto` needs: the largest packet the configured path MTU
   * allows (native DCCP over IPv4 has the least header).
   */
  get maxPacketSize(): number {
    return maxPacketBytes(this.config.connection.pathMtu, "ipv4", "ip")
  }

  /**
   * The connection the last `handleDatagram` handed its packet to (`undefined`
   * when the listener handled it itself): the driver delivers its events.
   */
  lastEngine: DccpEngine | undefined = undefined

  /** The path of the packet the last `transmitInto` wrote. */
  transmitPath: Path | undefined = undefined

  /**
   * `pollTransmit` without allocating: encodes the next packet into `out` at
   * `offset` (which must have `maxPacketSize` bytes of room), returns its
   * length (0 when nothing is due) and sets `transmitPath` to its path.
   */
  transmitInto(now: number, out: Uint8Array, offset: number): number {
    now = this.tick(now)
    const own = this.outgoing.shift()
    if (own !== undefined) {
      out.set(own.bytes, offset)
      this.transmitPath = own.path
      return own.bytes.length
    }
    for (let n = 0; n < this.order.length; n++) {
      if (this.cursor >= this.order.length) this.cursor = 0
      const child = this.order[this.cursor]!
      this.cursor++
      const length = child.engine.transmitInto(now, out, offset)
      this.afterChild(child)
      if (length !== 0) {
        this.transmitPath = child.path
        return length
      }
    }
    this.transmitPath = undefined
    return 0
  }

  /** The earliest deadline of any connection. */
  pollTimeout(): number | undefined {
    let earliest: number | undefined
    for (const child of this.order) {
      const at = child.engine.pollTimeout()
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at
    }
    return earliest
  }

  pollEvent(): ListenerEvent | undefined {
    return this.events.shift()
  }
}
