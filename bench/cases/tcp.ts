/**
 * TCP ping-pong RTT, 64 B (issue "Sockets"): both ends of one implementation —
 * C (native/tcp_server.c + tcp_client.c), ours at the readiness level (Poll),
 * at the reactor level (Registration.readIo), at the fiber level (effect/socket
 * Socket + SocketServer), Node `net`, Effect's NodeSocket — same-core and
 * cross-core, blocking and busy-polling.
 */
import { type Case, extras, field, LATENCY_EXTRAS, type RunContext, type Sample, type Variant, warmupMs } from "../lib/bench.ts"
import { platformNodeSkip } from "../lib/optional.ts"
import { runPair } from "../lib/pairs.ts"
import { CROSS, type Placement, SAME } from "../lib/placement.ts"
import { type Program, withSession } from "../lib/proc.ts"

const SIZE = 64

const counts = (ctx: RunContext, at: Placement, busy: boolean, fixed?: number) => {
  const ms = warmupMs(ctx)
  if (fixed !== undefined) return { rounds: fixed, warmup: Math.round(fixed / 4), ms }
  const rounds = busy ? (ctx.quick ? 5000 : 20000) : at.label === "same-core" ? (ctx.quick ? 5000 : 20000) : (ctx.quick ? 3000 : 10000)
  return { rounds, warmup: ctx.quick ? 2000 : 3000, ms }
}

type Side = { readonly c: "epoll" | "busy" } | { readonly impl: string; readonly strategy?: string }

const serverOf = (side: Side): Program =>
  "c" in side
    ? { c: "tcp_server", args: ["--wait", side.c] }
    : { peer: "tcp_rtt", args: ["--role", "server", "--impl", side.impl, "--strategy", side.strategy ?? "park"] }

const clientOf = (side: Side, n: { rounds: number; warmup: number; ms: number }) => (port: number | "stdin"): Program =>
  "c" in side
    ? { c: "tcp_client", args: ["--port", port, "--size", SIZE, "--rounds", n.rounds, "--warmup", n.warmup, "--warmup-ms", n.ms, "--wait", side.c] }
    : {
      peer: "tcp_rtt",
      args: ["--role", "client", "--impl", side.impl, "--strategy", side.strategy ?? "park", "--port", port, "--size", SIZE, "--rounds", n.rounds, "--warmup", n.warmup, "--warmup-ms", n.ms]
    }

const rtt = (server: Side, client: Side, at: Placement, busy: boolean, fixed?: number) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const r = await runPair(s, { server: serverOf(server), client: clientOf(client, counts(ctx, at, busy, fixed)), at })
    return { value: field(r, "mean_us"), extra: extras(r, LATENCY_EXTRAS) }
  })

const both = (
  name: string,
  side: Side,
  at: Placement,
  o: { ref?: boolean; busy?: boolean; skip?: string | undefined; rounds?: number } = {}
): Variant => ({
  name,
  placement: at.label,
  ref: o.ref,
  skip: o.skip,
  run: rtt(side, side, at, o.busy === true, o.rounds)
})

const C_EPOLL: Side = { c: "epoll" }
const C_BUSY: Side = { c: "busy" }
const ours = (impl: string, strategy = "park"): Side => ({ impl, strategy })
const NODE: Side = { impl: "node" }
const NODESOCKET: Side = { impl: "nodesocket" }

const method =
  "Client sends 64 B and waits for the echo (TCP_NODELAY), 20,000 round trips same-core / 10,000 cross-core after a 3,000 warm-up; " +
  "the value is the client's mean round trip, p50/p99 from every round trip. Both ends are the named implementation unless a row says otherwise. " +
  "Placement: server on CPU 0, client on CPU 0 (same-core) or CPU 1 (cross-core), with taskset."

export const cases: ReadonlyArray<Case> = [
  {
    id: "tcp-rtt-same",
    group: "tcp",
    title: "TCP ping-pong RTT 64 B, same core (µs)",
    unit: "µs",
    better: "lower",
    delta: true,
    method,
    variants: [
      both("C epoll <-> C epoll", C_EPOLL, SAME, { ref: true }),
      both("ours readiness (Poll.poll, park) <-> same", ours("readiness"), SAME),
      both("ours reactor (Registration.readIo, park) <-> same", ours("reactor"), SAME),
      both("ours fiber (effect/socket Socket <-> SocketServer), park", ours("fiber"), SAME),
      both("ours readiness (Poll.pollBlocking: blocks the thread, opt-in) <-> same", ours("readiness", "block"), SAME),
      both("ours fiber, block strategy (opt-in) <-> same", ours("fiber", "block"), SAME),
      // Two backoff processes on one core spin and yield against each other; few rounds keep the row short.
      both("ours fiber, backoff (1,000 round trips)", ours("fiber", "backoff"), SAME, { rounds: 1000 }),
      { name: "C epoll client -> ours readiness server, park", placement: SAME.label, run: rtt(ours("readiness"), C_EPOLL, SAME, false) },
      { name: "ours readiness client, park -> C epoll server", placement: SAME.label, run: rtt(C_EPOLL, ours("readiness"), SAME, false) },
      { name: "C epoll client -> ours fiber server, park", placement: SAME.label, run: rtt(ours("fiber"), C_EPOLL, SAME, false) },
      { name: "ours fiber client, park -> C epoll server", placement: SAME.label, run: rtt(C_EPOLL, ours("fiber"), SAME, false) },
      { name: "C epoll client -> ours readiness-driven handler (Tcp.serve), park", placement: SAME.label, run: rtt(ours("serve"), C_EPOLL, SAME, false) },
      { name: "ours fiber client <-> ours readiness-driven handler (Tcp.serve), park", placement: SAME.label, run: rtt(ours("serve"), ours("fiber"), SAME, false) },
      { name: "ours readiness client, pollBlocking -> C epoll server", placement: SAME.label, run: rtt(C_EPOLL, ours("readiness", "block"), SAME, false) },
      { name: "ours fiber client, block strategy -> C epoll server", placement: SAME.label, run: rtt(C_EPOLL, ours("fiber", "block"), SAME, false) },
      both("Node net <-> Node net", NODE, SAME),
      both("Effect NodeSocket <-> NodeSocketServer", NODESOCKET, SAME, { skip: platformNodeSkip })
    ]
  },
  {
    id: "tcp-rtt-cross",
    group: "tcp",
    title: "TCP ping-pong RTT 64 B, cross core (µs)",
    unit: "µs",
    better: "lower",
    delta: true,
    method,
    variants: [
      both("C epoll <-> C epoll", C_EPOLL, CROSS, { ref: true }),
      both("ours readiness (Poll.poll, park) <-> same", ours("readiness"), CROSS),
      both("ours fiber (effect/socket), park", ours("fiber"), CROSS),
      both("ours fiber, backoff", ours("fiber", "backoff"), CROSS),
      both("ours fiber, block strategy (opt-in)", ours("fiber", "block"), CROSS),
      both("Node net <-> Node net", NODE, CROSS),
      both("Effect NodeSocket <-> NodeSocketServer", NODESOCKET, CROSS, { skip: platformNodeSkip })
    ]
  },
  {
    id: "tcp-rtt-busy",
    group: "tcp",
    title: "TCP ping-pong RTT 64 B, busy-polling at both ends, cross core (µs)",
    unit: "µs",
    better: "lower",
    delta: true,
    method: method.replace("20,000 round trips same-core / 10,000 cross-core", "20,000 round trips"),
    variants: [
      both("C busy-spin <-> C busy-spin", C_BUSY, CROSS, { ref: true, busy: true }),
      both("ours readiness (pollNow busy loop) <-> same", ours("readiness", "spin"), CROSS, { busy: true }),
      both("ours fiber (effect/socket), spin", ours("fiber", "spin"), CROSS, { busy: true }),
      both("ours fiber, backoff", ours("fiber", "backoff"), CROSS, { busy: true })
    ]
  }
]
