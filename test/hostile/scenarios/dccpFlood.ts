/**
 * A DCCP-UDP listener under a flood: garbage datagrams and spoofed Requests,
 * each from its own source (address and port), then a legitimate client. The
 * listener must keep no state for sources that only send (its peers and
 * connections stay at zero), its heap must come back to where it was after a
 * collection, and the legitimate client must still be served.
 *
 * Used by test/hostile/dccp-listener.test.ts (bounded counts) and by
 * `npm run soak` (full counts).
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Dccp from "../../../src/dccp/Dccp.ts"
import * as SocketAddress from "../../../src/net/SocketAddress.ts"
import type { Reactor } from "../../../src/reactor/Reactor.ts"
import * as Prng from "../../../src/testing/Prng.ts"
import { heapAfterGc } from "../gc.ts"
import { dccpRequest, garbage, type Spoofer, spoofer } from "../spoof.ts"

export interface DccpFloodOptions {
  readonly garbage: number
  readonly requests: number
  readonly seed?: number
}

export interface DccpFloodFigures {
  readonly datagrams: number
  readonly heapBefore: number
  readonly heapAfter: number
  /** What the listener held after the flood. */
  readonly peers: number
  readonly connections: number
  readonly cookiesSent: number
  /** Datagrams the listener saw (the kernel drops what its buffer cannot take). */
  readonly received: number
  readonly requestsAccepted: number
  readonly droppedHeader: number
  /** Echo round trips of a legitimate client after the flood. */
  readonly echoed: number
  readonly elapsedMs: number
}

/** Datagrams of each kind sent before the baseline is taken. */
const WARM_UP = 3000

/**
 * The sources of the flood: 127.0.0.2 … 127.0.0.17, ports 1024 … 32767 each.
 * The listener answers spoofed Requests, and loopback is shared with every
 * other test process: not 127.0.0.1, and below the kernel's ephemeral range
 * (32768–60999), so no socket bound elsewhere to 127.0.0.1 or to port 0 gets
 * an answer.
 */
const PORTS = 32768 - 1024
const sourceOf = (i: number): { ip: string; port: number } => ({
  ip: `127.0.0.${2 + (Math.floor(i / PORTS) % 16)}`,
  port: 1024 + (i % PORTS)
})

export const dccpFlood = (options: DccpFloodOptions): Effect.Effect<DccpFloodFigures, unknown, Reactor> =>
  Effect.scoped(Effect.gen(function*() {
    const start = performance.now()
    const rng = Prng.make(options.seed ?? 1)
    const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42] })
    const port = server.port
    const serving = yield* Effect.forkChild(server.run((socket) =>
      Effect.gen(function*() {
        while (true) yield* socket.send(yield* socket.recv)
      }).pipe(Effect.catchIf((e) => e.kind === "Closed", () => Effect.void))
    ))
    // A warm-up connection, so the heap baseline includes what a served listener holds anyway.
    const echoOnce = Effect.scoped(Effect.gen(function*() {
      const client = yield* Dccp.connect({ address: SocketAddress.format(server.address), serviceCode: 42, connectTimeout: "10 seconds" })
      yield* client.send("ping")
      const reply = yield* client.recv
      yield* client.close
      return reply.length === 4 ? 1 : 0
    }))
    yield* echoOnce
    const spoofers = new Map<string, Spoofer>()
    const flood = (garbageCount: number, requestCount: number, firstSource: number) =>
      Effect.gen(function*() {
        const total = garbageCount + requestCount
        const chunk = 128
        for (let from = 0; from < total; from += chunk) {
          const n = Math.min(chunk, total - from)
          const byIp = new Map<string, { ports: Array<number>; payloads: Array<Uint8Array> }>()
          for (let k = 0; k < n; k++) {
            const i = from + k
            const src = sourceOf(firstSource + i)
            const payload = i < garbageCount ? garbage(rng, 64) : dccpRequest(src.port, port, 42, rng.next())
            let group = byIp.get(src.ip)
            if (group === undefined) byIp.set(src.ip, group = { ports: [], payloads: [] })
            group.ports.push(src.port)
            group.payloads.push(payload)
          }
          for (const [ip, group] of byIp) {
            let s = spoofers.get(ip)
            if (s === undefined) spoofers.set(ip, s = yield* spoofer(ip))
            yield* s.send(port, group.ports, group.payloads)
          }
          // Let the listener's receive loop drain between chunks (the kernel buffer is finite).
          yield* Effect.promise(() => new Promise((r) => setImmediate(r)))
        }
      })
    // A first flood fills what is bounded anyway (128 half-open connections, the
    // transport's 4096-entry peer cache); the baseline is taken after it, so the
    // growth measured is what grows with the number of sources.
    yield* flood(WARM_UP, WARM_UP, 0)
    const heapBefore = heapAfterGc()
    const total = options.garbage + options.requests
    yield* flood(options.garbage, options.requests, 2 * WARM_UP)
    yield* Effect.sleep(50)
    let echoed = 0
    for (let i = 0; i < 3; i++) echoed += yield* echoOnce
    const stats = server.stats()
    const heapAfter = heapAfterGc()
    yield* Fiber.interrupt(serving)
    return {
      datagrams: total,
      heapBefore,
      heapAfter,
      peers: stats.peers,
      connections: stats.connections,
      cookiesSent: stats.cookiesSent,
      received: stats.datagramsReceived,
      requestsAccepted: stats.requestsAccepted,
      droppedHeader: stats.droppedHeader,
      echoed,
      elapsedMs: performance.now() - start
    }
  }))
