/**
 * Two reliable-UDP engines over effect-mio/testing's synchronous `Network`, in
 * virtual time (no Effect, no sockets): the way quinn-proto's test `Pair`
 * drives two connections. Each side's datagrams meet the link's conditions;
 * after every input both engines are drained in the engine's order.
 */
import type { Guarantee } from "../../src/rudp/Guarantee.ts"
import { type ConfigInput, makeConfig } from "../../src/rudp/engine/Config.ts"
import { type EngineEvent, RudpEngine } from "../../src/rudp/engine/Connection.ts"
import type { ReceivedMessage } from "../../src/rudp/engine/Inbox.ts"
import type { ConditionsInput } from "../../src/testing/Impairment.ts"
import * as Network from "../../src/testing/Network.ts"
import * as Prng from "../../src/testing/Prng.ts"
import { payloadOf, type Sent } from "./workload.ts"

export interface Side {
  readonly name: "a" | "b"
  readonly engine: RudpEngine
  readonly received: Array<ReceivedMessage>
  readonly events: Array<EngineEvent>
  /** Messages refused with "blocked", sent again when `writable` comes. */
  readonly backlog: Array<{ readonly payload: Uint8Array; readonly tier: Guarantee }>
  /** Read received messages as they come (true), or leave them in the engine. */
  reading: boolean
}

export interface Pair {
  readonly net: Network.Network
  readonly a: Side
  readonly b: Side
  /** Lets both engines transmit and reads their events and messages. */
  readonly pump: () => void
  /** Drives time until `done()` holds; throws with the state when it stalls or `limitMs` passes. */
  readonly runUntil: (done: () => boolean, limitMs?: number) => void
  /** Sends through `side`, keeping refused messages in its backlog. */
  readonly send: (side: Side, payload: Uint8Array, tier: Guarantee) => void
}

export interface PairOptions {
  readonly seed: number
  readonly conditions?: ConditionsInput | undefined
  readonly a?: Partial<ConfigInput> | undefined
  readonly b?: Partial<ConfigInput> | undefined
}

export const makePair = (options: PairOptions): Pair => {
  const net = Network.make({ seed: options.seed, trace: false, ...options.conditions })
  net.host("a")
  net.host("b")
  const random = Prng.make(options.seed * 7919 + 1).next
  const make = (over: Partial<ConfigInput> | undefined) => new RudpEngine(net.now(), makeConfig({ random, ...over }))
  const side = (name: "a" | "b", engine: RudpEngine): Side => ({ name, engine, received: [], events: [], backlog: [], reading: true })
  const a = side("a", make(options.a))
  const b = side("b", make(options.b))
  const buf = new Uint8Array(65536)
  let pumping = false
  const drain = (from: Side, to: Side): boolean => {
    let any = false
    const now = net.now()
    while (from.backlog.length > 0) {
      const m = from.backlog[0]!
      const r = from.engine.send(now, m.payload, m.tier)
      if (r === "blocked") break
      from.backlog.shift()
      any = true
    }
    for (let n = from.engine.pollTransmitInto(now, buf); n > 0; n = from.engine.pollTransmitInto(now, buf)) {
      any = true
      net.transmit(from.name, to.name, buf.subarray(0, n), {
        deliver: (bytes) => {
          to.engine.handleDatagram(net.now(), bytes)
          pump()
        }
      })
    }
    for (let e = from.engine.pollEvent(); e !== undefined; e = from.engine.pollEvent()) {
      from.events.push(e)
      any = true
    }
    if (from.reading) {
      for (let m = from.engine.pollMessage(); m !== undefined; m = from.engine.pollMessage()) {
        from.received.push(m)
        any = true
      }
    }
    return any
  }
  const pump = (): void => {
    if (pumping) return
    pumping = true
    try {
      for (let i = 0; i < 1000; i++) {
        const x = drain(a, b)
        const y = drain(b, a)
        if (!x && !y) break
      }
    } finally {
      pumping = false
    }
  }
  net.addDeadline(() => a.engine.pollTimeout())
  net.addDeadline(() => b.engine.pollTimeout())
  const runUntil = (done: () => boolean, limitMs = 600_000): void => {
    pump()
    while (!done()) {
      const step = net.drive()
      if (step.reason === "idle") throw new Error(`stalled at ${net.now()} ms: a ${JSON.stringify(a.engine.info().state)} b ${JSON.stringify(b.engine.info().state)}`)
      if (net.now() > limitMs) throw new Error(`not done after ${limitMs} ms of virtual time`)
      const now = net.now()
      for (const s of [a, b]) {
        const due = s.engine.pollTimeout()
        if (due !== undefined && due <= now) {
          s.engine.handleTimeout(now)
          const next = s.engine.pollTimeout()
          // A due timer must be consumed: otherwise the driver would spin.
          if (next !== undefined && next <= now) throw new Error(`${s.name}: a timer is still due at ${now} after handleTimeout`)
        }
      }
      pump()
    }
  }
  const send = (s: Side, payload: Uint8Array, tier: Guarantee): void => {
    if (s.backlog.length > 0) return void s.backlog.push({ payload, tier })
    const r = s.engine.send(net.now(), payload, tier)
    if (r === "blocked") s.backlog.push({ payload, tier })
    else if (typeof r !== "number") throw new Error(`send refused: ${r}`)
  }
  return { net, a, b, pump, runUntil, send }
}

/** A payload naming its sequence number (4 bytes big-endian) and padded to `size`. */
export const numbered = (n: number, size = 16): Uint8Array => {
  const p = new Uint8Array(Math.max(4, size))
  new DataView(p.buffer).setUint32(0, n)
  for (let i = 4; i < p.length; i++) p[i] = (n + i) & 0xff
  return p
}

/** The sequence number of a `numbered` payload, checking its filler. */
export const numberOf = (p: Uint8Array): number => {
  const n = new DataView(p.buffer, p.byteOffset, p.length).getUint32(0)
  for (let i = 4; i < p.length; i++) if (p[i] !== ((n + i) & 0xff)) throw new Error(`payload ${n} corrupted at byte ${i}`)
  return n
}

/** Sends a workload from `a`, 8 groups every 2 ms of virtual time, each group of several messages as one set. */
export const sendPlan = (pair: Pair, plan: ReadonlyArray<ReadonlyArray<Sent>>): void => {
  plan.forEach((group, op) => {
    pair.net.schedule(Math.floor(op / 8) * 2, () => {
      const e = pair.a.engine
      if (group.length > 1) e.openSet()
      for (const m of group) {
        const r = e.send(pair.net.now(), payloadOf(m), m.tier)
        if (typeof r !== "number") throw new Error(`send refused: ${r}`)
      }
      if (group.length > 1) e.closeSet()
      pair.pump()
    })
  })
}

