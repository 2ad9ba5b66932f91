/**
 * Writes with no connection (issue 8, defect 6). Effect's `Socket` and
 * `DatagramSocket` contracts make such writes wait for the next reader; that
 * stays the default, bounded by the caller's timeout, and a client `Socket` can
 * instead fail them at once (`disconnectedWrites: "fail"`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as NetAddress from "effect/net/NetAddress"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Udp from "../../src/socket/Udp.ts"
import * as Unix from "../../src/socket/Unix.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { nodeServer, tempPath } from "../util/peer.ts"

const causeKind = (exit: Exit.Exit<unknown, Socket.SocketError>): string | undefined => {
  if (!Exit.isFailure(exit)) return undefined
  const r = exit.cause.reasons.find((x) => x._tag === "Fail")
  const e = (r as { error: Socket.SocketError } | undefined)?.error
  return e?.reason._tag === "SocketWriteError" ? (e.reason.cause as { kind?: string }).kind : e?.reason._tag
}

const serve = (kind: "tcp" | "unix") =>
  kind === "tcp" ? nodeServer("127.0.0.1") : nodeServer(tempPath("dw"), { unix: true })

describe("writes without a connection", () => {
  checkFdLeaks()

  for (const kind of ["tcp", "unix"] as const) {
    it.live(`${kind}: by default a write after the reader's Scope closed (server gone) waits; a timeout bounds it`, () =>
      Effect.gen(function*() {
        const serverScope = yield* Scope.make()
        const server = yield* serve(kind).pipe(Scope.provide(serverScope))
        const socket = kind === "tcp" ? yield* Tcp.connect(server.address) : yield* Unix.connect(server.address)
        const writer = yield* socket.writer
        yield* Effect.scoped(socket.reader)
        yield* Scope.close(serverScope, Exit.void)
        const r = yield* writer.write("hello").pipe(Effect.timeoutOption("100 millis"))
        assert.isTrue(Option.isNone(r), "the write waited for a reader, as Effect's contract says")
      }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

    it.live(`${kind}: with disconnectedWrites "fail" a write without a connection fails at once with NotConnected`, () =>
      Effect.gen(function*() {
        const serverScope = yield* Scope.make()
        const server = yield* serve(kind).pipe(Scope.provide(serverScope))
        const options = { disconnectedWrites: "fail" } as const
        const socket = kind === "tcp" ? yield* Tcp.connect(server.address, options) : yield* Unix.connect(server.address, options)
        const writer = yield* socket.writer
        assert.strictEqual(causeKind(yield* Effect.exit(writer.write("before"))), "NotConnected")
        yield* Effect.scoped(Effect.gen(function*() {
          yield* socket.reader
          yield* writer.write("while connected")
        }))
        yield* Scope.close(serverScope, Exit.void)
        assert.strictEqual(causeKind(yield* Effect.exit(writer.write("after"))), "NotConnected")
      }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
  }

  it.live("a DatagramSocket write with no open reader waits (Effect's contract); a timeout bounds it", () =>
    Effect.gen(function*() {
      const socket = yield* Udp.make({ bind: "127.0.0.1:0" })
      const writer = yield* socket.writer
      const to = NetAddress.inetAddressFromStringUnsafe("127.0.0.1:9")
      const r = yield* writer.write({ payload: "x", address: to }).pipe(Effect.timeoutOption("100 millis"))
      assert.isTrue(Option.isNone(r))
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
