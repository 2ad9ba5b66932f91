/**
 * The test kit as a user meets it through `effect-mio/testing` only. Each test
 * here failed before the fix it names.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type * as Socket from "effect/socket/Socket"
import { IoError, Reactor, Tcp, UdpSocket } from "effect-mio"
import { MemoryDatagram, MemorySocket, Relay, SimNet } from "effect-mio/testing"
import * as dgram from "node:dgram"
import { checkFdLeaks } from "../util/fds.ts"

/** A node:dgram socket bound on loopback, closed with the Scope. */
const nodeUdp = (port = 0) =>
  Effect.acquireRelease(
    Effect.callback<dgram.Socket>((resume) => {
      const socket = dgram.createSocket("udp4")
      socket.bind(port, "127.0.0.1", () => resume(Effect.succeed(socket)))
    }),
    (socket) => Effect.callback<void>((resume) => void socket.close(() => resume(Effect.void)))
  )

/** Waits (bounded) until `ready()` holds. */
const until = (ready: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200 && !ready(); i++) yield* Effect.sleep("5 millis")
  })

describe("user audit: the test kit", () => {
  checkFdLeaks()

  // Before: the first datagram reached a target that was not listening yet; the
  // kernel's ICMP "port unreachable" came back to the client's upstream socket as
  // ECONNREFUSED, and that ended the upstream's receive loop. Every reply of the
  // target once it was up was then lost, and no counter said so.
  it.live("a relay whose target starts late (or restarts) still carries the target's replies", () =>
    Effect.gen(function*() {
      // a free port: bound by a socket closed at once
      const port = yield* Effect.scoped(Effect.gen(function*() {
        const s = yield* UdpSocket.bind("127.0.0.1:0")
        const a = s.localAddr()
        return a instanceof Error || a._tag !== "InetAddressV4" ? 0 : a.port
      }))
      const relay = yield* Relay.make({ target: `127.0.0.1:${port}` })
      const relayPort = relay.address._tag === "InetAddressV4" ? relay.address.port : 0
      const client = yield* nodeUdp()
      const replies: Array<string> = []
      client.on("message", (m) => replies.push(String(m)))

      client.send("early", relayPort, "127.0.0.1")
      yield* until(() => relay.stats().forward.delivered === 1)
      yield* Effect.sleep("20 millis") // the ICMP report reaches the upstream socket

      const target = yield* nodeUdp(port)
      target.on("message", (m, from) => target.send(`echo ${m}`, from.port, from.address))
      client.send("late", relayPort, "127.0.0.1")
      yield* until(() => replies.length > 0)
      assert.deepStrictEqual(replies, ["echo late"])
      assert.strictEqual(relay.stats().backward.delivered, 1)
    }).pipe(Effect.provide(Reactor.layer)))
})

describe("user audit: the simulated sockets' errors", () => {
  const env = <A, E, R>(self: Effect.Effect<A, E, R>) =>
    self.pipe(Effect.scoped, Effect.provide(SimNet.layer({ seed: 3 })))

  // Before: Effect's makeFromBackingSocket died with "TypeError: Cannot use 'in'
  // operator to search for '_tag' in b:9" — a defect — where a Udp.make writer
  // fails the write with an InvalidInput cause.
  it.effect("a MemoryDatagram write of a malformed datagram fails the write, naming what is wrong", () =>
    env(Effect.gen(function*() {
      const socket = yield* MemoryDatagram.make({ host: "a" })
      yield* socket.reader
      const writer = yield* socket.writer
      const bad: ReadonlyArray<unknown> = [
        { payload: new Uint8Array(3), address: "b:9" },
        { payload: 5, address: { host: "b", port: 9 } },
        null
      ]
      for (const datagram of bad) {
        const r = yield* Effect.result(writer.write(datagram as never))
        assert.isTrue(r._tag === "Failure", `accepted ${String(datagram)}`)
        const reason = r._tag === "Failure" ? r.failure.reason : undefined
        assert.strictEqual(reason?._tag, "DatagramSocketWriteError")
        const cause = (reason as { cause?: unknown } | undefined)?.cause
        assert.instanceOf(cause, IoError.IoError)
        assert.strictEqual((cause as IoError.IoError).kind, "InvalidInput")
        assert.include(r._tag === "Failure" ? r.failure.message : "", "datagram")
      }
      const all = yield* Effect.result(writer.writeAll([{ payload: "ok", address: "b:9" }] as never))
      assert.strictEqual(all._tag === "Failure" ? all.failure.reason._tag : undefined, "DatagramSocketWriteError")
    })))

  // Before: "An error occurred during Open" (a connect to nothing, a bad option),
  // "Open" (listen) or "" (MemoryDatagram) — where the real sockets say
  // "Open failed: connect ECONNREFUSED …" and name the option.
  it.effect("the simulated sockets' errors say what failed, as the real ones' do", () =>
    env(Effect.gen(function*() {
      const messageOf = (r: { readonly _tag: string; readonly failure?: unknown }) =>
        r._tag === "Failure" ? String((r.failure as Error).message) : "succeeded"
      const socket = yield* MemorySocket.make({ host: "client", to: "server:80" })
      const refused = messageOf(yield* Effect.result(Effect.scoped(socket.reader)))
      assert.match(refused, /^Open failed: .*ECONNREFUSED/)
      assert.include(refused, ":80")
      const badWindow = messageOf(yield* Effect.result(MemorySocket.make({ to: "server:80", window: -1 })))
      assert.match(badWindow, /^Open failed: .*window/)
      yield* MemorySocket.listen({ host: "server", port: 80 })
      const inUse = messageOf(yield* Effect.result(MemorySocket.listen({ host: "server", port: 80 })))
      assert.match(inUse, /^Open failed: .*EADDRINUSE/)
      const badBacklog = messageOf(yield* Effect.result(MemorySocket.listen({ backlog: -1 })))
      assert.match(badBacklog, /^Open failed: .*backlog/)
      const badPort = messageOf(yield* Effect.result(MemoryDatagram.make({ port: 70000 })))
      assert.match(badPort, /^Open failed: .*port/)
      const taken = yield* MemoryDatagram.make({ host: "a", port: 53 })
      yield* taken.reader
      const second = yield* MemoryDatagram.make({ host: "a", port: 53 })
      const busy = messageOf(yield* Effect.result(Effect.scoped(second.reader)))
      assert.match(busy, /^Open failed: .*EADDRINUSE/)
      const toB = yield* MemoryDatagram.make({ host: "c", peer: "b:9" })
      yield* toB.reader
      const writer = yield* toB.writer
      const tooLarge = messageOf(yield* Effect.result(writer.write({ payload: new Uint8Array(70_000) })))
      assert.match(tooLarge, /^Write failed: /)
    })))
})

describe("user audit: MemorySocket servers behave as Tcp.listen's", () => {
  checkFdLeaks()

  // Before: a handler that greets before it reads (an SMTP banner, a protocol
  // version) hung on MemorySocket.listen — its writes waited for a reader —
  // while the same handler works on Tcp.listen, whose accepted sockets are
  // connected from the start.
  const greeter = (socket: Socket.Socket) =>
    Effect.scoped(Effect.gen(function*() {
      const writer = yield* socket.writer
      yield* writer.write("220 ready\r\n")
      const reader = yield* socket.reader
      const line = yield* reader.pull
      yield* writer.write(`250 ${new TextDecoder().decode(line[0] as Uint8Array)}`)
    })).pipe(Effect.ignore)

  const client = (socket: Socket.Socket) =>
    Effect.scoped(Effect.gen(function*() {
      const reader = yield* socket.reader
      const writer = yield* socket.writer
      const banner = new TextDecoder().decode((yield* reader.pull)[0] as Uint8Array)
      yield* writer.write("HELO")
      const reply = new TextDecoder().decode((yield* reader.pull)[0] as Uint8Array)
      return [banner, reply]
    })).pipe(Effect.timeout("2 seconds"))

  it.live("a handler that writes before it acquires the reader: real TCP", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen("127.0.0.1:0")
      yield* Effect.forkScoped(server.run(greeter))
      const port = server.address._tag === "UnixPathAddress" ? 0 : server.address.port
      assert.deepStrictEqual(yield* client(yield* Tcp.connect(`127.0.0.1:${port}`)), ["220 ready\r\n", "250 HELO"])
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("the same handler on MemorySocket.listen", () =>
    Effect.gen(function*() {
      const server = yield* MemorySocket.listen({ host: "server", port: 25 })
      yield* Effect.forkScoped(server.run(greeter))
      assert.deepStrictEqual(
        yield* client(yield* MemorySocket.make({ host: "client", to: "server:25" })),
        ["220 ready\r\n", "250 HELO"]
      )
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer({ seed: 5 }))))

  it.live("a server-side socket's writes fail once its connection is closed, rather than wait", () =>
    Effect.gen(function*() {
      const server = yield* MemorySocket.listen({ host: "server", port: 26 })
      const late: Array<string> = []
      yield* Effect.forkScoped(server.run((socket) =>
        Effect.gen(function*() {
          yield* Effect.scoped(Effect.asVoid(socket.reader)) // acquired and released: the connection closes
          const writer = yield* Effect.scoped(socket.writer)
          const r = yield* Effect.result(writer.write("too late").pipe(Effect.timeout("1 second")))
          late.push(r._tag === "Failure" ? r.failure._tag : "written")
        })
      ))
      yield* Effect.scoped(Effect.gen(function*() {
        const socket = yield* MemorySocket.make({ host: "client", to: "server:26" })
        yield* socket.reader
        for (let i = 0; i < 100 && late.length === 0; i++) yield* Effect.sleep("10 millis")
      }))
      assert.deepStrictEqual(late, ["SocketError"])
    }).pipe(Effect.scoped, Effect.provide(SimNet.layer({ seed: 6 }))))
})
