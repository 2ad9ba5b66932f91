/**
 * Testing a tiny request/response protocol under 10 % loss with SimNet.
 *
 * Run it:        npx tsx examples/simnet-request-response.ts
 * Replay a seed: SIMNET_SEED=7 npx tsx examples/simnet-request-response.ts
 * Poke it:       raise `loss` to 0.3, add `duplicate: 0.05` or `reorder: 0.05`, shorten `retryAfter`,
 *                and read the report: every run with the same seed prints the same trace.
 *
 * The protocol is written only against `effect/socket`'s `DatagramSocket`, so it would run on
 * real UDP unchanged; here each side gets a `MemoryDatagram` socket on a simulated network
 * (10 ms each way, ±2 ms jitter, 10 % loss in both directions). Time is virtual: the whole
 * exchange takes seconds of simulated time and milliseconds of real time.
 *
 * Protocol: the client sends `REQ <id> <n>`; the server answers `RES <id> <n²>`. A request
 * whose answer does not come within `retryAfter` is sent again with the same id (the server
 * is stateless, so a repeat is harmless); an answer to an older id is ignored.
 */
import { Effect, Fiber } from "effect"
import * as DatagramSocket from "effect/socket/DatagramSocket"
import { TestClock } from "effect/testing"
import { pathToFileURL } from "node:url"
import { MemoryDatagram, SimNet } from "effect-mio/testing"

const decoder = new TextDecoder()

/** The server: answers every request it sees. */
export const server: Effect.Effect<never, DatagramSocket.DatagramSocketError, DatagramSocket.DatagramSocket> = Effect
  .scoped(Effect.gen(function*() {
    const socket = yield* DatagramSocket.DatagramSocket
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    while (true) {
      for (const request of yield* reader.pull) {
        const [kind, id, n] = decoder.decode(request.payload).split(" ")
        if (kind !== "REQ") continue
        yield* writer.write({ payload: `RES ${id} ${Number(n) ** 2}`, address: request })
      }
    }
  }))

/** The client: asks for the squares of `numbers`, one request at a time, retrying lost ones. */
export const client = (numbers: ReadonlyArray<number>, retryAfter = 50) =>
  Effect.scoped(Effect.gen(function*() {
    const socket = yield* DatagramSocket.DatagramSocket
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    const answers: Array<number> = []
    let sent = 0
    for (const [id, n] of numbers.entries()) {
      const answer = Effect.gen(function*() {
        while (true) {
          for (const datagram of yield* reader.pull) {
            const [kind, answerId, value] = decoder.decode(datagram.payload).split(" ")
            if (kind === "RES" && Number(answerId) === id) return Number(value)
          }
        }
      })
      while (true) {
        sent++
        yield* writer.write({ payload: `REQ ${id} ${n}` })
        const value = yield* Effect.timeoutOption(answer, retryAfter)
        if (value._tag === "Some") {
          answers.push(value.value)
          break
        }
      }
    }
    return { answers, sent }
  }))

/** The test: both sides on one simulated network; the clock is driven until the client is done. */
export const requestResponse = (options: { readonly seed?: number; readonly requests?: number } = {}) =>
  Effect.gen(function*() {
    const net = yield* SimNet.SimNet
    const numbers = Array.from({ length: options.requests ?? 100 }, (_, i) => i + 1)
    yield* Effect.forkScoped(Effect.provide(server, MemoryDatagram.layer({ host: "server", port: 7 })))
    const done = yield* Effect.forkScoped(
      Effect.provide(client(numbers), MemoryDatagram.layer({ host: "client", peer: "server:7" }))
    )
    while (done.pollUnsafe() === undefined) yield* net.advance("10 millis")
    const { answers, sent } = yield* Fiber.join(done)
    const squaresOk = answers.length === numbers.length && answers.every((a, i) => a === numbers[i]! ** 2)
    if (!squaresOk) return yield* Effect.die(new Error(`wrong answers: ${answers.join(",")}`))
    const toServer = yield* net.stats("client->server")
    const toClient = yield* net.stats("server->client")
    return {
      seed: net.seed,
      requests: numbers.length,
      sent,
      lost: (toServer.dropped["loss"] ?? 0) + (toClient.dropped["loss"] ?? 0),
      packets: toServer.sent + toClient.sent,
      elapsedMs: yield* net.now,
      report: yield* net.report({ last: 12 })
    }
  }).pipe(
    SimNet.traceOnFailure(),
    Effect.scoped,
    Effect.provide(SimNet.layer({ seed: options.seed ?? 1, latency: 10, jitter: 2, loss: 0.1 }))
  )

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const program = Effect.gen(function*() {
    const result = yield* requestResponse()
    yield* Effect.sync(() => {
      process.stdout.write(
        `${result.requests} requests answered correctly with ${result.sent} sends ` +
          `(${result.sent - result.requests} retries); ${result.lost} of ${result.packets} packets lost; ` +
          `${result.elapsedMs} ms of simulated time\n\n${result.report}\n`
      )
    })
  })
  Effect.runPromise(Effect.provide(program, TestClock.layer())).catch((error) => {
    process.stderr.write(`${error}\n`)
    process.exitCode = 1
  })
}
