/**
 * `npm run charts -- bench/results/<run>.json [more.json …] [--out docs/charts] [--only id,id]`
 *
 * Draws one SVG bar chart per benchmark case from the runner's results files:
 * each variant's median as a bar, its range over the runs as a whisker, the
 * reference variant marked, and the ratio to the reference printed at the
 * bar's end. When several files hold the same case, the last one wins (pass
 * files oldest first). The charts are plain SVG (no dependency, no script):
 * docs/benchmarks.md embeds them, and they render on the registry's page and
 * on GitHub alike.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
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
  readonly variants: ReadonlyArray<Variant>
}

interface RunFile {
  readonly started: string
  readonly machine?: { readonly cpus?: number; readonly model?: string; readonly kernel?: string; readonly node?: string }
  readonly results: ReadonlyArray<CaseResult>
}

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const format = (n: number): string =>
  n >= 100_000 ? `${Math.round(n / 1000).toLocaleString("en-US")}k` : n >= 100 ? Math.round(n).toLocaleString("en-US") : n >= 10 ? n.toFixed(1) : n.toFixed(2)

/** One chart: a row per variant, bars scaled to the largest maximum. */
export const chart = (c: CaseResult, started: string): string => {
  const variants = c.variants.filter((v) => Number.isFinite(v.median) && (v.samples === undefined || v.samples.length > 0))
  const longest = Math.max(...variants.map((v) => v.label.length + (v.ref ? 2 : 0)))
  const labelWidth = Math.min(560, Math.max(200, Math.ceil(longest * 6.6) + 16))
  const barWidth = 340, valueWidth = 210, row = 24, top = 46, left = 10
  const width = left + labelWidth + barWidth + valueWidth
  const height = top + variants.length * row + 30
  // One far-off variant must not flatten the rest: scale to 1.25× the second-largest
  // median (or the largest whisker below it); longer bars are clipped and marked.
  const medians = variants.map((v) => v.median).sort((a, b) => b - a)
  const second = medians.length > 1 ? medians[1]! : medians[0]!
  const clipAt = medians[0]! > 3 * second ? second * 1.25 : Infinity
  const scaleMax = Math.min(clipAt, Math.max(...variants.map((v) => Math.max(v.max, v.median)))) || 1
  const x = (value: number) => left + labelWidth + (Math.min(value, scaleMax) / scaleMax) * barWidth
  const lines: Array<string> = []
  lines.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`)
  lines.push(`<rect width="100%" height="100%" fill="#ffffff"/>`)
  lines.push(`<text x="${left}" y="18" font-size="14" font-weight="600" fill="#111">${escape(c.title)}</text>`)
  lines.push(`<text x="${left}" y="34" fill="#555">${escape(`${c.better} is better · bar: median, whisker: min–max over the runs · ratio to the reference (★) · run ${started}`)}</text>`)
  variants.forEach((v, i) => {
    const y = top + i * row
    const ours = /\bours\b|effect-mio|RUDP|typed/i.test(v.label)
    const fill = v.ref ? "#9aa5b1" : ours ? "#2f6fdf" : "#c9a227"
    lines.push(`<text x="${left + labelWidth - 8}" y="${y + 15}" text-anchor="end" fill="#222">${escape((v.ref ? "★ " : "") + v.label)}</text>`)
    lines.push(`<rect x="${left + labelWidth}" y="${y + 4}" width="${Math.max(1, x(v.median) - left - labelWidth).toFixed(1)}" height="${row - 9}" fill="${fill}"/>`)
    if (v.median > scaleMax) {
      // clipped: a white break across the bar's end
      const end = left + labelWidth + barWidth
      lines.push(`<path d="M${end - 14} ${y + 2} l6 ${row - 5} M${end - 8} ${y + 2} l6 ${row - 5}" stroke="#ffffff" stroke-width="3"/>`)
    } else if (v.max > v.min) {
      lines.push(`<line x1="${x(v.min).toFixed(1)}" x2="${x(v.max).toFixed(1)}" y1="${y + 11.5}" y2="${y + 11.5}" stroke="#111" stroke-width="1.2"/>`)
      for (const end of [v.min, v.max]) lines.push(`<line x1="${x(end).toFixed(1)}" x2="${x(end).toFixed(1)}" y1="${y + 7}" y2="${y + 16}" stroke="#111" stroke-width="1.2"/>`)
    }
    const ratio = v.ratio === undefined || v.ref ? undefined : `${v.ratio.toFixed(2)}×`
    const delta = c.delta === true && v.delta !== undefined && !v.ref ? `${v.delta >= 0 ? "+" : ""}${format(v.delta)} ${c.unit}` : undefined
    const relation = v.ref ? "ref" : [ratio, delta].filter((r) => r !== undefined).join(", ")
    lines.push(`<text x="${left + labelWidth + barWidth + 8}" y="${y + 15}" fill="#222">${escape(`${format(v.median)} ${c.unit}${relation === "" ? "" : `  (${relation})`}`)}</text>`)
  })
  lines.push(`<text x="${left}" y="${height - 10}" fill="#777">${escape(`blue: effect-mio · gold: peers · grey: reference · case ${c.id}`)}</text>`)
  lines.push(`</svg>`)
  return lines.join("\n") + "\n"
}

const main = () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: "string", default: "docs/charts" }, only: { type: "string" } }
  })
  if (positionals.length === 0) throw new Error("usage: npm run charts -- bench/results/<run>.json [more.json …] [--out dir] [--only id,id]")
  const only = values.only === undefined ? undefined : new Set(values.only.split(","))
  const latest = new Map<string, { readonly result: CaseResult; readonly started: string }>()
  for (const file of positionals) {
    const run = JSON.parse(readFileSync(file, "utf8")) as RunFile
    for (const result of run.results) {
      if (only !== undefined && !only.has(result.id)) continue
      latest.set(result.id, { result, started: run.started.slice(0, 10) })
    }
  }
  mkdirSync(values.out, { recursive: true })
  for (const [id, { result, started }] of latest) {
    const file = join(values.out, `${id}.svg`)
    writeFileSync(file, chart(result, started))
    console.log(file)
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main()
