/**
 * DCCP as a service (issue 14): `Dccp.layerServer` / `Dccp.layerSocket`
 * provide the `DccpServer` and `DccpSocket` services, as `Tcp.layerServer` and
 * `Tcp.layerSocket` do Effect's; a handler whose peer closes gracefully ends
 * quietly — no "Unhandled error in DccpServer" — while a real failure is still
 * logged; errors name the peer's address. Real DCCP-UDP sockets on loopback.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as References from "effect/References"
import * as Dccp from "../../src/dccp/Dccp.ts"
import { DccpError } from "../../src/dccp/DccpError.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"

const decoder = new TextDecoder()

/** A logger that keeps each entry's level and text, and says when one came. */
const recordingLogger = Effect.gen(function*() {
  const entries: Array<{ readonly level: string; readonly text: string }> = []
  const arrived = yield* Deferred.make<void>()
  const logger = Logger.make((options) => {
    entries.push({ level: options.logLevel, text: `${String(options.message)} ${String(options.cause)}` })
    Deferred.doneUnsafe(arrived, Exit.void)
  })
  return { entries, arrived, layer: Logger.layer([logger]) }
})

/** The handler of docs/dccp.md: echo until the connection ends. */
const echoHandler = (socket: Dccp.DccpSocket) => Effect.forever(Effect.flatMap(socket.recv, socket.send))

describe("Dccp as a service", () => {
  checkFdLeaks()

  it.live("layerServer and layerSocket provide DccpServer and DccpSocket", () =>
    Effect.gen(function*() {
      const server = yield* Dccp.DccpServer
      yield* Effect.forkScoped(server.run(echoHandler))
      const client = Effect.gen(function*() {
        const socket = yield* Dccp.DccpSocket
        yield* socket.send("through a layer")
        return decoder.decode(yield* socket.recv)
      }).pipe(Effect.provide(Dccp.layerSocket({ address: `127.0.0.1:${server.port}`, serviceCode: "ECHO" })))
      assert.strictEqual(yield* client, "through a layer")
    }).pipe(
      Effect.scoped,
      Effect.provide(Dccp.layerServer({ address: "127.0.0.1:0", serviceCodes: ["ECHO"] })),
      Effect.provide(Reactor.layer)
    ))

  it.live("a graceful close ends the handler quietly; a real failure is still an error", () =>
    Effect.gen(function*() {
      const log = yield* recordingLogger
      const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42] })
      const serving = yield* Effect.forkChild(
        server.run(echoHandler).pipe(Effect.provide(log.layer), Effect.provideService(References.MinimumLogLevel, "Debug"))
      )
      yield* Effect.scoped(Effect.gen(function*() {
        const socket = yield* Dccp.connect({ address: `127.0.0.1:${server.port}`, serviceCode: 42 })
        yield* socket.send("hello")
        assert.strictEqual(decoder.decode(yield* socket.recv), "hello")
      }))
      yield* Deferred.await(log.arrived).pipe(Effect.timeout("5 seconds"))
      assert.deepStrictEqual(log.entries.map((e) => e.level), ["Debug"])
      assert.notInclude(log.entries[0]!.text, "Unhandled")
      yield* Fiber.interrupt(serving)

      // A handler failing for another reason is logged as an error.
      const failing = yield* recordingLogger
      const other = yield* Effect.forkChild(
        server.run(() => Effect.fail("boom")).pipe(Effect.provide(failing.layer))
      )
      yield* Effect.scoped(Dccp.connect({ address: `127.0.0.1:${server.port}`, serviceCode: 42 }))
      yield* Deferred.await(failing.arrived).pipe(Effect.timeout("5 seconds"))
      assert.strictEqual(failing.entries[0]!.level, "Error")
      assert.include(failing.entries[0]!.text, "Unhandled error in DccpServer")
      yield* Fiber.interrupt(other)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("errors name the peer: a refused connect, a recv after the close", () =>
    Effect.gen(function*() {
      const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42] })
      const port = server.port
      const refused = yield* Effect.exit(Effect.scoped(Dccp.connect({ address: `127.0.0.1:${port}`, serviceCode: 43 })))
      assert.isTrue(Exit.isFailure(refused))
      const e = Exit.isFailure(refused) ? refused.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const error = (e as { readonly error: DccpError }).error
      assert.instanceOf(error, DccpError)
      assert.strictEqual(error.kind, "BadServiceCode")
      assert.strictEqual(error.address, `127.0.0.1:${port}`)
      assert.include(error.message, `[127.0.0.1:${port}]`)

      const serving = yield* Effect.forkChild(server.run((socket) => socket.close))
      const closedBy = yield* Effect.scoped(Effect.gen(function*() {
        const socket = yield* Dccp.connect({ address: `127.0.0.1:${port}`, serviceCode: 42 })
        return yield* Effect.flip(socket.recv)
      }))
      assert.strictEqual(closedBy.kind, "Closed")
      assert.include(closedBy.message, `127.0.0.1:${port}`)
      yield* Fiber.interrupt(serving)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

