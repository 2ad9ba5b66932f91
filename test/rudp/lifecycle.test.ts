/**
 * The connection's lifecycle in the engine, in virtual time: handshake,
 * version negotiation, graceful close that first delivers what is outstanding,
 * peer-dead detection, flow control and the bounded send queue, oversize
 * messages, heartbeats, and the crate's resend predicates as an opt-in.
 */
import { assert, describe, it } from "@effect/vitest"
import { Writer } from "../../src/rudp/engine/Bytes.ts"
import { makeConfig, ResendPredicates } from "../../src/rudp/engine/Config.ts"
import { RudpEngine } from "../../src/rudp/engine/Connection.ts"
import { Header, parseHeader, seal, TAG_BYTES, writeVersionNegotiation } from "../../src/rudp/engine/Packet.ts"
import { transition, TRANSITIONS } from "../../src/rudp/engine/State.ts"
import * as Prng from "../../src/testing/Prng.ts"
import { makePair, numbered, numberOf } from "./harness.ts"

const closedReasons = (events: ReadonlyArray<{ type: string }>) =>
  events.filter((e): e is { type: "closed"; reason: { kind: string } } => e.type === "closed").map((e) => e.reason.kind)

describe("handshake", () => {
  it("two clients (the crate's symmetric endpoints) connect through 20 % loss", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const pair = makePair({ seed, conditions: { latency: 10, loss: 0.2 } })
      pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected, 60_000)
      assert.deepStrictEqual([pair.a.events[0]?.type, pair.b.events[0]?.type], ["connected", "connected"])
      assert.strictEqual(pair.a.engine.peerParams?.maxMessageSize, 65536)
    }
  })

  it("a server waits for a client, and data flows right after the handshake", () => {
    const pair = makePair({ seed: 4, conditions: { latency: 10 }, b: { role: "server" } })
    pair.send(pair.a, numbered(1), "Delivery")
    pair.runUntil(() => pair.b.received.length === 1)
    assert.strictEqual(pair.net.now(), 30, "one round trip for the handshake, then the data's one-way trip")
    assert.strictEqual(pair.b.engine.info().role, "server")
  })

  it("a client whose peer never answers gives up after the idle timeout (HandshakeTimedOut)", () => {
    const pair = makePair({ seed: 5, conditions: { latency: 10 }, a: { idleTimeout: 5_000 } })
    pair.net.dropAll("a->b")
    pair.runUntil(() => pair.a.engine.isClosed, 60_000)
    assert.deepStrictEqual(pair.a.engine.closeReason, { kind: "timeout", phase: "handshake" })
    assert.isAtLeast(pair.a.engine.stats.ptoCount, 3, "the Initial was sent again with backoff")
  })

  it("an Initial of another version gets a version negotiation packet; a client told so closes (incompatible)", () => {
    const random = Prng.make(3).next
    const client = new RudpEngine(0, makeConfig({ random }))
    const server = new RudpEngine(0, makeConfig({ role: "server", random }))
    const initial = client.pollTransmit(0)!
    const h = new Header()
    assert.isUndefined(parseHeader(initial, 8, h))
    // The same Initial, claiming version 0x0a0a0a0a (re-sealed so that only the version differs).
    const other = initial.slice()
    new DataView(other.buffer).setUint32(1, 0x0a0a0a0a)
    seal(other, 0, other.length - TAG_BYTES, h.pnTruncated)
    server.handleDatagram(1, other)
    assert.strictEqual(server.stats.dropped["unsupported-version"], 1)
    const vn = server.pollTransmit(1)!
    const vh = new Header()
    assert.isUndefined(parseHeader(vn, 8, vh))
    assert.strictEqual(vh.form, "version-negotiation")
    assert.deepStrictEqual([...vh.dcid], [...h.scid], "it answers to the Initial's source id")
    // A version negotiation listing only a version the client does not speak ends its handshake.
    const buf = new Uint8Array(200)
    const n = writeVersionNegotiation(new Writer(buf), h.scid, h.dcid, [0x0a0a0a0a])
    client.handleDatagram(2, buf.subarray(0, n))
    assert.strictEqual(client.closeReason?.kind, "incompatible")
    assert.include((client.closeReason as { detail: string }).detail, "0x0a0a0a0a")
  })

  it("the state table: every cell names a state, and closed is terminal", () => {
    for (const [state, row] of Object.entries(TRANSITIONS)) {
      for (const [event, cell] of Object.entries(row)) assert.isDefined(cell?.next, `${state} × ${event}`)
    }
    assert.isUndefined(transition("closed", "start"))
    assert.isUndefined(transition("closed", "initial"))
    assert.strictEqual(transition("established", "close")?.next, "flushing")
  })
})

describe("close and peer-dead detection", () => {
  it("a graceful close first delivers every outstanding Delivery message, through 20 % loss", () => {
    for (let seed = 1; seed <= 5; seed++) {
      const pair = makePair({ seed, conditions: { latency: 10, jitter: 2, loss: 0.2 }, a: { initialRtt: 50 }, b: { initialRtt: 50 } })
      for (let i = 0; i < 500; i++) pair.send(pair.a, numbered(i, 300), "Delivery")
      pair.a.engine.close(pair.net.now())
      pair.runUntil(() => pair.a.engine.isClosed && pair.b.engine.isClosed, 120_000)
      assert.deepStrictEqual(pair.b.received.map((m) => numberOf(m.payload)), Array.from({ length: 500 }, (_, i) => i), `seed ${seed}`)
      assert.deepStrictEqual(closedReasons(pair.a.events), ["local"])
      assert.deepStrictEqual(closedReasons(pair.b.events), ["peer"])
      assert.isTrue(pair.b.events.some((e) => e.type === "peer-closing"))
      assert.strictEqual(pair.a.engine.send(pair.net.now(), numbered(0), "Delivery"), "closed")
    }
  })

  it("a graceful close that cannot finish in closeTimeout reports the abandoned messages", () => {
    const pair = makePair({ seed: 2, conditions: { latency: 10 }, a: { closeTimeout: 500 } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    pair.net.dropAll("a->b")
    for (let i = 0; i < 10; i++) pair.send(pair.a, numbered(i), "Delivery")
    pair.a.engine.close(pair.net.now())
    pair.runUntil(() => pair.a.engine.isClosed, 60_000)
    assert.deepStrictEqual(pair.a.engine.closeReason, { kind: "linger-timeout", abandoned: 10 })
  })

  it("a silent peer is given up after the idle timeout (PeerTimedOut), heartbeats keep a quiet one alive", () => {
    const pair = makePair({ seed: 3, conditions: { latency: 10 }, a: { idleTimeout: 3_000, heartbeat: 500 }, b: { idleTimeout: 3_000, heartbeat: 500 } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    // Nothing to say for 20 s: the heartbeats keep both ends up.
    pair.runUntil(() => pair.net.now() > 20_000, 30_000)
    assert.isFalse(pair.a.engine.isClosed || pair.b.engine.isClosed)
    assert.isAbove(pair.a.engine.stats.pingsSent, 20)
    // Now the peer goes away.
    pair.net.partition("a", "b")
    const cut = pair.net.now()
    pair.runUntil(() => pair.a.engine.isClosed && pair.b.engine.isClosed, 60_000)
    assert.deepStrictEqual(pair.a.engine.closeReason, { kind: "timeout", phase: "idle" })
    assert.isAtMost(pair.net.now() - cut, 3_000 + 1_000)
  })

  it("abort tells the peer at once", () => {
    const pair = makePair({ seed: 6, conditions: { latency: 10 } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    pair.a.engine.abort(pair.net.now())
    pair.runUntil(() => pair.b.engine.isClosed, 10_000)
    assert.deepStrictEqual(closedReasons(pair.a.events), ["aborted"])
    assert.deepStrictEqual(pair.b.engine.closeReason, { kind: "peer", code: 2, reason: "aborted" })
  })
})

describe("flow control and the bounded send queue", () => {
  it("a receiver that does not read stops its sender at the window; reading resumes it; nothing is lost", () => {
    const pair = makePair({ seed: 7, conditions: { latency: 5 }, b: { receiveWindow: 64 * 1024 } })
    pair.b.reading = false
    for (let i = 0; i < 2000; i++) pair.send(pair.a, numbered(i, 1000), "Delivery")
    pair.runUntil(() => pair.net.now() > 2_000)
    const held = pair.a.engine.info()
    assert.isTrue(held.flow.blocked, "the sender is blocked by the receiver's window")
    assert.isAtMost(pair.b.engine.inbox.deliveryHeld, 64 * 1024 + 65536 + 16, "the receiver holds no more than its window (plus one message)")
    assert.strictEqual(pair.b.engine.stats.dropped["flow-control"], 0, "the sender kept to the window")
    assert.isAbove(held.sendQueue.messages, 1000)
    pair.b.reading = true
    pair.runUntil(() => pair.b.received.length === 2000, 120_000)
    assert.deepStrictEqual(pair.b.received.map((m) => numberOf(m.payload)), Array.from({ length: 2000 }, (_, i) => i))
  })

  it("the send queue is bounded: send answers blocked, then writable once there is room", () => {
    const random = Prng.make(8).next
    const e = new RudpEngine(0, makeConfig({ random, sendQueueMessages: 4 }))
    for (let i = 0; i < 4; i++) assert.strictEqual(e.send(0, numbered(i), "Delivery"), i)
    assert.strictEqual(e.send(0, numbered(9), "Delivery"), "blocked")
    assert.strictEqual(e.send(0, new Uint8Array(70_000), "None"), "too-large", "over the maximum message size")
    const pair = makePair({ seed: 8, conditions: { latency: 5 }, a: { sendQueueMessages: 4 } })
    for (let i = 0; i < 100; i++) pair.send(pair.a, numbered(i), "Delivery")
    assert.strictEqual(pair.a.backlog.length, 96)
    pair.runUntil(() => pair.b.received.length === 100)
    assert.isTrue(pair.a.events.some((ev) => ev.type === "writable"))
  })

  it("messages up to 16 MiB are fragmented to the MTU and reassembled; a lost None message never arrives in part", () => {
    const pair = makePair({ seed: 9, conditions: { latency: 5, loss: 0.05 }, a: { maxMessageSize: 16 * 1024 * 1024, initialRtt: 20 }, b: { maxMessageSize: 16 * 1024 * 1024, receiveWindow: 32 * 1024 * 1024 } })
    const big = numbered(1, 4 * 1024 * 1024)
    pair.send(pair.a, big, "Delivery")
    for (let i = 0; i < 20; i++) pair.send(pair.a, numbered(100 + i, 20_000), "None")
    pair.runUntil(() => pair.b.received.some((m) => m.guarantee === "Delivery") && pair.a.engine.info().unacked === 0, 120_000)
    pair.runUntil(() => pair.net.now() > 10_000, 120_000)
    const got = pair.b.received
    const delivered = got.find((m) => m.guarantee === "Delivery")!
    assert.strictEqual(delivered.payload.length, big.length)
    assert.strictEqual(numberOf(delivered.payload), 1)
    const nones = got.filter((m) => m.guarantee === "None")
    assert.isBelow(nones.length, 20, "with 5 % loss over 18 fragments each, some None messages were lost")
    for (const m of nones) assert.strictEqual(m.payload.length, 20_000, "and those that arrived are whole")
    nones.forEach((m) => numberOf(m.payload))
    assert.isAbove(pair.b.engine.inbox.drops.fragmentTimeout, 0, "incomplete ones expired, counted")
    assert.strictEqual(pair.b.engine.inbox.reassembly.size, 0)
  })
})

describe("the crate's resend predicates (opt-in)", () => {
  it("twoHundredMillis replaces RFC 9002 loss detection for Delivery data and still delivers everything in order", () => {
    const pair = makePair({ seed: 11, conditions: { latency: 10, loss: 0.1 }, a: { resend: ResendPredicates.twoHundredMillis } })
    for (let i = 0; i < 300; i++) pair.send(pair.a, numbered(i), "Delivery")
    pair.runUntil(() => pair.b.received.length === 300, 120_000)
    assert.deepStrictEqual(pair.b.received.map((m) => numberOf(m.payload)), Array.from({ length: 300 }, (_, i) => i))
    assert.isAbove(pair.a.engine.stats.retransmissions, 0)
    assert.isTrue(ResendPredicates.mediumCombination(0, 1000))
    assert.isTrue(ResendPredicates.mediumCombination(100, 200))
    assert.isFalse(ResendPredicates.mediumCombination(10, 100))
    assert.isTrue(ResendPredicates.twentyIds(20, 0))
  })
})
