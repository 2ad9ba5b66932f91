/**
 * Reliable UDP over real sockets on loopback: our UDP sockets directly and
 * through the lossy `Relay` (5 % loss, 10 ms each way), 10,000 Delivery
 * messages all in order; a thin stream repaired by bundled copies; the crate's
 * README sequence user-driven; and what
 * interruption and a Scope closing mid-transfer leave behind (nothing: no fd,
 * no registration, and every message accepted before a graceful close
 * delivered). Every test checks for leaked file descriptors.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Endpoint from "../../src/rudp/Endpoint.ts"
import * as Guarantee from "../../src/rudp/Guarantee.ts"
import * as UdpLike from "../../src/rudp/UdpLike.ts"
import * as Relay from "../../src/testing/Relay.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { numbered, numberOf } from "./harness.ts"

const N = 10_000

/** Sends 0..N-1 as Delivery messages from `a` and checks that `b` gets exactly them, in order. */
const transfer = (a: Endpoint.Endpoint, b: Endpoint.Endpoint, n: number) =>
  Effect.gen(function*() {
    const send = Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => a.sendPayload(Guarantee.Delivery, numbered(i, 100)), { discard: true })
    const receive = b.messages.pipe(Stream.map(numberOf), Stream.take(n), Stream.runCollect)
    const [, got] = yield* Effect.all([send, receive], { concurrency: 2 })
    assert.strictEqual(got.length, n)
    for (let i = 0; i < n; i++) if (got[i] !== i) assert.fail(`message ${i} arrived as ${got[i]} (position ${i})`)
  })

describe("reliable UDP on loopback", () => {
  checkFdLeaks()

  it.live(`two endpoints on our UDP sockets: ${N} Delivery messages in order`, () =>
    Effect.gen(function*() {
      const [ua, ub] = yield* UdpLike.loopbackPair()
      const a = yield* Endpoint.make(ua, { drive: "reactor" })
      const b = yield* Endpoint.make(ub, { drive: "reactor" })
      yield* transfer(a, b, N)
      yield* a.close
      const stats = yield* a.stats
      assert.strictEqual(stats.unacked, 0)
      assert.strictEqual(stats.state, "closed")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live(`through the lossy Relay (5 % loss, 10 ms each way): ${N} Delivery messages in order`, () =>
    Effect.gen(function*() {
      const server = yield* UdpLike.listen({ bind: "127.0.0.1:0" })
      const relay = yield* Relay.make({ target: server.localAddress, seed: 7, conditions: { loss: 0.05, latency: 10 } })
      const b = yield* Endpoint.make(server, { drive: "reactor", role: "server", initialRtt: 50 })
      const a = yield* Endpoint.connect({ peer: SocketAddress.format(relay.address), config: { drive: "reactor", initialRtt: 50 } })
      yield* transfer(a, b, N)
      const tx = yield* a.stats
      const relayed = relay.stats()
      assert.isAbove(relayed.forward.dropped["loss"] ?? 0, 0, "the relay dropped datagrams on the way")
      assert.isAbove(tx.stats.retransmissions, 0, "and the lost messages were sent again")
      assert.isAtLeast(tx.rtt!.min, 19, "the round trip includes the relay's 2 × 10 ms")
      yield* a.close
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)), 60_000)

  it.live("a thin stream through the lossy Relay: lost packets are repaired by bundled copies, most without a resend", () =>
    Effect.gen(function*() {
      const server = yield* UdpLike.listen({ bind: "127.0.0.1:0" })
      const relay = yield* Relay.make({ target: server.localAddress, seed: 3, conditions: { loss: 0.1, latency: 5 } })
      const b = yield* Endpoint.make(server, { drive: "reactor", role: "server", initialRtt: 30 })
      const a = yield* Endpoint.connect({ peer: SocketAddress.format(relay.address), config: { drive: "reactor", initialRtt: 30 } })
      yield* a.connected
      // One message per millisecond: nothing is ever queued behind a packet.
      const n = 400
      const send = Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) => Effect.andThen(a.sendPayload(Guarantee.Delivery, numbered(i, 100)), Effect.sleep(1)), { discard: true })
      const receive = b.messages.pipe(Stream.map(numberOf), Stream.take(n), Stream.runCollect)
      const [, got] = yield* Effect.all([send, receive], { concurrency: 2 })
      assert.deepStrictEqual(got, Array.from({ length: n }, (_, i) => i), "every message once, in order")
      const tx = yield* a.stats
      const lost = relay.stats().forward.dropped["loss"] ?? 0
      assert.isAbove(lost, 10, "the relay dropped datagrams on the way")
      assert.isAbove(tx.stats.bundledCopies, n / 2, "messages rode again in the next packet")
      assert.isBelow(tx.stats.retransmissions, lost / 2, `${tx.stats.retransmissions} resends for ${lost} lost datagrams`)
      yield* a.close
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)), 30_000)

  it.live("the crate's README sequence, user-driven, on real sockets", () =>
    Effect.gen(function*() {
      const [ua, ub] = yield* UdpLike.loopbackPair()
      const a = yield* Endpoint.make(ua)
      const b = yield* Endpoint.make(ub)
      yield* a.write(new TextEncoder().encode("Hello"))
      yield* a.write(new TextEncoder().encode(", there."))
      yield* a.sendWritten(Guarantee.Order)
      yield* a.sendPayload(Guarantee.Delivery, new TextEncoder().encode("General Kenobi!"))
      // Each end progresses only inside its calls: take drives b, a fiber keeps a maintained.
      const keep = yield* Effect.forkChild(Effect.forever(Effect.andThen(a.maintain, Effect.sleep(1))))
      const first = yield* b.take
      const second = yield* b.take
      yield* Fiber.interrupt(keep)
      assert.deepStrictEqual([new TextDecoder().decode(first), new TextDecoder().decode(second)], ["Hello, there.", "General Kenobi!"])
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("user-driven on both ends: request/response is woken by readiness, not by timers", () =>
    Effect.gen(function*() {
      const [ua, ub] = yield* UdpLike.loopbackPair()
      const client = yield* Endpoint.make(ua)
      const server = yield* Endpoint.make(ub)
      yield* Effect.forkScoped(Effect.forever(Effect.flatMap(server.take, (m) => server.sendPayload(Guarantee.Delivery, m))))
      const start = performance.now()
      for (let i = 0; i < 200; i++) {
        yield* client.sendPayload(Guarantee.Delivery, numbered(i, 64))
        assert.strictEqual(numberOf(yield* client.take), i)
      }
      // A missed wake-up would leave each round trip to a timer (milliseconds each): 200 of them take seconds.
      const elapsed = performance.now() - start
      assert.isBelow(elapsed, 4000, `200 round trips took ${elapsed.toFixed(0)} ms`)
      // A user-driven end progresses only when called: close the client first (its CLOSE carries its
      // acknowledgement of the last answer), so that the server's graceful close finds nothing outstanding.
      yield* client.close
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("interrupting a transfer leaves no fd, no registration and no waiting fiber", () =>
    Effect.gen(function*() {
      const reactor = yield* Reactor.Reactor
      const before = reactor.stats()
      const halfway = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(Effect.scoped(Effect.gen(function*() {
        const [ua, ub] = yield* UdpLike.loopbackPair()
        const a = yield* Endpoint.make(ua, { drive: "reactor" })
        const b = yield* Endpoint.make(ub, { drive: "reactor" })
        let n = 0
        yield* Effect.forkScoped(Stream.runForEach(b.messages, () => ++n === 1000 ? Deferred.succeed(halfway, undefined) : Effect.void))
        for (let i = 0; ; i++) yield* a.sendPayload(Guarantee.Delivery, numbered(i, 500))
      })))
      yield* Deferred.await(halfway)
      yield* Fiber.interrupt(fiber)
      const after = reactor.stats()
      assert.strictEqual(after.registered, before.registered, "every socket was deregistered")
      assert.strictEqual(after.waiting, before.waiting, "no fiber is left waiting on readiness")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("closing the sender's Scope mid-transfer delivers every message it accepted, in order; the peer's stream then ends", () =>
    Effect.gen(function*() {
      let accepted = 0
      const [ua, ub] = yield* UdpLike.loopbackPair()
      const b = yield* Endpoint.make(ub, { drive: "reactor" })
      const receiving = yield* Effect.forkChild(Stream.runCollect(Stream.map(b.messages, numberOf)))
      yield* Effect.scoped(Effect.gen(function*() {
        const a = yield* Endpoint.make(ua, { drive: "reactor" })
        yield* Effect.forkScoped(Effect.forever(Effect.suspend(() => Effect.map(a.sendPayload(Guarantee.Delivery, numbered(accepted, 300)), () => void accepted++))))
        // Let the transfer run, then leave the Scope: the sender is interrupted, a closes gracefully.
        while ((yield* b.stats).inbox.released.Delivery < 2000) yield* Effect.sleep(1)
      }))
      const received = yield* Fiber.join(receiving)
      assert.isAbove(accepted, 2000)
      assert.strictEqual(received.length, accepted, "every accepted message was delivered before the close")
      received.forEach((n, i) => assert.strictEqual(n, i))
      assert.deepStrictEqual(yield* b.closeReason, { kind: "peer", code: 0, reason: "" })
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
