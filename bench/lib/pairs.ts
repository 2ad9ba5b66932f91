/**
 * The server + client pattern of the socket cases: the server prints its port
 * when ready; a Node client is started at the same time and told the port on
 * stdin (the two start-ups overlap), a C client is started once the port is known.
 */
import type { Placement } from "./placement.ts"
import type { Proc, Program, Session } from "./proc.ts"

export interface PairOptions {
  readonly server: Program
  /** The client for a port (`"stdin"`: a Node peer that reads it from stdin). */
  readonly client: (port: number | "stdin") => Program
  readonly at: Placement
  readonly timeoutMs?: number | undefined
}

const isPeer = (p: Program): boolean => "peer" in p

/** Starts both; resolves with the server, the client, and the port. */
export const startPair = async (s: Session, o: PairOptions): Promise<{ server: Proc; client: Proc; port: number }> => {
  const server = s.spawn({ name: "server", program: o.server, cpu: o.at.a })
  const early = o.client("stdin")
  if (isPeer(early)) {
    const client = s.spawn({ name: "client", program: early, cpu: o.at.b })
    const port = await server.ready()
    client.writeLine(String(port))
    return { server, client, port }
  }
  const port = await server.ready()
  const client = s.spawn({ name: "client", program: o.client(port), cpu: o.at.b })
  return { server, client, port }
}

/** Starts both and resolves with the client's result line. */
export const runPair = async (s: Session, o: PairOptions): Promise<Record<string, unknown>> => {
  const { client } = await startPair(s, o)
  return client.result(o.timeoutMs ?? 90_000)
}
