/**
 * 10,000 idle + 100 active TCP connections, 64 B ping-pong (issue "Sockets"):
 * one C client (native/many_client.c) against an echo server — C epoll (the
 * reference), ours at the readiness and fiber levels, Node `net`. Reports the
 * active connections' round trip and message rate, and the server's RSS before
 * the connections and with them open.
 */
import { type Case, extras, field, type RunContext, type Sample, type Variant } from "../lib/bench.ts"
import { platformNodeSkip } from "../lib/optional.ts"
import { CROSS } from "../lib/placement.ts"
import { type Proc, type Program, withSession } from "../lib/proc.ts"

/** A Node server's live JS memory (after a full GC), asked for with SIGUSR2. */
const jsMemory = async (srv: Proc): Promise<Record<string, unknown> | undefined> => {
  if (!srv.isNode) return undefined
  srv.child.kill("SIGUSR2")
  return srv.json((j) => j["phase"] === "memory", 10_000)
}

const many = (server: Program) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const idle = ctx.quick ? 2000 : 10000, active = 100
    const srv = s.spawn({ name: "server", program: server, cpu: CROSS.a })
    const port = await srv.ready()
    const base = srv.rssKiB()
    const jsBase = await jsMemory(srv)
    const client = s.spawn({
      name: "client",
      program: { c: "many_client", args: ["--port", port, "--idle", idle, "--active", active, "--size", 64, "--secs", ctx.quick ? 0.5 : 2, "--warmup", ctx.quick ? 0.2 : 0.5] },
      cpu: CROSS.b
    })
    // Every connection is open and has carried one message: the server holds its state for all.
    const connected = await client.json((j) => j["phase"] === "connected", 120_000)
    const withConns = srv.rssKiB()
    const jsConns = await jsMemory(srv)
    client.writeLine("go")
    const r = await client.result(60_000)
    // The client keeps every connection open until told to end.
    const afterTraffic = srv.rssKiB()
    client.writeLine("done")
    const n = idle + active
    const js: Record<string, number> = {}
    if (jsBase !== undefined && jsConns !== undefined) {
      js["js_heap_per_conn_b"] = (field(jsConns, "heap_used") - field(jsBase, "heap_used")) / n
      js["js_buffers_per_conn_b"] = (field(jsConns, "array_buffers") - field(jsBase, "array_buffers")) / n
    }
    return {
      value: field(r, "mean_us"),
      extra: {
        ...extras(r, ["p99_us", "msgs_per_s"]),
        rss_per_conn_b: ((withConns - base) * 1024) / (idle + active),
        server_rss_base_kib: base,
        server_rss_conns_kib: withConns,
        server_rss_end_kib: afterTraffic,
        connect_s: field(connected, "connect_secs"),
        ...js
      }
    }
  })

const v = (name: string, server: Program, ref = false): Variant => ({ name, placement: CROSS.label, ref, run: many(server) })
const ours = (impl: string, more: ReadonlyArray<string | number> = [], strategy = "park"): Program => ({
  peer: "tcp_rtt",
  args: ["--role", "server", "--impl", impl, "--strategy", strategy, ...more],
  nodeArgs: ["--expose-gc"]
})

export const cases: ReadonlyArray<Case> = [
  {
    id: "tcp-many",
    group: "many",
    title: "10,000 idle + 100 active TCP connections, 64 B ping-pong (µs per round trip of an active connection)",
    unit: "µs",
    better: "lower",
    method:
      "The C client opens 10,000 idle and 100 active connections; each idle one carries one 64 B message (so the server has accepted it " +
      "and built its per-connection state). The server's VmRSS is read from /proc when it is ready (base) and then, with every connection open " +
      "and before the active traffic (conns): rss_per_conn_b = (conns − base) / 10,100; end is after the traffic. Then the 100 active connections " +
      "each run a closed-loop 64 B ping-pong from one epoll loop; after 0.5 s the client measures for 2 s; msgs_per_s counts round trips over all " +
      "active connections. For Node servers, js_heap_per_conn_b and js_buffers_per_conn_b are the growth of V8's used heap and of " +
      "ArrayBuffer memory per connection between the same two moments, each after a full GC (--expose-gc, asked with SIGUSR2). " +
      "Server on CPU 0, client on CPU 1.",
    variants: [
      v("C epoll echo server", { c: "tcp_server" }, true),
      v("ours readiness echo server (Poll, park)", ours("readiness")),
      v("ours readiness echo server (Poll.pollBlocking, opt-in)", ours("readiness", [], "block")),
      v("ours fiber echo server (effect/socket SocketServer, park)", ours("fiber")),
      v("ours fiber echo server, block strategy (opt-in)", ours("fiber", [], "block")),
      v("ours fiber echo server, reader chunkSize 1 KiB", ours("fiber", ["--chunk", 1024])),
      v("ours readiness-driven handler (Tcp.serve, park)", ours("serve")),
      v("ours readiness-driven handler (Tcp.serve), block strategy (opt-in)", ours("serve", [], "block")),
      v("Node net echo server", { peer: "tcp_rtt", args: ["--role", "server", "--impl", "node"], nodeArgs: ["--expose-gc"] }),
      {
        ...v("Effect NodeSocketServer echo server", { peer: "tcp_rtt", args: ["--role", "server", "--impl", "nodesocket"], nodeArgs: ["--expose-gc"] }),
        skip: platformNodeSkip
      }
    ]
  }
]
