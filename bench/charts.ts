/**
 * `npm run charts -- bench/results/<run>.json [more.json …] [--out docs/charts] [--only id,id] [--log id,id]`
 *
 * Draws one SVG bar chart per benchmark case from the runner's results files:
 * each variant's median as a bar, its range over the runs as a whisker, the
 * reference variant marked, and the ratio to the reference (and, for cases
 * that report differences, the difference) printed at the bar's end; the
 * subtitle names the results file, the run's start and the share of the CPUs
 * other processes used during the case. When several files hold the same
 * case, the last one wins (pass files oldest first). Bars are linear; one
 * far-off variant among three or more (not the reference) is clipped and
 * marked; values spread over more than 20× (or the cases named by `--log`)
 * get a log scale with its decades drawn. The charts are plain SVG (no
 * dependency, no script): docs/benchmarks.md embeds them, and they render on
 * the registry's page and on GitHub alike.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { parseArgs } from "node:util"

interface Variant {
  readonly label: string
  readonly ref: boolean
  readonly median: number
  readonly min: number
  readonly max: number
  readonly ratio?: number
  readonly delta?: number
  readonly failures?: ReadonlyArray<unknown>
  readonly samples?: ReadonlyArray<unknown>
}

interface CaseResult {
  readonly id: string
  readonly title: string
  readonly unit: string
  readonly better: "lower" | "higher"
  readonly delta?: boolean
  readonly otherCpuPct?: number
  readonly variants: ReadonlyArray<Variant>
}

interface RunFile {
  readonly started: string
  readonly machine?: { readonly cpus?: number; readonly model?: string; readonly kernel?: string; readonly node?: string }
  readonly results: ReadonlyArray<CaseResult>
}

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const format = (n: number): string => {
  const a = Math.abs(n), sign = n < 0 ? "-" : ""
  return sign + (a >= 100_000 ? `${Math.round(a / 1000).toLocaleString("en-US")}k` : a >= 100 ? Math.round(a).toLocaleString("en-US") : a >= 10 ? a.toFixed(1) : a.toFixed(2))
}

/** Who a variant is: effect-mio, a peer we compare with (C, Node, Effect), or context only. */
const kind = (v: Variant): "ref" | "ours" | "peer" | "context" =>
  v.ref ? "ref"
    : /^(for scale|context)\b/.test(v.label) ? "context"
    : /\bours\b/.test(v.label) || !/^(C |Node |node:|Effect |bare |koffi |busy: C )/.test(v.label) ? "ours"
    : "peer"

const fills = { ref: "#9aa5b1", ours: "#2f6fdf", peer: "#c9a227", context: "#c3cfe2" } as const

/** Splits text into at most two lines of about `chars` characters, at a space. */
const wrap = (text: string, chars: number): Array<string> => {
  if (text.length <= chars) return [text]
  const cut = text.lastIndexOf(" ", chars)
  return cut <= 0 ? [text] : [text.slice(0, cut), text.slice(cut + 1)]
}

/** How values map to bar lengths: linear, linear with one far-off bar clipped, or logarithmic. */
type Scale = { readonly kind: "linear" | "clipped"; readonly max: number } | { readonly kind: "log"; readonly lo: number; readonly hi: number }

const chooseScale = (variants: ReadonlyArray<Variant>, forceLog: boolean): Scale => {
  const top = Math.max(...variants.map((v) => Math.max(v.max, v.median))) || 1
  const bottom = Math.min(...variants.map((v) => Math.min(v.min, v.median)).filter((x) => x > 0))
  const log = (): Scale => ({ kind: "log", lo: 10 ** Math.floor(Math.log10(bottom)), hi: 10 ** Math.ceil(Math.log10(top)) })
  if (forceLog && Number.isFinite(bottom)) return log()
  // One far-off variant among several (not the reference) must not flatten the rest: scale to
  // 1.25× the second-largest median (or the largest whisker below it); its bar is clipped and marked.
  const sorted = [...variants].sort((a, b) => b.median - a.median)
  const [first, second] = sorted
  if (variants.length >= 3 && first !== undefined && second !== undefined && !first.ref && first.median > 3 * second.median) {
    const max = Math.min(second.median * 1.25, Math.max(...sorted.slice(1).map((v) => Math.max(v.max, v.median))))
    return { kind: "clipped", max: max * 1.08 }
  }
  // Values spread over more than 20×: a log scale keeps the small bars readable.
  if (Number.isFinite(bottom) && top / bottom > 20) return log()
  return { kind: "linear", max: top }
}

/** One chart: a row per variant. */
export const chart = (c: CaseResult, started: string, source: string, options: { readonly log?: boolean } = {}): string => {
  const variants = c.variants.filter((v) => Number.isFinite(v.median) && (v.samples === undefined || v.samples.length > 0))
  const runs = Math.max(...variants.map((v) => v.samples?.length ?? 0))
  const scale = chooseScale(variants, options.log === true)
  const longest = Math.max(...variants.map((v) => v.label.length + (v.ref ? 2 : 0)))
  const labelWidth = Math.min(560, Math.max(200, Math.ceil(longest * 6.6) + 16))
  const barWidth = 340, valueWidth = 210, row = 24, left = 10
  const contentWidth = labelWidth + barWidth + valueWidth
  const title = wrap(c.title, Math.floor(contentWidth / 8.2))
  const load = c.otherCpuPct === undefined ? "" : ` · other processes used ${c.otherCpuPct.toFixed(c.otherCpuPct < 10 ? 1 : 0)} % of the CPUs`
  const subtitle = [
    `${c.better} is better · bar: median of ${runs} runs, whisker: min–max · in brackets: median of the per-run ratios to the reference (★)${c.delta === true ? " and of the differences" : ""}`,
    `run of ${started} (bench/results/${source})${load}${scale.kind === "log" ? " · log scale" : ""}`
  ]
  const width = left + Math.max(contentWidth, Math.ceil(Math.max(...subtitle.map((s) => s.length)) * 6.3))
  const top = 18 * title.length + 16 * subtitle.length + 12
  const axis = scale.kind === "log" ? 16 : 0
  const height = top + variants.length * row + axis + 30
  const x0 = left + labelWidth
  const x = (value: number): number => {
    if (scale.kind === "log") {
      const v = Math.max(value, scale.lo)
      return x0 + (Math.log10(v / scale.lo) / Math.log10(scale.hi / scale.lo)) * barWidth
    }
    return x0 + (Math.min(value, scale.max) / scale.max) * barWidth
  }
  const lines: Array<string> = []
  lines.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`)
  lines.push(`<rect width="100%" height="100%" fill="#ffffff"/>`)
  title.forEach((t, i) => lines.push(`<text x="${left}" y="${18 + 18 * i}" font-size="14" font-weight="600" fill="#111">${escape(t)}</text>`))
  subtitle.forEach((t, i) => lines.push(`<text x="${left}" y="${18 * title.length + 16 + 16 * i}" fill="#555">${escape(t)}</text>`))
  if (scale.kind === "log") {
    const bottom = top + variants.length * row
    for (let decade = Math.round(Math.log10(scale.lo)); decade <= Math.round(Math.log10(scale.hi)); decade++) {
      const tick = 10 ** decade
      const tx = x(tick).toFixed(1)
      const label = tick >= 100_000 ? format(tick) : tick.toLocaleString("en-US", { maximumFractionDigits: 6 })
      lines.push(`<line x1="${tx}" x2="${tx}" y1="${top}" y2="${bottom + 2}" stroke="#e3e6ea" stroke-width="1"/>`)
      lines.push(`<text x="${tx}" y="${bottom + 14}" text-anchor="middle" fill="#777" font-size="11">${escape(label)}</text>`)
    }
  }
  variants.forEach((v, i) => {
    const y = top + i * row
    const clipped = scale.kind === "clipped" && v.median > scale.max
    lines.push(`<text x="${x0 - 8}" y="${y + 15}" text-anchor="end" fill="#222">${escape((v.ref ? "★ " : "") + v.label)}</text>`)
    lines.push(`<rect x="${x0}" y="${y + 4}" width="${Math.max(1, x(v.median) - x0).toFixed(1)}" height="${row - 9}" fill="${fills[kind(v)]}"/>`)
    if (clipped) {
      // clipped: a white break across the bar's end
      const end = x0 + barWidth
      lines.push(`<path d="M${end - 14} ${y + 2} l6 ${row - 5} M${end - 8} ${y + 2} l6 ${row - 5}" stroke="#ffffff" stroke-width="3"/>`)
    } else if (v.max > v.min) {
      lines.push(`<line x1="${x(v.min).toFixed(1)}" x2="${x(v.max).toFixed(1)}" y1="${y + 11.5}" y2="${y + 11.5}" stroke="#111" stroke-width="1.2"/>`)
      for (const end of [v.min, v.max]) lines.push(`<line x1="${x(end).toFixed(1)}" x2="${x(end).toFixed(1)}" y1="${y + 7}" y2="${y + 16}" stroke="#111" stroke-width="1.2"/>`)
    }
    const ratio = v.ratio === undefined || v.ref ? undefined : `${v.ratio.toFixed(2)}×`
    const delta = c.delta === true && v.delta !== undefined && !v.ref ? `${v.delta >= 0 ? "+" : ""}${format(v.delta)} ${c.unit}` : undefined
    const relation = v.ref ? "ref" : [ratio, delta].filter((r) => r !== undefined).join(", ")
    lines.push(`<text x="${x0 + barWidth + 8}" y="${y + 15}" fill="#222">${escape(`${format(v.median)} ${c.unit}${relation === "" ? "" : `  (${relation})`}`)}</text>`)
  })
  lines.push(`<text x="${left}" y="${height - 10}" fill="#777">${escape(`blue: effect-mio · gold: C, Node, Effect · pale: context only · grey ★: the reference · case ${c.id}`)}</text>`)
  lines.push(`</svg>`)
  return lines.join("\n") + "\n"
}

const main = () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: "string", default: "docs/charts" }, only: { type: "string" }, log: { type: "string" } }
  })
  if (positionals.length === 0) throw new Error("usage: npm run charts -- bench/results/<run>.json [more.json …] [--out dir] [--only id,id] [--log id,id]")
  const only = values.only === undefined ? undefined : new Set(values.only.split(","))
  const log = new Set(values.log === undefined ? [] : values.log.split(","))
  const latest = new Map<string, { readonly result: CaseResult; readonly started: string; readonly source: string }>()
  for (const file of positionals) {
    const run = JSON.parse(readFileSync(file, "utf8")) as RunFile
    for (const result of run.results) {
      if (only !== undefined && !only.has(result.id)) continue
      latest.set(result.id, { result, started: run.started.slice(0, 16).replace("T", " ") + " UTC", source: basename(file) })
    }
  }
  mkdirSync(values.out, { recursive: true })
  for (const [id, { result, source, started }] of latest) {
    const file = join(values.out, `${id}.svg`)
    writeFileSync(file, chart(result, started, source, { log: log.has(id) }))
    console.log(file)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main()
