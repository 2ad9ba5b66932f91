/**
 * The tiers as Stream combinators, and one pipeline run unchanged over three
 * transports: `SimNet` (Effect's `DatagramSocket` from `MemoryDatagram`, lossy,
 * in virtual time), our UDP adapter (`Udp.make`, a `DatagramSocket` on real
 * loopback sockets) and our UDP socket's fast path (`UdpLike.loopbackPair`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Endpoint from "../../src/rudp/Endpoint.ts"
import * as Rudp from "../../src/rudp/Rudp.ts"
import type { RudpError } from "../../src/rudp/RudpError.ts"
import * as UdpLike from "../../src/rudp/UdpLike.ts"
import * as Udp from "../../src/socket/Udp.ts"
import * as MemoryDatagram from "../../src/testing/MemoryDatagram.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { numbered, numberOf } from "./harness.ts"
import { inVirtualTime } from "./virtual.ts"

const N = 2000

/**
 * The pipeline under test: a codec stage, then Delivery, on one side; the
 * messages, decoded and filtered, on the other; also a stream of sets.
 */
const pipeline = (a: Endpoint.Endpoint, b: Endpoint.Endpoint) =>
  Effect.gen(function*() {
    const send = Stream.fromIterable(Array.from({ length: N }, (_, i) => i)).pipe(
      Stream.map((i) => numbered(i, 100)),
      Rudp.delivery(a),
      Stream.runCount
    )
    const receive = b.messages.pipe(
      Stream.map(numberOf),
      Stream.filter((n) => n % 2 === 0),
      Stream.take(N / 2),
      Stream.runCollect
    )
    const [sent, evens] = yield* Effect.all([send, receive], { concurrency: 2 })
    assert.strictEqual(sent, N)
    assert.deepStrictEqual(evens, Array.from({ length: N / 2 }, (_, i) => 2 * i), "every even message, in order")
    // Sets, through Rudp.set: each set's members in any order, the sets in order.
    const sets = Array.from({ length: 50 }, (_, k) => [
      { guarantee: "Delivery" as const, payload: numbered(10_000 + 3 * k) },
      { guarantee: "Delivery" as const, payload: numbered(10_000 + 3 * k + 1) },
      { guarantee: "Delivery" as const, payload: numbered(10_000 + 3 * k + 2) }
    ])
    const receipts = Stream.fromIterable(sets).pipe(Rudp.set(a), Stream.runCollect)
    const got = b.messages.pipe(Stream.map(numberOf), Stream.take(150), Stream.runCollect)
    const [r, g] = yield* Effect.all([receipts, got], { concurrency: 2 })
    assert.strictEqual(r.length, 50)
    for (let k = 0; k < 50; k++) {
      assert.sameMembers(g.slice(3 * k, 3 * k + 3), [10_000 + 3 * k, 10_000 + 3 * k + 1, 10_000 + 3 * k + 2], `set ${k}`)
    }
    // A receipt's acknowledged waits for the peer's acknowledgement.
    yield* r[49]![2]!.acknowledged
    return yield* a.stats
  })

describe("the tiers as Stream combinators", () => {
  it.effect("over SimNet: Effect's DatagramSocket (MemoryDatagram) through 5 % loss, via Rudp.fromDatagrams", () =>
    Effect.gen(function*() {
      const stats = yield* inVirtualTime(Effect.scoped(Effect.gen(function*() {
        const sa = yield* Rudp.datagramSocket(yield* MemoryDatagram.make({ host: "a", port: 4000 }))
        const sb = yield* Rudp.datagramSocket(yield* MemoryDatagram.make({ host: "b", port: 4000 }))
        const a = yield* Rudp.fromDatagrams(sa.connect(sb.localAddress))
        const b = yield* Rudp.fromDatagrams(sb.connect(sa.localAddress))
        return yield* pipeline(a, b)
      })))
      assert.isAbove(stats.stats.packetsLost, 0, "the network lost packets; the pipeline did not notice")
    }).pipe(SimNet.traceOnFailure(), Effect.provide(SimNet.layer({ seed: 3, latency: "5 millis", loss: 0.05 }))))
})

describe("the same pipeline over real sockets", () => {
  checkFdLeaks()

  it.live("our Udp.make DatagramSocket on loopback, via Rudp.fromDatagrams", () =>
    Effect.gen(function*() {
      const sa = yield* Rudp.datagramSocket(yield* Udp.make({ bind: "127.0.0.1:0" }))
      const sb = yield* Rudp.datagramSocket(yield* Udp.make({ bind: "127.0.0.1:0" }))
      const a = yield* Rudp.fromDatagrams(sa.connect(sb.localAddress))
      const b = yield* Rudp.fromDatagrams(sb.connect(sa.localAddress))
      yield* pipeline(a, b)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("our UDP socket's fast path (UdpLike.loopbackPair), reactor-driven endpoints", () =>
    Effect.gen(function*() {
      const [ua, ub] = yield* UdpLike.loopbackPair()
      const a = yield* Endpoint.make(ua, { drive: "reactor" })
      const b = yield* Endpoint.make(ub, { drive: "reactor" })
      const stats = yield* pipeline(a, b)
      assert.isBelow(stats.stats.datagramsSent, N / 2, "100 B messages were grouped: far fewer datagrams than messages")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("Rudp.sink sends a stream's messages; Rudp.none and Rudp.order send theirs", () =>
    Effect.gen(function*() {
      const [ua, ub] = yield* UdpLike.loopbackPair()
      const a = yield* Endpoint.make(ua, { drive: "reactor" })
      const b = yield* Endpoint.make(ub, { drive: "reactor" })
      const collect = (n: number) => b.messages.pipe(Stream.map(numberOf), Stream.take(n), Stream.runCollect)
      const [, viaSink] = yield* Effect.all([
        Stream.fromIterable([numbered(1), numbered(2), numbered(3)]).pipe(Stream.run(Rudp.sink(a, "Delivery"))),
        collect(3)
      ], { concurrency: 2 })
      assert.deepStrictEqual(viaSink, [1, 2, 3])
      const lossy = (combinator: typeof Rudp.none) =>
        Effect.all([Stream.fromIterable([numbered(7), numbered(8)]).pipe(combinator(a), Stream.runCollect), collect(2)], { concurrency: 2 })
      const [noneReceipts, none] = yield* lossy(Rudp.none)
      assert.deepStrictEqual(noneReceipts.map((r) => r.guarantee), ["None", "None"])
      assert.sameMembers(none, [7, 8], "no loss on loopback")
      const [, order] = yield* lossy(Rudp.order)
      assert.deepStrictEqual(order, [7, 8])
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

// The pipeline's type is transport-independent: it needs endpoints, nothing else.
const _typed: (a: Endpoint.Endpoint, b: Endpoint.Endpoint) => Effect.Effect<Endpoint.Stats, RudpError | Error, never> = pipeline
void _typed
void NetAddress
export type _Scope = Scope.Scope
