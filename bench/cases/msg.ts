/**
 * Typed messaging (issue 10): Clt/Svc round trips of a 64 B binary-layout
 * message against our raw effect/socket TCP round trip (same core) and C
 * busy-spin TCP (cross core, spin); the one-way typed rate of 100 B messages
 * against a node:net program sending newline-delimited JSON; request/response
 * calls per second against Effect RPC over Effect's NodeSocket; and the bytes
 * allocated per message.
 */
import { type Case, extras, field, LATENCY_EXTRAS, perRun, type RunContext, type Sample, type Variant, warmupMs } from "../lib/bench.ts"
import { platformNodeSkip } from "../lib/optional.ts"
import { runPair, startPair } from "../lib/pairs.ts"
import { CROSS, type Placement, SAME } from "../lib/placement.ts"
import { type Program, withSession } from "../lib/proc.ts"
import { rmSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const rounds = (ctx: RunContext, busy: boolean) => ({
  rounds: ctx.quick ? 5000 : 20000,
  warmup: ctx.quick ? 2000 : 3000,
  ms: warmupMs(ctx),
  busy
})

type Rtt = { readonly kind: "typed"; readonly server: "typed" | "reply"; readonly strategy: "park" | "spin" } | {
  readonly kind: "raw"
  readonly strategy: "park" | "spin"
} | { readonly kind: "c"; readonly wait: "epoll" | "busy" }

const rtt = (side: Rtt, at: Placement) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const n = rounds(ctx, side.kind !== "c" ? side.strategy === "spin" : side.wait === "busy")
    const timing = ["--rounds", n.rounds, "--warmup", n.warmup, "--warmup-ms", n.ms]
    const server: Program = side.kind === "typed"
      ? { peer: "msg", args: ["--role", "server", "--impl", side.server, "--strategy", side.strategy] }
      : side.kind === "raw"
      ? { peer: "tcp_rtt", args: ["--role", "server", "--impl", "fiber", "--strategy", side.strategy] }
      : { c: "tcp_server", args: ["--wait", side.wait] }
    const client = (port: number | "stdin"): Program =>
      side.kind === "typed"
        ? { peer: "msg", args: ["--role", "client", "--impl", "typed", "--strategy", side.strategy, "--port", port, ...timing] }
        : side.kind === "raw"
        ? { peer: "tcp_rtt", args: ["--role", "client", "--impl", "fiber", "--strategy", side.strategy, "--port", port, "--size", 64, ...timing] }
        : { c: "tcp_client", args: ["--port", port, "--size", 64, ...timing, "--wait", side.wait] }
    const r = await runPair(s, { server, client, at })
    return { value: field(r, "mean_us"), extra: extras(r, LATENCY_EXTRAS) }
  })

const v = (name: string, side: Rtt, at: Placement, ref = false): Variant => ({ name, placement: at.label, ref, run: rtt(side, at) })

/** Sender for `secs` seconds; the receiver's count is the value. */
const oneWay = (impl: "typed" | "ndjson") => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const secs = ctx.quick ? 0.5 : 2
    const { client: sender, server: receiver } = await startPair(s, {
      server: { peer: "msg", args: ["--role", "recv", "--impl", impl] },
      client: (port) => ({ peer: "msg", args: ["--role", "send", "--impl", impl, "--port", port, "--secs", secs, "--batch", 64] }),
      at: CROSS
    })
    const sent = await sender.result(60_000)
    const got = await receiver.result(60_000)
    return { value: field(got, "per_s"), extra: { sent_per_s: field(sent, "sent_per_s"), received: field(got, "received") } }
  })

const calls = (impl: "typed" | "effectrpc", concurrency: number) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const r = await runPair(s, {
      server: { peer: "msg", args: ["--role", "rpcserver", "--impl", impl] },
      client: (port) => ({
        peer: "msg",
        args: ["--role", "rpcclient", "--impl", impl, "--port", port, "--secs", ctx.quick ? 0.5 : 2, "--concurrency", concurrency]
      }),
      at: CROSS
    })
    return { value: field(r, "calls_per_s"), extra: { calls: field(r, "calls") } }
  })

/** Effect RPC, 1,000 calls in flight, over one transport: Effect's NodeSocket or ours, TCP or Unix. */
const effectRpc = (transport: "nodesocket" | "ours", net: "tcp" | "unix", serialization: "ndjson" | "binary") => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const more = ["--transport", transport, "--net", net, "--serialization", serialization]
    if (net === "unix") {
      // One file per case, run and transport; a server killed at the end of a run leaves its file behind.
      const file = path.join(os.tmpdir(), `effect-mio-bench-rpc-${process.pid}-${serialization}-${ctx.run}-${transport}.sock`)
      rmSync(file, { force: true })
      more.push("--path", file)
    }
    const r = await runPair(s, {
      server: { peer: "msg", args: ["--role", "rpcserver", "--impl", "effectrpc", ...more] },
      client: (port) => ({
        peer: "msg",
        args: ["--role", "rpcclient", "--impl", "effectrpc", "--port", port, "--secs", ctx.quick ? 0.5 : 2, "--concurrency", 1000, ...more]
      }),
      at: CROSS
    })
    return { value: field(r, "calls_per_s"), extra: { calls: field(r, "calls") } }
  })

const allocation = perRun((ctx: RunContext) =>
  withSession(async (s) => {
    const p = s.spawn({
      name: "alloc",
      cpu: "0",
      program: { peer: "msg", args: ["--role", "alloc", "--rounds", ctx.quick ? 2000 : 5000], nodeArgs: ["--expose-gc", "--min-semi-space-size=64", "--max-semi-space-size=64"] }
    })
    return p.result(120_000)
  })
)
const allocVariant = (name: string, key: string, ref = false): Variant => ({
  name,
  placement: "one process",
  ref,
  run: async (ctx) => ({ value: field(await allocation(ctx), key) })
})

const rttMethod =
  "A 62-byte binary-layout message (Order: a type byte, integers, ASCII fields) with a 2-byte length: 64 bytes on the wire, as the raw " +
  "reference's 64-byte payload. The client sends and waits for the answer, 20,000 round trips after a warm-up of 3,000 and 1 s; the value is the " +
  "mean round trip, p50/p99 from every round trip. `recv/send loop`: the application fiber takes each message from the Svc inbox and sends " +
  "it back (decode + encode); `sendReply`: the protocol hook answers in the connection's own fiber. Server on CPU 0, client on CPU 0 " +
  "(same-core) or CPU 1 (cross-core), with taskset."

export const cases: ReadonlyArray<Case> = [
  {
    id: "msg-rtt-same",
    group: "msg",
    title: "Typed round trip, 64 B binary layout, same core (µs)",
    unit: "µs",
    better: "lower",
    delta: true,
    method: rttMethod,
    variants: [
      v("ours raw effect/socket (Tcp Socket <-> SocketServer echo), park", { kind: "raw", strategy: "park" }, SAME, true),
      v("ours typed Clt <-> Svc (recv/send loop), park", { kind: "typed", server: "typed", strategy: "park" }, SAME),
      v("ours typed Clt <-> Svc (sendReply), park", { kind: "typed", server: "reply", strategy: "park" }, SAME),
      v("C epoll <-> C epoll", { kind: "c", wait: "epoll" }, SAME)
    ]
  },
  {
    id: "msg-rtt-busy",
    group: "msg",
    title: "Typed round trip, 64 B binary layout, busy-polling at both ends, cross core (µs)",
    unit: "µs",
    better: "lower",
    delta: true,
    method: rttMethod,
    variants: [
      v("C busy-spin <-> C busy-spin", { kind: "c", wait: "busy" }, CROSS, true),
      v("ours typed Clt <-> Svc (recv/send loop), wait: spin", { kind: "typed", server: "typed", strategy: "spin" }, CROSS),
      v("ours typed Clt <-> Svc (sendReply), wait: spin", { kind: "typed", server: "reply", strategy: "spin" }, CROSS),
      v("ours raw effect/socket, spin", { kind: "raw", strategy: "spin" }, CROSS)
    ]
  },
  {
    id: "msg-rate-100",
    group: "msg",
    title: "One-way message rate, 100 B messages, 2 s (messages/s received)",
    unit: "msg/s",
    better: "higher",
    method:
      "Ours: a Clt sends a 98-byte binary-layout Fill (100 bytes framed) with sendAll, 64 messages per write, for 2 s; a Svc decodes every " +
      "message and the receiver counts them from its messages stream. node:net: the sender writes JSON.stringify(fill) + \"\\n\" per " +
      "message (waiting for drain when write returns false), the receiver splits lines and JSON.parses each. Rate = messages / (last − first " +
      "arrival). Receiver on CPU 0, sender on CPU 1.",
    variants: [
      { name: "node:net, newline-delimited JSON", placement: CROSS.label, ref: true, run: oneWay("ndjson") },
      { name: "ours typed Clt.sendAll x64 -> Svc (binary layout, park)", placement: CROSS.label, run: oneWay("typed") }
    ]
  },
  ...[1, 16].map((k): Case => ({
    id: `msg-calls-${k}`,
    group: "msg",
    title: `Request/response calls per second, ${k} in flight, 2 s (calls/s)`,
    unit: "calls/s",
    better: "higher",
    method:
      `The client keeps ${k} call${k === 1 ? "" : "s"} in flight for 2 s. Ours: an Order (62 B) → Accepted (9 B) through a Clt and a Svc ` +
      "whose protocol answers with sendReply (answers come in order on one connection). Effect RPC: an RpcGroup with one Rpc (the same " +
      "fields as a Schema.Struct) served by RpcServer on NodeSocketServer and called through RpcClient on NodeSocket, ndjson serialization. " +
      "Server on CPU 0, client on CPU 1.",
    variants: [
      { name: "Effect RPC over NodeSocket (ndjson)", placement: CROSS.label, ref: true, skip: platformNodeSkip, run: calls("effectrpc", k) },
      { name: "ours typed Clt -> Svc (sendReply)", placement: CROSS.label, run: calls("typed", k) }
    ]
  })),
  ...(["tcp", "unix"] as const).flatMap((net) =>
    (["ndjson", "binary"] as const).map((ser): Case => ({
      id: `rpc-${net}-${ser}`,
      group: "msg",
      title: `Effect RPC calls per second, 1,000 in flight, ${net === "tcp" ? "TCP" : "Unix"}, ${ser === "ndjson" ? "ndjson" : "SchemaBinary"}, 2 s (calls/s)`,
      unit: "calls/s",
      better: "higher",
      method:
        "The same Effect RPC program at both ends (RpcServer.layerProtocolSocketServer, RpcClient.layerProtocolSocket, one Rpc whose payload " +
        `is a 9-field Schema.Struct, RpcSerialization.${ser === "ndjson" ? "layerNdjson" : "layerSchemaBinary()"}); the client keeps 1,000 calls ` +
        `in flight for 2 s over one ${net === "tcp" ? "TCP (noDelay on both)" : "Unix stream"} connection. Only the Socket and SocketServer ` +
        "layers differ: Effect's NodeSocket / NodeSocketServer, or ours (Tcp / Unix, park). Server on CPU 0, client on CPU 1.",
      variants: [
        { name: `Effect RPC over NodeSocket / NodeSocketServer`, placement: CROSS.label, ref: true, skip: platformNodeSkip, run: effectRpc("nodesocket", net, ser) },
        { name: `Effect RPC over ours (${net === "tcp" ? "Tcp" : "Unix"}, park)`, placement: CROSS.label, run: effectRpc("ours", net, ser) }
      ]
    }))
  ),
  {
    id: "msg-alloc",
    group: "msg",
    title: "Bytes allocated per message (one process, heap growth with no collection in between)",
    unit: "B",
    better: "lower",
    method:
      "One process (--expose-gc, semi-spaces fixed at 64 MiB so no scavenge runs in a measured round): the heap's growth over 5,000 iterations, " +
      "the least of three rounds. A round trip holds both ends: the raw effect/socket echo of 64 bytes, the typed Clt ↔ Svc round trip of " +
      "the 62-byte Order (recv/send loop), and encode + decode alone.",
    variants: [
      allocVariant("raw effect/socket echo round trip (64 B)", "raw_rtt_b", true),
      allocVariant("typed Clt <-> Svc round trip (Order, 64 B framed)", "typed_rtt_b"),
      allocVariant("Codec.binary encode + decode of the Order", "codec_b")
    ]
  }
]
