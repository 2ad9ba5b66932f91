/**
 * effect-mio's metrics and spans, read with Effect's own tools.
 *
 * Run it:   npx tsx --conditions=effect-mio-source examples/observability.ts
 * Poke it:  change the rounds or sizes below and watch the counters follow; drop the tracer
 *           (`Effect.provideService(Tracer.Tracer, …)`) and the per-connection spans are not
 *           made at all; swap `PrometheusMetrics.format()` for `Metric.dump`.
 *
 * On loopback, in one process: a TCP echo (3 round trips of 5 bytes), a UDP exchange (4
 * datagrams of 100 bytes each way) and a DCCP connection (3 datagrams of 200 bytes echoed). The
 * program runs with a registry of its own (`Metric.MetricRegistry`) and a tracer that keeps its
 * spans, then prints the registry in Prometheus' text format (`PrometheusMetrics.format`) and
 * the spans as a tree. Nothing in effect-mio counts for the metrics: they read, when the
 * snapshot is taken, the counters the sockets, engines and the reactor keep anyway.
 */
import { Console, Effect, Metric, Option, Schedule, Tracer } from "effect"
import type * as NetAddress from "effect/net/NetAddress"
import { PrometheusMetrics } from "effect/observability"
import { pathToFileURL } from "node:url"
import { Dccp, Metrics, Reactor, Tcp, Udp } from "effect-mio"

const TCP_ROUNDS = 3
const TCP_MESSAGE = "hello"
const UDP_DATAGRAMS = 4
const UDP_SIZE = 100
const DCCP_DATAGRAMS = 3
const DCCP_SIZE = 200

/** A span as the example prints it. */
export interface SpanRecord {
  readonly name: string
  readonly kind: Tracer.SpanKind
  readonly parent: string | undefined
  readonly attributes: Readonly<Record<string, unknown>>
  readonly millis: number | undefined
}

/** A tracer that keeps every span it makes (Effect's native spans, collected). */
const collectingTracer = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  const records = (): Array<SpanRecord> =>
    spans.map((s) => ({
      name: s.name,
      kind: s.kind,
      parent: Option.match(s.parent, { onNone: () => undefined, onSome: (p) => (p._tag === "Span" ? p.name : "external") }),
      attributes: Object.fromEntries(s.attributes),
      millis: s.status._tag === "Ended" ? Number(s.status.endTime - s.status.startTime) / 1e6 : undefined
    }))
  return { tracer, records }
}

/** The value of one series of the snapshot (0 when it is not there). */
export const valueOf = (
  snapshot: ReadonlyArray<Metric.Metric.Snapshot>,
  id: string,
  attributes: Readonly<Record<string, string>>
): number => {
  const s = snapshot.find((m) =>
    m.id === id && Object.entries(attributes).every(([k, v]) => m.attributes?.[k] === v)
  )
  if (s === undefined) return 0
  return s.type === "Counter" ? Number(s.state.count) : s.type === "Gauge" ? Number(s.state.value) : Number.NaN
}

const payload = (size: number, seed: number) => new Uint8Array(size).map((_, i) => (seed + i) & 0xff)

/** 3 round trips of "hello" through an echo server. */
const tcpEcho = Effect.gen(function*() {
  const server = yield* Tcp.listen("127.0.0.1:0")
  yield* Effect.forkScoped(server.run((socket) =>
    Effect.scoped(Effect.gen(function*() {
      const reader = yield* socket.reader
      const writer = yield* socket.writer
      while (true) yield* writer.writeAll(yield* reader.pull)
    })).pipe(Effect.ignore)
  ))
  const { port } = server.address as NetAddress.InetAddress
  const socket = yield* Tcp.connect(`127.0.0.1:${port}`)
  yield* Effect.scoped(Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    for (let i = 0; i < TCP_ROUNDS; i++) {
      yield* writer.write(TCP_MESSAGE)
      let got = 0
      while (got < TCP_MESSAGE.length) for (const chunk of yield* reader.pull) got += chunk.length
    }
  }))
})

/** 4 datagrams of 100 bytes from a to b, and 4 back. */
const udpExchange = Effect.scoped(Effect.gen(function*() {
  const a = yield* Udp.make({ bind: "127.0.0.1:0" })
  const b = yield* Udp.make({ bind: "127.0.0.1:0" })
  const readerA = yield* a.reader
  const readerB = yield* b.reader
  const writerA = yield* a.writer
  const writerB = yield* b.writer
  for (let i = 0; i < UDP_DATAGRAMS; i++) yield* writerA.write({ payload: payload(UDP_SIZE, i), address: readerB.address })
  let got = 0
  while (got < UDP_DATAGRAMS) {
    for (const d of yield* readerB.pull) {
      got++
      yield* writerB.write({ payload: d.payload, address: d.address })
    }
  }
  got = 0
  while (got < UDP_DATAGRAMS) got += (yield* readerA.pull).length
}))

/** A DCCP connection: 3 datagrams echoed, a snapshot taken while it is open, then a graceful close. */
const dccpConnection = Effect.gen(function*() {
  const listener = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: ["ECHO"] })
  yield* Effect.forkScoped(listener.run((socket) => Effect.forever(Effect.flatMap(socket.recv, socket.send))))
  return yield* Effect.scoped(Effect.gen(function*() {
    const socket = yield* Dccp.connect({ address: `127.0.0.1:${listener.port}`, serviceCode: "ECHO" })
    for (let i = 0; i < DCCP_DATAGRAMS; i++) {
      yield* socket.send(payload(DCCP_SIZE, i))
      yield* socket.recv
    }
    const whileOpen = yield* Metric.snapshot
    yield* socket.close
    return whileOpen
  }))
})

/** Waits until the server side has seen the TCP and DCCP connections end (their handlers run on). */
const settled = Effect.gen(function*() {
  const open = yield* Metric.value(Metric.withAttributes(Metrics.connectionsOpen, { transport: "tcp", side: "accept" }))
  const dccp = yield* Metric.value(Metric.withAttributes(Metrics.connectionsOpen, { transport: "dccp", side: "accept" }))
  if (open.value + dccp.value > 0) return yield* Effect.fail("still open")
}).pipe(Effect.retry(Schedule.spaced("5 millis")), Effect.timeout("5 seconds"))

/**
 * Runs the three exchanges in a registry of their own with a collecting tracer; returns the
 * snapshot taken while the DCCP connection was open, the one taken at the end, the Prometheus
 * text and the spans.
 */
export const observe = Effect.gen(function*() {
  const { tracer, records } = collectingTracer()
  const registry: Metric.MetricRegistry = new Map()
  return yield* Effect.scoped(Effect.gen(function*() {
    yield* tcpEcho
    yield* udpExchange
    const whileOpen = yield* dccpConnection
    yield* settled
    const atEnd = yield* Metric.snapshot
    const prometheus = yield* PrometheusMetrics.format()
    return { whileOpen, atEnd, prometheus, spans: records() }
  })).pipe(
    Effect.provide(Reactor.layer),
    Effect.provideService(Metric.MetricRegistry, registry),
    Effect.provideService(Tracer.Tracer, tracer)
  )
})

const printSpans = (spans: ReadonlyArray<SpanRecord>) =>
  Console.log(
    spans.map((s) => {
      const attributes = Object.entries(s.attributes).map(([k, v]) => `${k}=${String(v)}`).join(" ")
      const parent = s.parent === undefined ? "" : ` (in ${s.parent})`
      return `  ${s.name} [${s.kind}] ${s.millis === undefined ? "open" : `${s.millis.toFixed(2)} ms`}${parent}  ${attributes}`
    }).join("\n")
  )

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  Effect.runPromise(Effect.gen(function*() {
    const { atEnd, prometheus, spans, whileOpen } = yield* observe
    const rtt = valueOf(whileOpen, "effect_mio_dccp_rtt_seconds", { side: "connect" })
    const cwnd = valueOf(whileOpen, "effect_mio_dccp_cwnd_packets", { side: "connect" })
    yield* Console.log(`While the DCCP connection was open: RTT ${(rtt * 1e6).toFixed(0)} µs, cwnd ${cwnd} packets.\n`)
    yield* Console.log(`Metrics at the end (${atEnd.length} series), Prometheus text format:\n`)
    yield* Console.log(prometheus)
    yield* Console.log(`Spans (${spans.length}):`)
    yield* printSpans(spans)
  })).catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
}
