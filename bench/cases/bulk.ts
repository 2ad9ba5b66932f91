/**
 * TCP bulk throughput, one connection, 64 KiB writes, 1 GiB or 5 s (issue
 * "Sockets"): C send/recv (native/tcp_bulk.c) against ours at the readiness and
 * fiber levels and Node `net`, both ends of one implementation, cross-core.
 */
import { type Case, extras, field, type RunContext, type Sample, type Variant } from "../lib/bench.ts"
import { runPair } from "../lib/pairs.ts"
import { CROSS } from "../lib/placement.ts"
import { type Program, withSession } from "../lib/proc.ts"

const CHUNK = 65536

const limits = (ctx: RunContext) => ({ bytes: ctx.quick ? 256 * 2 ** 20 : 2 ** 30, secs: ctx.quick ? 2 : 5 })

const bulk = (impl: "c" | "readiness" | "fiber" | "node") => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const { bytes, secs } = limits(ctx)
    const server: Program = impl === "c"
      ? { c: "tcp_bulk", args: ["recv", "--chunk", CHUNK] }
      : { peer: "tcp_bulk", args: ["--role", "recv", "--impl", impl, "--chunk", CHUNK] }
    const client = (port: number | "stdin"): Program =>
      impl === "c"
        ? { c: "tcp_bulk", args: ["send", "--port", port, "--bytes", bytes, "--secs", secs, "--chunk", CHUNK] }
        : { peer: "tcp_bulk", args: ["--role", "send", "--impl", impl, "--port", port, "--bytes", bytes, "--secs", secs, "--chunk", CHUNK] }
    // The sender finishes first; the receiver's figure is the one reported.
    await runPair(s, { server, client, at: CROSS })
    const receiver = await s.procs[0]!.result(30_000)
    return { value: field(receiver, "mib_s"), extra: extras(receiver, ["secs"]) }
  })

const v = (name: string, impl: "c" | "readiness" | "fiber" | "node", ref = false): Variant => ({
  name,
  placement: CROSS.label,
  ref,
  run: bulk(impl)
})

export const cases: ReadonlyArray<Case> = [
  {
    id: "tcp-bulk",
    group: "bulk",
    title: "TCP bulk, 1 connection, 64 KiB writes, 1 GiB or 5 s (MiB/s)",
    unit: "MiB/s",
    better: "higher",
    method:
      "The sender writes 64 KiB chunks (1 GiB, or until 5 s); the receiver reads 64 KiB at a time and reports bytes / (end of file − accept). " +
      "Both ends are the named implementation; receiver on CPU 0, sender on CPU 1.",
    variants: [
      v("C send/recv", "c", true),
      v("ours readiness (Poll, park)", "readiness"),
      v("ours fiber (effect/socket Socket), park", "fiber"),
      v("Node net", "node")
    ]
  }
]
