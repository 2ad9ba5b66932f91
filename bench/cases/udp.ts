/**
 * UDP one-way rate, 64 B and 1200 B, unpaced sender for 1 s (issue "Sockets"):
 * per datagram and batched (sendmmsg/recvmmsg ×32), both ends of one
 * implementation, receiver on CPU 0 and sender on CPU 1.
 */
import { type Case, field, type RunContext, type Sample, sleep, type Variant } from "../lib/bench.ts"
import { startPair } from "../lib/pairs.ts"
import { CROSS } from "../lib/placement.ts"
import { type Program, withSession } from "../lib/proc.ts"

type Impl = "c" | "readiness" | "fiber" | "node"

const oneWay = (impl: Impl, size: number, batch: number) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const secs = ctx.quick ? 0.3 : 1
    const server: Program = impl === "c"
      ? { c: "udp_recv", args: ["--batch", batch, "--rcvbuf", 4 * 2 ** 20] }
      : { peer: "udp_oneway", args: ["--role", "recv", "--impl", impl, "--size", size, "--batch", batch] }
    const client = (port: number | "stdin"): Program =>
      impl === "c"
        ? { c: "udp_send", args: ["--port", port, "--size", size, "--secs", secs, "--batch", batch] }
        : { peer: "udp_oneway", args: ["--role", "send", "--impl", impl, "--port", port, "--size", size, "--secs", secs, "--batch", batch] }
    const { server: receiver, client: sender } = await startPair(s, { server, client, at: CROSS })
    const sent = await sender.result(30_000)
    // Let the receiver drain its socket buffer, then stop it.
    await sleep(100)
    receiver.writeLine("stop")
    const got = await receiver.result(10_000)
    const received = field(got, "received"), sentN = field(sent, "sent")
    const extra: Record<string, number> = {
      sent_per_s: field(sent, "sent_per_s"),
      loss_pct: sentN > 0 ? Math.max(0, (1 - received / sentN) * 100) : 0
    }
    if (typeof got["dropped"] === "number") extra["queue_dropped"] = got["dropped"]
    return { value: field(got, "per_s"), extra }
  })

const sizeCase = (size: number): Case => {
  const v = (name: string, impl: Impl, batch: number, ref = false): Variant => ({ name, placement: CROSS.label, ref, run: oneWay(impl, size, batch) })
  return {
    id: `udp-oneway-${size}`,
    group: "udp",
    title: `UDP one-way rate, ${size} B, 1 s unpaced sender (datagrams/s received)`,
    unit: "dgram/s",
    better: "higher",
    method:
      "The sender sends as fast as it can for 1 s on a connected socket; the receiver (SO_RCVBUF 4 MiB) counts and reports " +
      "datagrams / (last − first arrival); loss_pct compares with the sender's count. Receiver on CPU 0, sender on CPU 1. " +
      "queue_dropped: datagrams the DatagramSocket's receive queue (Effect's, 1024 by default) dropped.",
    variants: [
      v("C send/recv per datagram", "c", 1, true),
      v("C sendmmsg/recvmmsg x32", "c", 32),
      v("ours readiness send/recv per datagram (park)", "readiness", 1),
      v("ours readiness sendBatch/recvBatch x32 (park)", "readiness", 32),
      v("ours fiber DatagramSocket writeAll x32 / pull (park)", "fiber", 32),
      v("Node dgram", "node", 1)
    ]
  }
}

export const cases: ReadonlyArray<Case> = [sizeCase(64), sizeCase(1200)]
