/**
 * A tiny in-test network for the DCCP engines: a client engine and a listener
 * joined by a "wire" with a fixed one-way delay and programmable loss. Time is
 * a number: the wire jumps straight to the next arrival or the next engine
 * deadline. No sleeps.
 */
import { type ConnectionConfig, makeConfig, type Path } from "../../../src/dccp/engine/Config.ts"
import { type ConnectionEvent, DccpEngine, type TransitionObserver } from "../../../src/dccp/engine/Connection.ts"
import { type Addresses, DccpListener, type ListenerConfig, makeListenerConfig } from "../../../src/dccp/engine/Listener.ts"
import { decodePacket, type PacketType } from "../../../src/dccp/engine/Packet.ts"
import { type RandomSource, seededRandom } from "../../../src/dccp/engine/Random.ts"

export const CLIENT_ADDRESS = Uint8Array.of(10, 77, 0, 1)
export const SERVER_ADDRESS = Uint8Array.of(10, 77, 0, 2)
export const CLIENT_PORT = 40000
export const SERVER_PORT = 5001
export const SERVICE = 42

export const clientPath: Path = {
  family: "ipv4",
  localAddress: CLIENT_ADDRESS,
  remoteAddress: SERVER_ADDRESS,
  localPort: CLIENT_PORT,
  remotePort: SERVER_PORT
}

/** The same flow seen from the server. */
export const serverPath: Path = {
  family: "ipv4",
  localAddress: SERVER_ADDRESS,
  remoteAddress: CLIENT_ADDRESS,
  localPort: SERVER_PORT,
  remotePort: CLIENT_PORT
}

/** How the server sees packets from the client. */
export const fromClient: Addresses = { family: "ipv4", localAddress: SERVER_ADDRESS, remoteAddress: CLIENT_ADDRESS }

export type Direction = "c2s" | "s2c"

export interface WirePacket {
  readonly at: number
  readonly direction: Direction
  readonly bytes: Uint8Array
}

/** Decides whether a packet is lost; gets its type for targeted drops. */
export type LossRule = (direction: Direction, type: PacketType | undefined, bytes: Uint8Array) => boolean

export const typeOf = (bytes: Uint8Array): PacketType | undefined => {
  const d = decodePacket(bytes)
  return d.ok ? d.packet.type : undefined
}

export interface WireOptions {
  readonly delayMs?: number
  readonly loss?: LossRule
}

/** A wire between one client engine and one listener. */
export class Wire {
  now: number
  readonly delayMs: number
  loss: LossRule
  private inFlight: Array<WirePacket> = []
  /** Every packet put on the wire, lost or not, in order. */
  readonly log: Array<{ readonly at: number; readonly direction: Direction; readonly type: PacketType | undefined; readonly lost: boolean; readonly bytes: Uint8Array }> = []
  readonly client: DccpEngine
  readonly listener: DccpListener

  constructor(client: DccpEngine, listener: DccpListener, start: number, options: WireOptions = {}) {
    this.client = client
    this.listener = listener
    this.now = start
    this.delayMs = options.delayMs ?? 10
    this.loss = options.loss ?? (() => false)
  }

  private put(direction: Direction, bytes: Uint8Array): void {
    const type = typeOf(bytes)
    const lost = this.loss(direction, type, bytes)
    this.log.push({ at: this.now, direction, type, lost, bytes })
    if (!lost) this.inFlight.push({ at: this.now + this.delayMs, direction, bytes })
  }

  /** Moves every pending transmission onto the wire. */
  flush(): void {
    for (;;) {
      let moved = false
      for (let b = this.client.pollTransmit(this.now); b !== undefined; b = this.client.pollTransmit(this.now)) {
        this.put("c2s", b)
        moved = true
      }
      for (let t = this.listener.pollTransmit(this.now); t !== undefined; t = this.listener.pollTransmit(this.now)) {
        this.put("s2c", t.bytes)
        moved = true
      }
      if (!moved) return
    }
  }

  /** The next moment something happens, or undefined when the network is idle. */
  nextEvent(): number | undefined {
    let next: number | undefined
    const consider = (t: number | undefined) => {
      if (t !== undefined && (next === undefined || t < next)) next = t
    }
    for (const p of this.inFlight) consider(p.at)
    consider(this.client.pollTimeout())
    consider(this.listener.pollTimeout())
    return next
  }

  /** One step: flush, jump to the next event, deliver and fire what is due. Returns false when idle or past `until`. */
  step(until: number): boolean {
    this.flush()
    const next = this.nextEvent()
    if (next === undefined || next > until) return false
    this.now = Math.max(this.now, next)
    const due = this.inFlight.filter((p) => p.at <= this.now)
    this.inFlight = this.inFlight.filter((p) => p.at > this.now)
    for (const p of due) {
      if (p.direction === "c2s") this.listener.handleDatagram(this.now, p.bytes, fromClient)
      else this.client.handleDatagram(this.now, p.bytes)
    }
    const c = this.client.pollTimeout()
    if (c !== undefined && c <= this.now) this.client.handleTimeout(this.now)
    const s = this.listener.pollTimeout()
    if (s !== undefined && s <= this.now) this.listener.handleTimeout(this.now)
    this.flush()
    return true
  }

  /** Runs until `predicate` holds, the network is idle, or `maxMs` of simulated time passed. */
  runUntil(predicate: () => boolean, maxMs = 600_000): boolean {
    const until = this.now + maxMs
    for (let guard = 0; guard < 5_000_000; guard++) {
      if (predicate()) return true
      if (!this.step(until)) return predicate()
    }
    throw new Error("wire did not settle")
  }

  /** Runs for `ms` of simulated time (or until idle). */
  runFor(ms: number): void {
    const until = this.now + ms
    while (this.step(until)) {
      // keep going
    }
    this.now = Math.max(this.now, until)
  }

  /** Injects raw bytes as if received from the peer. */
  inject(direction: Direction, bytes: Uint8Array): void {
    this.inFlight.push({ at: this.now, direction, bytes })
  }
}

export const drainEvents = (engine: { pollEvent(): ConnectionEvent | undefined }): Array<ConnectionEvent> => {
  const out: Array<ConnectionEvent> = []
  for (let e = engine.pollEvent(); e !== undefined; e = engine.pollEvent()) out.push(e)
  return out
}

export interface PairOptions {
  readonly seed?: number
  readonly client?: Partial<ConnectionConfig>
  readonly server?: Partial<ConnectionConfig>
  readonly listener?: Partial<ListenerConfig>
  readonly delayMs?: number
  readonly loss?: LossRule
  readonly serviceCode?: number
  readonly start?: number
  readonly clientObserver?: TransitionObserver
  readonly serverObserver?: TransitionObserver
}

export interface Pair {
  readonly wire: Wire
  readonly client: DccpEngine
  readonly listener: DccpListener
  readonly random: RandomSource
  /** The accepted server connection, once the listener announced it. */
  server: () => DccpEngine | undefined
}

/** A client engine and a listener, joined by a wire; nothing has been exchanged yet. */
export const makePair = (options: PairOptions = {}): Pair => {
  const random = seededRandom(options.seed ?? 1)
  const start = options.start ?? 1_000
  const serverConfig = makeConfig({ random, ...options.server })
  const listener = new DccpListener(
    makeListenerConfig({
      port: SERVER_PORT,
      serviceCodes: [SERVICE],
      connection: serverConfig,
      observer: options.serverObserver,
      ...options.listener
    })
  )
  const client = DccpEngine.connect(start, {
    path: clientPath,
    serviceCode: options.serviceCode ?? SERVICE,
    config: makeConfig({ random, ...options.client }),
    observer: options.clientObserver
  })
  const wire = new Wire(client, listener, start, {
    ...(options.delayMs !== undefined ? { delayMs: options.delayMs } : {}),
    ...(options.loss !== undefined ? { loss: options.loss } : {})
  })
  let accepted: DccpEngine | undefined
  return {
    wire,
    client,
    listener,
    random,
    server: () => {
      for (let e = listener.pollEvent(); e !== undefined; e = listener.pollEvent()) accepted = e.connection
      return accepted
    }
  }
}

/** Runs the handshake to OPEN on both sides. */
export const establish = (pair: Pair): DccpEngine => {
  const ok = pair.wire.runUntil(() => pair.client.state === "OPEN" && pair.server()?.state === "OPEN", 60_000)
  if (!ok) throw new Error(`handshake did not complete: client ${pair.client.state}, server ${pair.server()?.state}`)
  return pair.server()!
}
