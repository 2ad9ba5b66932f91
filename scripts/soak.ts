/**
 * `npm run soak [-- --only dccp-flood,tcp-churn,interruption,lossy] [--scale 0.1]`
 *
 * The hostile suite (test/hostile/) at full size: a DCCP listener under 10^5
 * garbage datagrams and 10^5 spoofed Requests, 21,000 abusive TCP connections
 * with 500 slowloris clients, 10^4 interrupted fibers, and every datagram path
 * through 20 % loss / 10 % duplication / 10 % reordering. Prints what each run
 * measured and writes it to soak-results/<time>.json; docs/reliability.md
 * records the last run. Runs as root (the flood spoofs sources with a raw socket).
 */
import * as Effect from "effect/Effect"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, release } from "node:os"
import { parseArgs } from "node:util"
import * as Reactor from "../src/reactor/Reactor.ts"
import { dccpFlood } from "../test/hostile/scenarios/dccpFlood.ts"
import { interruptionStorm } from "../test/hostile/scenarios/interruption.ts"
import { dccpThroughRelay, memoryOnSimNet, udpThroughRelay } from "../test/hostile/scenarios/lossyDatagrams.ts"
import { tcpChurn } from "../test/hostile/scenarios/tcpChurn.ts"

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    scale: { type: "string", default: "1" }
  }
})
const scale = Number(values.scale)
if (!(scale > 0)) throw new Error(`--scale is a positive number, not ${values.scale}`)
const only = values.only === undefined ? undefined : new Set(values.only.split(","))
const n = (full: number) => Math.max(1, Math.round(full * scale))

const runs: ReadonlyArray<readonly [string, () => Effect.Effect<unknown, unknown, Reactor.Reactor>]> = [
  ["dccp-flood", () => dccpFlood({ garbage: n(100_000), requests: n(100_000) })],
  ["tcp-churn", () => tcpChurn({ connections: n(7_000), slowloris: n(500), concurrency: 128 })],
  ["interruption", () => interruptionStorm({ fibers: n(10_000) })],
  ["lossy", () =>
    Effect.all({
      dccp: dccpThroughRelay(n(2_000)),
      udp: udpThroughRelay(n(5_000)),
      memory: memoryOnSimNet(n(50_000))
    })]
]

const results: Record<string, unknown> = {}
for (const [name, run] of runs) {
  if (only !== undefined && !only.has(name)) continue
  const started = performance.now()
  const figures = await Effect.runPromise(run().pipe(Effect.provide(Reactor.layer)))
  results[name] = figures
  console.log(`\n## ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
  console.log(JSON.stringify(figures, null, 2))
}
const stamp = new Date().toISOString().replace(/:/g, "-").replace(/\..*/, "")
mkdirSync("soak-results", { recursive: true })
const file = `soak-results/${stamp}.json`
writeFileSync(file, JSON.stringify({ machine: { cpus: cpus().length, model: cpus()[0]?.model, kernel: release(), node: process.version }, scale, results }, null, 2))
console.log(`\nwritten to ${file}`)
