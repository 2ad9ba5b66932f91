/**
 * CCID 3 over effect-mio/testing's simulated network, in virtual time: bulk
 * senders (the application refills the send queue whenever it has room)
 * through lossy 20 ms round trips, and through a bottleneck shared with a
 * CCID 2 flow. Every run is a function of its seed.
 *
 * - The steady rate is the TFRC equation's (RFC 5348 §3.1) for the loss event
 *   rate the receiver measured and the sender's RTT, within ±25 %.
 * - Smoothness: the coefficient of variation of the sending rate over 1 s
 *   windows, averaged over three seeds, is lower than CCID 2's on the same
 *   paths. (Under independent random loss the difference is small at 1–5 %:
 *   TFRC's p estimate over eight loss intervals varies from second to second
 *   too; CCID 2 collapses into timeouts at 10 %.)
 * - A CCID 3 flow and a CCID 2 flow through one drop-tail bottleneck share it
 *   within 2:1.
 */
import { assert, describe, it } from "@effect/vitest"
import { makeConfig, type Path } from "../../src/dccp/engine/Config.ts"
import { DccpEngine } from "../../src/dccp/engine/Connection.ts"
import { DccpListener, makeListenerConfig } from "../../src/dccp/engine/Listener.ts"
import { seededRandom } from "../../src/dccp/engine/Random.ts"
import { throughput } from "../../src/dccp/engine/Tfrc.ts"
import type { ConditionsInput } from "../../src/testing/Impairment.ts"
import * as Network from "../../src/testing/Network.ts"

const A = Uint8Array.of(10, 0, 0, 1)
const B = Uint8Array.of(10, 0, 0, 2)
const SIZE = 1000
/** Measurements start once slow start is long over. */
const STEADY_FROM = 5_000

interface Flow {
  readonly ccid: 2 | 3
  readonly client: DccpEngine
  server: DccpEngine | undefined
  /** When each data packet was sent and delivered. */
  readonly sent: Array<number>
  readonly delivered: Array<number>
  /** The receiver's loss events when the steady window opened. */
  lossEventsAtStart: number | undefined
  /** The sender's RTT, sampled at every step of the steady window. */
  rttSum: number
  rttSamples: number
}

/** Runs bulk flows from host a to one listener on host b for `secs` of virtual time. */
const simulate = (seed: number, secs: number, ccids: ReadonlyArray<2 | 3>, conditions: Network.NetworkOptions): Array<Flow> => {
  const net = Network.make({ seed, ...conditions })
  const random = seededRandom(seed)
  const listener = new DccpListener(makeListenerConfig({ port: 5001, serviceCodes: [42], connection: makeConfig({ random, ccids: [2, 3] }) }))
  const flows: Array<Flow> = ccids.map((ccid, i) => {
    const path: Path = { family: "ipv4", localAddress: A, remoteAddress: B, localPort: 40000 + i, remotePort: 5001 }
    const client = DccpEngine.connect(net.now(), { path, serviceCode: 42, config: makeConfig({ random, ccids: [ccid] }) })
    return { ccid, client, server: undefined, sent: [], delivered: [], lossEventsAtStart: undefined, rttSum: 0, rttSamples: 0 }
  })
  const payload = new Uint8Array(SIZE)
  const toServer = { deliver: (p: Uint8Array) => (listener.handleDatagram(net.now(), p, { family: "ipv4", localAddress: B, remoteAddress: A }), pump()) }
  const toClient = flows.map((f) => ({ deliver: (p: Uint8Array) => (f.client.handleDatagram(net.now(), p), pump()) }))
  let pumping = false
  const pump = (): void => {
    if (pumping) return
    pumping = true
    const now = net.now()
    for (const f of flows) {
      if (f.client.state === "OPEN" || f.client.state === "PARTOPEN") while (f.client.send(now, payload) === "queued") {}
      for (let b = f.client.pollTransmit(now); b !== undefined; b = f.client.pollTransmit(now)) {
        if (b.length > SIZE) f.sent.push(now)
        net.transmit("a", "b", b, toServer)
      }
      while (f.client.pollEvent() !== undefined) {}
    }
    for (let x = listener.pollTransmit(now); x !== undefined; x = listener.pollTransmit(now)) {
      net.transmit("b", "a", x.bytes, toClient[x.path.remotePort - 40000]!)
    }
    for (let e = listener.pollEvent(); e !== undefined; e = listener.pollEvent()) flows[e.path.remotePort - 40000]!.server = e.connection
    for (const f of flows) {
      if (f.server === undefined) continue
      for (let e = f.server.pollEvent(); e !== undefined; e = f.server.pollEvent()) if (e.type === "data") f.delivered.push(now)
    }
    pumping = false
  }
  for (const f of flows) net.addDeadline(() => f.client.pollTimeout())
  net.addDeadline(() => listener.pollTimeout())
  pump()
  while (net.now() < secs * 1000) {
    net.drive()
    const now = net.now()
    for (const f of flows) {
      const t = f.client.pollTimeout()
      if (t !== undefined && t <= now) f.client.handleTimeout(now)
    }
    const l = listener.pollTimeout()
    if (l !== undefined && l <= now) listener.handleTimeout(now)
    pump()
    if (now < STEADY_FROM) continue
    for (const f of flows) {
      f.lossEventsAtStart ??= receiverInfo(f)["lossEvents"] ?? 0
      const rtt = f.client.info().sender?.["srttMs"]
      if (rtt !== undefined && Number.isFinite(rtt)) {
        f.rttSum += rtt
        f.rttSamples++
      }
    }
  }
  return flows
}

/** The HC-receiver's figures at the flow's server (CCID 3: loss events, p, X_recv). */
const receiverInfo = (f: Flow): Readonly<Record<string, number>> =>
  (f.server as unknown as { congestion: { receiver?: { info(): Readonly<Record<string, number>> } } } | undefined)?.congestion.receiver?.info() ?? {}

const within = (times: ReadonlyArray<number>, from: number, to: number) => times.filter((t) => t >= from && t < to).length

/** Coefficient of variation of the packets sent per 1 s window in the steady part. */
const coefficientOfVariation = (f: Flow, secs: number): number => {
  const windows: Array<number> = []
  for (let t = STEADY_FROM; t + 1000 <= secs * 1000; t += 1000) windows.push(within(f.sent, t, t + 1000))
  const mean = windows.reduce((a, b) => a + b, 0) / windows.length
  return Math.sqrt(windows.reduce((a, b) => a + (b - mean) ** 2, 0) / windows.length) / mean
}

const SECS = 35
const lossy = (loss: number): ConditionsInput => ({ latency: 10, loss })

describe("CCID 3 over SimNet: 20 ms round trips with random loss", () => {
  for (const loss of [0.01, 0.05, 0.1]) {
    it(`${loss * 100} % loss: the steady rate follows the equation, and is smoother than CCID 2's`, () => {
      const cov3: Array<number> = [], cov2: Array<number> = []
      for (const seed of [1, 2, 3]) {
        const [flow] = simulate(seed, SECS, [3], lossy(loss))
        const f = flow!
        const packets = within(f.delivered, STEADY_FROM, SECS * 1000)
        const rate = (packets * SIZE) / ((SECS * 1000 - STEADY_FROM) / 1000)
        // The loss event rate the receiver measured over the window, and the sender's mean RTT.
        const p = ((receiverInfo(f)["lossEvents"] ?? 0) - f.lossEventsAtStart!) / packets
        const rtt = f.rttSum / f.rttSamples
        assert.approximately(rtt, 20, 1, `seed ${seed}: RTT`)
        assert.isAbove(p, 0)
        const equation = throughput(SIZE, rtt, p)
        assert.approximately(rate / equation, 1, 0.25, `seed ${seed}: ${Math.round(rate)} B/s against the equation's ${Math.round(equation)} B/s (p ${p.toFixed(4)})`)
        cov3.push(coefficientOfVariation(f, SECS))
        cov2.push(coefficientOfVariation(simulate(seed, SECS, [2], lossy(loss))[0]!, SECS))
      }
      const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
      assert.isBelow(mean(cov3), mean(cov2), `CoV CCID 3 ${cov3.map((c) => c.toFixed(3))} vs CCID 2 ${cov2.map((c) => c.toFixed(3))}`)
    })
  }
})

describe("CCID 3 over SimNet: a bottleneck shared with CCID 2", () => {
  it("a CCID 3 flow and a CCID 2 flow through one 4 Mbit/s drop-tail link share it within 2:1, and fill it", () => {
    const secs = 40
    const flows = simulate(1, secs, [3, 2], {
      latency: 10,
      links: { "a->b": { bandwidth: { bitsPerSecond: 4_000_000, queueBytes: 30_000 } } }
    })
    const [ccid3, ccid2] = flows.map((f) => within(f.delivered, 10_000, secs * 1000) / (secs - 10))
    const ratio = ccid3! / ccid2!
    assert.isAtLeast(ratio, 0.5, `CCID 3 ${ccid3} vs CCID 2 ${ccid2} packets/s`)
    assert.isAtMost(ratio, 2, `CCID 3 ${ccid3} vs CCID 2 ${ccid2} packets/s`)
    // 4 Mbit/s carries about 470 packets of 1000 B (with their headers) per second.
    assert.isAbove(ccid3! + ccid2!, 400)
  })
})
