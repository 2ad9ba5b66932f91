/**
 * The DCCP engines over effect-mio/testing's simulated network: a client engine
 * and a listener exchanging packets through `Network` links with loss,
 * duplication, reordering, jitter and corruption, in virtual time (no sockets,
 * no sleeps). Every run is a function of its seed.
 */
import { assert, describe, it } from "@effect/vitest"
import { makeConfig, type Path } from "../../src/dccp/engine/Config.ts"
import { DccpEngine } from "../../src/dccp/engine/Connection.ts"
import { DccpListener, makeListenerConfig } from "../../src/dccp/engine/Listener.ts"
import { seededRandom } from "../../src/dccp/engine/Random.ts"
import type { ConditionsInput } from "../../src/testing/Impairment.ts"
import * as Network from "../../src/testing/Network.ts"

const A = Uint8Array.of(10, 0, 0, 1)
const B = Uint8Array.of(10, 0, 0, 2)

interface Run {
  readonly net: Network.Network
  readonly client: DccpEngine
  server: DccpEngine | undefined
  readonly listener: DccpListener
  readonly clientReceived: Array<string>
  readonly serverReceived: Array<string>
  clientClosed: string | undefined
  serverClosed: string | undefined
  clientReason: unknown
  serverReason: unknown
  /** Datagrams waiting for room in each side's send queue (DCCP's backpressure). */
  readonly clientOutbox: Array<Uint8Array>
  readonly serverOutbox: Array<Uint8Array>
  connectedAt: number | undefined
  /** Lets both sides send what they have and read their events. */
  readonly pump: () => void
}

const setup = (seed: number, conditions: ConditionsInput): Run => {
  const net = Network.make({ seed, ...conditions })
  net.host("a")
  net.host("b")
  const random = seededRandom(seed)
  const config = makeConfig({ random, timewaitMs: 2_000 })
  const path: Path = { family: "ipv4", localAddress: A, remoteAddress: B, localPort: 40000, remotePort: 5001 }
  const listener = new DccpListener(makeListenerConfig({ port: 5001, serviceCodes: [42], connection: config }))
  const client = DccpEngine.connect(net.now(), { path, serviceCode: 42, config })
  const run: Run = {
    net,
    client,
    server: undefined,
    listener,
    clientReceived: [],
    serverReceived: [],
    clientClosed: undefined,
    serverClosed: undefined,
    clientReason: undefined,
    serverReason: undefined,
    clientOutbox: [],
    serverOutbox: [],
    connectedAt: undefined,
    pump: () => {}
  }
  const decoder = new TextDecoder()
  const toServer = { deliver: (p: Uint8Array) => {
    listener.handleDatagram(net.now(), p, { family: "ipv4", localAddress: B, remoteAddress: A })
    run.pump()
  } }
  const toClient = { deliver: (p: Uint8Array) => {
    client.handleDatagram(net.now(), p)
    run.pump()
  } }
  let pumping = false
  const pump = () => {
    if (pumping) return
    pumping = true
    const now = net.now()
    while (run.clientOutbox.length > 0 && client.send(now, run.clientOutbox[0]!) === "queued") run.clientOutbox.shift()
    if (run.server !== undefined) {
      while (run.serverOutbox.length > 0 && run.server.send(now, run.serverOutbox[0]!) === "queued") run.serverOutbox.shift()
    }
    for (let b = client.pollTransmit(now); b !== undefined; b = client.pollTransmit(now)) net.transmit("a", "b", b, toServer)
    for (let x = listener.pollTransmit(now); x !== undefined; x = listener.pollTransmit(now)) net.transmit("b", "a", x.bytes, toClient)
    for (let e = client.pollEvent(); e !== undefined; e = client.pollEvent()) {
      if (e.type === "connected") run.connectedAt ??= now
      if (e.type === "data") run.clientReceived.push(decoder.decode(e.payload))
      if (e.type === "closed") {
        run.clientClosed = e.reason.kind
        run.clientReason = e.reason
      }
    }
    for (let e = listener.pollEvent(); e !== undefined; e = listener.pollEvent()) run.server = e.connection
    const server = run.server
    if (server !== undefined) {
      for (let e = server.pollEvent(); e !== undefined; e = server.pollEvent()) {
        if (e.type === "data") run.serverReceived.push(decoder.decode(e.payload))
        if (e.type === "closed") {
          run.serverClosed = e.reason.kind
          run.serverReason = e.reason
        }
      }
    }
    pumping = false
  }
  ;(run as { pump: () => void }).pump = pump
  net.addDeadline(() => client.pollTimeout())
  net.addDeadline(() => listener.pollTimeout())
  return run
}

/** Drives the network until `done()` or the virtual time limit; handles engine timeouts. */
const driveUntil = (run: Run, done: () => boolean, limitMs: number): void => {
  run.pump()
  while (!done() && run.net.now() < limitMs) {
    const step = run.net.drive()
    const now = run.net.now()
    const c = run.client.pollTimeout()
    if (c !== undefined && c <= now) run.client.handleTimeout(now)
    const l = run.listener.pollTimeout()
    if (l !== undefined && l <= now) run.listener.handleTimeout(now)
    run.pump()
    if (step.reason === "idle" && run.client.pollTimeout() === undefined && run.listener.pollTimeout() === undefined) break
  }
}

describe("DCCP engines over SimNet", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: connect, exchange and close under 20 % loss, duplication, reordering and jitter`, () => {
      const run = setup(seed, { latency: 20, jitter: 5, loss: 0.2, duplicate: 0.05, reorder: 0.05, reorderDelay: 15 })
      driveUntil(run, () => run.connectedAt !== undefined && run.server !== undefined && run.server.state === "OPEN", 120_000)
      assert.isDefined(run.connectedAt, `seed ${seed}: the client connected (trace digest ${run.net.trace.digest()})`)
      assert.strictEqual(run.server?.state, "OPEN", `seed ${seed}: the server reached OPEN`)
      // Data both ways: DCCP does not retransmit data, so some is lost; none is duplicated.
      for (let i = 0; i < 50; i++) {
        run.clientOutbox.push(new TextEncoder().encode(`c${i}`))
        run.serverOutbox.push(new TextEncoder().encode(`s${i}`))
      }
      driveUntil(run, () => run.clientOutbox.length === 0 && run.serverOutbox.length === 0, run.net.now() + 60_000)
      driveUntil(run, () => false, run.net.now() + 2_000)
      for (const [got, prefix] of [[run.serverReceived, "c"], [run.clientReceived, "s"]] as const) {
        // 20 % loss each way: about 80 % of what was sent arrives.
        assert.isAbove(got.length, 28, `seed ${seed}: ${prefix}-data got through (${got.length}/50)`)
        assert.strictEqual(new Set(got).size, got.length, "no datagram delivered twice")
        assert.isTrue(got.every((d) => d.startsWith(prefix)))
      }
      // A graceful close from the client completes on both sides despite the loss.
      run.client.close(run.net.now())
      driveUntil(run, () => run.clientClosed !== undefined && run.serverClosed !== undefined, run.net.now() + 300_000)
      assert.strictEqual(run.clientClosed, "closed", `seed ${seed}: client closed gracefully: ${JSON.stringify(run.clientReason)}`)
      assert.strictEqual(run.serverClosed, "closed", `seed ${seed}: server closed gracefully: ${JSON.stringify(run.serverReason)}`)
    })
  }

  it("the same seed gives the same trace; another seed another", () => {
    const digest = (seed: number) => {
      const run = setup(seed, { latency: 10, loss: 0.2, duplicate: 0.05, reorder: 0.05 })
      driveUntil(run, () => run.server?.state === "OPEN", 60_000)
      return run.net.trace.digest()
    }
    assert.strictEqual(digest(11), digest(11))
    assert.notStrictEqual(digest(11), digest(12))
  })

  it("corrupted packets are dropped by the checksum, never delivered", () => {
    const run = setup(21, { latency: 10, corrupt: 0.2 })
    driveUntil(run, () => run.server?.state === "OPEN", 60_000)
    assert.strictEqual(run.server?.state, "OPEN")
    for (let i = 0; i < 200; i++) run.clientOutbox.push(new TextEncoder().encode(`payload-${i.toString().padStart(4, "0")}`))
    driveUntil(run, () => run.clientOutbox.length === 0, run.net.now() + 60_000)
    driveUntil(run, () => false, run.net.now() + 2_000)
    const corrupted = run.net.stats("a", "b").corrupted
    assert.isAbove(corrupted, 10, "the link corrupted packets")
    // The listener verifies checksums before handing packets to its connection.
    assert.isAbove(run.listener.stats.droppedChecksum + run.server!.stats.droppedChecksum, 0, "checksum drops were counted")
    assert.isTrue(run.serverReceived.every((d) => /^payload-\d{4}$/.test(d)), "every delivered datagram is intact")
  })
})
