/**
 * Reliable UDP's tiers as Stream stages: one pipeline, two transports.
 *
 * Run it:   npx tsx --conditions=effect-mio-source examples/rudp-stream.ts
 * Poke it:  raise the simulated loss to 0.3, or swap `Rudp.delivery` for `Rudp.order` and count
 *           what arrives.
 *
 * `pipeline` is written against `Endpoint`s only: a Schema codec stage turns events into bytes,
 * `Rudp.delivery` sends them (reliable, ordered, grouped into shared datagrams), and on the other
 * side `endpoint.messages` is decoded and filtered like any Stream. It runs unchanged
 *
 * 1. over effect-mio/testing's `SimNet` (Effect's `DatagramSocket` from `MemoryDatagram`, through
 *    `Rudp.fromDatagrams`), with 10 % loss on an Ethernet-size path (1,472-byte datagrams), in virtual time; and
 * 2. over our UDP sockets on loopback.
 */
import { Effect, Fiber, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import { pathToFileURL } from "node:url"
import { Endpoint, Reactor, Rudp, UdpLike } from "effect-mio"
import { MemoryDatagram, SimNet } from "effect-mio/testing"

const Reading = Schema.Struct({ sensor: Schema.String, seq: Schema.Number, celsius: Schema.Number })
type Reading = typeof Reading.Type
const Json = Schema.fromJsonString(Reading)
const encode = Schema.encodeSync(Json)
const decode = Schema.decodeUnknownSync(Json)
const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

/** 1,000 readings from `a` to `b`; returns the hot ones `b` saw, and how many datagrams carried them. */
export const pipeline = (a: Endpoint.Endpoint, b: Endpoint.Endpoint) =>
  Effect.gen(function*() {
    const readings = Array.from({ length: 1000 }, (_, seq): Reading => ({ sensor: "t1", seq, celsius: 20 + (seq % 17) }))
    const send = Stream.fromIterable(readings).pipe(
      Stream.map((r) => bytes(encode(r))), // a codec stage before the tier
      Rudp.delivery(a),
      Stream.runDrain
    )
    const receive = b.messages.pipe(
      Stream.map((m) => decode(text(m))), // and after it
      Stream.take(readings.length),
      Stream.filter((r) => r.celsius >= 35),
      Stream.runCollect
    )
    const [, hot] = yield* Effect.all([send, receive], { concurrency: 2 })
    const stats = yield* a.stats
    return { hot: hot.length, inOrder: hot.every((r, i) => i === 0 || r.seq > hot[i - 1]!.seq), datagrams: stats.stats.datagramsSent, lost: stats.stats.packetsLost }
  })

/** The pipeline over SimNet, 10 % loss, virtual time. */
export const overSimNet = Effect.gen(function*() {
  const net = yield* SimNet.SimNet
  const run = Effect.scoped(Effect.gen(function*() {
    const sa = yield* Rudp.datagramSocket(yield* MemoryDatagram.make({ host: "a", port: 5000 }))
    const sb = yield* Rudp.datagramSocket(yield* MemoryDatagram.make({ host: "b", port: 5000 }))
    const a = yield* Rudp.fromDatagrams(sa.connect(sb.localAddress))
    const b = yield* Rudp.fromDatagrams(sb.connect(sa.localAddress))
    return yield* pipeline(a, b)
  }))
  // Time is virtual: move the clock until the run is done.
  const fiber = yield* Effect.forkChild(run)
  while (fiber.pollUnsafe() === undefined) yield* net.advance("1 millis")
  return yield* Fiber.join(fiber)
}).pipe(Effect.provide(SimNet.layer({ seed: 4, latency: "10 millis", jitter: "2 millis", loss: 0.1, mtu: 1472 })), Effect.provide(TestClock.layer({ warningDelay: "30 seconds" })))

/** The pipeline over our UDP sockets on loopback. */
export const overUdp = Effect.scoped(Effect.gen(function*() {
  const [ua, ub] = yield* UdpLike.loopbackPair()
  const a = yield* Endpoint.make(ua, { drive: "reactor" })
  const b = yield* Endpoint.make(ub, { drive: "reactor" })
  return yield* pipeline(a, b)
})).pipe(Effect.provide(Reactor.layer))

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  Effect.runPromise(Effect.gen(function*() {
    const sim = yield* overSimNet
    console.log(`SimNet, 10 % loss: ${sim.hot} hot readings, in order: ${sim.inOrder}; ${sim.datagrams} datagrams, ${sim.lost} lost`)
    const udp = yield* overUdp
    console.log(`UDP on loopback:   ${udp.hot} hot readings, in order: ${udp.inOrder}; ${udp.datagrams} datagrams`)
  })).catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
}
