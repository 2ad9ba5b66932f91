/**
 * The model of the benchmark: a `Case` is one table (one metric, one unit) with
 * variants; each variant runs ≥ 5 times, each time as a fresh set of processes,
 * and is compared with the case's reference variant measured in the same run.
 */

/** One measurement of a variant: the headline value and any other figures. */
export interface Sample {
  readonly value: number
  readonly extra?: Readonly<Record<string, number>> | undefined
}

export interface RunContext {
  /** 0-based index of this run. */
  readonly run: number
  readonly quick: boolean
}

/**
 * Milliseconds a latency loop warms up before it measures, besides its warm-up
 * rounds: long enough for V8 to tier up a Node peer's hot code. Measured here,
 * a warm-up of a few thousand round trips (~10 ms) left V8's compilation stalls
 * (up to ~5 ms each, on the pinned CPU) in the measured window — 20 % of its
 * total time for a busy-polling peer — while after ~1 s the slowest round trip
 * of 10,000 is tens of µs.
 */
export const warmupMs = (ctx: RunContext): number => ctx.quick ? 100 : 1000

/** The distribution fields a latency driver prints besides its mean. */
export const LATENCY_EXTRAS: ReadonlyArray<string> = ["p50_us", "p99_us", "p999_us", "tail_share"]

export interface Variant {
  readonly name: string
  /** "same-core", "cross-core", "one process", …; shown with the name. */
  readonly placement?: string | undefined
  /** The reference the other variants of the case are compared with. */
  readonly ref?: boolean | undefined
  /** Why the variant is not run, if it is not. */
  readonly skip?: string | undefined
  readonly run: (ctx: RunContext) => Promise<Sample>
}

export interface Case {
  /** Unique id, used by targets. */
  readonly id: string
  /** The `--only` group. */
  readonly group: string
  readonly title: string
  readonly unit: string
  readonly better: "lower" | "higher"
  /** Also print the difference to the reference (latency cases). */
  readonly delta?: boolean | undefined
  /** How the case is measured, for the report. */
  readonly method: string
  readonly variants: ReadonlyArray<Variant>
  /** Some variants run peers built from the base commit (`--base`, an A/B run). */
  readonly needsBase?: boolean | undefined
}

/** The variant's full label. */
export const label = (v: Pick<Variant, "name" | "placement">): string =>
  v.placement === undefined ? v.name : `${v.name} [${v.placement}]`

/**
 * Memoises one job per run: variants that read different figures from one
 * process (an in-process comparison) share its run.
 */
export const perRun = <A>(job: (ctx: RunContext) => Promise<A>): ((ctx: RunContext) => Promise<A>) => {
  const cache = new Map<number, Promise<A>>()
  return (ctx) => {
    let p = cache.get(ctx.run)
    if (p === undefined) {
      p = job(ctx)
      cache.set(ctx.run, p)
    }
    return p
  }
}

/** A number from a JSON result line, or an error naming the missing field. */
export const field = (j: Record<string, unknown>, key: string): number => {
  const v = j[key]
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`result has no numeric "${key}": ${JSON.stringify(j)}`)
  return v
}

/** Picks numeric fields of a result line as extras. */
export const extras = (j: Record<string, unknown>, keys: ReadonlyArray<string>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const k of keys) {
    const v = j[k]
    if (typeof v === "number" && Number.isFinite(v)) out[k] = v
  }
  return out
}

export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
