/**
 * The endpoint server with many peers (bench/cases/rudploss.ts, case
 * rudp-server-10k): one `EndpointServer` on one port, and a client process
 * holding thousands of connections that each send one Delivery message a second.
 *
 *   --role server   prints {"ready":true,"port":N}; on a "stats" line prints
 *                   {"peers","rss_kb","heap_kb","cpu_us","received","gc_ms" (total GC pauses),
 *                   "gc_max_ms" (the longest since the last "stats"),…}; ends on "stop"
 *   --role clients  --port P --peers N [--rate 1] [--connect-secs 10]: N client engines
 *                   (RudpEngine, the sans-IO engine an Endpoint drives) multiplexed over 16 UDP
 *                   sockets — the server routes by connection id, so sockets can be shared —
 *                   started evenly over `connect-secs`; each sends `rate` 64-byte Delivery
 *                   messages a second once connected; prints {"phase":"progress",…} every second,
 *                   {"phase":"connected","connected","secs"} once all are (or 30 s after the last
 *                   was started, with those that are); on a "stats" line {"phase":"stats","sent",
 *                   "connected","cpu_us"}; {"sent","connected"} on stop
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { randomFillSync } from "node:crypto"
import { PerformanceObserver } from "node:perf_hooks"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { makeConfig } from "../../src/rudp/engine/Config.ts"
import { RudpEngine } from "../../src/rudp/engine/Connection.ts"
import * as EndpointServer from "../../src/rudp/EndpointServer.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { arg, emit, must, num, runMain, stdinLine } from "./common.ts"

const role = arg("role")
const HOST = "127.0.0.1"

const cpuMicros = (): number => {
  const u = process.cpuUsage()
  return u.user + u.system
}

/** Garbage-collection pauses since the last "stats": their total and the longest (ms). */
const gcPauses = { total: 0, max: 0 }
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcPauses.total += e.duration
    if (e.duration > gcPauses.max) gcPauses.max = e.duration
  }
}).observe({ entryTypes: ["gc"] })

const server = Effect.gen(function*() {
  const s = yield* EndpointServer.make(`${HOST}:0`, { maxPeers: 20_000, backlog: 20_000, idleTimeout: "30 seconds" })
  let received = 0
  yield* Effect.forkScoped(s.run((peer) => Stream.runForEach(peer.messages, () => Effect.sync(() => void received++))))
  emit({ ready: true, port: Number(s.localAddress.slice(s.localAddress.lastIndexOf(":") + 1)) })
  for (;;) {
    const line = yield* Effect.promise(() => stdinLine())
    if (line === undefined || line.trim() === "stop") return process.exit(0)
    const st = yield* s.stats
    const m = process.memoryUsage()
    emit({
      peers: st.peers,
      rss_kb: m.rss / 1024,
      heap_kb: m.heapUsed / 1024,
      cpu_us: cpuMicros(),
      received,
      datagrams_in: st.datagramsIn,
      datagrams_out: st.datagramsOut,
      peers_made: st.peersMade,
      peers_ended: st.peersEnded,
      retries: st.listener.retriesSent,
      gc_ms: gcPauses.total,
      gc_max_ms: gcPauses.max,
      dropped: Object.fromEntries(Object.entries(st.listener.dropped).filter(([, v]) => v > 0))
    })
    gcPauses.max = 0
  }
})

const clients = Effect.gen(function*() {
  const port = num("port")
  const n = num("peers", 10_000)
  const rate = num("rate", 1)
  const connectMs = num("connect-secs", 10) * 1000
  const sockets = yield* Effect.forEach(Array.from({ length: 16 }), () =>
    Effect.gen(function*() {
      const u = yield* UdpSocket.bind(`${HOST}:0`, { recvBufferSize: 8 * 2 ** 20, sendBufferSize: 8 * 2 ** 20, batch: { size: 64, bufferSize: 2048 } })
      const e = u.connect(`${HOST}:${port}`)
      if (e !== undefined) throw e
      return u
    }))
  const pool = new Uint32Array(256)
  let at = pool.length
  const random = () => {
    if (at === pool.length) {
      randomFillSync(pool)
      at = 0
    }
    return pool[at++]!
  }
  const config = makeConfig({ random, idleTimeout: 30_000, heartbeat: 5_000, initialRtt: 50 })
  const engines: Array<RudpEngine> = []
  const byCid = new Map<string, RudpEngine>()
  const socketOf = new Map<RudpEngine, UdpSocket.UdpSocket>()
  const key = (b: Uint8Array, from: number) => Buffer.from(b.buffer, b.byteOffset + from, 8).toString("latin1")
  const start = performance.now()
  const message = new Uint8Array(64)
  let sent = 0, connected = 0, reported = false, lastProgress = start
  const nextSend = new Float64Array(n)
  const buf = new Uint8Array(2048)
  const flush = (e: RudpEngine, now: number) => {
    const u = socketOf.get(e)!
    for (let len = e.pollTransmitInto(now, buf); len > 0; len = e.pollTransmitInto(now, buf)) u.send(buf.subarray(0, len))
    while (e.pollEvent() !== undefined) { /* drain */ }
    while (e.pollMessage() !== undefined) { /* none expected */ }
  }
  for (;;) {
    const now = performance.now()
    // Start the connections evenly over connect-secs.
    const due = Math.min(n, Math.floor(((now - start) / connectMs) * n) + 1)
    while (engines.length < due) {
      const e = new RudpEngine(now, config)
      engines.push(e)
      byCid.set(key(e.localCid, 0), e)
      socketOf.set(e, sockets[engines.length % sockets.length]!)
      nextSend[engines.length - 1] = now + Math.random() * (1000 / rate)
      flush(e, now)
    }
    for (const u of sockets) {
      for (;;) {
        const r = u.recvBatch(64)
        if (r === WouldBlock) break
        const batch = must(r, "recvBatch")
        for (const d of batch) {
          const p = d.payload
          // Short header: the id follows the first byte; long header: after version and length.
          const e = (p[0]! & 0x80) === 0 ? byCid.get(key(p, 1)) : byCid.get(key(p, 6))
          if (e !== undefined) {
            e.handleDatagram(performance.now(), p)
            flush(e, performance.now())
          }
        }
        if (batch.length < 64) break
      }
    }
    connected = 0
    for (let i = 0; i < engines.length; i++) {
      const e = engines[i]!
      if (e.isConnected) connected++
      const t = e.pollTimeout()
      if (t !== undefined && t <= now) {
        e.handleTimeout(now)
        flush(e, now)
      }
      if (e.isConnected && nextSend[i]! <= now) {
        nextSend[i] = now + 1000 / rate
        if (typeof e.send(now, message, "Delivery") === "number") sent++
        flush(e, now)
      }
    }
    if (!reported && now - lastProgress >= 1000) {
      lastProgress = now
      const states: Record<string, number> = {}
      for (const e of engines) states[e.state] = (states[e.state] ?? 0) + 1
      emit({ phase: "progress", engines: engines.length, connected, states, secs: (now - start) / 1000 })
    }
    if (!reported && (connected === n || now - start > connectMs + 30_000)) {
      reported = true
      emit({ phase: "connected", connected, secs: (performance.now() - start) / 1000 })
      // "stats": what was offered so far and this process's CPU (is the client the limit?); else the end.
      const answer = (): void =>
        void stdinLine().then((line) => {
          if (line?.trim() === "stats") {
            // Messages sent and not yet acknowledged, and retransmissions: is the server keeping up?
            let queued = 0, inFlight = 0, resent = 0
            for (const e of engines) {
              queued += e.outbox.queue.length
              inFlight += e.bytesInFlight
              resent += e.stats.retransmissions
            }
            emit({ phase: "stats", sent, connected, cpu_us: cpuMicros(), queued, in_flight_b: inFlight, resent })
            return answer()
          }
          emit({ sent, connected })
          process.exit(0)
        })
      answer()
    }
    yield* Effect.sleep(5)
  }
})

const main = (): void => {
  const run = <A, E>(e: Effect.Effect<A, E, Reactor.Reactor | import("effect/Scope").Scope>) => runMain(e.pipe(Effect.scoped, Effect.provide(Reactor.layer)))
  if (role === "server") return run(server)
  if (role === "clients") return run(clients)
  throw new Error(`unknown --role ${role}`)
}

main()
