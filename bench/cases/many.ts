/**
 * 10,000 idle + 100 active TCP connections, 64 B ping-pong (issue "Sockets"):
 * one C client (native/many_client.c) against an echo server — C epoll (the
 * reference), ours at the readiness and fiber levels, Node `net`. Reports the
 * active connections' round trip and message rate, and the server's RSS before
 * the connections and with them open.
 */
import { type Case, extras, field, type RunContext, type Sample, type Variant } from "../lib/bench.ts"
import { CROSS } from "../lib/placement.ts"
import { type Program, withSession } from "../lib/proc.ts"

const many = (server: Program) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const idle = ctx.quick ? 2000 : 10000, active = 100
    const srv = s.spawn({ name: "server", program: server, cpu: CROSS.a })
    const port = await srv.ready()
    const base = srv.rssKiB()
    const client = s.spawn({
      name: "client",
      program: { c: "many_client", args: ["--port", port, "--idle", idle, "--active", active, "--size", 64, "--secs", ctx.quick ? 1 : 2, "--warmup", 0.5] },
      cpu: CROSS.b
    })
    const connected = await client.json((j) => j["phase"] === "connected", 120_000)
    const r = await client.result(60_000)
    // The client keeps every connection open until told to go: sample the server now.
    const rss = srv.rssKiB()
    client.writeLine("done")
    const perConn = ((rss - base) * 1024) / (idle + active)
    return {
      value: field(r, "mean_us"),
      extra: {
        ...extras(r, ["p99_us", "msgs_per_s"]),
        server_rss_base_kib: base,
        server_rss_kib: rss,
        rss_per_conn_b: perConn,
        connect_s: field(connected, "connect_secs")
      }
    }
  })

const v = (name: string, server: Program, ref = false): Variant => ({ name, placement: CROSS.label, ref, run: many(server) })
const ours = (impl: string, more: ReadonlyArray<string | number> = []): Program => ({
  peer: "tcp_rtt",
  args: ["--role", "server", "--impl", impl, "--strategy", "park", ...more]
})

export const cases: ReadonlyArray<Case> = [
  {
    id: "tcp-many",
    group: "many",
    title: "10,000 idle + 100 active TCP connections, 64 B ping-pong (µs per round trip of an active connection)",
    unit: "µs",
    better: "lower",
    method:
      "The C client opens 10,000 idle connections, then 100 active ones that each run a closed-loop 64 B ping-pong from one epoll loop; " +
      "after 0.5 s it measures for 2 s. msgs_per_s counts round trips over all active connections. The server's VmRSS is read from /proc " +
      "when it is ready (base) and while every connection is open; rss_per_conn_b = (rss − base) / 10,100. Server on CPU 0, client on CPU 1.",
    variants: [
      v("C epoll echo server", { c: "tcp_server" }, true),
      v("ours readiness echo server (Poll, park)", ours("readiness")),
      v("ours fiber echo server (effect/socket SocketServer, park)", ours("fiber")),
      v("ours fiber echo server, reader chunkSize 1 KiB", ours("fiber", ["--chunk", 1024])),
      v("Node net echo server", { peer: "tcp_rtt", args: ["--role", "server", "--impl", "node"] })
    ]
  }
]
