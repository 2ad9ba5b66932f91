/**
 * SoupBinTCP sessions over real TCP on loopback (fd-leak checked): login
 * accepted and rejected, sequenced delivery with a replay from the start,
 * reconnects that resume exactly where they left off, explicit sequence numbers,
 * a dead server detected by its missing heartbeats, a client the server drops
 * for the same, End of Session, and OUCH orders as Unsequenced Data.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Clt from "../../src/clt/Clt.ts"
import * as MessagingError from "../../src/clt/MessagingError.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Ouch from "../../examples/soupbintcp/Ouch.ts"
import * as SoupBinTcp from "../../examples/soupbintcp/SoupBinTcp.ts"
import { checkFdLeaks } from "../util/fds.ts"

const wire = SoupBinTcp.wire({ client: Ouch.Inbound, server: Ouch.Outbound })

const executed = (n: number): Ouch.Outbound => ({
  _tag: "OrderExecuted",
  timestamp: 34_200_000_000_000 + n,
  userRefNum: 1,
  quantity: 10,
  price: 1_000_000,
  liquidityFlag: "A",
  matchNumber: n
})
const numberOf = (o: Ouch.Outbound) => (o._tag === "OrderExecuted" ? o.matchNumber : -1)

const serve = (options?: Partial<SoupBinTcp.ServerOptions<Ouch.Inbound, Ouch.Outbound>>) =>
  SoupBinTcp.serve({ wire, username: "TRADER", password: "pw", session: "DAY1", address: "127.0.0.1:0", ...options })

const protocol = (options?: Partial<SoupBinTcp.ClientOptions<Ouch.Inbound, Ouch.Outbound>>) =>
  SoupBinTcp.clientProtocol({ wire, username: "TRADER", password: "pw", ...options })

const connect = (
  server: SoupBinTcp.Server<Ouch.Inbound, Ouch.Outbound>,
  p: SoupBinTcp.ClientProtocol<Ouch.Inbound, Ouch.Outbound>
) => SoupBinTcp.connect({ wire, protocol: p, address: `127.0.0.1:${(server.svc.address as { port: number }).port}` })

/** The next `n` sequenced payloads' numbers. */
const take = (clt: Clt.Clt<SoupBinTcp.ClientPacket<Ouch.Inbound>, SoupBinTcp.ServerPacket<Ouch.Outbound>>, n: number) =>
  Effect.map(Stream.runCollect(Stream.take(SoupBinTcp.payloads(clt), n)), (xs) => xs.map(numberOf))

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const live = <A, E>(name: string, body: Effect.Effect<A, E, Reactor.Reactor | Scope.Scope>, timeout?: number) =>
  it.live(name, () => body.pipe(Effect.provide(Reactor.layer)), timeout)

describe("SoupBinTCP sessions over TCP", () => {
  checkFdLeaks()

  live("login accepted: the client gets the session from message 1, then the live stream", Effect.gen(function*() {
    const server = yield* serve()
    for (const n of range(1, 3)) yield* server.publish(executed(n))
    const p = protocol()
    const clt = yield* connect(server, p)
    assert.strictEqual(p.session.sessionId, "DAY1")
    assert.deepStrictEqual(yield* take(clt, 3), [1, 2, 3])
    yield* server.publish(executed(4))
    yield* server.publish(executed(5))
    assert.deepStrictEqual(yield* take(clt, 2), [4, 5])
    assert.isTrue(yield* clt.isConnected)
    assert.strictEqual(p.session.nextSequence, 6)
  }))

  live("login rejected: a wrong password (not authorized) and a wrong session (not available)", Effect.gen(function*() {
    const server = yield* serve()
    const badPassword = yield* Effect.exit(connect(server, protocol({ password: "nope" })))
    const badSession = yield* Effect.exit(connect(server, protocol({ session: "DAY2" })))
    for (const [exit, reason] of [[badPassword, "NotAuthorized"], [badSession, "SessionNotAvailable"]] as const) {
      assert.isTrue(Exit.isFailure(exit))
      const e = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const error = e?._tag === "Fail" ? e.error : undefined
      assert.isTrue(MessagingError.isMessagingError(error))
      assert.strictEqual((error as MessagingError.MessagingError).kind, "HandshakeFailed")
      assert.include((error as MessagingError.MessagingError).detail, reason)
    }
    assert.strictEqual((yield* server.svc.stats).rejected, 2)
  }))

  live("reconnect: the client resumes with its sequence number; nothing lost or repeated", Effect.gen(function*() {
    const server = yield* serve()
    const p = protocol()
    const got: Array<number> = []
    yield* Effect.scoped(Effect.gen(function*() {
      const clt = yield* connect(server, p)
      for (const n of range(1, 3)) yield* server.publish(executed(n))
      got.push(...(yield* take(clt, 3)))
    })) // closing: the client sends a Logout Request
    for (const n of range(4, 8)) yield* server.publish(executed(n)) // while nobody is logged in
    const again = yield* connect(server, p)
    yield* server.publish(executed(9))
    got.push(...(yield* take(again, 6)))
    assert.deepStrictEqual(got, range(1, 9))
    // a fresh client asking for message 6 explicitly, and one asking for 0 (only what comes next)
    const from6 = yield* connect(server, protocol({ sequenceNumber: 6 }))
    const fromNow = yield* connect(server, protocol({ sequenceNumber: 0 }))
    yield* server.publish(executed(10))
    assert.deepStrictEqual(yield* take(from6, 5), range(6, 10))
    assert.deepStrictEqual(yield* take(fromNow, 1), [10])
  }))

  live("a silent server is dead: the client's connection ends TimedOut", Effect.gen(function*() {
    const server = yield* serve({ heartbeatInterval: Duration.minutes(1) })
    const clt = yield* connect(server, protocol({ serverTimeout: 250, heartbeatInterval: 50 }))
    const ended = yield* Effect.flip(Stream.runDrain(clt.messages))
    assert.strictEqual(ended.kind, "TimedOut")
    assert.isFalse(yield* clt.isConnected)
  }), 10_000)

  live("a client that stops heartbeating is dropped by the server (its requested timeout)", Effect.gen(function*() {
    const server = yield* serve({ heartbeatInterval: 50 })
    const clt = yield* connect(server, protocol({ heartbeatInterval: Duration.minutes(1), heartbeatTimeoutMs: 250 }))
    while ((yield* server.svc.connections.current).length === 0) yield* Effect.sleep(5)
    yield* server.svc.connections.changes.pipe(Stream.filter((ids) => ids.length === 0), Stream.runHead)
    // the server closed without End of Session; the client sees the end
    const end = yield* Effect.flip(clt.recv)
    assert.include(["Closed", "Transport"], end.kind)
  }), 10_000)

  live("End of Session when the server shuts down; orders ride in as Unsequenced Data", Effect.gen(function*() {
    const serverScope = yield* Scope.make()
    const server = yield* serve().pipe(Scope.provide(serverScope))
    // a simulator: every order is accepted (as Sequenced Data)
    yield* Effect.forkIn(
      server.requests.pipe(Stream.runForEach(({ payload }) =>
        payload._tag === "EnterOrder"
          ? server.publish({
            _tag: "OrderAccepted",
            timestamp: 1,
            userRefNum: payload.userRefNum,
            side: payload.side,
            quantity: payload.quantity,
            symbol: payload.symbol,
            price: payload.price,
            timeInForce: payload.timeInForce,
            orderReferenceNumber: 1000 + payload.userRefNum,
            clOrdId: payload.clOrdId,
            orderState: "L"
          })
          : Effect.void
      )),
      serverScope
    )
    const clt = yield* connect(server, protocol())
    yield* clt.send({
      _tag: "UnsequencedData",
      payload: {
        _tag: "EnterOrder",
        userRefNum: 1,
        side: "B",
        quantity: 100,
        symbol: "AAPL",
        price: 1_890_500,
        timeInForce: "0",
        display: "Y",
        capacity: "A",
        clOrdId: "ORD1"
      }
    })
    const accepted = yield* clt.recv
    assert.strictEqual(accepted._tag === "SequencedData" ? accepted.payload._tag : accepted._tag, "OrderAccepted")
    yield* Scope.close(serverScope, Exit.void)
    assert.deepStrictEqual(yield* clt.recv, { _tag: "EndOfSession" })
    assert.isFalse(yield* clt.isConnected)
    assert.strictEqual((yield* Effect.flip(clt.recv)).kind, "Closed")
  }))
})
