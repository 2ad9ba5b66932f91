/**
 * Helpers shared by the benchmark's Node-side child programs (`bench/peers/*`).
 * A peer reads `--key value` arguments, prints JSON lines on stdout (servers
 * first print `{"ready":true,"port":N}`), and is killed by the runner when the
 * measuring process is done.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import { PrometheusMetrics } from "effect/observability"
import * as Schedule from "effect/Schedule"
import * as Tracer from "effect/Tracer"
import { performance } from "node:perf_hooks"
import type { IoError } from "../../src/IoError.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"

const argv = process.argv.slice(2)

// SIGINT ends a peer through process.exit, so --cpu-prof and similar flags write
// their output (the runner stops peers with SIGTERM, which stays immediate).
process.on("SIGINT", () => process.exit(0))

/** The value after `--key`, or `fallback`. */
export const arg = (key: string, fallback?: string): string => {
  const i = argv.indexOf(`--${key}`)
  const v = i >= 0 ? argv[i + 1] : undefined
  if (v !== undefined) return v
  if (fallback !== undefined) return fallback
  throw new Error(`missing --${key}`)
}

/** A numeric `--key`. */
export const num = (key: string, fallback?: number): number => {
  const v = Number(arg(key, fallback === undefined ? undefined : String(fallback)))
  if (!Number.isFinite(v)) throw new Error(`--${key} is not a number`)
  return v
}

/** Prints one JSON line (stdout is a pipe: the write is synchronous). */
export const emit = (value: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(value) + "\n")
}

let stdinLines: Array<string> | undefined
let stdinWaiters: Array<(line: string | undefined) => void> = []
let stdinEnded = false

const startStdin = (): void => {
  if (stdinLines !== undefined) return
  stdinLines = []
  let buf = ""
  process.stdin.setEncoding("utf8")
  process.stdin.on("data", (chunk: string) => {
    buf += chunk
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      const w = stdinWaiters.shift()
      if (w !== undefined) w(line)
      else stdinLines!.push(line)
    }
  })
  process.stdin.on("end", () => {
    stdinEnded = true
    for (const w of stdinWaiters) w(undefined)
    stdinWaiters = []
  })
}

/** The next line on stdin (`undefined` at end of input). */
export const stdinLine = (): Promise<string | undefined> => {
  startStdin()
  const l = stdinLines!.shift()
  if (l !== undefined) return Promise.resolve(l)
  if (stdinEnded) return Promise.resolve(undefined)
  return new Promise((resolve) => stdinWaiters.push(resolve))
}

/**
 * The `--port` argument; `--port stdin` reads it from the first stdin line (the
 * runner starts a client together with its server and sends the port once the
 * server is ready, so the two start-ups overlap).
 */
export const port = async (): Promise<number> => {
  const p = arg("port")
  if (p !== "stdin") return Number(p)
  const line = await stdinLine()
  if (line === undefined) throw new Error("stdin closed before the port arrived")
  return Number(line.trim())
}

/** Calls `f` once a line arrives on stdin or stdin ends. */
export const onStop = (f: () => void): void => {
  void stdinLine().then(f)
}

/** Milliseconds, sub-microsecond resolution. */
export const now = (): number => performance.now()

/**
 * The warm-up of a timed loop: the first `rounds` iterations and every one
 * that starts within `ms` milliseconds of the first are not measured, so that
 * JIT-compiled code is measured after its tier-up, not during it.
 */
export class Warmup {
  readonly #rounds: number
  readonly #until: number
  constructor(rounds: number, ms: number) {
    this.#rounds = rounds
    this.#until = now() + ms
  }
  /** Whether iteration `i`, started at `t` (ms, `now()`), is still warming up. */
  warming(i: number, t: number): boolean {
    return i < this.#rounds || t < this.#until
  }
}

/**
 * The timed ping-pong loop of the latency peers: runs `roundTrip` (send one
 * message, wait for its echo) until `rounds` round trips after the warm-up are
 * measured, then emits their summary.
 */
export const measureRoundTrips = function*<E, R>(
  roundTrip: Effect.Effect<void, E, R>,
  options: { readonly rounds: number; readonly warmup: number; readonly warmupMs: number }
) {
  const samples = new Samples(options.rounds)
  const warm = new Warmup(options.warmup, options.warmupMs)
  for (let i = 0; samples.count < options.rounds; i++) {
    const t0 = now()
    yield* roundTrip
    if (!warm.warming(i, t0)) samples.add(now() - t0)
  }
  emit(samples.summary())
}

/** Round-trip samples in milliseconds, summarised in microseconds. */
export class Samples {
  readonly #ms: Float64Array
  #n = 0
  #sum = 0
  constructor(capacity: number) {
    this.#ms = new Float64Array(Math.max(1, capacity))
  }
  add(ms: number): void {
    if (this.#n < this.#ms.length) this.#ms[this.#n] = ms
    this.#n++
    this.#sum += ms
  }
  get count(): number {
    return this.#n
  }
  /**
   * Mean, p50, p99, p99.9 and max in µs, and the share of the total time spent
   * in samples above 10 × p50 (the slow tail) — the fields of native/common.h.
   */
  summary(): {
    mean_us: number
    p50_us: number
    p99_us: number
    p999_us: number
    max_us: number
    tail_share: number
    count: number
  } {
    const kept = this.#ms.subarray(0, Math.min(this.#n, this.#ms.length)).sort()
    const at = (q: number) => kept.length === 0 ? 0 : kept[Math.floor((kept.length - 1) * q)]! * 1000
    const p50 = kept.length === 0 ? 0 : kept[Math.floor(kept.length / 2)]!
    let all = 0, slow = 0
    for (const ms of kept) {
      all += ms
      if (ms > p50 * 10) slow += ms
    }
    return {
      mean_us: this.#n === 0 ? 0 : (this.#sum / this.#n) * 1000,
      p50_us: p50 * 1000,
      p99_us: at(0.99),
      p999_us: at(0.999),
      max_us: at(1),
      tail_share: all === 0 ? 0 : slow / all,
      count: this.#n
    }
  }
}

/** The reactor layer for a strategy name. */
export const reactorLayer = (strategy: string): Layer.Layer<Reactor.Reactor, IoError> => {
  switch (strategy) {
    case "park":
      return Reactor.layer
    case "spin":
      return Reactor.layerSpin
    case "backoff":
      return Reactor.layerBackoff()
    case "block":
      return Reactor.layerBlock()
    default:
      throw new Error(`unknown strategy ${strategy}`)
  }
}

/** Runs a program to completion and exits: 0 on success, 1 (with the cause on stderr) on failure. */
export const runMain = <E>(program: Effect.Effect<unknown, E>): void => {
  const fiber = Effect.runFork(argv.includes("--observe") ? observed(program) : program)
  fiber.addObserver((exit) => {
    if (Exit.isFailure(exit)) {
      process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
      process.exit(1)
    }
    process.exit(0)
  })
}

/**
 * `--observe` (the A/B cases of bench/cases/obs.ts): the program runs with a
 * tracer installed — so effect-mio makes its per-connection spans — and a fiber
 * that reads every metric (`Metric.snapshot`, then the Prometheus text) every
 * 100 ms, as an exporter scraping far more often than usual would.
 */
const observed = <E>(program: Effect.Effect<unknown, E>): Effect.Effect<unknown, E> => {
  let spans = 0
  const tracer = Tracer.make({
    span(options) {
      spans++
      return new Tracer.NativeSpan(options)
    }
  })
  const scrape = Effect.flatMap(Metric.snapshot, () => PrometheusMetrics.format())
  return Effect.andThen(
    Effect.forkDetach(Effect.repeat(scrape, Schedule.spaced("100 millis"))),
    Effect.onExit(program, () => Effect.sync(() => process.stderr.write(`observed: ${spans} spans\n`)))
  ).pipe(Effect.provideService(Tracer.Tracer, tracer))
}

/** Fails loudly on an error value from the readiness level. */
export const must = <A>(r: A, what: string): Exclude<A, Error> => {
  if (r instanceof Error) throw new Error(`${what}: ${r.message}`)
  return r as Exclude<A, Error>
}

/** Fails loudly on an error value (`undefined` is success). */
export const ok = (e: Error | undefined, what: string): void => {
  if (e !== undefined) throw new Error(`${what}: ${e.message}`)
}

/**
 * On SIGUSR2, collects garbage (when run with --expose-gc) and prints
 * {"phase":"memory","heap_used","external","array_buffers","rss"} in bytes: the
 * runner asks a server for its live JS memory at chosen moments.
 */
export const reportMemoryOnSignal = (): void => {
  process.on("SIGUSR2", () => {
    const gc = (globalThis as { gc?: () => void }).gc
    if (gc !== undefined) gc()
    const m = process.memoryUsage()
    emit({ phase: "memory", heap_used: m.heapUsed, external: m.external, array_buffers: m.arrayBuffers, rss: m.rss })
  })
}
