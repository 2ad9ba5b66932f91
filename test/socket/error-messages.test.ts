/**
 * Errors that say what happened (issue 14): every socket error we construct
 * renders the errno name, the syscall, the address and the C library's text in
 * its `message` and in `Cause.pretty` — as Node prints `connect ECONNREFUSED
 * 127.0.0.1:1` — while keeping Effect's reasons, so `Effect.catchReason` picks
 * them out.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as NetAddress from "effect/net/NetAddress"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import type * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import * as net from "node:net"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Tcp from "../../src/socket/Tcp.ts"
import * as Udp from "../../src/socket/Udp.ts"
import { checkFdLeaks } from "../util/fds.ts"

const failure = <E>(exit: Exit.Exit<unknown, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const reason = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
  assert.isDefined(reason, "expected a typed failure")
  return (reason as { readonly error: E }).error
}

/** Both renderings name every part. */
const says = (error: Error, parts: ReadonlyArray<string>) => {
  const pretty = Cause.pretty(Cause.fail(error))
  for (const part of parts) {
    assert.include(error.message, part, "message")
    assert.include(pretty, part, "Cause.pretty")
  }
}

/** A port nothing listens on (bound, then closed). */
const closedPort = Effect.sync(() => {
  const l = TcpListener.bindUnscoped("127.0.0.1:0") as TcpListener.TcpListener
  const port = (l.localAddr() as NetAddress.InetAddress).port
  l.close()
  return port
})

describe("socket errors say what happened", () => {
  checkFdLeaks()

  it.live("a refused connect: connect ECONNREFUSED 127.0.0.1:<port> (Connection refused)", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
      const e = failure(yield* Effect.exit(Effect.scoped(socket.reader)))
      says(e, ["Open failed", "connect", "ECONNREFUSED", `127.0.0.1:${port}`, "Connection refused"])
      const caught = yield* Effect.scoped(socket.reader).pipe(
        Effect.as("connected"),
        Effect.catchReason("SocketError", "SocketOpenError", (reason) => Effect.succeed(`${reason.kind}: ${reason.message}`))
      )
      assert.strictEqual(caught, `Unknown: Open failed: connect ECONNREFUSED 127.0.0.1:${port} (Connection refused)`)
    }).pipe(Effect.provide(Reactor.layer)))

  it.live("a UDP bind failure: bind EADDRINUSE, not an empty DatagramSocketError", () =>
    Effect.gen(function*() {
      const taken = yield* UdpSocket.bind("127.0.0.1:0")
      const at = (taken.localAddr() as NetAddress.InetAddress).port
      const socket = yield* Udp.make({ bind: `127.0.0.1:${at}` })
      const e = failure(yield* Effect.exit(Effect.scoped(socket.reader)))
      says(e, ["Open failed", "bind", "EADDRINUSE", `127.0.0.1:${at}`, "Address already in use"])
      const kind = yield* Effect.scoped(socket.reader).pipe(
        Effect.as("bound" as string),
        Effect.catchReason("DatagramSocketError", "DatagramSocketOpenError", (reason) => Effect.succeed(reason.kind))
      )
      assert.strictEqual(kind, "AddressInUse")
      const unavailable = yield* Udp.make({ bind: "192.0.2.1:0" }) // TEST-NET-1: not local
      says(failure(yield* Effect.exit(Effect.scoped(unavailable.reader))), ["bind", "EADDRNOTAVAIL", "192.0.2.1:0"])
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a listen failure: SocketServerError names the bind, the errno and the address", () =>
    Effect.gen(function*() {
      const taken = yield* Tcp.listen("127.0.0.1:0")
      const port = (taken.address as NetAddress.InetAddress).port
      const e = failure(yield* Effect.exit(Tcp.listen(`127.0.0.1:${port}`, { reuseAddr: false })))
      says(e, ["Open failed", "bind", "EADDRINUSE", `127.0.0.1:${port}`])
      const caught = yield* Tcp.listen(`127.0.0.1:${port}`).pipe(
        Effect.as("listening"),
        Effect.catchReason("SocketServerError", "SocketServerOpenError", (reason) => Effect.succeed(reason._tag))
      )
      assert.strictEqual(caught, "SocketServerOpenError")
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a reset connection: the read error names recv and ECONNRESET", () =>
    Effect.gen(function*() {
      const server = net.createServer((s) => s.once("data", () => s.resetAndDestroy()))
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))),
        () => Effect.promise(() => new Promise<void>((r) => server.close(() => r())))
      )
      const port = (server.address() as net.AddressInfo).port
      const socket = yield* Tcp.connect({ host: "127.0.0.1", port })
      const e: Socket.SocketError = failure(yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const { pull } = yield* socket.reader
        const writer = yield* socket.writer
        yield* writer.write("reset me")
        while (true) yield* pull
      }))))
      assert.strictEqual(e.reason._tag, "SocketReadError")
      says(e, ["Read failed", "ECONNRESET", `127.0.0.1:${port}`, "Connection reset by peer"])
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("UDP: an ICMP report names the connected peer; a send error its destination", () =>
    Effect.gen(function*() {
      const port = yield* Effect.scoped(Effect.flatMap(Effect.flatMap(Udp.make({ bind: "127.0.0.1:0" }), (s) => s.reader), (r) => Effect.succeed(r.address.port)))
      const reported: Array<DatagramSocket.DatagramSocketError> = []
      const socket = yield* Udp.make({ bind: "127.0.0.1:0", connect: `127.0.0.1:${port}`, onError: (e) => reported.push(e) })
      yield* socket.reader
      const writer = yield* socket.writer
      // The kernel reports the port unreachable on a later call: keep sending until it does.
      while (reported.length === 0) {
        yield* Effect.ignore(writer.write({ payload: "ping" }))
        yield* Effect.sleep("5 millis")
      }
      says(reported[0]!, ["Read failed", "ECONNREFUSED", `127.0.0.1:${port}`, "Connection refused"])

      const open = yield* Udp.make({ bind: "127.0.0.1:0" })
      yield* open.reader
      const w = yield* open.writer
      const tooLarge = failure(yield* Effect.exit(w.write({ payload: new Uint8Array(70_000), address: NetAddress.inetAddressUnsafe(NetAddress.ipv4Loopback, port) })))
      says(tooLarge, ["Write failed", "sendto", "EMSGSIZE", `127.0.0.1:${port}`, "Message too long"])
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("bad input reads as such: the option and the value", () =>
    Effect.gen(function*() {
      const e: Socket.SocketError = failure(yield* Effect.exit(Tcp.connect("127.0.0.1:1", { openTimeout: "soon" as never })))
      says(e, ["Open failed", "openTimeout", "\"soon\""])
      const d: DatagramSocket.DatagramSocketError = failure(yield* Effect.exit(Udp.make({ ttl: 0 })))
      says(d, ["Open failed", "ttl", "0"])
      const s: SocketServer.SocketServerError = failure(yield* Effect.exit(Tcp.listen("127.0.0.1:0", { backlog: -1 })))
      says(s, ["Open failed", "backlog", "-1"])
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
