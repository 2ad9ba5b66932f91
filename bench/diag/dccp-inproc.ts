/**
 * DCCP-UDP against our plain UDP in one process, both ends on loopback sockets
 * driven by the reactor: CPU µs per 64 B round trip (rtt), or per datagram
 * delivered one way (oneway). One process on one CPU charges each side's work
 * and the kernel's to one clock, so the figure is the CPU a round trip costs,
 * with no cross-process wake-ups. Diagnostic, not part of `npm run bench`.
 *
 *   npx tsx --conditions=effect-mio-source bench/diag/dccp-inproc.ts rtt|oneway dccp|udp [ccid] [count]
 *
 * Pin it (`taskset -c 1`) and alternate the variants; the figures move with the
 * machine's load, the ratio of alternating runs much less. In one process the
 * unpaced plain UDP sender starves its receiver (most datagrams are lost), so
 * the oneway mode compares DCCP builds with each other, not with UDP.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Dccp from "../../src/dccp/Dccp.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Udp from "../../src/socket/Udp.ts"

const mode = process.argv[2] === "oneway" ? "oneway" : "rtt"
const kind = process.argv[3] === "udp" ? "udp" : "dccp"
const ccid = process.argv[4] === "3" ? 3 : 2
const count = Number(process.argv[5] ?? (mode === "rtt" ? 30_000 : 100_000))
const message = new Uint8Array(64)
let received = 0

const report = (cpu: NodeJS.CpuUsage, units: number, extra: object = {}) =>
  console.log(JSON.stringify({ mode, kind, ccid, cpu_us: +((cpu.user + cpu.system) / units).toFixed(2), units, ...extra }))

const timed = <E, R>(warmup: number, body: (n: number) => Effect.Effect<void, E, R>, units: () => number) =>
  Effect.gen(function*() {
    yield* body(warmup)
    yield* Effect.sleep("100 millis")
    received = 0
    const c0 = process.cpuUsage()
    yield* body(count)
    report(process.cpuUsage(c0), units())
  })

const dccp = Effect.gen(function*() {
  const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42], ccid })
  const echo = mode === "rtt"
  yield* Effect.forkChild(server.run((s) =>
    Effect.forever(echo ? Effect.flatMap(s.recv, s.send) : Effect.map(s.recv, () => void received++), { disableYield: true })
  ))
  const c = yield* Dccp.connect({ address: SocketAddress.format(server.address), serviceCode: 42, ccid })
  const rounds = (n: number) =>
    Effect.gen(function*() {
      for (let i = 0; i < n; i++) {
        yield* c.send(message)
        if (echo) yield* c.recv
      }
      // One way: wait until (nearly) everything arrived.
      if (!echo) while (received < n * 0.95) yield* Effect.sleep("1 millis")
    })
  yield* timed(mode === "rtt" ? 10_000 : 20_000, rounds, () => (echo ? count : received))
})

const udp = Effect.gen(function*() {
  const s = yield* Udp.make({ bind: "127.0.0.1:0" })
  const reader = yield* s.reader, writer = yield* s.writer
  const echo = mode === "rtt"
  yield* Effect.forkChild(Effect.forever(
    Effect.flatMap(reader.pull, (ds) => {
      received += ds.length
      return echo ? Effect.forEach(ds, (d) => writer.write(d), { discard: true }) : Effect.void
    }),
    { disableYield: true }
  ))
  const c = yield* Udp.make({ bind: "127.0.0.1:0", connect: `127.0.0.1:${reader.address.port}` })
  const cr = yield* c.reader, cw = yield* c.writer
  const rounds = (n: number) =>
    Effect.gen(function*() {
      for (let i = 0; i < n; i++) {
        yield* cw.write({ payload: message })
        if (echo) yield* cr.pull
      }
      if (!echo) yield* Effect.sleep("50 millis")
    })
  yield* timed(mode === "rtt" ? 10_000 : 20_000, rounds, () => (echo ? count : received))
})

const program: Effect.Effect<void, unknown, Reactor.Reactor | Scope.Scope> = kind === "udp" ? udp : dccp
Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Reactor.layer))).then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
