import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as NetAddress from "effect/net/NetAddress"
import * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import { TestClock } from "effect/testing"
import * as MemorySocket from "../../src/testing/MemorySocket.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { runSocketConformance } from "../conformance/socket.ts"

const targetOn = (serverHost: string, clientHost: string) =>
  Effect.map(SimNet.make(), (net) => ({
    listen: MemorySocket.listen({ host: serverHost }).pipe(Effect.provideService(SimNet.SimNet, net)),
    connect: (address: NetAddress.SocketAddress) =>
      MemorySocket.make({ to: address, host: clientHost }).pipe(
        Effect.orDie,
        Effect.provideService(SimNet.SimNet, net)
      ),
    refused: Effect.succeed(NetAddress.inetAddressFromIpStringUnsafe("10.0.0.1", 9))
  }))

runSocketConformance("MemorySocket (ideal link between two hosts)", targetOn("server", "client"))
runSocketConformance("MemorySocket (loopback)", targetOn("local", "local"))

const decoder = new TextDecoder()
const text = (chunks: ReadonlyArray<Uint8Array>) => chunks.map((c) => decoder.decode(c)).join("")

/** A server whose accepted sockets are handed to the test. */
const accepting = Effect.gen(function*() {
  const server = yield* MemorySocket.listen({ host: "server", port: 80 })
  const accepted = yield* Deferred.make<Socket.Socket>()
  yield* Effect.forkScoped(server.run((socket) => Effect.andThen(Deferred.succeed(accepted, socket), Effect.never)))
  return { server, accepted: Deferred.await(accepted) }
})

describe("MemorySocket over a SimNet link", () => {
  it.effect("connecting takes one round trip; bytes take the latency", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const { accepted } = yield* accepting
      const client = yield* MemorySocket.make({ host: "client", to: "server:80" })
      const connecting = yield* Effect.forkChild(Socket.readerBytes(client))
      yield* TestClock.adjust(19)
      assert.isUndefined(connecting.pollUnsafe(), "SYN at 0, SYN-ACK back at 20")
      yield* TestClock.adjust(1)
      const pull = yield* Fiber.join(connecting)
      const serverPull = yield* Socket.readerBytes(yield* accepted)
      yield* (yield* client.writer).write("hello")
      const pulled = yield* Effect.forkChild(serverPull)
      yield* TestClock.adjust(10)
      assert.strictEqual(text(yield* Fiber.join(pulled)), "hello")
      assert.strictEqual(yield* net.now, 30)
      const labels = net.trace.events().filter((e) => e.kind === "deliver").map((e) => `${e.at} ${e.detail}`)
      assert.deepStrictEqual(labels, [
        "10 SYN :49152->:80",
        "20 SYN-ACK :80->:49152",
        "30 DATA :49152->:80"
      ])
      assert.isTrue(pull !== undefined)
    }).pipe(Effect.provide(SimNet.layer({ latency: 10 }))))

  it.effect("a writer waits while the peer's window is full, and resumes as the peer pulls", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemorySocket.pair({ window: 1000 })
      yield* a.reader
      const pullB = yield* Socket.readerBytes(b)
      const writer = yield* a.writer
      let written = 0
      const writing = yield* Effect.forkChild(Effect.gen(function*() {
        for (let i = 0; i < 5; i++) {
          yield* writer.write(new Uint8Array(400).fill(i))
          written++
        }
      }))
      yield* TestClock.adjust(1)
      assert.strictEqual(written, 3, "400 + 400 + 400 ≥ 1000: the fourth write waits")
      const first = yield* pullB
      assert.strictEqual(first.reduce((n, c) => n + c.length, 0), 1200)
      yield* TestClock.adjust(1)
      yield* Fiber.join(writing)
      assert.strictEqual(written, 5)
    }).pipe(Effect.provide(SimNet.layer())))

  it.effect("a partition stalls the stream; the heal releases the held bytes", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const [a, b] = yield* MemorySocket.pair()
      yield* a.reader
      const pullB = yield* Socket.readerBytes(b)
      const writer = yield* a.writer
      yield* net.partition("a", "b")
      yield* writer.write("held")
      const pulled = yield* Effect.forkChild(pullB)
      yield* TestClock.adjust(1000)
      assert.isUndefined(pulled.pollUnsafe())
      yield* net.heal()
      yield* TestClock.adjust(4)
      assert.isUndefined(pulled.pollUnsafe())
      yield* TestClock.adjust(1)
      assert.strictEqual(text(yield* Fiber.join(pulled)), "held")
      assert.strictEqual(yield* net.now, 1005)
    }).pipe(Effect.provide(SimNet.layer({ latency: 5 }))))

  it.effect("bandwidth paces a stream: 10 kB over 80 kbit/s takes a second", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemorySocket.pair()
      yield* a.reader
      const pullB = yield* Socket.readerBytes(b)
      yield* (yield* a.writer).write(new Uint8Array(10_000))
      const pulled = yield* Effect.forkChild(pullB)
      yield* TestClock.adjust(999)
      assert.isUndefined(pulled.pollUnsafe())
      yield* TestClock.adjust(1)
      assert.strictEqual((yield* Fiber.join(pulled))[0]!.length, 10_000)
    }).pipe(Effect.provide(SimNet.layer({ bandwidth: { bitsPerSecond: 80_000 } }))))

  it.effect("writing after a half-close fails; so does writing to a peer that closed and reset", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemorySocket.pair()
      yield* a.reader
      const writerScope = yield* Scope.make()
      const writerA = yield* Scope.provide(a.writer, writerScope)
      yield* writerA.write("bye")
      yield* Scope.close(writerScope, Exit.void)
      const afterEnd = yield* Effect.flip(writerA.write("more"))
      assert.strictEqual(afterEnd.reason._tag, "SocketWriteError")

      const readerScope = yield* Scope.make()
      yield* Scope.provide(b.reader, readerScope)
      const writerB = yield* b.writer
      yield* Scope.close(readerScope, Exit.void) // b closes, unread "bye" discarded
      // b's reader closed: writes wait for a connection that a pair never makes again
      const waiting = yield* Effect.forkChild(writerB.write("x"))
      yield* Effect.yieldNow
      assert.isUndefined(waiting.pollUnsafe())
      yield* Fiber.interrupt(waiting)
    }).pipe(Effect.provide(SimNet.layer())))

  it.effect("data sent to a closed peer is refused with a reset; the sender's next writes fail", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const { accepted } = yield* accepting
      const client = yield* MemorySocket.make({ host: "client", to: "server:80" })
      const pull = yield* Socket.readerBytes(client)
      const writer = yield* client.writer
      const serverSide = yield* accepted
      yield* Effect.scoped(serverSide.reader) // the server adopts and closes at once
      const { error } = yield* Effect.exit(pull).pipe(Effect.map((exit) => ({ error: exit })))
      assert.isTrue(Exit.isFailure(error), "the client sees the close")
      yield* writer.write("too late") // in flight when the RST comes back
      const reset = yield* Effect.flip(writer.write("now refused"))
      assert.strictEqual(reset.reason._tag, "SocketWriteError")
      const drops = net.trace.events().filter((e) => e.kind === "deliver" && e.detail?.startsWith("RST"))
      assert.strictEqual(drops.length, 1)
    }).pipe(Effect.provide(SimNet.layer())))

  it.effect("a write waiting for window space fails when its side closes", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemorySocket.pair({ window: 100 })
      yield* Socket.readerBytes(b)
      const scope = yield* Scope.make()
      yield* Scope.provide(a.reader, scope)
      const writer = yield* a.writer
      yield* writer.write(new Uint8Array(100))
      const blocked = yield* Effect.forkChild(writer.write(new Uint8Array(1)))
      yield* Effect.yieldNow
      assert.isUndefined(blocked.pollUnsafe(), "the window is full")
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Fiber.await(blocked)
      assert.isTrue(Exit.isFailure(exit), "the blocked write fails rather than waiting forever")
    }).pipe(Effect.provide(SimNet.layer())))

  it.effect("a refused connection ends with the RST: no FIN follows it", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      net.network.host("server")
      const client = yield* MemorySocket.make({ host: "client", to: "server:81" })
      const dialing = yield* Effect.forkChild(Effect.flip(Effect.scoped(client.reader)))
      yield* TestClock.adjust(10)
      assert.strictEqual((yield* Fiber.join(dialing)).reason._tag, "SocketOpenError")
      const segments = net.trace.events().filter((e) => e.kind === "send").map((e) => `${e.link} ${e.detail}`)
      assert.deepStrictEqual(segments, ["client->server SYN :49152->:81", "server->client RST :81->:49152"])
    }).pipe(Effect.provide(SimNet.layer({ latency: 1 }))))

  it.effect("a writer may reuse its buffer as soon as write returns", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemorySocket.pair()
      yield* a.reader
      const pullB = yield* Socket.readerBytes(b)
      const buffer = new TextEncoder().encode("first")
      const writer = yield* a.writer
      yield* writer.write(buffer)
      buffer.set(new TextEncoder().encode("XXXXX"))
      const pulled = yield* Effect.forkChild(pullB)
      yield* TestClock.adjust(5)
      assert.strictEqual(text(yield* Fiber.join(pulled)), "first")
    }).pipe(Effect.provide(SimNet.layer({ latency: 5 }))))

  it.effect("a pair's sockets adopt their ends once", () =>
    Effect.gen(function*() {
      const [a, b] = yield* MemorySocket.pair()
      assert.isTrue(MemorySocket.isMemorySocket(a))
      yield* Effect.scoped(Effect.gen(function*() {
        const pullB = yield* Socket.readerBytes(b)
        yield* a.reader
        yield* (yield* a.writer).write("one")
        assert.strictEqual(text(yield* pullB), "one")
      }))
      const again = yield* Effect.flip(Effect.scoped(a.reader))
      assert.strictEqual(again.reason._tag, "SocketCloseError")
    }).pipe(Effect.provide(SimNet.layer())))
})

describe("MemorySocket · listeners", () => {
  it.effect("a port is in use while a listener holds it", () =>
    Effect.gen(function*() {
      yield* MemorySocket.listen({ host: "s", port: 443 })
      const error = yield* Effect.flip(MemorySocket.listen({ host: "s", port: 443 }))
      assert.strictEqual(error.reason._tag, "SocketServerOpenError")
      yield* MemorySocket.listen({ host: "t", port: 443 })
    }).pipe(Effect.provide(SimNet.layer())))

  it.effect("connections beyond the backlog are refused until run takes them", () =>
    Effect.gen(function*() {
      const server = yield* MemorySocket.listen({ host: "s", backlog: 1 })
      const first = yield* MemorySocket.make({ to: server.address })
      const second = yield* MemorySocket.make({ to: server.address })
      yield* first.reader
      const refused = yield* Effect.flip(Effect.scoped(second.reader))
      assert.strictEqual(refused.reason._tag, "SocketOpenError")
    }).pipe(Effect.provide(SimNet.layer())))

  it.effect("closing the listener resets waiting connections and fails run", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.provide(MemorySocket.listen({ host: "s" }), scope)
      const client = yield* MemorySocket.make({ to: server.address })
      const pull = yield* Socket.readerBytes(client)
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(pull)
      assert.strictEqual(error.reason._tag, "SocketCloseError")
      const runError = yield* Effect.flip(server.run(() => Effect.void))
      assert.instanceOf(runError, SocketServer.SocketServerError)
      const refused = yield* Effect.flip(Effect.scoped((yield* MemorySocket.make({ to: server.address })).reader))
      assert.strictEqual(refused.reason._tag, "SocketOpenError")
    }).pipe(Effect.provide(SimNet.layer())))
})

describe("MemorySocket · swapping layers", () => {
  // an application written only against effect/socket: a line protocol that upper-cases
  const serve = Effect.gen(function*() {
    const server = yield* SocketServer.SocketServer
    return yield* server.run((socket) =>
      Effect.scoped(Effect.gen(function*() {
        const pull = yield* Socket.readerString(socket)
        const writer = yield* socket.writer
        while (true) yield* writer.write((yield* pull).join("").toUpperCase())
      }))
    )
  })
  const ask = (question: string) =>
    Effect.gen(function*() {
      const socket = yield* Socket.Socket
      const pull = yield* Socket.readerString(socket)
      const writer = yield* socket.writer
      yield* writer.write(question)
      let answer = ""
      while (answer.length < question.length) answer += (yield* pull).join("")
      return answer
    }).pipe(Effect.scoped)

  it.effect("client and server layers over a 25 ms link", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      yield* Effect.forkChild(serve)
      const answer = yield* Effect.forkChild(ask("hello over the simulated wire"))
      yield* TestClock.adjust(99)
      assert.isUndefined(answer.pollUnsafe(), "2 round trips: connect, then question and answer")
      yield* TestClock.adjust(1)
      assert.strictEqual(yield* Fiber.join(answer), "HELLO OVER THE SIMULATED WIRE")
      assert.strictEqual(yield* net.now, 100)
    }).pipe(
      Effect.provide(
        Layer.mergeAll(
          MemorySocket.layer({ host: "client", to: "server:8080" }),
          MemorySocket.layerServer({ host: "server", port: 8080 })
        ).pipe(Layer.provideMerge(SimNet.layer({ latency: 25 })))
      )
    ))
})

