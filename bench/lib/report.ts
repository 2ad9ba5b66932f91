/**
 * Summaries of a case's runs and their markdown rendering.
 */
import { type Case, label, median, type Sample } from "./bench.ts"

/** A sample with the index of the run it belongs to. */
export interface RunSample extends Sample {
  readonly run: number
}

export interface VariantResult {
  readonly name: string
  readonly placement: string | undefined
  readonly label: string
  readonly ref: boolean
  readonly skip: string | undefined
  readonly samples: Array<RunSample>
  readonly failures: Array<string>
  median: number
  min: number
  max: number
  /**
   * Paired ratio: the median over runs of (this run's value / the same run's
   * reference value). Variants are interleaved run by run, so a pair was
   * measured within moments; the pairing cancels drift between runs.
   */
  ratio: number
  /** Lowest and highest per-run ratio. */
  ratioMin: number
  ratioMax: number
  /** Paired difference: the median over runs of (value − reference value). */
  delta: number
  /** median / reference median (unpaired), for comparison. */
  ratioOfMedians: number
  extras: Record<string, number>
}

export interface CaseResult {
  readonly id: string
  readonly group: string
  readonly title: string
  readonly unit: string
  readonly better: "lower" | "higher"
  readonly method: string
  readonly delta: boolean
  readonly load: ReadonlyArray<number>
  readonly seconds: number
  /** CPU time of processes outside this benchmark during the case, % of all CPUs. */
  otherCpuPct: number
  readonly variants: Array<VariantResult>
}

export const emptyResult = (c: Case, load: ReadonlyArray<number>): CaseResult => ({
  id: c.id,
  group: c.group,
  title: c.title,
  unit: c.unit,
  better: c.better,
  method: c.method,
  delta: c.delta === true,
  load,
  seconds: 0,
  otherCpuPct: Number.NaN,
  variants: c.variants.map((v) => ({
    name: v.name,
    placement: v.placement,
    label: label(v),
    ref: v.ref === true,
    skip: v.skip,
    samples: [],
    failures: [],
    median: Number.NaN,
    min: Number.NaN,
    max: Number.NaN,
    ratio: Number.NaN,
    ratioMin: Number.NaN,
    ratioMax: Number.NaN,
    delta: Number.NaN,
    ratioOfMedians: Number.NaN,
    extras: {}
  }))
})

/** Fills medians, ranges, ratios and extras' medians from the samples. */
export const summarise = (r: CaseResult): void => {
  for (const v of r.variants) {
    const xs = v.samples.map((s) => s.value)
    v.median = median(xs)
    v.min = xs.length ? Math.min(...xs) : Number.NaN
    v.max = xs.length ? Math.max(...xs) : Number.NaN
    const keys = new Set(v.samples.flatMap((s) => Object.keys(s.extra ?? {})))
    v.extras = {}
    for (const k of keys) v.extras[k] = median(v.samples.map((s) => s.extra?.[k]).filter((x): x is number => x !== undefined))
  }
  const ref = r.variants.find((v) => v.ref)
  for (const v of r.variants) {
    if (ref === undefined) continue
    const ratios = paired(v, ref, (a, b) => a / b)
    v.ratio = median(ratios)
    v.ratioMin = ratios.length ? Math.min(...ratios) : Number.NaN
    v.ratioMax = ratios.length ? Math.max(...ratios) : Number.NaN
    v.delta = median(paired(v, ref, (a, b) => a - b))
    v.ratioOfMedians = v.median / ref.median
  }
}

/** `f(value, reference value)` for every run both have a sample in (optionally of an extra). */
export const paired = (
  v: Pick<VariantResult, "samples">,
  ref: Pick<VariantResult, "samples">,
  f: (a: number, b: number) => number,
  extra?: string
): Array<number> => {
  const pick = (s: RunSample) => (extra === undefined ? s.value : s.extra?.[extra])
  const out: Array<number> = []
  for (const s of v.samples) {
    const r = ref.samples.find((x) => x.run === s.run)
    const a = pick(s), b = r === undefined ? undefined : pick(r)
    if (a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b)) out.push(f(a, b))
  }
  return out
}

/** A figure with about three significant digits, thousands separated from 10,000 up. */
export const fmt = (x: number): string => {
  if (!Number.isFinite(x)) return "–"
  const a = Math.abs(x)
  if (a >= 10_000) return Math.round(x).toLocaleString("en-US")
  if (a >= 1000) return String(Math.round(x))
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  if (a >= 1) return x.toFixed(2)
  return x.toFixed(3)
}

const fmtExtra = (k: string, x: number): string => `${k}=${fmt(x)}`

/** The rows of one case as a markdown table ("vs ref" and "Δ vs ref" are paired by run). */
export const caseTable = (r: CaseResult): string => {
  const head = r.delta
    ? "| variant | median | min | max | vs ref | Δ vs ref | other medians | runs |\n|---|---:|---:|---:|---:|---:|---|---:|"
    : "| variant | median | min | max | vs ref | other medians | runs |\n|---|---:|---:|---:|---:|---|---:|"
  const rows = r.variants.map((v) => {
    const name = v.ref ? `${v.label} (ref)` : v.label
    if (v.skip !== undefined) return r.delta ? `| ${name} | skipped: ${v.skip} | | | | | | |` : `| ${name} | skipped: ${v.skip} | | | | | |`
    const runs = `${v.samples.length}${v.failures.length ? ` (+${v.failures.length} failed)` : ""}`
    const ratio = Number.isFinite(v.ratio) ? `${v.ratio.toFixed(2)}x` : "–"
    const delta = Number.isFinite(v.delta) ? `${v.delta >= 0 ? "+" : ""}${fmt(v.delta)}` : "–"
    const other = Object.entries(v.extras).map(([k, x]) => fmtExtra(k, x)).join(" ")
    return r.delta
      ? `| ${name} | ${fmt(v.median)} | ${fmt(v.min)} | ${fmt(v.max)} | ${ratio} | ${delta} | ${other} | ${runs} |`
      : `| ${name} | ${fmt(v.median)} | ${fmt(v.min)} | ${fmt(v.max)} | ${ratio} | ${other} | ${runs} |`
  })
  const other = Number.isFinite(r.otherCpuPct) ? `; other processes used ${r.otherCpuPct.toFixed(1)}% of the CPUs` : ""
  return [`**${r.title}** — ${r.better} is better; load ${r.load.map((l) => l.toFixed(2)).join(" ")} at the start${other}`, "", head, ...rows].join("\n")
}
