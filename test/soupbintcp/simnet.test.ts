/**
 * SoupBinTCP on MemorySocket over a SimNet, in virtual time: the path between
 * trader and exchange is cut twice while the exchange publishes. Each cut is
 * noticed by missing heartbeats on both sides; the trader reconnects (its
 * attempts time out while the path is down) and logs in with the next sequence
 * number it expects. Every message arrives exactly once, in order. Replays
 * from its seed (SIMNET_SEED overrides it; the trace is printed on failure).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import { TestClock } from "effect/testing"
import * as Ouch from "../../examples/soupbintcp/Ouch.ts"
import * as SoupBinTcp from "../../examples/soupbintcp/SoupBinTcp.ts"
import * as MemorySocket from "../../src/testing/MemorySocket.ts"
import * as SimNet from "../../src/testing/SimNet.ts"

const wire = SoupBinTcp.wire({ client: Ouch.Inbound, server: Ouch.Outbound })
const N = 300

const executed = (n: number): Ouch.Outbound => ({
  _tag: "OrderExecuted",
  timestamp: n,
  userRefNum: 1,
  quantity: 1,
  price: 10_000,
  liquidityFlag: "R",
  matchNumber: n
})

const session = (seed: number) =>
  Effect.gen(function*() {
    const net = yield* SimNet.SimNet
    const listener = yield* MemorySocket.listen({ host: "exchange", port: 26400 })
    const server = yield* SoupBinTcp.serve({
      wire,
      server: listener,
      username: "TRADER",
      password: "pw",
      session: "DAY1",
      heartbeatInterval: 100,
      defaultTimeoutMs: 400
    })
    // the exchange publishes one execution every 5 ms, whoever is listening
    yield* Effect.forkScoped(Effect.forEach(Array.from({ length: N }, (_, i) => i + 1), (n) =>
      Effect.andThen(server.publish(executed(n)), Effect.sleep(5)), { discard: true }))
    // the path goes down twice: a stalled TCP path, as far as the endpoints can tell
    yield* Effect.forkScoped(Effect.gen(function*() {
      yield* Effect.sleep(300)
      yield* net.partition("trader", "exchange")
      yield* Effect.sleep(700)
      yield* net.heal()
      yield* Effect.sleep(400)
      yield* net.partition("trader", "exchange")
      yield* Effect.sleep(600)
      yield* net.heal()
    }))

    const protocol = SoupBinTcp.clientProtocol({
      wire,
      username: "TRADER",
      password: "pw",
      heartbeatInterval: 100,
      serverTimeout: 400,
      heartbeatTimeoutMs: 400,
      loginTimeout: 300
    })
    const received: Array<number> = []
    let logins = 0, failedAttempts = 0
    const trader = Effect.gen(function*() {
      while (received.length < N) {
        const attempt = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
          const socket = yield* MemorySocket.make({ host: "trader", to: listener.address })
          const clt = yield* SoupBinTcp.connect({ wire, protocol, socket, timeout: 500 })
          logins++
          // until the connection dies (a missing heartbeat) or the whole session arrived
          yield* SoupBinTcp.payloads(clt).pipe(
            Stream.take(N - received.length),
            Stream.runForEach((o) => Effect.sync(() => received.push(o._tag === "OrderExecuted" ? o.matchNumber : -1)))
          )
        })))
        if (Exit.isFailure(attempt)) failedAttempts++
        if (received.length < N) yield* Effect.sleep(50)
      }
    })
    const fiber = yield* Effect.forkScoped(trader)
    while (fiber.pollUnsafe() === undefined) yield* TestClock.adjust(10)
    return { received, logins, failedAttempts, seed }
  })

describe("SoupBinTCP over SimNet with the path cut twice", () => {
  for (const [seed, latency, jitter] of [[5, 2, 1], [11, 5, 3], [23, 1, 0]] as const) {
    it.effect(`every message once and in order, across reconnects and replays (seed ${seed}, ${latency}±${jitter} ms)`, () =>
      Effect.gen(function*() {
        const { failedAttempts, logins, received } = yield* session(seed)
        assert.deepStrictEqual(received, Array.from({ length: N }, (_, i) => i + 1))
        // one login per path outage at least, and attempts that timed out while it was down
        assert.isAtLeast(logins, 3)
        assert.isAtLeast(failedAttempts, 2)
      }).pipe(SimNet.traceOnFailure(), Effect.provide(SimNet.layer({ seed, latency, jitter }))), 30_000)
  }
})
