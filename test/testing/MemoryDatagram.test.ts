import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as NetAddress from "effect/net/NetAddress"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as DatagramSocket from "effect/socket/DatagramSocket"
import { TestClock } from "effect/testing"
import * as MemoryDatagram from "../../src/testing/MemoryDatagram.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { runDatagramConformance } from "../conformance/datagram.ts"

runDatagramConformance(
  "MemoryDatagram (ideal, one host)",
  Effect.map(SimNet.make(), (net) => ({
    make: (options) => MemoryDatagram.make(options ?? {}).pipe(Effect.orDie, Effect.provideService(SimNet.SimNet, net))
  }))
)

runDatagramConformance(
  "MemoryDatagram (ideal links between hosts)",
  Effect.map(SimNet.make(), (net) => {
    let n = 0
    return {
      make: (options) =>
        MemoryDatagram.make({ ...options, host: `h${n++ % 3}` }).pipe(Effect.orDie, Effect.provideService(SimNet.SimNet, net))
    }
  })
)

const encoder = new TextEncoder()
const decoder = new TextDecoder()

describe("MemoryDatagram", () => {
  it.effect("datagrams between hosts arrive after the link's latency, by the TestClock", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const server = yield* MemoryDatagram.make({ host: "server", port: 53 })
      const reader = yield* server.reader
      assert.strictEqual(NetAddress.formatInet(reader.address), "10.0.0.1:53")
      const client = yield* MemoryDatagram.make({ host: "client", peer: "server:53" })
      yield* client.reader
      yield* (yield* client.writer).write({ payload: "query" })
      const pulled = yield* Effect.forkChild(reader.pull)
      yield* TestClock.adjust(11)
      assert.isUndefined(pulled.pollUnsafe())
      yield* TestClock.adjust(1)
      const [datagram] = yield* Fiber.join(pulled)
      assert.strictEqual(decoder.decode(datagram!.payload), "query")
      assert.strictEqual(NetAddress.formatInet(datagram!.address), "10.0.0.2:49152")
      assert.strictEqual(yield* net.now, 12)
    }).pipe(Effect.provide(SimNet.layer({ latency: 12 }))))

  it.effect("an application written against DatagramSocket runs on a lossy SimNet by swapping one layer", () => {
    // the application: ask a resolver, retry every 30 ms until an answer comes
    const lookup = (name: string) =>
      Effect.gen(function*() {
        const socket = yield* DatagramSocket.DatagramSocket
        const reader = yield* socket.reader
        const writer = yield* socket.writer
        const [answer] = yield* Effect.andThen(writer.write({ payload: name }), reader.pull).pipe(
          Effect.timeout("30 millis"),
          Effect.retry(Schedule.recurs(50))
        )
        return decoder.decode(answer!.payload)
      }).pipe(Effect.scoped)

    const TestEnv = MemoryDatagram.layer({ host: "client", peer: "resolver:53" }).pipe(
      Layer.provideMerge(SimNet.layer({ seed: 4, latency: 5, jitter: 2, loss: 0.4 }))
    )

    return Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      // the resolver, on its own host
      const resolver = yield* MemoryDatagram.make({ host: "resolver", port: 53 })
      const reader = yield* resolver.reader
      const writer = yield* resolver.writer
      yield* Effect.forkChild(Effect.forever(Effect.gen(function*() {
        for (const query of yield* reader.pull) {
          yield* writer.write({ payload: `${decoder.decode(query.payload)} is 10.0.0.9`, address: query })
        }
      })))
      const answer = yield* Effect.forkChild(lookup("example.test"))
      while (answer.pollUnsafe() === undefined) yield* net.advance(10)
      assert.strictEqual(yield* Fiber.join(answer), "example.test is 10.0.0.9")
      const lost = (yield* net.stats("client->resolver")).dropped["loss"] ?? 0
      const lostBack = (yield* net.stats("resolver->client")).dropped["loss"] ?? 0
      assert.isAbove(lost + lostBack, 0, `seed 4 loses something on the way (${yield* net.report()})`)
    }).pipe(SimNet.traceOnFailure(), Effect.provide(TestEnv))
  })

  it.effect("a bound port is in use until its reader closes", () =>
    Effect.gen(function*() {
      const first = yield* MemoryDatagram.make({ host: "h", port: 7000 })
      const second = yield* MemoryDatagram.make({ host: "h", port: 7000 })
      const scope = yield* Scope.make()
      yield* Scope.provide(first.reader, scope)
      const error = yield* Effect.flip(Effect.scoped(second.reader))
      assert.isTrue(error.reason._tag === "DatagramSocketOpenError" && error.reason.kind === "AddressInUse")
      yield* Scope.close(scope, Exit.void)
      yield* Effect.scoped(second.reader)
    }).pipe(Effect.provide(SimNet.layer())))

  it.effect("datagrams to a closed port or an unknown host are dropped and traced", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const socket = yield* MemoryDatagram.make({ host: "a" })
      yield* socket.reader
      const writer = yield* socket.writer
      net.network.host("b")
      yield* writer.write({ payload: "nobody", address: NetAddress.inetAddressFromIpStringUnsafe("10.0.0.2", 9) })
      yield* writer.write({ payload: "nowhere", address: NetAddress.inetAddressFromIpStringUnsafe("192.0.2.1", 9) })
      const drops = net.trace.events().filter((e) => e.kind === "drop").map((e) => [e.link, e.detail])
      assert.deepStrictEqual(drops, [["a->b", "unbound"], ["a->192.0.2.1", "unreachable"]])
    }).pipe(Effect.provide(SimNet.layer())))

  it.effect("127.0.0.1 reaches the socket's own host", () =>
    Effect.gen(function*() {
      const server = yield* MemoryDatagram.make({ host: "box", port: 8125 })
      const reader = yield* server.reader
      const client = yield* MemoryDatagram.make({ host: "box", peer: "127.0.0.1:8125" })
      yield* client.reader
      yield* (yield* client.writer).write({ payload: "metric:1|c" })
      const [datagram] = yield* reader.pull
      assert.strictEqual(decoder.decode(datagram!.payload), "metric:1|c")
    }).pipe(Effect.provide(SimNet.layer({ latency: 50 }))))

  it.effect("receive-queue overflow is counted by dropped()", () =>
    Effect.gen(function*() {
      const server = yield* MemoryDatagram.make({ host: "s", port: 1, receiveBuffer: { capacity: 4 } })
      const reader = yield* server.reader
      const client = yield* MemoryDatagram.make({ host: "c", peer: "s:1" })
      yield* client.reader
      const writer = yield* client.writer
      for (let i = 0; i < 10; i++) yield* writer.write({ payload: encoder.encode(`${i}`) })
      assert.strictEqual(reader.dropped(), 6)
      assert.deepStrictEqual((yield* reader.pull).map((d) => decoder.decode(d.payload)), ["0", "1", "2", "3"])
    }).pipe(Effect.provide(SimNet.layer())))

  it.effect("refuses oversize datagrams and multicast", () =>
    Effect.gen(function*() {
      const socket = yield* MemoryDatagram.make({ peer: "local:9" })
      const reader = yield* socket.reader
      const writer = yield* socket.writer
      const tooLarge = yield* Effect.flip(writer.write({ payload: new Uint8Array(70_000) }))
      assert.isTrue(tooLarge.reason._tag === "DatagramSocketWriteError" && tooLarge.reason.kind === "MessageTooLarge")
      const multicast = yield* Effect.flip(
        reader.joinMulticast({ group: NetAddress.ipFromStringUnsafe("239.1.2.3") as never })
      )
      assert.strictEqual(multicast.reason._tag, "DatagramSocketUnsupportedError")
    }).pipe(Effect.provide(SimNet.layer())))
})
