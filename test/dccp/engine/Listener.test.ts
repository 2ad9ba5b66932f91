/**
 * The listener: service codes, per-connection engines, Init Cookies that keep
 * it stateless under a Request flood, and its Resets.
 */
import { assert, describe, it } from "@effect/vitest"
import { writeDccpChecksum } from "../../../src/dccp/engine/Checksum.ts"
import { makeConfig, type Path } from "../../../src/dccp/engine/Config.ts"
import { DccpEngine } from "../../../src/dccp/engine/Connection.ts"
import { DccpListener, type ListenerConfig, makeListenerConfig } from "../../../src/dccp/engine/Listener.ts"
import { OptionType, parseOptions } from "../../../src/dccp/engine/Options.ts"
import { decodePacket, type Packet } from "../../../src/dccp/engine/Packet.ts"
import { seededRandom } from "../../../src/dccp/engine/Random.ts"
import { CLIENT_ADDRESS, clientPath, drainEvents, fromClient, SERVER_ADDRESS, SERVER_PORT, SERVICE } from "./harness.ts"

/** Several clients (distinct ports) and one listener, hand-driven. */
class Net {
  now = 0
  readonly listener: DccpListener
  readonly clients = new Map<number, DccpEngine>()
  readonly toServer: Array<{ port: number; bytes: Uint8Array }> = []
  readonly fromServer: Array<{ port: number; packet: Packet }> = []
  dropToClients = false

  constructor(config: Partial<ListenerConfig> = {}) {
    this.listener = new DccpListener(
      makeListenerConfig({ port: SERVER_PORT, serviceCodes: [SERVICE], connection: makeConfig({ random: seededRandom(1) }), ...config })
    )
  }

  connect(port: number, serviceCode = SERVICE): DccpEngine {
    const path: Path = { ...clientPath, localPort: port }
    const client = DccpEngine.connect(this.now, { path, serviceCode, config: makeConfig({ random: seededRandom(port) }) })
    this.clients.set(port, client)
    return client
  }

  /** One round: clients send, the listener receives and answers, clients receive. */
  round(ms = 10): void {
    this.now += ms
    for (const [port, client] of this.clients) {
      if ((client.pollTimeout() ?? Infinity) <= this.now) client.handleTimeout(this.now)
      for (let b = client.pollTransmit(this.now); b !== undefined; b = client.pollTransmit(this.now)) this.toServer.push({ port, bytes: b })
    }
    for (const { bytes } of this.toServer.splice(0)) this.listener.handleDatagram(this.now, bytes, fromClient)
    if ((this.listener.pollTimeout() ?? Infinity) <= this.now) this.listener.handleTimeout(this.now)
    for (let t = this.listener.pollTransmit(this.now); t !== undefined; t = this.listener.pollTransmit(this.now)) {
      const d = decodePacket(t.bytes)
      if (!d.ok) throw new Error("listener sent garbage")
      this.fromServer.push({ port: t.path.remotePort, packet: d.packet })
      const client = this.clients.get(t.path.remotePort)
      if (client !== undefined && !this.dropToClients) client.handleDatagram(this.now, t.bytes)
    }
  }

  rounds(n: number, ms = 10): void {
    for (let i = 0; i < n; i++) this.round(ms)
  }

  accepted(): Array<DccpEngine> {
    const out: Array<DccpEngine> = []
    for (let e = this.listener.pollEvent(); e !== undefined; e = this.listener.pollEvent()) out.push(e.connection)
    return out
  }
}

const cookieOf = (p: Packet): Uint8Array | undefined => {
  const o = parseOptions(p.options, p.type).options.find((x) => x.type === OptionType.InitCookie)
  return o?.option.kind === "InitCookie" ? o.option.cookie : undefined
}

describe("Listener: accepting connections", () => {
  it("announces each connection once it is OPEN, one engine per flow", () => {
    const net = new Net()
    const a = net.connect(40001)
    const b = net.connect(40002)
    net.rounds(5)
    assert.strictEqual(a.state, "OPEN")
    assert.strictEqual(b.state, "OPEN")
    const accepted = net.accepted()
    assert.strictEqual(accepted.length, 2)
    assert.sameMembers(accepted.map((e) => e.path.remotePort), [40001, 40002])
    assert.strictEqual(net.listener.connectionCount, 2)
    // Data goes to the right engine.
    a.send(net.now, Uint8Array.of(1))
    b.send(net.now, Uint8Array.of(2))
    net.rounds(3)
    for (const e of accepted) {
      const data = drainEvents(e).flatMap((x) => (x.type === "data" ? [x.payload[0]] : []))
      assert.deepStrictEqual(data, [e.path.remotePort === 40001 ? 1 : 2])
    }
  })

  it("serves several service codes and echoes the one requested (RFC 5595)", () => {
    const net = new Net({ serviceCodes: [SERVICE, 0x4543484f] })
    net.connect(40001, 0x4543484f)
    net.round()
    const response = net.fromServer.find((x) => x.packet.type === "Response")!
    assert.strictEqual(response.packet.serviceCode, 0x4543484f)
  })

  it("a retransmitted Request for a half-open connection gets a new Response, not a new connection", () => {
    const net = new Net()
    net.connect(40001)
    net.dropToClients = true
    net.round()
    net.rounds(110, 10)
    assert.strictEqual(net.listener.connectionCount, 1)
    assert.strictEqual(net.fromServer.filter((x) => x.packet.type === "Response").length, 2)
  })

  it("a half-open connection is forgotten after respondTimeoutMs", () => {
    const net = new Net({ connection: makeConfig({ random: seededRandom(1), respondTimeoutMs: 500 }) })
    net.connect(40001)
    net.dropToClients = true
    net.round()
    assert.strictEqual(net.listener.connectionCount, 1)
    net.clients.clear()
    net.rounds(60, 10)
    assert.strictEqual(net.listener.connectionCount, 0)
  })

  it("packets for another port are not ours", () => {
    const net = new Net()
    const other = DccpEngine.connect(0, {
      path: { ...clientPath, remotePort: 9 },
      serviceCode: SERVICE,
      config: makeConfig({ random: seededRandom(2) })
    })
    net.listener.handleDatagram(0, other.pollTransmit(0)!, fromClient)
    assert.strictEqual(net.listener.stats.droppedWrongPort, 1)
    assert.isUndefined(net.listener.pollTransmit(0))
  })

  it("a closed listener refuses Requests with Reset(No Connection) and resets half-open connections", () => {
    const net = new Net()
    const half = net.connect(40001)
    net.dropToClients = true
    net.round()
    net.dropToClients = false
    net.listener.close(net.now)
    net.round()
    const late = net.connect(40002)
    net.rounds(3)
    assert.strictEqual(late.state, "TIMEWAIT")
    assert.strictEqual(net.listener.stats.resetsNoConnection, 1)
    // The half-open connection was reset with Aborted; its client, still in REQUEST, accepts that Reset.
    assert.strictEqual(half.state, "TIMEWAIT")
    const reason = drainEvents(half).find((e) => e.type === "closed")
    assert.deepStrictEqual(reason?.type === "closed" && reason.reason.kind === "reset" ? reason.reason.code : undefined, 2)
  })

  it("rejects invalid service code lists", () => {
    const make = (serviceCodes: Array<number>) => () =>
      new DccpListener(makeListenerConfig({ port: 1, serviceCodes, connection: makeConfig({ random: seededRandom(1) }) }))
    assert.throws(make([]), RangeError)
    assert.throws(make(Array.from({ length: 33 }, (_, i) => i + 1)), RangeError)
    assert.throws(make([0xffffffff]), RangeError)
    assert.doesNotThrow(make(Array.from({ length: 32 }, (_, i) => i + 1)))
  })
})

describe("Listener: Init Cookies (RFC 4340 §8.1.4)", () => {
  it("cookies: always — the Response carries a cookie, the listener keeps nothing until the Ack echoes it", () => {
    const net = new Net({ cookies: "always" })
    const client = net.connect(40001)
    net.dropToClients = true
    net.round()
    assert.strictEqual(net.listener.connectionCount, 0)
    assert.strictEqual(net.listener.stats.cookiesSent, 1)
    const response = net.fromServer.find((x) => x.packet.type === "Response")!
    assert.isDefined(cookieOf(response.packet))
    net.dropToClients = false
    // The client's retransmitted Request gets another stateless Response; then it completes.
    net.rounds(150)
    assert.strictEqual(client.state, "OPEN")
    const [server] = net.accepted()
    assert.isDefined(server)
    assert.strictEqual(net.listener.stats.cookiesAccepted, 1)
    // The client echoed the cookie on its PARTOPEN Ack.
    // Negotiation came out the same as with a stateful listener.
    const stateful = new Net()
    const c2 = stateful.connect(40001)
    stateful.rounds(5)
    assert.deepStrictEqual(server!.info().features, stateful.accepted()[0]!.info().features)
    assert.deepStrictEqual(client.info().features, c2.info().features)
    client.send(net.now, Uint8Array.of(5))
    server!.send(net.now, Uint8Array.of(6))
    net.rounds(5)
    assert.deepStrictEqual(drainEvents(server!).filter((e) => e.type === "data").length, 1)
    assert.deepStrictEqual(drainEvents(client).filter((e) => e.type === "data").length, 1)
  })

  it("under a Request flood the listener stays within maxHalfOpen and still accepts real clients", () => {
    const net = new Net({ maxHalfOpen: 4 })
    // 1000 spoofed Requests that never complete (no client engines to answer).
    for (let i = 0; i < 1000; i++) {
      const spoof = DccpEngine.connect(0, {
        path: { ...clientPath, localPort: 10_000 + i },
        serviceCode: SERVICE,
        config: makeConfig({ random: seededRandom(1000 + i) })
      })
      net.listener.handleDatagram(0, spoof.pollTransmit(0)!, fromClient)
    }
    for (let t = net.listener.pollTransmit(0); t !== undefined; t = net.listener.pollTransmit(0)) {
      // discard: the spoofed addresses never answer
    }
    assert.strictEqual(net.listener.connectionCount, 4)
    assert.strictEqual(net.listener.stats.cookiesSent, 996)
    // A real client still gets in, through a cookie.
    const real = net.connect(40001)
    net.rounds(5)
    assert.strictEqual(real.state, "OPEN")
    assert.strictEqual(net.listener.stats.cookiesAccepted, 1)
  })

  it("with cookies disabled a full listener answers Reset(Too Busy)", () => {
    const net = new Net({ maxHalfOpen: 1, cookies: "never" })
    net.dropToClients = true
    net.connect(40001)
    net.round()
    net.dropToClients = false
    const second = net.connect(40002)
    net.rounds(2)
    assert.strictEqual(second.state, "TIMEWAIT")
    assert.strictEqual(net.listener.stats.resetsTooBusy, 1)
  })

  describe("bad cookies get Reset(Bad Init Cookie)", () => {
    /** Runs a cookie handshake up to the client's Ack, returning it for tampering. */
    const handshakeAck = (lifetimeMs = 30_000) => {
      const net = new Net({ cookies: "always", cookieLifetimeMs: lifetimeMs })
      const client = net.connect(40001)
      net.round()
      assert.strictEqual(client.state, "PARTOPEN")
      const ack = client.pollTransmit(net.now)!
      return { net, ack }
    }

    it("a tampered cookie", () => {
      const { net, ack } = handshakeAck()
      const d = decodePacket(ack)
      assert.isTrue(d.ok)
      if (!d.ok) return
      const cookie = cookieOf(d.packet)!
      // `cookie` views the packet's bytes: flip one bit of its MAC-protected body,
      // then fix the checksum (an attacker's change, not the network's).
      cookie[5]! ^= 1
      net.listener.handleDatagram(net.now, resum(ack), fromClient)
      assert.strictEqual(net.listener.stats.resetsBadCookie, 1)
      assert.strictEqual(net.listener.connectionCount, 0)
    })

    it("an expired cookie", () => {
      const { net, ack } = handshakeAck(100)
      net.listener.handleDatagram(net.now + 101, ack, fromClient)
      assert.strictEqual(net.listener.stats.resetsBadCookie, 1)
    })

    it("a cookie replayed from another address", () => {
      const { net, ack } = handshakeAck()
      const elsewhere = { ...fromClient, remoteAddress: Uint8Array.of(10, 77, 0, 9) }
      // Checksums cover the addresses: recompute for the new source.
      net.listener.handleDatagram(net.now, resum(ack, elsewhere.remoteAddress), elsewhere)
      assert.strictEqual(net.listener.stats.resetsBadCookie, 1)
    })

    it("an Ack without a cookie in LISTEN gets Reset(No Connection)", () => {
      const net = new Net()
      const { ack } = handshakeAck()
      net.listener.handleDatagram(net.now, stripOptions(ack), fromClient)
      assert.strictEqual(net.listener.stats.resetsNoConnection, 1)
    })
  })
})

/** Recomputes the checksum of a packet as sent from `source` to the server. */
const resum = (bytes: Uint8Array, source: Uint8Array = CLIENT_ADDRESS): Uint8Array => {
  const copy = bytes.slice()
  writeDccpChecksum({ family: "ipv4", source, destination: SERVER_ADDRESS }, copy, copy.length)
  return copy
}

/** The same packet with its options replaced by padding. */
const stripOptions = (bytes: Uint8Array): Uint8Array => {
  const d = decodePacket(bytes)
  if (!d.ok) throw new Error("bad packet")
  const copy = bytes.slice()
  copy.fill(0, d.packet.dataOffset - d.packet.options.length, d.packet.dataOffset)
  return resum(copy)
}
