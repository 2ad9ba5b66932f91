/**
 * How `SocketServer.run` treats its handler fibers (src/socket/internal/StreamServer.ts),
 * over real loopback sockets with node:net clients: a failure or a defect is
 * logged and closes only its own connection; an interruption is not logged;
 * ending `run` interrupts every handler still running and closes its connection.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import type * as Socket from "effect/socket/Socket"
import * as net from "node:net"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import { checkFdLeaks } from "../util/fds.ts"

/** A node:net client that writes `text` and resolves with what it reads until the server closes. */
const exchange = (port: number, text: string): Promise<string> =>
  new Promise((resolve, reject) => {
    let got = ""
    const c = net.connect(port, "127.0.0.1", () => c.write(text))
    c.on("data", (d) => (got += d.toString()))
    c.on("close", () => resolve(got))
    c.on("error", reject)
  })

/** Reads one chunk and answers it; then what `after` does with the text read. */
const answerThen = (after: (text: string) => Effect.Effect<void, string>) => (socket: Socket.Socket) =>
  Effect.scoped(Effect.gen(function*() {
    const { pull } = yield* socket.reader
    const writer = yield* socket.writer
    const chunk = (yield* pull)[0]
    const text = typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk)
    yield* writer.write(`re: ${text}`)
    yield* after(text)
  }))

describe("SocketServer.run handler fibers", () => {
  checkFdLeaks()

  it.live("a failing or throwing handler is logged and closes only its connection; the server goes on", () =>
    Effect.gen(function*() {
      const errors: Array<string> = []
      const capture = Logger.make(({ logLevel, message, cause }) => {
        if (logLevel === "Error") errors.push(`${Array.isArray(message) ? message[0] : message}: ${Cause.pretty(cause)}`)
      })
      yield* Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        const port = (server.address as { port: number }).port
        const throwing = answerThen(() => Effect.void)
        const fiber = yield* Effect.forkChild(server.run((socket) => {
          // Decided per connection, by the order of the clients below.
          switch (handlers++) {
            case 0:
              return answerThen((text) => Effect.fail(`bad request ${text}`))(socket)
            case 1:
              throw new Error("handler threw")
            default:
              return throwing(socket)
          }
        }))
        let handlers = 0
        assert.strictEqual(yield* Effect.promise(() => exchange(port, "one")), "re: one")
        // A handler that throws: its connection closes without an answer.
        assert.strictEqual(yield* Effect.promise(() => exchange(port, "two")), "")
        assert.strictEqual(yield* Effect.promise(() => exchange(port, "three")), "re: three")
        for (let i = 0; i < 2000 && errors.length < 2; i++) yield* Effect.sleep(1)
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(Logger.layer([capture])))
      assert.strictEqual(errors.length, 2)
      assert.include(errors[0]!, "Unhandled error in SocketServer")
      assert.include(errors[0]!, "bad request one")
      assert.include(errors[1]!, "handler threw")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("ending run interrupts the handlers still running, closes their connections, and logs nothing", () =>
    Effect.gen(function*() {
      const errors: Array<unknown> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Error") errors.push(message)
      })
      yield* Effect.gen(function*() {
        const server = yield* Tcp.listen("127.0.0.1:0")
        const port = (server.address as { port: number }).port
        const started = yield* Deferred.make<void>()
        let running = 0
        let interrupted = 0
        const fiber = yield* Effect.forkChild(server.run(
          answerThen(() =>
            Effect.onInterrupt(
              Effect.andThen(Effect.sync(() => ++running === 3 && Deferred.doneUnsafe(started, Effect.void)), Effect.never),
              () => Effect.sync(() => interrupted++)
            )
          )
        ))
        const replies = [1, 2, 3].map((i) => exchange(port, `${i}`))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual(yield* Effect.promise(() => Promise.all(replies)), ["re: 1", "re: 2", "re: 3"])
        assert.strictEqual(interrupted, 3)
      }).pipe(Effect.provide(Logger.layer([capture])))
      assert.deepStrictEqual(errors, [])
    }).pipe(Effect.provide(Reactor.layer)))
})
