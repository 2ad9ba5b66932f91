/**
 * Conformance of a stream transport to `effect/socket`'s `Socket` and
 * `SocketServer` contracts. The bodies use only Effect's interfaces, so the
 * same suite runs on the in-memory sockets of `effect-mio/testing` and on
 * the real TCP and Unix adapters:
 *
 * ```ts
 * runSocketConformance("Tcp", Effect.succeed({
 *   listen: Tcp.listen("127.0.0.1:0").pipe(Effect.provide(Reactor.layer)),
 *   connect: (address) => Tcp.connect(address).pipe(Effect.provide(Reactor.layer)),
 *   refused: freePort                                // an address where nothing listens
 * }), { live: true })
 * ```
 *
 * No body sleeps or depends on timing: each waits on the transport itself.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as NetAddress from "effect/net/NetAddress"
import * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import * as Stream from "effect/Stream"

/** What a transport provides to the suite. */
export interface SocketTarget {
  /** A server listening on an ephemeral port, closed with the scope. */
  readonly listen: Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, Scope.Scope>
  /** A client socket that dials `address` on each reader acquisition. */
  readonly connect: (address: NetAddress.SocketAddress) => Effect.Effect<Socket.Socket, never, Scope.Scope>
  /** An address where nothing listens: dialing it is refused. */
  readonly refused: Effect.Effect<NetAddress.SocketAddress, never, Scope.Scope>
}

/** `live: true` runs the bodies with the live clock (`it.live`), otherwise with the `TestClock` (`it.effect`). */
export interface ConformanceOptions {
  readonly live?: boolean | undefined
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const isClose = (error: Socket.SocketError): boolean => error.reason._tag === "SocketCloseError"

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  let size = 0
  for (const c of chunks) size += c.length
  const out = new Uint8Array(size)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

/** Pulls until at least `n` bytes arrived. */
const readBytes = (
  pull: Effect.Effect<ReadonlyArray<Uint8Array>, Socket.SocketError>,
  n: number
): Effect.Effect<Uint8Array, Socket.SocketError> =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    let size = 0
    while (size < n) {
      for (const c of yield* pull) {
        chunks.push(c)
        size += c.length
      }
    }
    return concat(chunks)
  })

/** Pulls until the transport reports the close; returns the bytes and the error. */
const readToClose = (
  pull: Effect.Effect<ReadonlyArray<Uint8Array>, Socket.SocketError>
): Effect.Effect<{ readonly bytes: Uint8Array; readonly error: Socket.SocketError }> =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    while (true) {
      const exit = yield* Effect.exit(pull)
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons.find((r) => r._tag === "Fail")
        if (error === undefined || error._tag !== "Fail") return yield* Effect.failCause(exit.cause)
        return { bytes: concat(chunks), error: error.error }
      }
      for (const c of exit.value) chunks.push(c)
    }
  }).pipe(Effect.orDie)

/** An echo handler: writes back what it reads until the client closes. */
const echo = (socket: Socket.Socket): Effect.Effect<void> =>
  Effect.scoped(Effect.gen(function*() {
    const pull = yield* Socket.readerBytes(socket)
    const writer = yield* socket.writer
    while (true) yield* writer.writeAll(yield* pull)
  })).pipe(Effect.catchIf(isClose, () => Effect.void), Effect.orDie)

/** Starts `server.run(handler)` in the scope. */
const serve = <E>(
  server: SocketServer.SocketServer["Service"],
  handler: (socket: Socket.Socket) => Effect.Effect<void, E>
) => Effect.forkScoped(server.run(handler))

/** Yields to other fibers a few times: enough for a ready fiber to finish, proving a pending one waits. */
const settle = Effect.gen(function*() {
  for (let i = 0; i < 16; i++) yield* Effect.yieldNow
})

/**
 * Registers the `Socket`/`SocketServer` conformance tests under `describe(name)`.
 * `makeTarget` runs once per test, in the test's scope.
 */
export const runSocketConformance = <E>(
  name: string,
  makeTarget: Effect.Effect<SocketTarget, E, Scope.Scope>,
  options?: ConformanceOptions
): void => {
  const test = options?.live === true ? it.live : it.effect
  describe(`${name} · Socket conformance`, () => {
    test("SocketServer.run echoes what a client writes", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.listen
        yield* serve(server, echo)
        const client = yield* target.connect(server.address)
        const pull = yield* Socket.readerBytes(client)
        const writer = yield* client.writer
        yield* writer.write("hello, ")
        yield* writer.write(encoder.encode("world"))
        assert.strictEqual(decoder.decode(yield* readBytes(pull, 12)), "hello, world")
      }))

    test("Socket.toChannel carries a stream through and ends on the server's close", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.listen
        yield* serve(server, echo)
        const client = yield* target.connect(server.address)
        const chunks = Array.from({ length: 40 }, (_, i) => encoder.encode(`chunk ${i};`))
        const received: Array<Uint8Array> = []
        const error = yield* Stream.fromIterable(chunks).pipe(
          Stream.pipeThroughChannel(Socket.toChannel(client)),
          Stream.runForEach((chunk) => Effect.sync(() => received.push(chunk))),
          Effect.flip
        )
        // the stream's end half-closes the client; the echo server closes in turn
        assert.isTrue(isClose(error), `expected a close, got ${error.reason._tag}`)
        assert.deepStrictEqual(concat(received), concat(chunks))
      }))

    test("readerString decodes characters split across writes; a half-closed client still reads the reply", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.listen
        const text = "héllo → 🌍 ✓"
        yield* serve(server, (socket) =>
          Effect.scoped(Effect.gen(function*() {
            const pull = yield* Socket.readerString(socket)
            const writer = yield* socket.writer
            let decoded = ""
            while (true) {
              const exit = yield* Effect.exit(pull)
              if (Exit.isFailure(exit)) break
              decoded += exit.value.join("")
            }
            // the client's write side is shut, ours is open
            yield* writer.write(`got ${decoded}`)
          })).pipe(Effect.orDie))
        const client = yield* target.connect(server.address)
        const pull = yield* Socket.readerBytes(client)
        yield* Effect.scoped(Effect.gen(function*() {
          const writer = yield* client.writer
          for (const byte of encoder.encode(text)) yield* writer.write(new Uint8Array([byte]))
        }))
        const { bytes, error } = yield* readToClose(pull)
        assert.strictEqual(decoder.decode(bytes), `got ${text}`)
        assert.isTrue(isClose(error))
      }))

    test("closing the reader's scope fails a suspended pull", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.listen
        // a server that never closes: only the local scope can end the pull
        yield* serve(server, (socket) => Effect.scoped(Effect.andThen(socket.reader, Effect.never)))
        const client = yield* target.connect(server.address)
        const scope = yield* Scope.make()
        const reader = yield* Scope.provide(client.reader, scope)
        const pending = yield* Effect.forkChild(reader.pull, { startImmediately: true })
        yield* settle
        assert.isUndefined(pending.pollUnsafe(), "nothing was sent, the pull must wait")
        yield* Scope.close(scope, Exit.void)
        const exit = yield* Fiber.await(pending)
        assert.isTrue(Exit.isFailure(exit), "the pull fails")
        const failed = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
        assert.isTrue(failed !== undefined && failed._tag === "Fail" && Socket.isSocketError(failed.error))
        // A local teardown is an abnormal closure (1006), as NodeSocket and fromWebSocket report —
        // not the orderly 1000 of a peer's end of stream.
        const reason = (failed as { readonly error: Socket.SocketError }).error.reason
        assert.strictEqual(reason._tag, "SocketCloseError")
        assert.strictEqual((reason as Socket.SocketCloseError).code, 1006)
      }))

    test("the client's pull fails when the server closes the connection", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.listen
        yield* serve(server, (socket) =>
          Effect.scoped(Effect.gen(function*() {
            yield* socket.reader
            const writer = yield* socket.writer
            yield* writer.write("bye")
          })))
        const client = yield* target.connect(server.address)
        const pull = yield* Socket.readerBytes(client)
        const { bytes, error } = yield* readToClose(pull)
        assert.strictEqual(decoder.decode(bytes), "bye")
        assert.isTrue(isClose(error))
      }))

    test("writes wait until a connection exists, and then go through", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.listen
        const received = yield* Deferred.make<string>()
        yield* serve(server, (socket) =>
          Effect.scoped(Effect.gen(function*() {
            const pull = yield* Socket.readerBytes(socket)
            yield* Deferred.succeed(received, decoder.decode(yield* readBytes(pull, 5)))
          })).pipe(Effect.orDie))
        const client = yield* target.connect(server.address)
        const writer = yield* client.writer
        const early = yield* Effect.forkChild(writer.write("early"), { startImmediately: true })
        yield* settle
        assert.isUndefined(early.pollUnsafe(), "no connection yet: the write waits")
        yield* client.reader
        yield* Fiber.join(early)
        assert.strictEqual(yield* Deferred.await(received), "early")
      }))

    test("a writer outlives a connection: a new reader dials again", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.listen
        let connections = 0
        yield* serve(server, (socket) => Effect.suspend(() => {
          connections++
          return echo(socket)
        }))
        const client = yield* target.connect(server.address)
        const writer = yield* client.writer
        for (const word of ["first", "second"]) {
          const reply = yield* Effect.scoped(Effect.gen(function*() {
            const pull = yield* Socket.readerBytes(client)
            yield* writer.write(word)
            return decoder.decode(yield* readBytes(pull, word.length))
          }))
          assert.strictEqual(reply, word)
        }
        assert.strictEqual(connections, 2)
      }))

    test("write(CloseEvent) fails the local pull with its close and ends the peer's", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.listen
        const peer = yield* Deferred.make<Socket.SocketError>()
        yield* serve(server, (socket) =>
          Effect.scoped(Effect.gen(function*() {
            const pull = yield* Socket.readerBytes(socket)
            const { error } = yield* readToClose(pull)
            yield* Deferred.succeed(peer, error)
          })))
        const client = yield* target.connect(server.address)
        const pull = yield* Socket.readerBytes(client)
        const writer = yield* client.writer
        yield* writer.write("last words")
        yield* writer.write(new Socket.CloseEvent(1000))
        const local = yield* Effect.flip(pull)
        assert.isTrue(isClose(local), `local: ${local.reason._tag}`)
        assert.isTrue(Socket.isSocketError(yield* Deferred.await(peer)))
      }))

    test("connections are independent", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.listen
        yield* serve(server, echo)
        const replies = yield* Effect.forEach(
          ["alpha", "bravo", "charlie"],
          (word) =>
            Effect.scoped(Effect.gen(function*() {
              const client = yield* target.connect(server.address)
              const pull = yield* Socket.readerBytes(client)
              const writer = yield* client.writer
              for (let i = 0; i < 3; i++) yield* writer.write(word)
              return decoder.decode(yield* readBytes(pull, word.length * 3))
            })),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(replies, ["alphaalphaalpha", "bravobravobravo", "charliecharliecharlie"])
      }))

    test("a megabyte in order, both ways at once (backpressure, no deadlock)", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.listen
        yield* serve(server, echo)
        const client = yield* target.connect(server.address)
        const pull = yield* Socket.readerBytes(client)
        const writer = yield* client.writer
        const block = 1024
        const blocks = 1024
        const sent = new Uint8Array(block * blocks)
        for (let i = 0; i < sent.length; i++) sent[i] = (i * 7 + (i >> 10)) & 255
        yield* Effect.forkChild(Effect.gen(function*() {
          for (let i = 0; i < blocks; i++) yield* writer.write(sent.subarray(i * block, (i + 1) * block))
        }))
        const received = yield* readBytes(pull, sent.length)
        assert.strictEqual(received.length, sent.length)
        assert.deepStrictEqual(received, sent)
      }))

    test("dialing an address where nothing listens fails the reader with SocketOpenError", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const client = yield* target.connect(yield* target.refused)
        const error = yield* Effect.flip(Effect.scoped(client.reader))
        assert.strictEqual(error.reason._tag, "SocketOpenError")
      }))

    test("interrupting run closes the connections it handles", () =>
      Effect.gen(function*() {
        const target = yield* makeTarget
        const server = yield* target.listen
        const started = yield* Deferred.make<void>()
        const running = yield* Effect.forkChild(server.run((socket) =>
          Effect.scoped(Effect.gen(function*() {
            const pull = yield* Socket.readerBytes(socket)
            yield* Deferred.succeed(started, undefined)
            while (true) yield* pull
          }))
        ))
        const client = yield* target.connect(server.address)
        const pull = yield* Socket.readerBytes(client)
        yield* Deferred.await(started)
        yield* Fiber.interrupt(running)
        const error = yield* Effect.flip(pull)
        assert.isTrue(Socket.isSocketError(error))
      }))
  })
}
