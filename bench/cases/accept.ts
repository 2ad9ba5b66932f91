/**
 * TCP accept rate (issue "Sockets"): one C client (native/accept_client.c) makes
 * sequential connections — connect, wait for the server's close, close — to a
 * C epoll accept loop (the reference), to ours at the readiness and fiber levels,
 * and to a Node `net` server. Server on CPU 0, client on CPU 1.
 */
import { type Case, extras, field, type RunContext, type Sample, type Variant } from "../lib/bench.ts"
import { platformNodeSkip } from "../lib/optional.ts"
import { runPair } from "../lib/pairs.ts"
import { CROSS } from "../lib/placement.ts"
import { type Program, withSession } from "../lib/proc.ts"

const accept = (server: Program) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const count = ctx.quick ? 2000 : 20000
    const r = await runPair(s, { server, client: (port) => ({ c: "accept_client", args: ["--port", port, "--count", count] }), at: CROSS })
    return { value: field(r, "conns_per_s"), extra: extras(r, ["fails"]) }
  })

const v = (name: string, server: Program, ref = false): Variant => ({ name, placement: CROSS.label, ref, run: accept(server) })

export const cases: ReadonlyArray<Case> = [
  {
    id: "tcp-accept",
    group: "accept",
    title: "TCP accept rate, 20,000 sequential connect / server close (connections/s)",
    unit: "conn/s",
    better: "higher",
    method:
      "A C client connects (blocking), waits for end of file (the server accepted and closed the connection), closes, 20,000 times; " +
      "the server accepts and closes at once (backlog 4096). Server on CPU 0, client on CPU 1.",
    variants: [
      v("C client -> C epoll accept loop", { c: "tcp_server", args: ["--accept-close"] }, true),
      v("C client -> ours readiness (TcpListener + Poll, park)", { peer: "accept_server", args: ["--impl", "readiness"] }),
      v("C client -> ours readiness (TcpListener + Poll.pollBlocking, opt-in)", { peer: "accept_server", args: ["--impl", "readiness", "--strategy", "block"] }),
      v("C client -> ours fiber (effect/socket SocketServer, park)", { peer: "accept_server", args: ["--impl", "fiber"] }),
      v("C client -> ours fiber, block strategy (opt-in)", { peer: "accept_server", args: ["--impl", "fiber", "--strategy", "block"] }),
      v("C client -> ours readiness-driven handler (Tcp.serve, park)", { peer: "accept_server", args: ["--impl", "serve"] }),
      v("C client -> ours readiness-driven handler (Tcp.serve), block strategy (opt-in)", { peer: "accept_server", args: ["--impl", "serve", "--strategy", "block"] }),
      v("C client -> Node net server", { peer: "accept_server", args: ["--impl", "node"] }),
      { ...v("C client -> Effect NodeSocketServer", { peer: "accept_server", args: ["--impl", "nodesocket"] }), skip: platformNodeSkip }
    ]
  }
]
