/**
 * Hand-driven helpers for state tests: two engines wired directly (no
 * listener), packet crafting from a peer's point of view, and decoding of what
 * an engine sends.
 */
import { incomingPseudoHeader, makeConfig, type ConnectionConfig } from "../../../src/dccp/engine/Config.ts"
import { DccpEngine } from "../../../src/dccp/engine/Connection.ts"
import { decodePacket, encodePacket, hasAck, type Packet, type PacketType } from "../../../src/dccp/engine/Packet.ts"
import { type RandomSource, seededRandom } from "../../../src/dccp/engine/Random.ts"
import * as Seq from "../../../src/dccp/engine/Seq.ts"
import type { Role, State } from "../../../src/dccp/engine/State.ts"
import { clientPath, serverPath, SERVICE } from "./harness.ts"

/** A random source that returns `values` first, then a seeded sequence. */
export const scriptedRandom = (values: ReadonlyArray<number>, seed = 7): RandomSource => {
  const rest = seededRandom(seed)
  let i = 0
  return () => (i < values.length ? values[i++]! : rest())
}

/** Every packet an engine has to send now, decoded. */
export const sent = (engine: DccpEngine, now: number): Array<Packet> => {
  const out: Array<Packet> = []
  for (let b = engine.pollTransmit(now); b !== undefined; b = engine.pollTransmit(now)) {
    const d = decodePacket(b)
    if (!d.ok) throw new Error(`engine sent an undecodable packet: ${d.error}`)
    out.push(d.packet)
  }
  return out
}

/** Bytes an engine has to send now. */
export const sentBytes = (engine: DccpEngine, now: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let b = engine.pollTransmit(now); b !== undefined; b = engine.pollTransmit(now)) out.push(b)
  return out
}

/** Moves everything `from` sends to `to`, except packets `drop` rejects; returns what was sent. */
export const shuttle = (
  from: DccpEngine,
  to: DccpEngine,
  now: number,
  drop: (type: PacketType) => boolean = () => false
): Array<PacketType> => {
  const types: Array<PacketType> = []
  for (const b of sentBytes(from, now)) {
    const d = decodePacket(b)
    const type = d.ok ? d.packet.type : "Data"
    types.push(type)
    if (!drop(type)) to.handleDatagram(now, b)
  }
  return types
}

export interface Craft {
  readonly seq?: number
  readonly ack?: number
  readonly serviceCode?: number
  readonly resetCode?: number
  readonly payload?: Uint8Array
  readonly options?: Uint8Array
  readonly cscov?: number
  readonly short?: boolean
}

/**
 * A packet of `type` as `engine`'s peer would send it next: sequence number
 * GSR + 1 and acknowledgement GSS, unless overridden; checksummed for
 * `engine`'s path.
 */
export const craft = (engine: DccpEngine, type: PacketType, c: Craft = {}): Uint8Array => {
  const info = engine.info()
  const seq = c.seq ?? (info.gsr !== undefined ? Seq.add(info.gsr, 1) : 5_000)
  const ack = hasAck(type) ? (c.ack ?? info.gss) : undefined
  return encodePacket(
    {
      type,
      sourcePort: engine.path.remotePort,
      destinationPort: engine.path.localPort,
      seq,
      ack,
      serviceCode: c.serviceCode ?? (type === "Request" || type === "Response" ? engine.serviceCode : undefined),
      resetCode: c.resetCode ?? (type === "Reset" ? 2 : undefined),
      payload: c.payload ?? (type === "Data" || type === "DataAck" ? Uint8Array.of(1, 2, 3) : undefined),
      options: c.options,
      cscov: c.cscov,
      short: c.short
    },
    incomingPseudoHeader(engine.path)
  )
}

export interface Duo {
  readonly client: DccpEngine
  readonly server: DccpEngine
  now: number
}

/** A client engine and a server engine created from its first Request; nothing else exchanged. */
export const duo = (options: { client?: Partial<ConnectionConfig>; server?: Partial<ConnectionConfig>; seed?: number } = {}): Duo => {
  const now = 1_000
  const client = DccpEngine.connect(now, {
    path: clientPath,
    serviceCode: SERVICE,
    config: makeConfig({ random: seededRandom(options.seed ?? 11), ...options.client })
  })
  const request = sentBytes(client, now)[0]!
  const d = decodePacket(request)
  if (!d.ok) throw new Error("bad request")
  const server = DccpEngine.respond(
    now,
    { path: serverPath, config: makeConfig({ random: seededRandom((options.seed ?? 11) + 1), ...options.server }) },
    d.packet,
    SERVICE
  )
  return { client, server, now }
}

/** Runs the handshake of a duo to OPEN on both sides, returning the next `now`. */
export const open = (d: Duo): Duo => {
  for (let i = 0; i < 6; i++) {
    d.now += 5
    shuttle(d.server, d.client, d.now)
    shuttle(d.client, d.server, d.now)
  }
  if (d.client.state !== "OPEN" || d.server.state !== "OPEN") {
    throw new Error(`not open: ${d.client.state}/${d.server.state}`)
  }
  return d
}

export interface Fixture {
  readonly engine: DccpEngine
  readonly now: number
}

/** Brings an engine into a state through a real exchange and drains its output. */
export const fixtures: Record<Role, Partial<Record<State, () => Fixture>>> = {
  client: {
    CLOSED: () => {
      const d = duo()
      d.client.abort(d.now)
      sent(d.client, d.now)
      return { engine: d.client, now: d.now + 1 }
    },
    REQUEST: () => {
      const d = duo()
      return { engine: d.client, now: d.now + 1 }
    },
    PARTOPEN: () => {
      const d = duo()
      d.now += 5
      shuttle(d.server, d.client, d.now)
      sent(d.client, d.now)
      return { engine: d.client, now: d.now + 1 }
    },
    OPEN: () => {
      const d = open(duo())
      sent(d.client, d.now)
      return { engine: d.client, now: d.now + 1 }
    },
    CLOSING: () => {
      const d = open(duo())
      d.client.close(d.now)
      sent(d.client, d.now)
      return { engine: d.client, now: d.now + 1 }
    },
    TIMEWAIT: () => {
      const d = open(duo())
      d.client.close(d.now)
      shuttle(d.client, d.server, d.now)
      shuttle(d.server, d.client, d.now)
      sent(d.client, d.now)
      return { engine: d.client, now: d.now + 1 }
    }
  },
  server: {
    RESPOND: () => {
      const d = duo()
      sent(d.server, d.now)
      return { engine: d.server, now: d.now + 1 }
    },
    OPEN: () => {
      const d = open(duo())
      sent(d.server, d.now)
      return { engine: d.server, now: d.now + 1 }
    },
    CLOSEREQ: () => {
      const d = open(duo())
      d.server.close(d.now)
      sent(d.server, d.now)
      return { engine: d.server, now: d.now + 1 }
    },
    CLOSING: () => {
      const d = open(duo({ server: { serverTimewait: true } }))
      d.server.close(d.now)
      sent(d.server, d.now)
      return { engine: d.server, now: d.now + 1 }
    },
    TIMEWAIT: () => {
      const d = open(duo({ server: { serverTimewait: true } }))
      d.server.close(d.now)
      shuttle(d.server, d.client, d.now)
      shuttle(d.client, d.server, d.now)
      sent(d.server, d.now)
      return { engine: d.server, now: d.now + 1 }
    },
    CLOSED: () => {
      const d = open(duo())
      d.client.close(d.now)
      shuttle(d.client, d.server, d.now)
      sent(d.server, d.now)
      return { engine: d.server, now: d.now + 1 }
    }
  }
}

