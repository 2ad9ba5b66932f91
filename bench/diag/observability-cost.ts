/**
 * What the ways of observing cost, one operation at a time, in one process
 * (docs/observability.md, "What it costs"):
 *
 *   npx tsx bench/diag/observability-cost.ts [--n 200000] [--repeat 5]
 *
 * - per event: a plain counter increment (what effect-mio does on its data
 *   paths), `Metric.updateUnsafe` and `yield* Metric.update` (what updating an
 *   Effect metric per packet would cost: a registry lookup each time);
 * - per resource: joining and leaving a group (`Tally.add`/`end`);
 * - per snapshot: `Metric.snapshot` and `PrometheusMetrics.format` with 1,000
 *   live TCP connections in the group feeding the series;
 * - per lifecycle event: `Effect.withSpan` and `Effect.fn` with Effect's native
 *   tracer, and effect-mio's span helper with the native tracer (no span) and
 *   with a tracer installed.
 *
 * Each figure is the median over `--repeat` loops of `--n` operations, after a
 * warm-up loop, timed by the process's CPU time (user + system), minus nothing
 * (the loop's own cost is shown in its row).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import { PrometheusMetrics } from "effect/observability"
import * as Tracer from "effect/Tracer"
import * as observe from "../../src/internal/observe.ts"
import { Traffic } from "../../src/net/internal/Traffic.ts"
import * as metrics from "../../src/socket/internal/metrics.ts"

const argv = process.argv.slice(2)
const opt = (k: string, d: number) => {
  const i = argv.indexOf(`--${k}`)
  return i >= 0 ? Number(argv[i + 1]) : d
}
const N = opt("n", 200_000)
const REPEAT = opt("repeat", 5)

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
/** Milliseconds of this process's CPU time (user + system): other processes' load does not inflate it. */
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** ns per operation of a synchronous loop body. */
const sync = (name: string, n: number, body: (i: number) => void) => {
  for (let i = 0; i < n; i++) body(i)
  const times: Array<number> = []
  for (let r = 0; r < REPEAT; r++) {
    const t = cpuMs()
    for (let i = 0; i < n; i++) body(i)
    times.push(((cpuMs() - t) * 1e6) / n)
  }
  console.log(`${name.padEnd(70)} ${median(times).toFixed(1).padStart(9)} ns`)
}

/** ns per operation of an Effect run `n` times in one fiber. */
const effect = async (name: string, n: number, op: Effect.Effect<unknown>, provide: <A>(e: Effect.Effect<A>) => Effect.Effect<A> = (e) => e) => {
  const loop = provide(Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* op
  }))
  await Effect.runPromise(loop)
  const times: Array<number> = []
  for (let r = 0; r < REPEAT; r++) {
    const t = cpuMs()
    await Effect.runPromise(loop)
    times.push(((cpuMs() - t) * 1e6) / n)
  }
  console.log(`${name.padEnd(70)} ${median(times).toFixed(1).padStart(9)} ns`)
}

const traffic = new Traffic()
const registry: Metric.MetricRegistry = new Map()
const context = Context.make(Metric.MetricRegistry, registry)
const counter = Metric.withAttributes(Metric.counter("bench_bytes_total", { incremental: true }), { transport: "tcp", direction: "recv" })
const withRegistry = <A>(e: Effect.Effect<A>) => Effect.provideService(e, Metric.MetricRegistry, registry)

console.log(`node ${process.version}; ${N} operations per loop, median of ${REPEAT} loops, by CPU time\n`)
console.log("per event")
sync("plain counter: traffic.bytesReceived += 64", N, () => {
  traffic.bytesReceived += 64
})
sync("Metric.updateUnsafe(counter, 64, context)", N, () => counter.updateUnsafe(64, context))
await effect("Effect.void (the loop's own cost)", N, Effect.void)
await effect("yield* Metric.update(counter, 64)", N, Metric.update(counter, 64), withRegistry)

console.log("\nper resource")
const group = metrics.streamGroup(context, "tcp")
const sockets = Array.from({ length: 1000 }, () => ({ traffic: new Traffic() }))
sync("join and leave the tcp group (Tally.add + Tally.end)", N, (i) => {
  const s = sockets[i % 1000]!
  group.accept.add(s)
  group.accept.end(s)
})

console.log("\nper snapshot")
for (const s of sockets) group.accept.add(s)
sync(`Metric.snapshotUnsafe, 7 tcp series over ${sockets.length} live connections`, 2000, () => void Metric.snapshotUnsafe(context))
await effect(`PrometheusMetrics.format(), the same`, 200, PrometheusMetrics.format(), withRegistry)
for (const s of sockets) group.accept.end(s)

console.log("\nper lifecycle event")
const keeping = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })
const withTracer = <A>(e: Effect.Effect<A>) => Effect.provideService(e, Tracer.Tracer, keeping)
const fnTraced = Effect.fn("bench.fn")(function*() {})
const M = Math.max(1, Math.floor(N / 10))
await effect("Effect.withSpan, native tracer", M, Effect.withSpan(Effect.void, "bench.span", { attributes: { a: 1 } }))
await effect("Effect.fn, native tracer", M, Effect.suspend(() => fnTraced()))
await effect("effect-mio span helper, native tracer (no span made)", M, observe.span("bench.span", "server", () => ({ a: 1 }))(Effect.void))
await effect("effect-mio span helper, a tracer installed", M, observe.span("bench.span", "server", () => ({ a: 1 }))(Effect.void), withTracer)
