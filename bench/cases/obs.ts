/**
 * The cost of observability (issue 14, "Observability"): the hot paths A/B
 * against the base commit in the same run (`--base <ref>`, default the merge
 * base with main). Each case runs one benchmark three ways —
 *
 *   base       the peers built from the base commit (no metrics, no spans);
 *   this tree  the working tree's peers, with nobody reading metrics or traces;
 *   observed   the working tree's peers with a tracer installed (effect-mio
 *              then makes its per-connection spans) and every metric read
 *              every 100 ms (`Metric.snapshot` and `PrometheusMetrics.format`)
 *
 * — interleaved run by run like every case, so the machine's noise falls on
 * all three alike.
 */
import { type Case, extras, field, LATENCY_EXTRAS, perRun, type RunContext, type Sample, type Variant, warmupMs } from "../lib/bench.ts"
import { runPair } from "../lib/pairs.ts"
import { CROSS, SAME } from "../lib/placement.ts"
import { type Program, withSession } from "../lib/proc.ts"

type Mode = "base" | "tree" | "observed"
const MODES: ReadonlyArray<Mode> = ["base", "tree", "observed"]
const NAMES: Record<Mode, string> = {
  base: "base commit",
  tree: "this tree, nothing read",
  observed: "this tree, tracer + metrics read every 100 ms"
}

const peer = (mode: Mode, name: string, args: ReadonlyArray<string | number>): Program => ({
  peer: name,
  args: mode === "observed" ? [...args, "--observe"] : args,
  ...(mode === "base" ? { tree: "base" as const } : {})
})

// --- TCP ping-pong RTT, fiber level, same core ----------------------------------------------

const rtt = (mode: Mode) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const rounds = ctx.quick ? 5000 : 20000
    const warmup = ctx.quick ? 2000 : 3000
    const common = ["--impl", "fiber", "--strategy", "park"]
    const r = await runPair(s, {
      server: peer(mode, "tcp_rtt", ["--role", "server", ...common]),
      client: (port) =>
        peer(mode, "tcp_rtt", [
          "--role", "client", ...common, "--port", port, "--size", 64, "--rounds", rounds, "--warmup", warmup, "--warmup-ms", warmupMs(ctx)
        ]),
      at: SAME
    })
    return { value: field(r, "mean_us"), extra: extras(r, LATENCY_EXTRAS) }
  })

// --- UDP per-datagram CPU cost, one process ------------------------------------------------

const udpJobs = Object.fromEntries(MODES.map((mode) => [
  mode,
  perRun((ctx: RunContext) =>
    withSession(async (s) => {
      const p = s.spawn({
        name: `udp_cost (${mode})`,
        program: peer(mode, "udp_cost", ["--size", 64, "--k", 1000, "--rounds", ctx.quick ? 15 : 40, "--warm", 5]),
        cpu: "0"
      })
      return p.result(120_000)
    })
  )
])) as Record<Mode, (ctx: RunContext) => Promise<Record<string, unknown>>>

const udpCase = (key: string, title: string): Case => ({
  id: `obs-udp-${key.replace(/_ns$/, "").replace(/_/g, "-")}`,
  group: "obs",
  title: `Observability A/B: UDP ${title}, 64 B (ns/datagram)`,
  unit: "ns",
  better: "lower",
  needsBase: true,
  method: "bench/peers/udp_cost.ts (as the udpcost group, 64 B: 1,000 datagrams per round, 40 rounds, the first 5 discarded), " +
    "one process pinned to CPU 0, built from the base commit and from this tree.",
  variants: MODES.map((mode): Variant => ({
    name: NAMES[mode],
    placement: "one process",
    ref: mode === "base",
    run: async (ctx) => ({ value: field(await udpJobs[mode](ctx), key) })
  }))
})

// --- TCP accept rate, fiber server ---------------------------------------------------------------

const accept = (mode: Mode) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const count = ctx.quick ? 2000 : 20000
    const r = await runPair(s, {
      server: peer(mode, "accept_server", ["--impl", "fiber"]),
      client: (port) => ({ c: "accept_client", args: ["--port", port, "--count", count] }),
      at: CROSS
    })
    return { value: field(r, "conns_per_s"), extra: extras(r, ["fails"]) }
  })

export const cases: ReadonlyArray<Case> = [
  {
    id: "obs-tcp-rtt",
    group: "obs",
    title: "Observability A/B: TCP ping-pong RTT 64 B, fiber level (Socket <-> SocketServer, park), same core (µs)",
    unit: "µs",
    better: "lower",
    delta: true,
    needsBase: true,
    method: "As tcp-rtt-same's fiber row: 20,000 round trips after a 3,000-round, 1 s warm-up; both ends built from the same tree.",
    variants: MODES.map((mode): Variant => ({ name: NAMES[mode], placement: SAME.label, ref: mode === "base", run: rtt(mode) }))
  },
  udpCase("recv_fiber_ns", "receive, DatagramSocket reader.pull (Udp.make)"),
  udpCase("send_fiber_ns", "send, DatagramSocket writer.writeAll x32"),
  udpCase("recv_batch_ns", "receive, UdpSocket.recvBatch(32) + copy"),
  udpCase("send_one_ns", "send, UdpSocket.send per datagram"),
  {
    id: "obs-accept",
    group: "obs",
    title: "Observability A/B: TCP accept rate, C client -> fiber SocketServer (park) (connections/s)",
    unit: "conn/s",
    better: "higher",
    needsBase: true,
    method: "As tcp-accept's fiber row: 20,000 sequential connections from the C client; server on CPU 0, client on CPU 1. " +
      "Observed: each accepted connection gets its Tcp.accept span.",
    variants: MODES.map((mode): Variant => ({ name: NAMES[mode], placement: CROSS.label, ref: mode === "base", run: accept(mode) }))
  }
]
