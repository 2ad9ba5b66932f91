/**
 * Opt-in encryption: round trips with a pre-shared key and with key pairs,
 * under both AEADs, through loss; every bit flip of an encrypted packet is
 * rejected and nothing of it delivered; a replayed packet is rejected; a wrong
 * key fails the handshake on both ends with a typed error; the wire carries no
 * plaintext payload (a recording transport is the decoder); over real
 * sockets and through the endpoint server too.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { type EncryptionInput, makeConfig } from "../../src/rudp/engine/Config.ts"
import { keyPair } from "../../src/rudp/engine/Crypto.ts"
import * as Endpoint from "../../src/rudp/Endpoint.ts"
import * as EndpointServer from "../../src/rudp/EndpointServer.ts"
import * as Guarantee from "../../src/rudp/Guarantee.ts"
import type { RudpError } from "../../src/rudp/RudpError.ts"
import * as UdpLike from "../../src/rudp/UdpLike.ts"
import * as MemoryDatagram from "../../src/testing/MemoryDatagram.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { makePair, numbered, numberOf, sendPlan } from "./harness.ts"
import { inVirtualTime } from "./virtual.ts"
import { verify, workload } from "./workload.ts"

const PSK = "correct horse battery staple"
const alice = keyPair(Uint8Array.from({ length: 32 }, (_, i) => i + 1))
const bob = keyPair(Uint8Array.from({ length: 32 }, (_, i) => 200 - i))

const failureOf = (exit: Exit.Exit<unknown, unknown>): RudpError | undefined =>
  Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail")?.error as RudpError | undefined : undefined

describe("encryption in the engine", () => {
  const cases: ReadonlyArray<readonly [string, EncryptionInput, EncryptionInput]> = [
    ["psk, the default cipher (AES-256-GCM)", { psk: PSK }, { psk: PSK }],
    ["psk, ChaCha20-Poly1305", { psk: PSK, cipher: "chacha20-poly1305" }, { psk: PSK, cipher: "chacha20-poly1305" }],
    ["key pairs", { privateKey: alice.privateKey, peerPublicKey: bob.publicKey }, { privateKey: bob.privateKey, peerPublicKey: alice.publicKey }],
    ["key pairs, anonymous client", { privateKey: alice.privateKey, peerPublicKey: bob.publicKey }, { privateKey: bob.privateKey }]
  ]
  for (const [label, a, b] of cases) {
    it(`round trip (${label}) through 10 % loss: every guarantee holds, every data packet sealed`, () => {
      const pair = makePair({ seed: 31, conditions: { latency: 5, loss: 0.1 }, a: { encryption: a }, b: { encryption: b, role: "server" } })
      const plan = workload(31, 300, { largeEvery: 0.1 })
      sendPlan(pair, plan)
      pair.runUntil(() => pair.net.now() > 600 && pair.a.engine.info().unacked === 0 && pair.a.engine.info().sendQueue.messages === 0)
      const { delivered, sent } = verify(pair.b.received, plan, label)
      assert.strictEqual(delivered.Delivery, sent.Delivery)
      assert.isTrue(pair.a.engine.encrypted && pair.b.engine.encrypted)
      assert.strictEqual(pair.b.engine.stats.dropped.tag, 0, "no packet of the peer failed to open")
    })
  }

  it("every bit flip of an encrypted packet is rejected, nothing of it delivered; the original then opens once; a replay is rejected", () => {
    const pair = makePair({ seed: 32, conditions: { latency: 5 }, a: { encryption: { psk: PSK } }, b: { encryption: { psk: PSK } } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    const a = pair.a.engine, b = pair.b.engine
    const now = pair.net.now()
    a.send(now, numbered(77, 64), "Delivery")
    const packet = a.pollTransmit(now)!
    assert.isDefined(packet)
    const accepted = b.packetsAccepted
    const dropsBefore = Object.values(b.stats.dropped).reduce((x, y) => x + y, 0)
    for (let bit = 0; bit < packet.length * 8; bit++) {
      const flipped = packet.slice()
      flipped[bit >> 3]! ^= 1 << (bit & 7)
      b.handleDatagram(now, flipped)
      assert.strictEqual(b.packetsAccepted, accepted, `bit ${bit} of ${packet.length * 8}: a modified packet was accepted`)
      assert.isUndefined(b.pollMessage(), `bit ${bit}: something was delivered`)
    }
    const drops = Object.values(b.stats.dropped).reduce((x, y) => x + y, 0) - dropsBefore
    assert.strictEqual(drops, packet.length * 8, "every modified packet was dropped and counted")
    b.handleDatagram(now, packet)
    assert.strictEqual(b.packetsAccepted, accepted + 1)
    assert.strictEqual(numberOf(b.pollMessage()!.payload), 77)
    const duplicates = b.stats.dropped.duplicate
    b.handleDatagram(now, packet)
    assert.strictEqual(b.packetsAccepted, accepted + 1, "a replayed packet is not accepted")
    assert.strictEqual(b.stats.dropped.duplicate, duplicates + 1)
    assert.isUndefined(b.pollMessage(), "nor delivered twice")
  })

  it("a packet sealed for another connection (another key) is rejected", () => {
    const one = makePair({ seed: 33, conditions: { latency: 5 }, a: { encryption: { psk: PSK } }, b: { encryption: { psk: PSK } } })
    const two = makePair({ seed: 34, conditions: { latency: 5 }, a: { encryption: { psk: PSK } }, b: { encryption: { psk: PSK } } })
    for (const p of [one, two]) p.runUntil(() => p.a.engine.isConnected && p.b.engine.isConnected)
    const now = one.net.now()
    one.a.engine.send(now, numbered(1), "Delivery")
    const packet = one.a.engine.pollTransmit(now)!
    // Addressed to two's receiver (its connection id), sealed under one's keys.
    packet.set(two.b.engine.localCid, 1)
    const drops = () => Object.values(two.b.engine.stats.dropped).reduce((x, y) => x + y, 0)
    const before = drops(), accepted = two.b.engine.packetsAccepted
    two.b.engine.handleDatagram(now, packet)
    // Under the wrong keys the header unmasks to garbage (reserved bits, usually) or the AEAD fails.
    assert.strictEqual(drops(), before + 1)
    assert.strictEqual(two.b.engine.packetsAccepted, accepted)
    assert.isUndefined(two.b.engine.pollMessage())
  })
})

describe("header protection of a batch (one mask call for all its packets)", () => {
  for (const cipher of ["aes-256-gcm", "chacha20-poly1305"] as const) {
    it(`${cipher}: pollTransmitBatch gives the bytes pollTransmitInto gives, across a key update; the peer opens every packet`, () => {
      // Two identical pairs (same seed): one drained in batches, one packet by packet.
      const make = () => {
        const e = { psk: PSK, cipher, keyUpdateAfter: 16 }
        const pair = makePair({ seed: 43, conditions: { latency: 5 }, a: { encryption: e }, b: { encryption: e, role: "server" } })
        pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
        return pair
      }
      const batched = make(), single = make()
      const start = batched.net.now()
      assert.strictEqual(single.net.now(), start)
      const bufs = Array.from({ length: 8 }, () => new Uint8Array(1500)), lengths: Array<number> = []
      const one = new Uint8Array(1500)
      let packets = 0, messages = 0
      for (let round = 0; round < 12; round++) {
        // Time moves on (the pacer lets the next packets go); both pairs see the same times.
        const now = start + 10 * round
        for (let i = 0; i < 40; i++, messages++) {
          batched.a.engine.send(now, numbered(messages, 100), "Delivery")
          single.a.engine.send(now, numbered(messages, 100), "Delivery")
        }
        for (let n = batched.a.engine.pollTransmitBatch(now, bufs, lengths); n > 0; n = batched.a.engine.pollTransmitBatch(now, bufs, lengths)) {
          for (let i = 0; i < n; i++, packets++) {
            const len = single.a.engine.pollTransmitInto(now, one)
            assert.deepStrictEqual(bufs[i]!.subarray(0, lengths[i]!), one.subarray(0, len), `packet ${packets}`)
            batched.b.engine.handleDatagram(now, bufs[i]!.subarray(0, lengths[i]!))
          }
        }
        assert.strictEqual(single.a.engine.pollTransmitInto(now, one), 0, "both drained")
        // The peer's acknowledgements let the sender's window and key updates move on.
        for (let n = batched.b.engine.pollTransmitInto(now, one); n > 0; n = batched.b.engine.pollTransmitInto(now, one)) {
          batched.a.engine.handleDatagram(now, one.subarray(0, n))
          single.a.engine.handleDatagram(now, one.subarray(0, n))
        }
      }
      assert.isAtLeast(packets, 20)
      assert.isAtLeast(batched.a.engine.stats.keyUpdatesInitiated, 1, "a batch spanned a key update")
      assert.strictEqual(batched.b.engine.stats.dropped.tag, 0, "every batched packet opened")
      let delivered = 0
      while (batched.b.engine.pollMessage() !== undefined) delivered++
      assert.strictEqual(delivered, messages)
    })
  }
})

describe("key update (RFC 9001 §6)", () => {
  const KEY_PHASE = 0x04
  const connected = (a: EncryptionInput, b: EncryptionInput, conditions?: Parameters<typeof makePair>[0]["conditions"]) => {
    const pair = makePair({ seed: 41, conditions: { latency: 5, ...conditions }, a: { encryption: a }, b: { encryption: b, role: "server" } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    return pair
  }

  it("the default cipher is AES-256-GCM, ChaCha20-Poly1305 stays selectable; the limits are checked", () => {
    const random = () => 0.5
    assert.strictEqual(makeConfig({ random, encryption: { psk: PSK } }).encryption?.cipher, "aes-256-gcm")
    assert.strictEqual(makeConfig({ random, encryption: { psk: PSK, cipher: "chacha20-poly1305" } }).encryption?.cipher, "chacha20-poly1305")
    assert.strictEqual(makeConfig({ random, encryption: { psk: PSK } }).encryption?.keyUpdateAfter, 2 ** 22)
    assert.throws(() => makeConfig({ random, encryption: { psk: PSK, keyUpdateAfter: 2 ** 23 } }), /encryption.keyUpdateAfter is an integer from 16 to 4194304/)
    assert.throws(() => makeConfig({ random, encryption: { psk: PSK, keyUpdateAfter: 1.5 } }), /encryption.keyUpdateAfter/)
    assert.throws(() => makeConfig({ random, encryption: { psk: PSK, cipher: "chacha20-poly1305", integrityLimit: 2 ** 37 } }), /encryption.integrityLimit is an integer from 1 to 68719476736/)
  })

  for (const cipher of ["aes-256-gcm", "chacha20-poly1305"] as const) {
    it(`${cipher}: keys update every 16 packets through 5 % loss and reordering; every guarantee holds, no packet fails to open`, () => {
      const e = { psk: PSK, cipher, keyUpdateAfter: 16 }
      const pair = connected(e, e, { loss: 0.05, reorder: 0.1, reorderDelay: 3 })
      const plan = workload(42, 400, { largeEvery: 0.1 })
      sendPlan(pair, plan)
      pair.runUntil(() => pair.net.now() > 800 && pair.a.engine.info().unacked === 0 && pair.a.engine.info().sendQueue.messages === 0)
      const { delivered, sent } = verify(pair.b.received, plan, cipher)
      assert.strictEqual(delivered.Delivery, sent.Delivery)
      const a = pair.a.engine.stats, b = pair.b.engine.stats
      assert.isAtLeast(a.keyUpdatesInitiated, 4, "the sender updated its keys again and again")
      assert.isAtLeast(b.keyUpdatesFollowed, 4, "and the receiver followed")
      assert.strictEqual(a.dropped.tag + b.dropped.tag, 0, "reordered packets across a switch opened under the previous keys")
      assert.strictEqual(a.authenticationFailures + b.authenticationFailures, 0)
    })
  }

  it("a packet sealed before a switch and delivered after it opens under the previous keys, for 3 × PTO", () => {
    // Only a updates (b's limit is the default): b's receive keys move once per update of a.
    const pair = connected({ psk: PSK, keyUpdateAfter: 40 }, { psk: PSK })
    const a = pair.a.engine, b = pair.b.engine
    a.send(pair.net.now(), numbered(1000, 64), "Delivery")
    const held = a.pollTransmit(pair.net.now())!
    a.send(pair.net.now(), numbered(1001, 64), "Delivery")
    const heldLonger = a.pollTransmit(pair.net.now())!
    assert.strictEqual(b.stats.keyUpdatesFollowed, 0)
    for (let i = 0; i < 60; i++) pair.send(pair.a, numbered(i, 900), "Delivery")
    pair.runUntil(() => b.stats.keyUpdatesFollowed >= 1)
    assert.strictEqual(b.stats.keyUpdatesFollowed, 1)
    const accepted = b.packetsAccepted, tags = b.stats.dropped.tag
    b.handleDatagram(pair.net.now(), held)
    assert.strictEqual(b.packetsAccepted, accepted + 1, "the late packet of the old phase was accepted")
    assert.strictEqual(b.stats.dropped.tag, tags)
    pair.runUntil(() => pair.b.received.length >= 62 && a.info().unacked === 0)
    assert.strictEqual(pair.b.received.filter((m) => numberOf(m.payload) === 1000).length, 1, "its message delivered once")
    assert.strictEqual(b.stats.dropped.tag, tags)
    // RFC 9001 §6.5: the old keys are gone 3 × PTO after the switch (one PTO here is well under 100 ms).
    const switched = pair.net.now()
    pair.runUntil(() => pair.net.now() > switched + 400)
    assert.strictEqual(b.stats.keyUpdatesFollowed, 1, "no second update in between")
    const failures = b.stats.authenticationFailures
    b.handleDatagram(pair.net.now(), heldLonger)
    assert.strictEqual(b.stats.dropped.tag, tags + 1, "an old-phase packet after the retention is dropped")
    assert.strictEqual(b.stats.authenticationFailures, failures + 1)
  })

  it("a packet with its key phase bit flipped is dropped and counted; past the integrity limit the connection ends", () => {
    const e = { psk: PSK, integrityLimit: 3 }
    const pair = connected(e, e)
    const a = pair.a.engine, b = pair.b.engine
    const now = pair.net.now()
    a.send(now, numbered(5, 64), "Delivery")
    const packet = a.pollTransmit(now)!
    // The first byte is masked: flipping the bit on the wire flips the key phase the receiver unmasks.
    const forged = packet.slice()
    forged[0]! ^= KEY_PHASE
    const accepted = b.packetsAccepted
    for (let i = 1; i <= 3; i++) {
      b.handleDatagram(now, forged)
      assert.strictEqual(b.packetsAccepted, accepted)
      assert.strictEqual(b.stats.authenticationFailures, i)
      assert.strictEqual(b.stats.keyUpdatesFollowed, 0, "a forged phase flip does not move the keys")
      assert.isUndefined(b.pollMessage())
    }
    assert.isFalse(b.isClosed, "at the limit, not past it")
    b.handleDatagram(now, packet)
    assert.strictEqual(b.packetsAccepted, accepted + 1, "the genuine packet still opens")
    assert.strictEqual(numberOf(b.pollMessage()!.payload), 5)
    b.handleDatagram(now, forged)
    assert.strictEqual(b.stats.authenticationFailures, 4)
    assert.isTrue(b.isClosed, "past the integrity limit the connection ends")
    const reason = b.closeReason
    assert.strictEqual(reason?.kind, "unauthenticated")
    assert.match(reason?.kind === "unauthenticated" ? reason.detail : "", /integrity limit of 3/)
  })
})

describe("encryption through Endpoint", () => {
  it.effect("a wrong pre-shared key fails the handshake on both ends with AuthenticationFailed", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const [ua, ub] = yield* net.pair()
      const a = yield* Endpoint.make(ua, { drive: "reactor", encryption: { psk: PSK } })
      const b = yield* Endpoint.make(ub, { drive: "reactor", encryption: { psk: "another key, same length!!!" } })
      const [ea, eb] = yield* inVirtualTime(Effect.all([Effect.exit(a.connected), Effect.exit(b.connected)], { concurrency: 2 }))
      assert.strictEqual(failureOf(ea)?.kind, "AuthenticationFailed")
      assert.strictEqual(failureOf(eb)?.kind, "AuthenticationFailed")
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer({ seed: 35, latency: "5 millis" }))))

  it.effect("a key pair the peer does not expect fails with AuthenticationFailed; encryption on one end only is Incompatible", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const mallory = keyPair(Uint8Array.from({ length: 32 }, (_, i) => 77 + i))
      const [ua, ub] = yield* net.pair()
      const a = yield* Endpoint.make(ua, { drive: "reactor", encryption: { privateKey: mallory.privateKey, peerPublicKey: bob.publicKey } })
      const b = yield* Endpoint.make(ub, { drive: "reactor", role: "server", encryption: { privateKey: bob.privateKey, peerPublicKey: alice.publicKey } })
      const [ea, eb] = yield* inVirtualTime(Effect.all([Effect.exit(a.connected), Effect.exit(b.connected)], { concurrency: 2 }))
      assert.strictEqual(failureOf(ea)?.kind, "AuthenticationFailed")
      assert.strictEqual(failureOf(eb)?.kind, "AuthenticationFailed")
      const [uc, ud] = yield* net.pair()
      const c = yield* Endpoint.make(uc, { drive: "reactor", encryption: { psk: PSK } })
      const d = yield* Endpoint.make(ud, { drive: "reactor" })
      const [ec, ed] = yield* inVirtualTime(Effect.all([Effect.exit(c.connected), Effect.exit(d.connected)], { concurrency: 2 }))
      assert.strictEqual(failureOf(ec)?.kind, "Incompatible")
      assert.include(failureOf(ec)?.detail ?? "", "does not encrypt")
      assert.isTrue(Exit.isFailure(ed))
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer({ seed: 36, latency: "5 millis" }))))

  it.effect("no plaintext payload on the wire (the recording transport as the decoder); without encryption there is", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const marker = new TextEncoder().encode("TOP-SECRET-PAYLOAD")
      const contains = (hay: Uint8Array): boolean => {
        outer: for (let i = 0; i + marker.length <= hay.length; i++) {
          for (let k = 0; k < marker.length; k++) if (hay[i + k] !== marker[k]) continue outer
          return true
        }
        return false
      }
      const run = (encryption: EncryptionInput | undefined) =>
        Effect.gen(function*() {
          const [ua, ub] = yield* net.pair()
          const wire: Array<Uint8Array> = []
          const recording: UdpLike.UdpLike<unknown> = { ...ua, send: (p) => Effect.andThen(Effect.sync(() => void wire.push(p.slice())), ua.send(p)) }
          const a = yield* Endpoint.make(recording, { drive: "reactor", encryption })
          const b = yield* Endpoint.make(ub, { drive: "reactor", encryption })
          yield* inVirtualTime(Effect.gen(function*() {
            for (let i = 0; i < 50; i++) yield* a.sendPayload(i % 2 === 0 ? Guarantee.Delivery : Guarantee.None, marker)
            let got = 0
            while (got < 25) if ((yield* b.take).length === marker.length) got++
            yield* a.close
          }))
          return wire
        }).pipe(Effect.scoped)
      const sealed = yield* run({ psk: PSK })
      assert.isAbove(sealed.length, 3)
      assert.isFalse(sealed.some(contains), "a datagram carried the payload in the clear")
      const clear = yield* run(undefined)
      assert.isTrue(clear.some(contains), "the control run (no encryption) shows the decoder finds it")
    }).pipe(Effect.provide(SimNet.layer({ seed: 37, latency: "5 millis" }))))

  it.effect("an encrypted endpoint server: peers with the key echo; a peer with a wrong key is refused", () =>
    Effect.gen(function*() {
      const socket = yield* MemoryDatagram.make({ host: "server", port: 7000 })
      const server = yield* EndpointServer.fromDatagramSocket(socket, { initialRtt: 50, encryption: { psk: PSK } })
      yield* Effect.forkScoped(server.run((peer) => Stream.runForEach(peer.messages, (m) => peer.sendPayload(Guarantee.Delivery, m))))
      const peer = (host: string, psk: string) =>
        Effect.scoped(Effect.gen(function*() {
          const udp = yield* MemoryDatagram.udpLike({ host, peer: "server:7000" })
          const ep = yield* Endpoint.make(udp, { drive: "reactor", initialRtt: 50, encryption: { psk } })
          for (let i = 0; i < 10; i++) yield* ep.sendPayload(Guarantee.Delivery, numbered(i))
          for (let i = 0; i < 10; i++) assert.strictEqual(numberOf(yield* ep.take), i)
          yield* ep.close
        }))
      yield* inVirtualTime(Effect.forEach(["p1", "p2", "p3"], (h) => peer(h, PSK), { concurrency: "unbounded", discard: true }))
      const wrong = yield* inVirtualTime(Effect.exit(peer("p4", "not the server's key at all")))
      assert.strictEqual(failureOf(wrong)?.kind, "AuthenticationFailed")
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer({ seed: 38, latency: "5 millis" }))), 30_000)
})

describe("encryption on loopback", () => {
  checkFdLeaks()

  it.live("an endpoint server tells a client at once why their encryption settings differ (Incompatible), and keeps no peer", () =>
    Effect.gen(function*() {
      // The idle timeout is far above the wait: a server that does not answer
      // (as before this was fixed) makes the client wait it out, and the test time out.
      const idleTimeout = 120_000
      const cases: ReadonlyArray<readonly [string, EncryptionInput | undefined, EncryptionInput | undefined, string]> = [
        ["different ciphers", { psk: PSK }, { psk: PSK, cipher: "chacha20-poly1305" }, "aes-256-gcm"],
        ["the client does not encrypt", { psk: PSK }, undefined, "requires encryption"],
        ["the server does not encrypt", undefined, { psk: PSK }, "does not encrypt"]
      ]
      for (const [name, serverEncryption, clientEncryption, detail] of cases) {
        yield* Effect.scoped(Effect.gen(function*() {
          const server = yield* EndpointServer.make("127.0.0.1:0", { idleTimeout, encryption: serverEncryption })
          yield* Effect.forkScoped(server.run(() => Effect.never))
          const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
            const client = yield* Endpoint.connect({ peer: server.localAddress, config: { drive: "reactor", idleTimeout, encryption: clientEncryption } })
            yield* client.connected
          })))
          assert.strictEqual(failureOf(exit)?.kind, "Incompatible", name)
          assert.include(failureOf(exit)?.detail ?? "", detail, name)
          const stats = yield* server.stats
          assert.strictEqual(stats.peers, 0, `${name}: the server keeps no peer`)
        }))
      }
    }).pipe(Effect.provide(Reactor.layer)), 20_000)

  it.live("5,000 Delivery messages between encrypted endpoints on our UDP sockets, with key updates every 16 packets", () =>
    Effect.gen(function*() {
      const [ua, ub] = yield* UdpLike.loopbackPair()
      const psk = randomBytes(32)
      // Path MTU discovery fills loopback datagrams of ~9 KB (about 60 for the 5,000 messages): a key every 16.
      const a = yield* Endpoint.make(ua, { drive: "reactor", encryption: { psk, keyUpdateAfter: 16 } })
      const b = yield* Endpoint.make(ub, { drive: "reactor", encryption: { psk, keyUpdateAfter: 16 } })
      const send = Effect.forEach(Array.from({ length: 5000 }, (_, i) => i), (i) => a.sendPayload(Guarantee.Delivery, numbered(i, 100)), { discard: true })
      const receive = b.messages.pipe(Stream.map(numberOf), Stream.take(5000), Stream.runCollect)
      const [, got] = yield* Effect.all([send, receive], { concurrency: 2 })
      got.forEach((n, i) => assert.strictEqual(n, i))
      const stats = yield* a.stats
      assert.isTrue(stats.encrypted)
      assert.isAtLeast(stats.stats.keyUpdatesInitiated, 2, "the sender's keys were updated on the way")
      assert.isAtLeast((yield* b.stats).stats.keyUpdatesFollowed, 2)
      yield* a.close
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)), 30_000)
})
