/**
 * Two engines back to back over the test wire: handshake, data both ways,
 * graceful and abortive termination, Resets, TIMEWAIT, retransmission of
 * handshake and termination packets under loss, and Sync recovery.
 */
import { assert, describe, it } from "@effect/vitest"
import { makeConfig, type Path } from "../../../src/dccp/engine/Config.ts"
import { type ConnectionEvent, DccpEngine } from "../../../src/dccp/engine/Connection.ts"
import { noConnectionReset } from "../../../src/dccp/engine/Listener.ts"
import { parseOptions } from "../../../src/dccp/engine/Options.ts"
import { decodePacket, type PacketType } from "../../../src/dccp/engine/Packet.ts"
import { seededRandom } from "../../../src/dccp/engine/Random.ts"
import * as Seq from "../../../src/dccp/engine/Seq.ts"
import type { State } from "../../../src/dccp/engine/State.ts"
import { CLIENT_ADDRESS, clientPath, drainEvents, establish, makePair, SERVER_ADDRESS, SERVICE, Wire } from "./harness.ts"

const types = (log: ReadonlyArray<{ type: PacketType | undefined; direction: string; lost: boolean }>) =>
  log.map((l) => `${l.direction}:${l.type}${l.lost ? "(lost)" : ""}`)

const closedReason = (events: ReadonlyArray<ConnectionEvent>) => {
  const c = events.find((e) => e.type === "closed")
  return c?.type === "closed" ? c.reason : undefined
}

const payloads = (events: ReadonlyArray<ConnectionEvent>) =>
  events.flatMap((e) => (e.type === "data" ? [Array.from(e.payload)] : []))

describe("Lifecycle: handshake (RFC 4340 §8.1)", () => {
  it("Request, Response, Ack — then the server's Ack takes the client from PARTOPEN to OPEN", () => {
    const transitions: Array<string> = []
    const pair = makePair({
      clientObserver: (from, to) => transitions.push(`client ${from}->${to}`),
      serverObserver: (from, to) => transitions.push(`server ${from}->${to}`)
    })
    const server = establish(pair)
    assert.deepStrictEqual(types(pair.wire.log), ["c2s:Request", "s2c:Response", "c2s:Ack", "s2c:Ack"])
    assert.deepStrictEqual(transitions, [
      "client CLOSED->REQUEST",
      "server CLOSED->RESPOND",
      "client REQUEST->PARTOPEN",
      "server RESPOND->OPEN",
      "client PARTOPEN->OPEN"
    ])
    assert.deepStrictEqual(drainEvents(pair.client), [{ type: "connected" }])
    assert.deepStrictEqual(drainEvents(server), [{ type: "connected" }])
    // Both half-connections run CCID 2 with Ack Vectors (RFC 4341 §4).
    for (const e of [pair.client, server]) {
      const f = e.info().features
      assert.deepStrictEqual(f["CCID"], { local: 2, remote: 2 })
      assert.deepStrictEqual(f["SendAckVector"], { local: 1, remote: 1 })
      assert.strictEqual(e.info().handshakeRttMs, 20)
    }
    // The client's view matches the server's.
    assert.strictEqual(pair.client.info().isr, server.info().iss)
    assert.strictEqual(server.info().isr, pair.client.info().iss)
  })

  it("what each handshake packet carries, as Linux expects it", () => {
    const pair = makePair()
    establish(pair)
    const decoded = pair.wire.log.map((l) => {
      const d = decodePacket(l.bytes)
      if (!d.ok) throw new Error("undecodable")
      return { p: d.packet, opts: parseOptions(d.packet.options, d.packet.type).options }
    })
    const [request, response, ack] = decoded
    // Request: Service Code, a Timestamp and our Changes; never X=0.
    assert.strictEqual(request!.p.serviceCode, SERVICE)
    assert.isTrue(request!.p.extended)
    assert.isTrue(request!.opts.some((o) => o.option.kind === "Timestamp"))
    const changes = request!.opts.filter((o) => o.option.kind === "Change")
    assert.isAbove(changes.length, 0)
    // Response: echoes the Service Code and the Timestamp, confirms every Change.
    assert.strictEqual(response!.p.serviceCode, SERVICE)
    assert.strictEqual(response!.p.ack, request!.p.seq)
    assert.isTrue(response!.opts.some((o) => o.option.kind === "TimestampEcho"))
    const confirms = response!.opts.filter((o) => o.option.kind === "Confirm")
    assert.strictEqual(confirms.length, changes.length)
    // Ack: acknowledges the Response and confirms the server's Changes.
    assert.strictEqual(ack!.p.ack, response!.p.seq)
    const serverChanges = response!.opts.filter((o) => o.option.kind === "Change").length
    assert.strictEqual(ack!.opts.filter((o) => o.option.kind === "Confirm").length, serverChanges)
    // Every packet's options are padded to 32 bits.
    for (const { p } of decoded) assert.strictEqual(p.dataOffset % 4, 0)
  })

  it("a lost Request is retransmitted with backoff and a new sequence number (§8.1.1)", () => {
    let dropped = 0
    const pair = makePair({
      loss: (dir, type) => dir === "c2s" && type === "Request" && dropped++ < 2
    })
    establish(pair)
    const requests = pair.wire.log.filter((l) => l.type === "Request")
    assert.strictEqual(requests.length, 3)
    assert.deepStrictEqual(requests.map((r) => r.at - 1_000), [0, 1_000, 3_000])
    const seqs = requests.map((r) => (decodePacket(r.bytes) as { ok: true; packet: { seq: number } }).packet.seq)
    assert.strictEqual(Seq.delta(seqs[0]!, seqs[1]!), 1)
    assert.strictEqual(Seq.delta(seqs[1]!, seqs[2]!), 1)
    // The Response acknowledges the Request that got through.
    const response = pair.wire.log.find((l) => l.type === "Response")!
    const r = decodePacket(response.bytes)
    assert.isTrue(r.ok && r.packet.ack === seqs[2])
  })

  it("a client gives up after the configured Request retransmissions", () => {
    const pair = makePair({ loss: (dir) => dir === "c2s", client: { request: { initialMs: 1_000, maxMs: 64_000, retries: 3 } } })
    pair.wire.runUntil(() => pair.client.state === "CLOSED")
    assert.strictEqual(pair.wire.log.filter((l) => l.type === "Request").length, 4)
    assert.deepStrictEqual(closedReason(drainEvents(pair.client)), { kind: "timeout", phase: "request" })
    // 1 + 2 + 4 + 8 seconds of backoff.
    assert.strictEqual(pair.wire.now, 1_000 + 15_000)
    assert.isTrue(pair.client.isFinished)
  })

  it("a lost Response: the retransmitted Request gets a new Response", () => {
    let dropped = false
    const pair = makePair({
      loss: (dir, type) => {
        if (dir === "s2c" && type === "Response" && !dropped) return (dropped = true)
        return false
      }
    })
    establish(pair)
    assert.deepStrictEqual(types(pair.wire.log).slice(0, 4), ["c2s:Request", "s2c:Response(lost)", "c2s:Request", "s2c:Response"])
  })

  it("a lost handshake Ack: the client repeats its Ack and the server answers from OPEN (§8.1.5)", () => {
    let dropped = 0
    const pair = makePair({ loss: (dir, type) => type === "Ack" && dir === "s2c" && dropped++ < 1 })
    establish(pair)
    const log = types(pair.wire.log)
    assert.deepStrictEqual(log.slice(0, 6), ["c2s:Request", "s2c:Response", "c2s:Ack", "s2c:Ack(lost)", "c2s:Ack", "s2c:Ack"])
    // The repeated Ack went out on the PARTOPEN timer (200 ms).
    assert.strictEqual(pair.wire.log[4]!.at - pair.wire.log[2]!.at, 200)
  })

  it("in PARTOPEN the client sends data as DataAck, never Data", () => {
    const pair = makePair({ loss: (dir, type) => dir === "s2c" && type === "Ack" })
    pair.wire.runUntil(() => pair.client.state === "PARTOPEN")
    pair.client.send(pair.wire.now, Uint8Array.of(7))
    pair.wire.runFor(30)
    const data = pair.wire.log.filter((l) => l.type === "Data" || l.type === "DataAck")
    assert.deepStrictEqual(data.map((l) => l.type), ["DataAck"])
    // The server opened on it and delivered the datagram.
    const server = pair.server()!
    assert.strictEqual(server.state, "OPEN")
    assert.deepStrictEqual(payloads(drainEvents(server)), [[7]])
  })

  it("data queued during REQUEST goes out once the connection can carry it", () => {
    const pair = makePair()
    assert.strictEqual(pair.client.send(1_000, Uint8Array.of(1, 2)), "queued")
    const server = establish(pair)
    pair.wire.runFor(100)
    assert.deepStrictEqual(payloads(drainEvents(server)), [[1, 2]])
  })
})

describe("Lifecycle: data both ways", () => {
  it("every datagram arrives once, in order, when nothing is lost", () => {
    const pair = makePair()
    const server = establish(pair)
    const sentByClient: Array<Array<number>> = []
    const sentByServer: Array<Array<number>> = []
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 5; i++) {
        const c = [round, i, 1]
        const s = [round, i, 2, 2]
        if (pair.client.send(pair.wire.now, Uint8Array.from(c)) === "queued") sentByClient.push(c)
        if (server.send(pair.wire.now, Uint8Array.from(s)) === "queued") sentByServer.push(s)
      }
      pair.wire.runFor(30)
    }
    pair.wire.runFor(1_000)
    assert.deepStrictEqual(payloads(drainEvents(server)), sentByClient)
    assert.deepStrictEqual(payloads(drainEvents(pair.client)), sentByServer)
    assert.isAbove(sentByClient.length, 100)
    assert.strictEqual(pair.client.stats.droppedSequenceInvalid + server.stats.droppedSequenceInvalid, 0)
    assert.strictEqual(pair.client.stats.syncsSent + server.stats.syncsSent, 0)
  })

  it("a datagram of MPS bytes fits; one byte more is refused (§14)", () => {
    const pair = makePair()
    establish(pair)
    const mps = pair.client.mps
    assert.strictEqual(mps, 1500 - 20 - 24 - 40)
    assert.strictEqual(pair.client.send(pair.wire.now, new Uint8Array(mps + 1)), "too-large")
    assert.strictEqual(pair.client.send(pair.wire.now, new Uint8Array(mps)), "queued")
    pair.wire.runFor(50)
    const big = pair.wire.log.find((l) => l.type === "DataAck" || l.type === "Data")!
    assert.isAtMost(big.bytes.length + 20, 1500)
    pair.client.setPathMtu(1280)
    assert.strictEqual(pair.client.mps, 1280 - 20 - 24 - 40)
  })
})

describe("Lifecycle: termination (RFC 4340 §8.3)", () => {
  it("client close: Close, Reset(Closed); the client holds TIMEWAIT for timewaitMs", () => {
    const pair = makePair({ client: { timewaitMs: 5_000 } })
    const server = establish(pair)
    drainEvents(pair.client)
    drainEvents(server)
    pair.client.close(pair.wire.now)
    pair.wire.runUntil(() => pair.client.state === "TIMEWAIT")
    const closedAt = pair.wire.now
    assert.strictEqual(server.state, "CLOSED")
    const tail = pair.wire.log.slice(-2)
    assert.deepStrictEqual(tail.map((l) => l.type), ["Close", "Reset"])
    const reset = decodePacket(tail[1]!.bytes)
    assert.isTrue(reset.ok && reset.packet.resetCode === 1)
    assert.deepStrictEqual(closedReason(drainEvents(pair.client)), { kind: "closed", by: "local" })
    const serverEvents = drainEvents(server)
    assert.deepStrictEqual(serverEvents.map((e) => e.type), ["peer-closing", "closed"])
    assert.deepStrictEqual(closedReason(serverEvents), { kind: "closed", by: "peer" })
    // TIMEWAIT answers stray packets with Reset(No Connection) and expires on time.
    assert.strictEqual(pair.client.pollTimeout(), closedAt + 5_000)
    pair.wire.runUntil(() => pair.client.state === "CLOSED")
    assert.strictEqual(pair.wire.now, closedAt + 5_000)
    assert.isTrue(pair.client.isFinished)
    assert.strictEqual(pair.client.pollTimeout(), undefined)
  })

  it("server close: CloseReq, Close, Reset(Closed); the client holds TIMEWAIT (Linux default)", () => {
    const pair = makePair()
    const server = establish(pair)
    server.close(pair.wire.now)
    pair.wire.runUntil(() => server.state === "CLOSED" && pair.client.state === "TIMEWAIT")
    assert.deepStrictEqual(pair.wire.log.slice(-3).map((l) => `${l.direction}:${l.type}`), ["s2c:CloseReq", "c2s:Close", "s2c:Reset"])
    const clientEvents = drainEvents(pair.client)
    assert.deepStrictEqual(clientEvents.filter((e) => e.type !== "connected").map((e) => e.type), ["peer-closing", "closed"])
    assert.deepStrictEqual(closedReason(clientEvents), { kind: "closed", by: "peer" })
    assert.deepStrictEqual(closedReason(drainEvents(server)), { kind: "closed", by: "local" })
  })

  it("server close with serverTimewait: the server sends Close and holds TIMEWAIT itself", () => {
    const pair = makePair({ server: { serverTimewait: true } })
    const server = establish(pair)
    server.close(pair.wire.now)
    pair.wire.runUntil(() => server.state === "TIMEWAIT")
    assert.strictEqual(pair.client.state, "CLOSED")
    assert.deepStrictEqual(pair.wire.log.slice(-2).map((l) => `${l.direction}:${l.type}`), ["s2c:Close", "c2s:Reset"])
  })

  it("simultaneous close: each side answers the other's Close with Reset(Closed)", () => {
    const pair = makePair({ server: { serverTimewait: true } })
    const server = establish(pair)
    pair.client.close(pair.wire.now)
    server.close(pair.wire.now)
    pair.wire.runFor(100)
    assert.deepStrictEqual([pair.client.state, server.state], ["CLOSED", "CLOSED"])
    assert.strictEqual(pair.wire.log.filter((l) => l.type === "Reset").length, 2)
  })

  it("a lost Close is retransmitted with backoff until answered", () => {
    let dropped = 0
    const pair = makePair()
    const server = establish(pair)
    pair.wire.loss = (dir, type) => dir === "c2s" && type === "Close" && dropped++ < 2
    pair.client.close(pair.wire.now)
    pair.wire.runUntil(() => pair.client.state === "TIMEWAIT")
    const closes = pair.wire.log.filter((l) => l.type === "Close")
    assert.strictEqual(closes.length, 3)
    assert.strictEqual(server.state, "CLOSED")
    // Backoff starts at the CCID's RTO (200 ms floor here) and doubles.
    assert.strictEqual(closes[1]!.at - closes[0]!.at, 200)
    assert.strictEqual(closes[2]!.at - closes[1]!.at, 400)
  })

  it("queued data drains before the Close (linger)", () => {
    const pair = makePair()
    const server = establish(pair)
    for (let i = 0; i < 5; i++) pair.client.send(pair.wire.now, Uint8Array.of(i))
    pair.client.close(pair.wire.now)
    assert.strictEqual(pair.client.send(pair.wire.now, Uint8Array.of(99)), "closed")
    pair.wire.runUntil(() => server.state === "CLOSED")
    assert.deepStrictEqual(payloads(drainEvents(server)), [[0], [1], [2], [3], [4]])
    const closeIndex = pair.wire.log.findIndex((l) => l.type === "Close")
    assert.isTrue(pair.wire.log.slice(closeIndex).every((l) => l.type !== "Data" && l.type !== "DataAck"))
  })

  it("abort sends Reset(Aborted); the peer ends in TIMEWAIT with that code", () => {
    const pair = makePair()
    const server = establish(pair)
    drainEvents(server)
    pair.client.abort(pair.wire.now)
    pair.wire.runFor(50)
    assert.strictEqual(pair.client.state, "CLOSED")
    assert.strictEqual(server.state, "TIMEWAIT")
    assert.deepStrictEqual(closedReason(drainEvents(pair.client)), { kind: "aborted" })
    const reason = closedReason(drainEvents(server))
    assert.strictEqual(reason?.kind, "reset")
    assert.strictEqual(reason?.kind === "reset" ? reason.code : -1, 2)
  })
})

describe("Lifecycle: Resets during connection setup", () => {
  it("Bad Service Code: the listener refuses with Reset(8); the client ends with that code", () => {
    const pair = makePair({ serviceCode: 7 })
    pair.wire.runUntil(() => pair.client.state === "TIMEWAIT")
    assert.deepStrictEqual(types(pair.wire.log), ["c2s:Request", "s2c:Reset"])
    const reset = decodePacket(pair.wire.log[1]!.bytes)
    const request = decodePacket(pair.wire.log[0]!.bytes)
    assert.isTrue(reset.ok && request.ok)
    if (reset.ok && request.ok) {
      // Like Linux: sequence number 0, acknowledging the Request.
      assert.strictEqual(reset.packet.resetCode, 8)
      assert.strictEqual(reset.packet.seq, 0)
      assert.strictEqual(reset.packet.ack, request.packet.seq)
    }
    const reason = closedReason(drainEvents(pair.client))
    assert.deepStrictEqual(reason?.kind === "reset" ? reason.code : undefined, 8)
    assert.strictEqual(pair.listener.stats.resetsBadServiceCode, 1)
    assert.strictEqual(pair.listener.connectionCount, 0)
  })

  it("No Connection: a Request to a port nobody listens on is answered with Reset(3)", () => {
    const path: Path = { ...clientPath, remotePort: 9_999 }
    const client = DccpEngine.connect(0, { path, serviceCode: SERVICE, config: makeConfig({ random: seededRandom(3) }) })
    const request = client.pollTransmit(0)!
    const reset = noConnectionReset(request, { family: "ipv4", localAddress: SERVER_ADDRESS, remoteAddress: CLIENT_ADDRESS }, "ip")!
    client.handleDatagram(5, reset)
    assert.strictEqual(client.state, "TIMEWAIT")
    const reason = closedReason(drainEvents(client))
    assert.deepStrictEqual(reason?.kind === "reset" ? reason.code : undefined, 3)
    // A Reset is never answered, not even for an unknown flow.
    assert.isUndefined(noConnectionReset(reset, { family: "ipv4", localAddress: CLIENT_ADDRESS, remoteAddress: SERVER_ADDRESS }, "ip"))
  })

  it("a Response echoing a different Service Code is refused with Reset(Bad Service Code)", () => {
    const client = DccpEngine.connect(0, { path: clientPath, serviceCode: SERVICE, config: makeConfig({ random: seededRandom(3) }) })
    const request = decodePacket(client.pollTransmit(0)!)
    assert.isTrue(request.ok)
    if (!request.ok) return
    const serverSide = DccpEngine.respond(0, {
      path: { ...clientPath, localAddress: SERVER_ADDRESS, remoteAddress: CLIENT_ADDRESS, localPort: clientPath.remotePort, remotePort: clientPath.localPort },
      config: makeConfig({ random: seededRandom(4) })
    }, request.packet, 43)
    client.handleDatagram(1, serverSide.pollTransmit(1)!)
    assert.strictEqual(client.state, "CLOSED")
    const reset = decodePacket(client.pollTransmit(1)!)
    assert.isTrue(reset.ok && reset.packet.type === "Reset" && reset.packet.resetCode === 8)
  })
})

describe("Lifecycle: resynchronisation with Sync/SyncAck (§7.5.4)", () => {
  it("after more client packets were lost than the server's window allows, Sync/SyncAck recovers", () => {
    const transitions: Array<State> = []
    const pair = makePair({ client: { sequenceWindow: 32 }, clientObserver: (_f, to) => transitions.push(to) })
    const server = establish(pair)
    assert.strictEqual(server.info().features["SequenceWindow"]!.remote, 32)
    // The server streams data; every client packet is lost for a while.
    let blackout = true
    pair.wire.loss = (dir) => blackout && dir === "c2s"
    const clientGssBefore = pair.client.info().gss
    let next = 0
    pair.wire.runUntil(() => {
      while (server.send(pair.wire.now, Uint8Array.of(next & 0xff)) === "queued") next++
      return Seq.delta(clientGssBefore, pair.client.info().gss) > 40
    }, 10_000_000)
    const lostRun = Seq.delta(clientGssBefore, pair.client.info().gss)
    // 3W/4 = 24 packets past GSR is the edge of the server's window.
    assert.isAbove(lostRun, 24)
    blackout = false
    const syncsBefore = server.stats.syncsSent
    pair.wire.runUntil(() => server.stats.syncsSent > syncsBefore, 1_000_000)
    pair.wire.runFor(5_000)
    const log = types(pair.wire.log)
    assert.include(log, "s2c:Sync")
    assert.include(log, "c2s:SyncAck")
    // Afterwards the client's packets are accepted again and data flows both ways.
    const invalidBefore = server.stats.droppedSequenceInvalid
    drainEvents(server)
    pair.client.send(pair.wire.now, Uint8Array.of(42))
    pair.wire.runFor(2_000)
    assert.deepStrictEqual(payloads(drainEvents(server)), [[42]])
    assert.strictEqual(server.stats.droppedSequenceInvalid, invalidBefore)
    assert.strictEqual(server.state, "OPEN")
    assert.strictEqual(pair.client.state, "OPEN")
    assert.notInclude(transitions, "CLOSED")
  })
})

describe("Lifecycle: 48-bit sequence numbers wrap without a hitch", () => {
  it("a connection whose ISS is 2^48 − 5 exchanges data across the wrap", () => {
    // randomIss = (r1 & 0xffff) · 2^32 + r2
    const values = [0xffff, 0xfffffffb]
    let i = 0
    const rest = seededRandom(9)
    const random = () => (i < values.length ? values[i++]! : rest())
    const client = DccpEngine.connect(0, { path: clientPath, serviceCode: SERVICE, config: makeConfig({ random }) })
    assert.strictEqual(client.info().iss, 2 ** 48 - 5)
    const pair = makePair()
    // The pair's own client stays idle; ours talks to the same listener.
    const wire = new Wire(client, pair.listener, 0)
    wire.runUntil(() => client.state === "OPEN")
    for (let k = 0; k < 30; k++) {
      client.send(wire.now, Uint8Array.of(k))
      wire.runFor(20)
    }
    assert.isBelow(client.info().gss, 100)
    assert.strictEqual(client.stats.syncsSent + client.stats.droppedSequenceInvalid, 0)
    const server = pair.server()!
    assert.strictEqual(server.stats.droppedSequenceInvalid, 0)
    assert.strictEqual(payloads(drainEvents(server)).length, 30)
    assert.strictEqual(server.info().features["CCID"]!.local, 2)
  })
})
