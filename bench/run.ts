/**
 * The benchmark runner: `npm run bench [-- --only <group>[,<group>] --runs N --quick --list]`.
 *
 * Builds the C references (`native/build.sh`), then runs every selected case:
 * each variant ≥ 5 times (a fresh set of processes each time, variants
 * interleaved run by run, starting at a rotating variant), and prints per
 * variant the median, min and max, the ratio to the case's reference measured
 * in the same run, and the placement. At the end it prints the markdown tables
 * and the issues' targets (met / not met), and writes bench/results/<date>.json.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { cases as accept } from "./cases/accept.ts"
import { cases as bulk } from "./cases/bulk.ts"
import { cases as dccp } from "./cases/dccp.ts"
import { cases as many } from "./cases/many.ts"
import { cases as msg } from "./cases/msg.ts"
import { cases as obs } from "./cases/obs.ts"
import { cases as poll } from "./cases/poll.ts"
import { cases as rudp } from "./cases/rudp.ts"
import { cases as rudploss } from "./cases/rudploss.ts"
import { cases as tcp } from "./cases/tcp.ts"
import { cases as tls } from "./cases/tls.ts"
import { cases as udp } from "./cases/udp.ts"
import { cases as udpcost } from "./cases/udpcost.ts"
import { cases as wake } from "./cases/wake.ts"
import { type Case, label, sleep } from "./lib/bench.ts"
import { bundleBase, bundlePeers, killAll, ROOT } from "./lib/proc.ts"
import { type CaseResult, caseTable, emptyResult, fmt, summarise } from "./lib/report.ts"
import { evaluateTargets, type TargetResult } from "./targets.ts"

const ALL: ReadonlyArray<Case> = [...poll, ...wake, ...tcp, ...bulk, ...udp, ...udpcost, ...accept, ...many, ...dccp, ...msg, ...rudp, ...rudploss, ...tls, ...obs]
const GROUPS = [...new Set(ALL.map((c) => c.group))]

const argv = process.argv.slice(2)
const flag = (k: string) => argv.includes(`--${k}`)
const opt = (k: string): string | undefined => {
  const i = argv.indexOf(`--${k}`)
  return i >= 0 ? argv[i + 1] : undefined
}

if (flag("help") || flag("h")) {
  console.log(`usage: npm run bench [-- --only <group|case>[,…]] [--runs N] [--quick] [--list] [--base <ref>] [--markdown <results.json>]
groups: ${GROUPS.join(", ")}
  --runs N       runs per variant (default 5; --quick: 3)
  --base REF     the base commit of A/B cases (group obs; default: git merge-base HEAD main)
  --quick        short workloads and 3 runs: a smoke run, not a measurement
  --list         list the cases and variants
  --variants RE  run only the variants whose label matches the regular expression RE (and each case's reference)
  --markdown F   print the tables and targets of a results file (no run)`)
  process.exit(0)
}

const markdownOf = opt("markdown")
if (markdownOf !== undefined) {
  const saved = JSON.parse(readFileSync(markdownOf, "utf8")) as {
    started: string
    seconds: number
    runs: number
    machine: Record<string, unknown>
    results: Array<CaseResult>
    targets: Array<TargetResult>
  }
  // Recompute the summaries (and targets) from the samples; files written before
  // samples carried their run index hold them in run order, one per run.
  for (const r of saved.results) {
    for (const v of r.variants) {
      v.samples.forEach((s, i) => {
        if (typeof (s as { run?: number }).run !== "number") (s as { run: number }).run = i
      })
    }
    summarise(r)
  }
  console.log(`Run of ${saved.started}: ${saved.runs} runs per variant, ${saved.seconds} s.\n`)
  console.log("```\n" + JSON.stringify(saved.machine, null, 2) + "\n```\n")
  for (const r of saved.results) console.log(`${caseTable(r)}\n`)
  console.log("| issue | target | figure | status |\n|---|---|---|---|")
  for (const t of evaluateTargets(saved.results)) console.log(`| ${t.issue} | ${t.text} | ${t.figure} | ${t.status} |`)
  process.exit(0)
}

const quick = flag("quick")
const runs = Number(opt("runs") ?? (quick ? 3 : 5))
const only = opt("only")?.split(",").map((s) => s.trim()).filter((s) => s !== "")
for (const g of only ?? []) {
  if (!GROUPS.includes(g) && !ALL.some((c) => c.id === g)) {
    console.error(`unknown group or case "${g}"; groups: ${GROUPS.join(", ")}`)
    process.exit(2)
  }
}
const variantsRe = opt("variants")
const variantFilter = variantsRe === undefined ? undefined : new RegExp(variantsRe)
const selected = ALL.filter((c) => only === undefined || only.includes(c.group) || only.includes(c.id)).map((c) =>
  variantFilter === undefined ? c : { ...c, variants: c.variants.filter((v) => v.ref === true || variantFilter.test(label(v))) }
)

if (flag("list")) {
  for (const c of selected) {
    console.log(`${c.group} / ${c.id}: ${c.title}`)
    for (const v of c.variants) console.log(`    ${v.ref ? "(ref) " : ""}${label(v)}${v.skip ? `  [skipped: ${v.skip}]` : ""}`)
  }
  process.exit(0)
}
if (!Number.isInteger(runs) || runs < 1) {
  console.error("--runs is a positive integer")
  process.exit(2)
}
if (runs < 5 && !quick) console.warn(`note: ${runs} runs per variant; the reported figures need ≥ 5`)

// --- build the C references ----------------------------------------------------
const build = spawnSync("bash", [path.join(ROOT, "native", "build.sh")], { stdio: ["ignore", "inherit", "inherit"] })
if (build.status !== 0) {
  console.error("native/build.sh failed: the C reference programs are needed")
  process.exit(1)
}

const bundleNote = await bundlePeers()
console.error(bundleNote)

// --- the base commit of A/B cases ----------------------------------------------------
const baseRef = selected.some((c) => c.needsBase === true)
  ? opt("base") ?? execFileSync("git", ["-C", ROOT, "merge-base", "HEAD", "main"], { encoding: "utf8" }).trim()
  : undefined
const baseCommit = baseRef === undefined ? undefined : execFileSync("git", ["-C", ROOT, "rev-parse", "--short", baseRef], { encoding: "utf8" }).trim()
if (baseRef !== undefined) console.error(await bundleBase(baseRef))

// --- the machine -------------------------------------------------------------------
const read = (p: string): string => {
  try {
    return readFileSync(p, "utf8").trim()
  } catch {
    return "?"
  }
}
const cmd = (c: string, a: ReadonlyArray<string>): string => {
  try {
    return execFileSync(c, [...a], { encoding: "utf8" }).split("\n")[0]!.trim()
  } catch {
    return "?"
  }
}
const pkgVersion = (name: string): string => {
  try {
    return (JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version
  } catch {
    return "absent"
  }
}
const machine = {
  cpu: /model name\s*:\s*(.*)/.exec(read("/proc/cpuinfo"))?.[1] ?? "?",
  cpus: os.cpus().length,
  kernel: os.release(),
  os: /PRETTY_NAME="?([^"\n]*)/.exec(read("/etc/os-release"))?.[1] ?? "?",
  memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  node: process.version,
  cc: cmd("cc", ["--version"]),
  koffi: pkgVersion("koffi"),
  effect: pkgVersion("effect"),
  platform_node: pkgVersion("@effect/platform-node"),
  sysctl: {
    rmem_max: read("/proc/sys/net/core/rmem_max"),
    wmem_max: read("/proc/sys/net/core/wmem_max"),
    somaxconn: read("/proc/sys/net/core/somaxconn"),
    tcp_tw_reuse: read("/proc/sys/net/ipv4/tcp_tw_reuse"),
    ip_local_port_range: read("/proc/sys/net/ipv4/ip_local_port_range").replace(/\s+/g, "-")
  },
  nofile: cmd("bash", ["-c", "ulimit -n"])
}
const loadavg = () => os.loadavg().map((x) => Math.round(x * 100) / 100)
const started = new Date()
console.log(`effect-mio bench — ${started.toISOString()}`)
console.log(`${machine.cpu} ×${machine.cpus}, ${machine.os}, kernel ${machine.kernel}, Node ${machine.node}, ${machine.cc}`)
console.log(`koffi ${machine.koffi}, effect ${machine.effect}, @effect/platform-node ${machine.platform_node}; load ${loadavg().join(" ")}`)
console.log(`${runs} runs per variant${quick ? " (quick: short workloads)" : ""}; cases: ${selected.map((c) => c.id).join(", ")}`)
console.log(baseCommit === undefined ? "" : `A/B base: ${baseRef} (${baseCommit}) against the working tree\n`)

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killAll()
    process.exit(130)
  })
}

// --- run -----------------------------------------------------------------------------
const withTimeout = <A>(p: Promise<A>, ms: number, what: string): Promise<A> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms)
    p.then(
      (a) => {
        clearTimeout(t)
        resolve(a)
      },
      (e) => {
        clearTimeout(t)
        reject(e)
      }
    )
  })

/**
 * CPU time (clock ticks) of the whole machine in user + nice + system, and of
 * this runner plus its reaped children: the difference is what other processes
 * used (interrupt time is left out of both).
 */
const cpuTicks = (): { all: number; ours: number } => {
  const stat = read("/proc/stat").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
  const self = read("/proc/self/stat")
  const fields = self.slice(self.lastIndexOf(")") + 2).split(" ").map(Number)
  // Fields 14–17 of /proc/self/stat (utime stime cutime cstime) sit at 11–14 after the name.
  return { all: stat[0]! + stat[1]! + stat[2]!, ours: fields[11]! + fields[12]! + fields[13]! + fields[14]! }
}
const TICKS = 100

const results: Array<CaseResult> = []
const t0 = Date.now()
const runCpu0 = cpuTicks()
const loadStart = loadavg()
for (const c of selected) {
  const load = loadavg()
  const r = emptyResult(c, load)
  results.push(r)
  console.log(`## ${c.title}  [${c.id}; load ${load.join(" ")}]`)
  const active = c.variants.map((v, i) => ({ v, i })).filter(({ v }) => v.skip === undefined)
  for (const { v } of c.variants.map((v) => ({ v })).filter(({ v }) => v.skip !== undefined)) {
    console.log(`   skipped: ${label(v)} — ${v.skip}`)
  }
  const caseStart = Date.now()
  const cpu0 = cpuTicks()
  for (let run = 0; run < runs; run++) {
    for (let k = 0; k < active.length; k++) {
      const { v, i } = active[(k + run) % active.length]!
      const vr = r.variants[i]!
      const start = Date.now()
      try {
        const sample = await withTimeout(v.run({ run, quick }), 180_000, label(v))
        vr.samples.push({ ...sample, run })
        const other = Object.entries(sample.extra ?? {}).map(([key, x]) => `${key}=${fmt(x)}`).join(" ")
        console.log(`   run ${run + 1}/${runs}  ${label(v)}: ${fmt(sample.value)} ${c.unit}  ${other}  (${((Date.now() - start) / 1000).toFixed(1)} s)`)
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e)
        vr.failures.push(msg)
        console.log(`   run ${run + 1}/${runs}  ${label(v)}: FAILED — ${msg}`)
      }
      await sleep(50)
    }
  }
  ;(r as { seconds: number }).seconds = Math.round((Date.now() - caseStart) / 100) / 10
  const cpu1 = cpuTicks()
  r.otherCpuPct = Math.max(0, ((cpu1.all - cpu0.all) - (cpu1.ours - cpu0.ours)) / TICKS / ((Date.now() - caseStart) / 1000) / os.cpus().length * 100)
  summarise(r)
  console.log(`\n${caseTable(r)}\n`)
}
const totalSeconds = Math.round((Date.now() - t0) / 1000)
const runCpu1 = cpuTicks()
const otherCpuPct = Math.round(
  Math.max(0, ((runCpu1.all - runCpu0.all) - (runCpu1.ours - runCpu0.ours)) / TICKS / ((Date.now() - t0) / 1000) / os.cpus().length * 100) * 10
) / 10

// --- report ----------------------------------------------------------------------------
const targets: Array<TargetResult> = evaluateTargets(results)
console.log(
  `# Results (${runs} runs per variant, ${totalSeconds} s; load ${loadStart.join(" ")} at the start, ${loadavg().join(" ")} at the end; ` +
    `other processes used ${otherCpuPct}% of the CPUs during the run)\n`
)
for (const r of results) console.log(`${caseTable(r)}\n`)
const shown = only === undefined ? targets : targets.filter((t) => t.status !== "not run")
if (shown.length > 0) {
  console.log("# Targets\n\n| issue | target | figure | status |\n|---|---|---|---|")
  for (const t of shown) console.log(`| ${t.issue} | ${t.text} | ${t.figure} | ${t.status} |`)
  console.log("")
}

const stamp = started.toISOString().replace(/[:]/g, "-").replace(/\..*/, "")
const outDir = path.join(ROOT, "bench", "results")
mkdirSync(outDir, { recursive: true })
const outFile = path.join(outDir, `${stamp}${quick ? "-quick" : only !== undefined || variantFilter !== undefined ? "-partial" : ""}.json`)
writeFileSync(
  outFile,
  JSON.stringify(
    { started: started.toISOString(), seconds: totalSeconds, runs, quick, argv, base: baseCommit, machine, loadStart, loadEnd: loadavg(), otherCpuPct, results, targets },
    null,
    2
  ) + "\n"
)
console.log(`results written to ${path.relative(ROOT, outFile)}`)
const failed = results.some((r) => r.variants.some((v) => v.skip === undefined && v.samples.length === 0))
process.exit(failed ? 1 : 0)
