/**
 * Effect's own tests of `NodeSocket` and its server (@effect/platform-node,
 * test/NodeSocket.test.ts, 4.1 line), run against `Tcp.connect` /
 * `Tcp.listen` with only the constructor swapped:
 * `NodeSocket.makeNet({ host, port })` → `Tcp.connect({ host, port })`,
 * `NodeSocketServer.make({ host, port })` → `Tcp.listen({ host, port })`,
 * `NodeSocket.makeNetChannel(o)` → `Socket.toChannel(yield* Tcp.connect(o))`.
 *
 * Differences, each for a reason:
 * - the servers and clients name their host (`{ host: "127.0.0.1", port }`):
 *   node:net's defaults for a bare `{ port }` (the dual-stack wildcard, or
 *   localhost) are not taken — an address says where it is;
 * - the tests that drive a Node `Duplex` by hand (`fromDuplex` with a
 *   PassThrough: a parked pull around a synchronous `read()`) run the same
 *   scenario over a real TCP connection, the peer a `node:net` socket;
 * - "destroys a pending TCP connection on open timeout" / "gracefully closes
 *   an established TCP connection" spy on `net.Socket.destroy`/`destroySoon`;
 *   here the fd count and what the peer sees (a FIN, not a reset) say the same;
 * - the TLS, WebSocket and TransformStream tests are not ported: TLS is
 *   `Socket.upgrade` (separate work), and WebSocket/TransformStream sockets are
 *   Effect's own constructors, not socket adapters.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as AddressResolver from "effect/net/AddressResolver"
import type * as NetAddress from "effect/net/NetAddress"
import * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as Stream from "effect/Stream"
import * as TcpListener from "../../../src/net/TcpListener.ts"
import * as TcpStream from "../../../src/net/TcpStream.ts"
import * as Reactor from "../../../src/reactor/Reactor.ts"
import * as Tcp from "../../../src/socket/Tcp.ts"
import { checkFdLeaks } from "../../util/fds.ts"
import { nodeServer, nodeWrite } from "../../util/peer.ts"

const echoHandler = (socket: Socket.Socket) =>
  Effect.gen(function*() {
    const writer = yield* socket.writer
    const { pull } = yield* socket.reader
    while (true) {
      yield* writer.writeAll(yield* pull)
    }
  }).pipe(
    Effect.scoped,
    Effect.catchTag("SocketError", () => Effect.void)
  )

const decode = (batch: ReadonlyArray<Uint8Array | string>) => Buffer.concat(batch.map((chunk) => Buffer.from(chunk))).toString()

const makeServer = Effect.gen(function*() {
  const server = yield* Tcp.listen({ host: "127.0.0.1", port: 0 })
  yield* server.run(echoHandler).pipe(Effect.forkScoped)
  return server
})

/**
 * A reader of ours on a connection whose peer is a `node:net` socket, with one
 * pull parked, waiting for bytes (Effect's `parkedPull`, over TCP).
 */
const parkedPull = Effect.gen(function*() {
  const peer = yield* nodeServer("127.0.0.1")
  const socket = yield* Tcp.connect(peer.address)
  const { pull } = yield* socket.reader
  const remote = yield* peer.accepted.take
  const parked = yield* Effect.forkChild(pull, { startImmediately: true })
  return { remote, pull, parked }
})

describe("NodeSocket's tests on Tcp.connect / Tcp.listen", () => {
  checkFdLeaks()

  it.live("preserves a native IPv6 listener address", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen({ host: "::1", port: 0 })
      assert.strictEqual(server.address._tag, "InetAddressV6")
      if (server.address._tag !== "InetAddressV6") return
      assert.strictEqual(server.address.address.toString(), "::1")
      assert.notStrictEqual(server.address.port, 0)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("open", () =>
    Effect.gen(function*() {
      const server = yield* makeServer
      const channel = Socket.toChannel(yield* Tcp.connect({ host: "127.0.0.1", port: (server.address as NetAddress.InetAddress).port }))

      const outputEffect = Stream.make("Hello", "World").pipe(
        Stream.encodeText,
        Stream.pipeThroughChannel(channel),
        Stream.catchIf(
          (error) => error.reason._tag === "SocketCloseError",
          () => Stream.empty
        ),
        Stream.decodeText(),
        Stream.mkString
      )

      const output = yield* outputEffect
      assert.strictEqual(output, "HelloWorld")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("pull batches", () =>
    Effect.gen(function*() {
      const server = yield* makeServer
      const socket = yield* Tcp.connect({ host: "127.0.0.1", port: (server.address as NetAddress.InetAddress).port })

      const received = yield* Effect.gen(function*() {
        const writer = yield* socket.writer
        const pull = yield* Socket.readerBytes(socket)
        yield* writer.writeAll(["Hello", "World"])
        const received: Array<Uint8Array> = []
        let length = 0
        while (length < 10) {
          const chunk = yield* pull
          for (const data of chunk) {
            received.push(data)
            length += data.byteLength
          }
        }
        return received
      }).pipe(Effect.scoped)

      const text = new TextDecoder().decode(
        received.reduce((acc, chunk) => {
          const next = new Uint8Array(acc.byteLength + chunk.byteLength)
          next.set(acc, 0)
          next.set(chunk, acc.byteLength)
          return next
        }, new Uint8Array(0))
      )
      assert.strictEqual(text, "HelloWorld")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("handles reader scope closure during a parked pull read", () =>
    Effect.gen(function*() {
      const peer = yield* nodeServer("127.0.0.1")
      const socket = yield* Tcp.connect(peer.address)
      const readScope = yield* Scope.make()
      yield* Effect.addFinalizer(() => Scope.close(readScope, Exit.void))
      const { pull } = yield* Scope.provide(socket.reader, readScope)
      const parked = yield* Effect.forkChild(pull, { startImmediately: true })
      yield* Scope.close(readScope, Exit.void)
      const error = yield* Fiber.join(parked).pipe(Effect.flip, Effect.timeout("1 second"))
      assert.strictEqual(error.reason._tag, "SocketCloseError")
      if (error.reason._tag === "SocketCloseError") {
        assert.strictEqual(error.reason.code, 1006)
      }
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("preserves a chunk when a parked pull is interrupted during read", () =>
    Effect.gen(function*() {
      const { remote, parked, pull } = yield* parkedPull
      yield* Fiber.interrupt(parked)
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(parked)))
      yield* nodeWrite(remote, "hello")
      const next = yield* pull.pipe(Effect.timeout("1 second"))
      assert.strictEqual(decode(next), "hello")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("drains a retained chunk when EOF follows parked pull interruption", () =>
    Effect.gen(function*() {
      const { remote, parked, pull } = yield* parkedPull
      yield* Fiber.interrupt(parked)
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(parked)))
      yield* Effect.promise(() => new Promise<void>((resolve) => remote.end("hello", () => resolve())))
      const next = yield* pull.pipe(Effect.timeout("1 second"))
      assert.strictEqual(decode(next), "hello")
      const error = yield* Effect.flip(pull).pipe(Effect.timeout("1 second"))
      assert.strictEqual(error.reason._tag, "SocketCloseError")
      if (error.reason._tag === "SocketCloseError") {
        assert.strictEqual(error.reason.code, 1000)
      }
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("preserves order when a parked pull is replaced during read", () =>
    Effect.gen(function*() {
      const { remote, parked, pull } = yield* parkedPull
      yield* Fiber.interrupt(parked)
      assert.isTrue(Exit.hasInterrupts(yield* Fiber.await(parked)))
      yield* nodeWrite(remote, "first")
      const replacement = yield* Effect.forkChild(pull, { startImmediately: true })
      yield* nodeWrite(remote, "second")
      let received = decode(yield* Fiber.join(replacement).pipe(Effect.timeout("1 second")))
      while (received.length < "firstsecond".length) {
        received += decode(yield* pull.pipe(Effect.timeout("1 second")))
      }
      assert.strictEqual(received, "firstsecond")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("respects a zero open timeout", () =>
    Effect.gen(function*() {
      // NodeSocket.fromDuplex(Effect.never, { openTimeout: 0 }): an open that never
      // completes — here a host name whose resolver never answers.
      const never = Layer.succeed(AddressResolver.AddressResolver, AddressResolver.AddressResolver.of({ resolve: () => Effect.never } as never))
      const socket = yield* Tcp.connect("never.test:80", { openTimeout: 0 })
      const error = yield* Effect.scoped(Effect.asVoid(socket.reader)).pipe(
        Effect.provide(never),
        Effect.flip,
        Effect.timeout("1 second")
      )
      assert.strictEqual(error.reason._tag, "SocketOpenError")
      if (error.reason._tag === "SocketOpenError") {
        assert.strictEqual(error.reason.kind, "Timeout")
      }
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("destroys a pending TCP connection on open timeout", () =>
    Effect.gen(function*() {
      // A listener with a full accept queue: Linux drops further SYNs, so the
      // connect stays pending until the timeout. The fd-leak check sees it go.
      const listener = yield* TcpListener.bind("127.0.0.1:0", { backlog: 0 })
      const addr = listener.localAddr() as NetAddress.InetAddress
      for (let i = 0; i < 4; i++) yield* TcpStream.connect(addr)
      const socket = yield* Tcp.connect({ host: "127.0.0.1", port: addr.port }, { openTimeout: "50 millis" })
      const error = yield* Effect.scoped(Effect.asVoid(socket.reader)).pipe(Effect.flip)
      assert.strictEqual(error.reason._tag, "SocketOpenError")
      if (error.reason._tag === "SocketOpenError") assert.strictEqual(error.reason.kind, "Timeout")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("gracefully closes an established TCP connection", () =>
    Effect.gen(function*() {
      const peer = yield* nodeServer("127.0.0.1")
      const socket = yield* Tcp.connect(peer.address)
      const ended = yield* Effect.scoped(Effect.gen(function*() {
        yield* socket.reader
        const remote = yield* peer.accepted.take
        return Effect.promise(() =>
          new Promise<string>((resolve) => {
            remote.once("end", () => resolve("end"))
            remote.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"))
          })
        )
      }))
      // The reader's Scope closed: the peer sees an orderly end (FIN), not a reset.
      assert.strictEqual(yield* ended.pipe(Effect.timeout("1 second")), "end")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})

