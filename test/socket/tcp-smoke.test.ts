import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Socket from "effect/socket/Socket"
import * as net from "node:net"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import { checkFdLeaks } from "../util/fds.ts"

describe("tcp adapters smoke", () => {
  checkFdLeaks()

  it.live("our server echoes to a node:net client; our client talks to a node:net server", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen("127.0.0.1:0")
      const fiber = yield* Effect.forkChild(server.run((socket) =>
        Effect.scoped(Effect.gen(function*() {
          const { pull } = yield* socket.reader
          const writer = yield* socket.writer
          while (true) {
            const chunks = yield* pull
            yield* writer.writeAll(chunks)
          }
        })).pipe(Effect.ignore)
      ))
      const port = (server.address as any).port
      const reply = yield* Effect.promise(() => new Promise<string>((resolve, reject) => {
        const c = net.connect(port, "127.0.0.1", () => c.write("hello"))
        c.on("data", (d) => { resolve(d.toString()); c.destroy() })
        c.on("error", reject)
      }))
      assert.strictEqual(reply, "hello")
      yield* Fiber.interrupt(fiber)

      const nodeServer = net.createServer((s) => s.pipe(s))
      yield* Effect.promise(() => new Promise<void>((r) => nodeServer.listen(0, "127.0.0.1", () => r())))
      const nodePort = (nodeServer.address() as net.AddressInfo).port
      const socket = yield* Tcp.connect(`127.0.0.1:${nodePort}`)
      const got = yield* Effect.scoped(Effect.gen(function*() {
        const pull = yield* Socket.readerString(socket)
        const writer = yield* socket.writer
        yield* writer.write("ping over effect-mio")
        return (yield* pull).join("")
      }))
      assert.strictEqual(got, "ping over effect-mio")
      yield* Effect.promise(() => new Promise<void>((r) => nodeServer.close(() => r())))
      void SocketAddress
    }).pipe(Effect.provide(Reactor.layer)))
})
