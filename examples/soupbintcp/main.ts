/**
 * SoupBinTCP with an OUCH-like order-entry payload, end to end over TCP.
 *
 * Run the scene:      npx tsx --conditions=effect-mio-source examples/soupbintcp/main.ts
 * Serve and poke it:  npx tsx --conditions=effect-mio-source examples/soupbintcp/main.ts --serve [--port 26400]
 *   then log in by hand (user TRADER, password pw, sequence number 1, heartbeat timeout 60000 ms) and
 *   watch the Login Accepted, the replay of the 3 logged messages and a Server Heartbeat come back:
 *     (printf '\x004LTRADERpw                  %20s60000' 1; sleep 1.5) | socat - TCP:127.0.0.1:26400 | xxd
 *   (`\x004` is the length 0x0034 = 52; the fields are space-padded ASCII: username 6, password 10,
 *   session 10 (blank: the current one), sequence number 20, heartbeat timeout 5)
 *
 * The scene: an exchange (a Svc with the SoupBinTCP server protocol and a tiny
 * matching simulator) and a trader (a Clt with the client protocol). The trader
 * logs in, sends orders as Unsequenced Data and gets Order Accepted / Order
 * Executed as Sequenced Data; it logs out; the exchange goes on executing; the
 * trader logs in again with the next sequence number it expects and the
 * exchange replays exactly what it missed; the exchange closes with End of
 * Session.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import { parseArgs } from "node:util"
import { pathToFileURL } from "node:url"
import { Reactor } from "effect-mio"
import * as Ouch from "./Ouch.ts"
import * as SoupBinTcp from "./SoupBinTcp.ts"

export const wire = SoupBinTcp.wire({ client: Ouch.Inbound, server: Ouch.Outbound })

const show = (o: Ouch.Outbound): string => {
  switch (o._tag) {
    case "OrderAccepted":
      return `Order Accepted  #${o.userRefNum} ${o.side} ${o.quantity} ${o.symbol} @ ${(o.price / 10_000).toFixed(4)} ref ${o.orderReferenceNumber}`
    case "OrderExecuted":
      return `Order Executed  #${o.userRefNum} ${o.quantity} @ ${(o.price / 10_000).toFixed(4)} match ${o.matchNumber}`
    case "OrderCanceled":
      return `Order Canceled  #${o.userRefNum} (${o.reason})`
    default:
      return o._tag
  }
}

/** The exchange: accepts every order, executes half of it at once and the rest on request. */
export const exchange = (address: string) =>
  Effect.gen(function*() {
    const server = yield* SoupBinTcp.serve({ wire, address, username: "TRADER", password: "pw", session: "DEMO1", name: "exchange" })
    let match = 5000
    const resting: Array<Extract<Ouch.Inbound, { _tag: "EnterOrder" }>> = []
    const execute = (o: Extract<Ouch.Inbound, { _tag: "EnterOrder" }>, quantity: number) =>
      server.publish({
        _tag: "OrderExecuted",
        timestamp: 34_200_000_000_000 + match,
        userRefNum: o.userRefNum,
        quantity,
        price: o.price,
        liquidityFlag: "R",
        matchNumber: ++match
      })
    yield* Effect.forkScoped(server.requests.pipe(Stream.runForEach(({ payload }) =>
      Effect.gen(function*() {
        if (payload._tag !== "EnterOrder") return
        yield* server.publish({
          _tag: "OrderAccepted",
          timestamp: 34_200_000_000_000,
          userRefNum: payload.userRefNum,
          side: payload.side,
          quantity: payload.quantity,
          symbol: payload.symbol,
          price: payload.price,
          timeInForce: payload.timeInForce,
          orderReferenceNumber: 900_000 + payload.userRefNum,
          clOrdId: payload.clOrdId,
          orderState: "L"
        })
        yield* execute(payload, payload.quantity / 2)
        resting.push(payload)
      })
    )))
    /** Fills what is left of every resting order (whether anyone is logged in or not). */
    const fillResting = Effect.suspend(() => Effect.forEach(resting.splice(0), (o) => execute(o, o.quantity / 2), { discard: true }))
    return { server, fillResting }
  })

const order = (n: number): Ouch.Inbound => ({
  _tag: "EnterOrder",
  userRefNum: n,
  side: n % 2 === 0 ? "S" : "B",
  quantity: 100 * n,
  symbol: ["AAPL", "MSFT", "NVDA"][n % 3]!,
  price: 1_890_500 + 2_500 * n,
  timeInForce: "0",
  display: "Y",
  capacity: "A",
  clOrdId: `DEMO${n}`
})

/** The whole scene, printing as it goes (also `npm start`'s SoupBinTCP section). */
export const scene = Effect.gen(function*() {
  const exchangeScope = yield* Scope.make()
  const { fillResting, server } = yield* exchange("127.0.0.1:0").pipe(Scope.provide(exchangeScope))
  const address = `127.0.0.1:${(server.svc.address as { port: number }).port}`
  yield* Console.log(`  exchange listening on ${address}, session DEMO1`)
  // one protocol value for the trader: it remembers the next sequence number across connections
  const trader = SoupBinTcp.clientProtocol({ wire, username: "TRADER", password: "pw" })

  yield* Effect.scoped(Effect.gen(function*() {
    const clt = yield* SoupBinTcp.connect({ wire, protocol: trader, address, name: "trader" })
    let seq = trader.session.nextSequence
    yield* Console.log(`  ${clt.id} logged in: session ${trader.session.sessionId}, next sequence number ${seq}`)
    for (const n of [1, 2, 3]) yield* clt.send({ _tag: "UnsequencedData", payload: order(n) })
    yield* SoupBinTcp.payloads(clt).pipe(
      Stream.take(6),
      Stream.runForEach((o) => Console.log(`    seq ${seq++}: ${show(o)}`))
    )
    yield* Console.log("  trader logs out (Logout Request) and disconnects")
  }))

  yield* fillResting
  yield* Console.log(`  while it is away the exchange fills the resting orders: messages ${trader.session.nextSequence}–${server.session.messages.length}`)

  yield* Effect.scoped(Effect.gen(function*() {
    let seq = trader.session.nextSequence
    const clt = yield* SoupBinTcp.connect({ wire, protocol: trader, address, name: "trader" })
    yield* Console.log(`  ${clt.id} logged in again asking for sequence number ${seq}: the exchange replays`)
    yield* SoupBinTcp.payloads(clt).pipe(
      Stream.take(3),
      Stream.runForEach((o) => Console.log(`    seq ${seq++}: ${show(o)} (replayed)`))
    )
    yield* Scope.close(exchangeScope, Exit.void)
    const last = yield* clt.recv
    yield* Console.log(`  the exchange closes: ${last._tag}; the trader is ${(yield* clt.isConnected) ? "still" : "no longer"} connected`)
  }))
})

const serveForever = (port: number) =>
  Effect.gen(function*() {
    const { server } = yield* exchange(`127.0.0.1:${port}`)
    for (let n = 1; n <= 3; n++) yield* server.publish({ _tag: "SystemEvent", timestamp: n, eventCode: "S" })
    yield* Console.log(`exchange on 127.0.0.1:${(server.svc.address as { port: number }).port} (session DEMO1, 3 messages logged); Ctrl-C to stop`)
    return yield* Effect.never
  })

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { serve: { type: "boolean" }, port: { type: "string", default: "26400" } } })
  const program = values.serve === true ? serveForever(Number(values.port)) : scene
  Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Reactor.layer))).catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
}
