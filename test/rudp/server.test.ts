/**
 * The endpoint server over `SimNet` (virtual time): 1,000 peers on one port,
 * each exchanging Delivery messages with it; the stateless retry (the server
 * keeps nothing for a source until it returns its token); `maxPeers` refusing
 * with a typed reason; idle peers timing out; a peer whose address changes
 * keeping its connection.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { UdpLike } from "../../src/rudp/UdpLike.ts"
import * as Stream from "effect/Stream"
import * as Endpoint from "../../src/rudp/Endpoint.ts"
import * as EndpointServer from "../../src/rudp/EndpointServer.ts"
import * as Guarantee from "../../src/rudp/Guarantee.ts"
import * as MemoryDatagram from "../../src/testing/MemoryDatagram.ts"
import * as Prng from "../../src/testing/Prng.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { numbered, numberOf } from "./harness.ts"
import { inVirtualTime } from "./virtual.ts"

const echo = (peer: Endpoint.Endpoint) => Stream.runForEach(peer.messages, (m) => peer.sendPayload(Guarantee.Delivery, m))

/** A client on host `host` that sends `n` numbered Delivery messages and checks the echoes, in order. */
const client = (host: string, n: number, config: Endpoint.Config = {}) =>
  Effect.gen(function*() {
    const udp = yield* MemoryDatagram.udpLike({ host, peer: "server:7000" })
    const ep = yield* Endpoint.make(udp, { drive: "reactor", initialRtt: 50, random: Prng.make(host.length * 7 + host.charCodeAt(host.length - 1)).next, ...config })
    for (let i = 0; i < n; i++) yield* ep.sendPayload(Guarantee.Delivery, numbered(i, 40))
    for (let i = 0; i < n; i++) assert.strictEqual(numberOf(yield* ep.take), i, `${host}: echo ${i}`)
    yield* ep.close
    return ep
  }).pipe(Effect.scoped)

const server = (config: EndpointServer.Config = {}) =>
  Effect.gen(function*() {
    const socket = yield* MemoryDatagram.make({ host: "server", port: 7000 })
    return yield* EndpointServer.fromDatagramSocket(socket, { initialRtt: 50, ...config })
  })

describe("EndpointServer over SimNet", () => {
  it.effect("1,000 peers on one port, each echoing 5 Delivery messages through 2 % loss", () =>
    Effect.gen(function*() {
      const s = yield* server()
      yield* Effect.forkScoped(s.run(echo))
      const peers = 1000
      yield* inVirtualTime(
        Effect.forEach(Array.from({ length: peers }, (_, i) => `c${i}`), (h) => client(h, 5), { concurrency: "unbounded", discard: true }),
        { stepMs: 5, limitMs: 60_000 }
      )
      const stats = yield* s.stats
      assert.strictEqual(stats.peersMade, peers)
      // Every client got a Retry first (a Retry lost on the way is sent again for the repeated Initial).
      assert.isAtLeast(stats.listener.retriesSent, peers)
      assert.isBelow(stats.listener.retriesSent, peers * 1.1)
      assert.strictEqual(stats.listener.statelessBytesOut < stats.listener.statelessBytesIn, true, "no stateless answer larger than what it answered")
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer({ seed: 11, latency: "5 millis", loss: 0.02 }))), 120_000)

  it.effect("maxPeers: past it a client's handshake fails with a typed refusal; a place that frees up is taken", () =>
    Effect.gen(function*() {
      const s = yield* server({ maxPeers: 3 })
      yield* Effect.forkScoped(s.run(echo))
      const holders = yield* Effect.forEach(["h0", "h1", "h2"], (host) =>
        Effect.gen(function*() {
          const udp = yield* MemoryDatagram.udpLike({ host, peer: "server:7000" })
          const ep = yield* Endpoint.make(udp, { drive: "reactor", initialRtt: 50 })
          yield* inVirtualTime(ep.connected)
          return ep
        }))
      assert.strictEqual((yield* s.stats).peers, 3)
      const refused = yield* inVirtualTime(Effect.exit(Effect.scoped(Effect.gen(function*() {
        const udp = yield* MemoryDatagram.udpLike({ host: "late", peer: "server:7000" })
        const ep = yield* Endpoint.make(udp, { drive: "reactor", initialRtt: 50 })
        yield* ep.connected
      }))))
      assert.isTrue(Exit.isFailure(refused))
      const error = Exit.isFailure(refused) ? refused.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
      assert.strictEqual(error !== undefined && "kind" in error ? error.kind : undefined, "Refused")
      assert.include(error?.message ?? "", "maxPeers 3")
      assert.strictEqual((yield* s.stats).listener.refusals > 0, true)
      // One holder leaves; once the server has let it go, a new client gets its place.
      yield* inVirtualTime(holders[0]!.close)
      yield* inVirtualTime(Effect.gen(function*() {
        while ((yield* s.stats).peers === 3) yield* Effect.sleep("10 millis")
      }))
      yield* inVirtualTime(client("after", 3))
      yield* inVirtualTime(Effect.forEach(holders.slice(1), (h) => h.close, { discard: true }))
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer({ seed: 12, latency: "5 millis" }))), 60_000)

  it.effect("a Retry token the server reads after its lifetime: the client is refused at once (kind Refused), not left to time out", () =>
    Effect.gen(function*() {
      // 1.5 s each way: the token the first Retry carries is 3 s old when the client's answer
      // reaches the server, past a 1 s lifetime (tokens count whole seconds).
      const s = yield* server({ tokenLifetime: "1 second" })
      yield* Effect.forkScoped(s.run(echo))
      const started = yield* Effect.clockWith((clock) => Effect.succeed(clock.currentTimeMillisUnsafe()))
      const refused = yield* inVirtualTime(Effect.exit(Effect.scoped(Effect.gen(function*() {
        const udp = yield* MemoryDatagram.udpLike({ host: "far", peer: "server:7000" })
        const ep = yield* Endpoint.make(udp, { drive: "reactor", initialRtt: 50, idleTimeout: "30 seconds" })
        yield* ep.connected
      }))), { stepMs: 50, limitMs: 60_000 })
      const elapsed = (yield* Effect.clockWith((clock) => Effect.succeed(clock.currentTimeMillisUnsafe()))) - started
      assert.isTrue(Exit.isFailure(refused))
      const error = Exit.isFailure(refused) ? refused.cause.reasons.find((r) => r._tag === "Fail")?.error : undefined
      assert.strictEqual(error !== undefined && "kind" in error ? error.kind : undefined, "Refused")
      assert.include(error?.message ?? "", "token expired")
      // Two and a half round trips (Initial, Retry, Initial with the token, refusal), far below the idle timeout.
      assert.isBelow(elapsed, 10_000)
      const stats = yield* s.stats
      assert.isAtLeast(stats.listener.dropped["token-expired"], 1)
      assert.strictEqual(stats.peersMade, 0)
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer({ seed: 13, latency: "1500 millis" }))), 60_000)

  it.effect("an idle peer times out: the server drops it and its handler sees PeerTimedOut", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const s = yield* server({ idleTimeout: "2 seconds" })
      const ends: Array<string> = []
      yield* Effect.forkScoped(s.run((peer) => Effect.catch(echo(peer), (e) => Effect.sync(() => void ends.push(e.kind)))))
      const udp = yield* MemoryDatagram.udpLike({ host: "quiet", peer: "server:7000" })
      const ep = yield* Endpoint.make(udp, { drive: "reactor", initialRtt: 50, idleTimeout: "60 seconds", heartbeat: "30 seconds" })
      yield* inVirtualTime(Effect.andThen(ep.sendPayload(Guarantee.Delivery, numbered(1)), ep.take))
      assert.strictEqual((yield* s.stats).peers, 1)
      // The client's host goes silent (its link to the server is cut both ways).
      yield* net.partition("quiet", "server")
      yield* net.advance("3 seconds")
      const stats = yield* s.stats
      assert.strictEqual(stats.peers, 0, "the silent peer was dropped")
      assert.strictEqual(stats.peersEnded, 1)
      assert.deepStrictEqual(ends, ["PeerTimedOut"])
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer({ seed: 13, latency: "5 millis" }))), 60_000)

  it.effect("a peer whose address changes keeps its connection (the connection id routes it)", () =>
    Effect.gen(function*() {
      const s = yield* server()
      yield* Effect.forkScoped(s.run(echo))
      const first = yield* MemoryDatagram.udpLike({ host: "roamer", peer: "server:7000" })
      const second = yield* MemoryDatagram.udpLike({ host: "roamer2", peer: "server:7000" })
      let current: UdpLike = first
      // Sends from the current address; receives on either.
      const moving: UdpLike = {
        send: (p) => Effect.suspend(() => current.send(p)),
        tryRecv: (b) => Effect.flatMap(first.tryRecv(b), (n) => n !== undefined ? Effect.succeed(n) : second.tryRecv(b)),
        readable: Effect.raceFirst(first.readable, second.readable)
      }
      const ep = yield* Endpoint.make(moving, { drive: "reactor", initialRtt: 50 })
      yield* inVirtualTime(Effect.gen(function*() {
        for (let i = 0; i < 5; i++) {
          yield* ep.sendPayload(Guarantee.Delivery, numbered(i))
          assert.strictEqual(numberOf(yield* ep.take), i)
        }
        current = second
        for (let i = 5; i < 10; i++) {
          yield* ep.sendPayload(Guarantee.Delivery, numbered(i))
          assert.strictEqual(numberOf(yield* ep.take), i)
        }
        // Under the TestClock a graceful close needs the clock to move: close here.
        yield* ep.close
      }))
      const stats = yield* s.stats
      assert.strictEqual(stats.peersMade, 1, "one connection throughout")
      assert.strictEqual(stats.migrations, 1)
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer({ seed: 14, latency: "5 millis" }))), 60_000)
})
