/**
 * The JavaScript cost of text writes on our stream `Socket` writer, as Effect
 * RPC's ndjson serialization makes them (one string per request/response, a
 * burst per turn): bursts of 1,000 writes of a 240-character JSON line to an
 * in-memory stream (a real fd for the reactor's registration; writes counted,
 * not sent), each burst in its own turn. Prints ns per write (best and median
 * of 7) and the bytes the heap grew by per write over one burst. Diagnostic,
 * not part of `npm run bench`.
 *
 *   node --import tsx bench/diag/text-writes.ts [bursts]
 */
import * as Effect from "effect/Effect"
import * as Pipe from "../../src/net/Pipe.ts"
import { IoSource } from "../../src/poll/IoSource.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as StreamSocket from "../../src/socket/internal/StreamSocket.ts"

const bursts = Number(process.argv[2] ?? 400)
const BURST = 1000

/** A stream end that takes every write whole and keeps only the byte count. */
class CountingStream extends IoSource {
  bytes = 0
  read(): number {
    return 0
  }
  write(buf: Uint8Array): number {
    this.bytes += buf.length
    return buf.length
  }
  writev(bufs: ReadonlyArray<Uint8Array>): number {
    let n = 0
    for (const b of bufs) n += b.length
    this.bytes += n
    return n
  }
  shutdown(): undefined {
    return undefined
  }
}

const line = JSON.stringify({
  _tag: "Request", id: "12345", tag: "Enter", traceId: "0123456789abcdef0123456789abcdef", spanId: "0123456789abcdef",
  sampled: true, headers: [], payload: { userRef: 42, side: "B", quantity: 100, symbol: "ACME", price: 10.25, clOrdId: "c-1" }
}) + "\n"

const program = Effect.gen(function*() {
  const reactor = yield* Reactor.Reactor
  const [tx] = yield* Pipe.make()
  const stream = new CountingStream(tx.fd)
  const reg = yield* reactor.register(stream)
  const conn = new StreamSocket.Connection(stream as never, reg)
  const socket = StreamSocket.make(Effect.succeed(conn), { reconnects: false, initial: conn })
  const writer = yield* socket.writer
  const burst = Effect.gen(function*() {
    for (let i = 0; i < BURST; i++) yield* writer.write(line)
    // End the turn: the stage leaves.
    yield* Effect.promise(() => new Promise<void>((r) => setImmediate(r)))
  })
  for (let i = 0; i < 50; i++) yield* burst
  const times: Array<number> = []
  for (let k = 0; k < 7; k++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < bursts / 7; i++) yield* burst
    times.push(Number(process.hrtime.bigint() - t0) / ((bursts / 7) * BURST))
  }
  times.sort((x, y) => x - y)
  const h0 = process.memoryUsage().heapUsed
  for (let i = 0; i < BURST; i++) yield* writer.write(line)
  const grew = (process.memoryUsage().heapUsed - h0) / BURST
  console.log(JSON.stringify({ ns_per_write_best: Math.round(times[0]!), median: Math.round(times[3]!), heap_b_per_write: Math.round(grew), line_bytes: line.length }))
})

Effect.runFork(program.pipe(Effect.scoped, Effect.provide(Reactor.layer))).addObserver((e) => {
  if (e._tag === "Failure") console.error(e.cause)
  process.exit(0)
})
