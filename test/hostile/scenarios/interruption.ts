/**
 * Interruption storms: fibers interrupted in the middle of every kind of wait
 * the library has — a TCP connect that is never accepted, a `pull` with no data,
 * a write to a peer that does not read, an accept loop, a UDP reader, a DCCP
 * handshake nobody answers, a readiness-level `poll`. Afterwards the process has
 * the descriptors, reactor registrations and waiters it started with, and its
 * heap is back.
 *
 * Used by test/hostile/interruption.test.ts and `npm run soak`.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Dccp from "../../../src/dccp/Dccp.ts"
import * as Events from "../../../src/poll/Events.ts"
import * as Poll from "../../../src/poll/Poll.ts"
import * as SocketAddress from "../../../src/net/SocketAddress.ts"
import * as UdpSocket from "../../../src/net/UdpSocket.ts"
import { Reactor } from "../../../src/reactor/Reactor.ts"
import * as Tcp from "../../../src/socket/Tcp.ts"
import * as Udp from "../../../src/socket/Udp.ts"
import * as Prng from "../../../src/testing/Prng.ts"
import { openFds } from "../../util/fds.ts"
import { heapAfterGc } from "../gc.ts"

export interface InterruptionOptions {
  /** Fibers interrupted, in all. */
  readonly fibers: number
  readonly seed?: number
}

export interface InterruptionFigures {
  readonly fibers: number
  readonly byKind: Readonly<Record<string, number>>
  readonly fdsBefore: number
  readonly fdsAfter: number
  readonly registeredBefore: number
  readonly registeredAfter: number
  readonly waitingAfter: number
  readonly heapGrowth: number
  readonly elapsedMs: number
}

export const interruptionStorm = (options: InterruptionOptions): Effect.Effect<InterruptionFigures, unknown, Reactor> =>
  Effect.gen(function*() {
    const start = performance.now()
    const reactor = yield* Reactor
    const rng = Prng.make(options.seed ?? 7)
    const fdsBefore = openFds().size
    const registeredBefore = reactor.stats().registered
    const byKind: Record<string, number> = {}
    let heapBefore = 0
    yield* Effect.scoped(Effect.gen(function*() {
      // The peers the waits are against, alive for the whole storm.
      const silentUdp = yield* UdpSocket.bind("127.0.0.1:0") // a DCCP "server" that never answers
      const silentAddress = SocketAddress.format(silentUdp.localAddr() as SocketAddress.SocketAddress)
      const server = yield* Tcp.listen("127.0.0.1:0", { backlog: 4096, connection: { recvBufferSize: 4096 } })
      const tcpAddress = `127.0.0.1:${(server.address as { port: number }).port}`
      // A server that holds each connection for a while without reading or writing
      // (longer than any wait below lasts before its interruption), with small buffers.
      const held = yield* Effect.forkScoped(server.run(() => Effect.sleep("200 millis")))
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)

      const named: ReadonlyArray<readonly [string, Effect.Effect<unknown, unknown, Reactor>]> = [
        ["tcp pull", Effect.scoped(Effect.flatMap(Tcp.connect(tcpAddress), (s) => Effect.flatMap(s.reader, (r) => r.pull)))],
        ["tcp write to a peer that does not read", Effect.scoped(Effect.gen(function*() {
          const s = yield* Tcp.connect(tcpAddress, { sendBufferSize: 4096 })
          yield* s.reader
          const w = yield* s.writer
          const chunk = new Uint8Array(64 * 1024)
          while (true) yield* w.write(chunk)
        }))],
        ["udp pull", Effect.scoped(Effect.flatMap(Udp.make({ bind: "127.0.0.1:0" }), (u) => Effect.flatMap(u.reader, (r) => r.pull)))],
        ["dccp handshake", Effect.scoped(Dccp.connect({ address: silentAddress, serviceCode: 1 }))],
        ["accept loop", Effect.scoped(Effect.flatMap(Tcp.listen("127.0.0.1:0"), (s) => s.run(() => Effect.void)))],
        ["readiness poll", poll.poll(events, "10 seconds")]
      ]
      const waits = named.map(([name, wait]) => [name, wait.pipe(Effect.provideService(Reactor, reactor))] as const)

      const round = (count: number) =>
        Effect.gen(function*() {
          for (let i = 0; i < count; i += 16) {
            // 16 at a time, each interrupted after a random number of turns (0–4).
            const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
            for (let k = 0; k < 16 && i + k < count; k++) {
              const [name, wait] = waits[rng.int(waits.length)]!
              byKind[name] = (byKind[name] ?? 0) + 1
              fibers.push(yield* Effect.forkChild(wait, { startImmediately: true }))
            }
            for (let t = rng.int(5); t > 0; t--) yield* Effect.yieldNow
            if (rng.int(4) === 0) yield* Effect.sleep(1)
            yield* Fiber.interruptAll(fibers)
          }
        })
      // A first round brings every code path and cache to its steady state.
      yield* round(Math.min(200, options.fibers))
      heapBefore = heapAfterGc()
      yield* round(options.fibers)
      yield* Fiber.interrupt(held)
    }))
    for (let i = 0; i < 100 && openFds().size > fdsBefore; i++) yield* Effect.sleep(10)
    return {
      fibers: options.fibers,
      byKind,
      fdsBefore,
      fdsAfter: openFds().size,
      registeredBefore,
      registeredAfter: reactor.stats().registered,
      waitingAfter: reactor.stats().waiting,
      heapGrowth: heapAfterGc() - heapBefore,
      elapsedMs: performance.now() - start
    }
  })
