/**
 * Our fiber-level sockets against peers we did not write: Node's net and dgram,
 * and socat, in both directions.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as NetAddress from "effect/net/NetAddress"
import type * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import * as dgram from "node:dgram"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Udp from "../../src/socket/Udp.ts"
import * as Unix from "../../src/socket/Unix.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { freePort, socat, waitForTcp } from "../util/peers.ts"

const decoder = new TextDecoder()

/** A server handler that upper-cases what it reads until the peer closes. */
const upperCaser = (socket: Socket.Socket) =>
  Effect.scoped(Effect.gen(function*() {
    const { pull } = yield* socket.reader
    const writer = yield* socket.writer
    while (true) {
      const chunks = yield* pull
      yield* writer.writeAll(chunks.map((c) => new TextEncoder().encode(decoder.decode(c as Uint8Array).toUpperCase())) as never)
    }
  })).pipe(Effect.ignore)

/**
 * Sends `text` through a client Socket, half-closes (releasing the writer's Scope
 * shuts down the write side, so a peer like `tr` sees end of input and flushes),
 * and reads until `expected.length` bytes came back.
 */
const roundTrip = (socket: Socket.Socket, text: string, expectedLength = text.length) =>
  Effect.scoped(Effect.gen(function*() {
    const { pull } = yield* socket.reader
    yield* Effect.scoped(Effect.flatMap(socket.writer, (writer) => writer.write(text)))
    let got = ""
    while (got.length < expectedLength) for (const c of yield* pull) got += typeof c === "string" ? c : decoder.decode(c)
    return got
  }))

const serve = (server: SocketServer.SocketServer["Service"]) => Effect.forkChild(server.run(upperCaser))

describe("peers we did not write", () => {
  checkFdLeaks()

  describe("TCP", () => {
    it.live("node:net client → our SocketServer", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        const fiber = yield* serve(server)
        const port = (server.address as NetAddress.InetAddressV4).port
        const reply = yield* Effect.promise(() =>
          new Promise<string>((resolve, reject) => {
            const c = net.connect(port, "127.0.0.1", () => c.end("from node"))
            let got = ""
            c.on("data", (d) => (got += d))
            c.on("end", () => resolve(got))
            c.on("error", reject)
          })
        )
        assert.strictEqual(reply, "FROM NODE")
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("our Socket → node:net server", () =>
      Effect.gen(function*() {
        const nodeServer = net.createServer((s) => s.on("data", (d) => s.write(d.toString().toUpperCase())))
        yield* Effect.acquireRelease(
          Effect.promise(() => new Promise<void>((r) => nodeServer.listen(0, "127.0.0.1", () => r()))),
          () => Effect.promise(() => new Promise<void>((r) => nodeServer.close(() => r())))
        )
        const port = (nodeServer.address() as net.AddressInfo).port
        const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
        assert.strictEqual(yield* roundTrip(socket, "to node"), "TO NODE")
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("socat client → our SocketServer", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        const fiber = yield* serve(server)
        const port = (server.address as NetAddress.InetAddressV4).port
        const peer = yield* socat(["-t", "1", "-", `TCP:127.0.0.1:${port}`], "from socat")
        yield* Effect.promise(() => peer.exited)
        assert.strictEqual(peer.stdout(), "FROM SOCAT")
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("our Socket → socat server", () =>
      Effect.gen(function*() {
        const port = yield* freePort()
        yield* socat([`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, "SYSTEM:tr a-z A-Z"])
        yield* waitForTcp(port)
        const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
        assert.strictEqual(yield* roundTrip(socket, "to socat"), "TO SOCAT")
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("IPv6: node:net client → our SocketServer on [::1]", () =>
      Effect.gen(function*() {
        const server = yield* Tcp.listen("[::1]:0")
        const fiber = yield* serve(server)
        const port = (server.address as NetAddress.InetAddressV6).port
        const reply = yield* Effect.promise(() =>
          new Promise<string>((resolve, reject) => {
            const c = net.connect(port, "::1", () => c.end("six"))
            let got = ""
            c.on("data", (d) => (got += d))
            c.on("end", () => resolve(got))
            c.on("error", reject)
          })
        )
        assert.strictEqual(reply, "SIX")
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(Reactor.layer)))
  })

  describe("Unix", () => {
    it.live("socat client → our Unix SocketServer (path) and our Socket → socat (abstract)", () =>
      Effect.gen(function*() {
        const path = join(tmpdir(), `effect-mio-peer-${process.pid}-${Date.now()}.sock`)
        const server = yield* Unix.listen(path)
        const fiber = yield* serve(server)
        const peer = yield* socat(["-t", "1", "-", `UNIX-CONNECT:${path}`], "over a path")
        yield* Effect.promise(() => peer.exited)
        assert.strictEqual(peer.stdout(), "OVER A PATH")
        yield* Fiber.interrupt(fiber)

        const name = `effect-mio-peer-${process.pid}-${Date.now()}`
        yield* socat([`ABSTRACT-LISTEN:${name},fork`, "SYSTEM:tr a-z A-Z"])
        // socat starts asynchronously: the reader's acquisition dials, so retry it.
        const socket = yield* Unix.connect(`@${name}`)
        const reply = yield* roundTrip(socket, "abstract").pipe(
          Effect.retry({ times: 100, schedule: Schedule.spaced("10 millis") })
        )
        assert.strictEqual(reply, "ABSTRACT")
      }).pipe(Effect.provide(Reactor.layer)))
  })

  describe("UDP", () => {
    it.live("our DatagramSocket ⇄ node:dgram, both directions", () =>
      Effect.gen(function*() {
        const peer = dgram.createSocket("udp4")
        yield* Effect.acquireRelease(
          Effect.promise(() => new Promise<void>((r) => peer.bind(0, "127.0.0.1", () => r()))),
          () => Effect.promise(() => new Promise<void>((r) => peer.close(() => r())))
        )
        const fromNode: Array<string> = []
        peer.on("message", (m, rinfo) => {
          fromNode.push(m.toString())
          peer.send(m.toString().toUpperCase(), rinfo.port, rinfo.address)
        })
        const to = NetAddress.inetAddressFromStringUnsafe(`127.0.0.1:${peer.address().port}`)
        const socket = yield* Udp.make({ bind: "127.0.0.1:0" })
        const replies = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          yield* writer.writeAll([{ payload: "one", address: to }, { payload: "two", address: to }])
          const got: Array<string> = []
          while (got.length < 2) for (const d of yield* reader.pull) got.push(decoder.decode(d.payload))
          return got.sort()
        }))
        assert.deepStrictEqual(replies, ["ONE", "TWO"])
        assert.deepStrictEqual(fromNode.sort(), ["one", "two"])
      }).pipe(Effect.provide(Reactor.layer)))

    it.live("socat UDP echo ⇄ our connected DatagramSocket", () =>
      Effect.gen(function*() {
        const port = yield* freePort()
        yield* socat([`UDP4-RECVFROM:${port},bind=127.0.0.1,fork`, "SYSTEM:tr a-z A-Z"])
        const socket = yield* Udp.make({ bind: "127.0.0.1:0", connect: `127.0.0.1:${port}` })
        const reply = yield* Effect.scoped(Effect.gen(function*() {
          const reader = yield* socket.reader
          const writer = yield* socket.writer
          // socat may not be bound yet: resend until it answers.
          for (let i = 0; i < 100; i++) {
            yield* writer.write({ payload: "datagram" })
            const got = yield* Effect.timeoutOption(reader.pull, 50)
            if (got._tag === "Some") return decoder.decode(got.value[0].payload)
          }
          return "no reply"
        }))
        assert.strictEqual(reply, "DATAGRAM")
      }).pipe(Effect.provide(Reactor.layer)))
  })
})
