/**
 * Bad input and failure paths at the fiber level: every one a typed error from
 * Effect's socket vocabulary (with our IoError as the cause), nothing thrown,
 * no fd left behind.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as NetAddress from "effect/net/NetAddress"
import * as Scope from "effect/Scope"
import * as DatagramSocket from "effect/socket/DatagramSocket"
import * as Socket from "effect/socket/Socket"
import { IoError } from "../../src/IoError.ts"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Udp from "../../src/socket/Udp.ts"
import * as Unix from "../../src/socket/Unix.ts"
import { checkFdLeaks } from "../util/fds.ts"

const failure = <E>(exit: Exit.Exit<unknown, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const reason = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  assert.isTrue(reason !== undefined && reason._tag === "Fail", "expected a typed failure, not a defect")
  return (reason as { readonly error: E }).error
}

const ioCause = (e: { readonly reason: { readonly cause?: unknown } }): IoError => {
  const cause = e.reason.cause
  assert.isTrue(cause instanceof IoError, `cause is an IoError: ${String(cause)}`)
  return cause as IoError
}

describe("fiber-level failure paths", () => {
  checkFdLeaks()

  it.live("a malformed or non-IP address fails Tcp.connect with SocketOpenError", () =>
    Effect.gen(function*() {
      for (const bad of ["localhost", "bad..name:80", "1.2.3.4:70000", "[::1]", "/tmp/not-tcp.sock"]) {
        const exit = yield* Effect.exit(Effect.scoped(Effect.flatMap(Tcp.connect(bad), (s) => s.reader)))
        const e = failure(exit)
        assert.isTrue(Socket.isSocketError(e))
        assert.strictEqual((e as Socket.SocketError).reason._tag, "SocketOpenError", bad)
        assert.strictEqual(ioCause(e as Socket.SocketError).kind, "InvalidInput", bad)
      }
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("a refused connect fails the reader's acquisition with SocketOpenError(ConnectionRefused)", () =>
    Effect.gen(function*() {
      const l = yield* TcpListener.bind("127.0.0.1:0")
      const addr = l.localAddr() as NetAddress.InetAddress
      l.close()
      const socket = yield* Tcp.connect(addr)
      const e = failure(yield* Effect.exit(Effect.scoped(socket.reader))) as Socket.SocketError
      assert.strictEqual(e.reason._tag, "SocketOpenError")
      assert.strictEqual(ioCause(e).kind, "ConnectionRefused")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("openTimeout fails with SocketOpenError kind Timeout", () =>
    Effect.gen(function*() {
      // A listener that never accepts, with a full accept queue: Linux drops further
      // SYNs, so a connect to it never completes.
      const listener = yield* TcpListener.bind("127.0.0.1:0", { backlog: 0 })
      const addr = listener.localAddr() as NetAddress.InetAddress
      for (let i = 0; i < 4; i++) yield* TcpStream.connect(addr)
      yield* Effect.sleep(20)
      const socket = yield* Tcp.connect(addr, { openTimeout: "150 millis" })
      const started = Date.now()
      const e = failure(yield* Effect.exit(Effect.scoped(socket.reader))) as Socket.SocketError
      assert.strictEqual(e.reason._tag, "SocketOpenError")
      assert.strictEqual((e.reason as Socket.SocketOpenError).kind, "Timeout")
      assert.isAtLeast(Date.now() - started, 140)
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("binding a port in use fails Tcp.listen with SocketServerOpenError(AddressInUse)", () =>
    Effect.gen(function*() {
      const first = yield* Tcp.listen("127.0.0.1:0")
      const exit = yield* Effect.exit(Tcp.listen(first.address as NetAddress.InetAddress, { reuseAddr: false }))
      const e = failure(exit)
      assert.strictEqual(e.reason._tag, "SocketServerOpenError")
      assert.strictEqual((e.reason.cause as IoError).kind, "AddressInUse")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("binding a UDP port in use fails the reader with DatagramSocketOpenError(AddressInUse)", () =>
    Effect.gen(function*() {
      const taken = yield* UdpSocket.bind("127.0.0.1:0")
      const addr = taken.localAddr() as NetAddress.InetAddress
      const socket = yield* Udp.make({ bind: addr })
      const e = failure(yield* Effect.exit(Effect.scoped(socket.reader)))
      assert.isTrue(DatagramSocket.isDatagramSocketError(e))
      assert.strictEqual(e.reason._tag, "DatagramSocketOpenError")
      assert.strictEqual((e.reason as DatagramSocket.DatagramSocketOpenError).kind, "AddressInUse")
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("ECONNREFUSED on a connected UDP socket reaches onError as ConnectionRefused; the reader goes on", () =>
    Effect.gen(function*() {
      const closed = yield* UdpSocket.bind("127.0.0.1:0")
      const addr = closed.localAddr() as NetAddress.InetAddress
      closed.close()
      const reports: Array<DatagramSocket.DatagramSocketError> = []
      const socket = yield* Udp.make({ bind: "127.0.0.1:0", connect: addr, onError: (e) => reports.push(e) })
      yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* socket.reader
        const writer = yield* socket.writer
        for (let i = 0; i < 50 && reports.length === 0; i++) {
          yield* writer.write({ payload: "anyone?" }).pipe(Effect.ignore)
          yield* Effect.sleep(5)
        }
        assert.isAbove(reports.length, 0, "an ICMP port unreachable was reported")
        const r = reports[0]!.reason
        assert.isTrue(r._tag === "DatagramSocketReadError" || r._tag === "DatagramSocketWriteError")
        assert.strictEqual((r as DatagramSocket.DatagramSocketReadError).kind, "ConnectionRefused")
        // The reader still works: a pull is pending, not failed.
        const pending = yield* Effect.forkChild(reader.pull)
        yield* Effect.sleep(10)
        assert.isUndefined(pending.pollUnsafe())
        yield* Fiber.interrupt(pending)
      }))
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("an oversize datagram fails the write with MessageTooLarge", () =>
    Effect.gen(function*() {
      const socket = yield* Udp.make({ bind: "127.0.0.1:0" })
      yield* Effect.scoped(Effect.gen(function*() {
        const reader = yield* socket.reader
        const writer = yield* socket.writer
        const e = failure(yield* Effect.exit(writer.write({ payload: new Uint8Array(70_000), address: reader.address })))
        assert.strictEqual(e.reason._tag, "DatagramSocketWriteError")
        assert.strictEqual((e.reason as DatagramSocket.DatagramSocketWriteError).kind, "MessageTooLarge")
      }))
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("closing the reader's Scope fails a suspended pull, and its fd is gone", () =>
    Effect.gen(function*() {
      const server = yield* Tcp.listen("127.0.0.1:0")
      const serving = yield* Effect.forkChild(server.run(() => Effect.never))
      const socket = yield* Tcp.connect(server.address as NetAddress.InetAddress)
      const scope = yield* Scope.make()
      const { pull } = yield* Scope.provide(socket.reader, scope)
      const pending = yield* Effect.forkChild(pull)
      yield* Effect.sleep(5)
      yield* Scope.close(scope, Exit.void)
      const e = failure(yield* Fiber.await(pending))
      assert.isTrue(Socket.isSocketError(e))
      yield* Fiber.interrupt(serving)
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("a Unix connect to a missing path fails with SocketOpenError(NotFound)", () =>
    Effect.gen(function*() {
      const socket = yield* Unix.connect(`/tmp/effect-mio-missing-${process.pid}.sock`)
      const e = failure(yield* Effect.exit(Effect.scoped(socket.reader))) as Socket.SocketError
      assert.strictEqual(e.reason._tag, "SocketOpenError")
      assert.strictEqual(ioCause(e).kind, "NotFound")
    }).pipe(Effect.provide(Reactor.layer)))
})
