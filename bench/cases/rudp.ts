/**
 * Reliable UDP (issue 9) on loopback without loss: request/response RTT against
 * our plain UDP ping-pong, and the one-way rate of 100 B Delivery messages (with
 * the CPU per message of each side) against our plain UDP's batched rate, in the
 * same run. Peers: bench/peers/rudp.ts, and bench/peers/dccp.ts for the plain
 * UDP ping-pong (the same programs the DCCP group compares with).
 */
import { type Case, extras, field, LATENCY_EXTRAS, type RunContext, type Sample, sleep, warmupMs } from "../lib/bench.ts"
import { runPair, startPair } from "../lib/pairs.ts"
import { CROSS, type Placement, SAME } from "../lib/placement.ts"
import { type Program, withSession } from "../lib/proc.ts"

// --- RTT ------------------------------------------------------------------------------------

const RTT_SIZE = 64

type RttImpl = { readonly peer: "dccp"; readonly impl: "fiber" | "readiness" } | { readonly peer: "rudp"; readonly drive: "reactor" | "user" }

const rtt = (which: RttImpl, at: Placement) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const n = ctx.quick ? 5000 : 20000, warm = ctx.quick ? 2000 : 3000
    const common = ["--size", RTT_SIZE, "--rounds", n, "--warmup", warm, "--warmup-ms", warmupMs(ctx)]
    const args = which.peer === "dccp" ? ["--impl", which.impl] : ["--impl", "rudp", "--drive", which.drive]
    const r = await runPair(s, {
      server: { peer: which.peer, args: ["--role", "server", ...args] },
      client: (port): Program => ({ peer: which.peer, args: ["--role", "client", ...args, "--port", port, ...common] }),
      at
    })
    return { value: field(r, "mean_us"), extra: extras(r, LATENCY_EXTRAS) }
  })

const rttCase: Case = {
  id: "rudp-rtt",
  group: "rudp",
  title: "Reliable UDP request/response RTT, 64 B Delivery, vs our plain UDP ping-pong, same core (µs)",
  unit: "µs",
  better: "lower",
  delta: true,
  method:
    "The client sends 64 B and waits for the answer, 20,000 round trips after a warm-up of 3,000 and 1 s (quick: 5,000 after 2,000); " +
    "the value is the client's mean round trip, p50/p99 from every round trip. Both ends on CPU 0 (taskset), park reactor. " +
    "RUDP: Endpoint.connect → an Endpoint (role server) on UdpLike.listen, every message Guarantee.Delivery; the client " +
    "sendPayload + take, the server take → sendPayload (its answer carries the acknowledgement). Reactor-driven: the endpoints' " +
    "fibers run the engines; user-driven: take drives the endpoint itself. Plain UDP (bench/peers/dccp.ts, as in the DCCP group): " +
    "fiber level — Udp.make DatagramSocket, connected client write + pull, server pull → write; readiness level — UdpSocket + Poll.poll.",
  variants: [
    { name: "ours plain UDP fiber (DatagramSocket, park) <-> same", placement: SAME.label, ref: true, run: rtt({ peer: "dccp", impl: "fiber" }, SAME) },
    { name: "ours RUDP Delivery, reactor-driven Endpoint (park)", placement: SAME.label, run: rtt({ peer: "rudp", drive: "reactor" }, SAME) },
    { name: "ours RUDP Delivery, user-driven Endpoint (park)", placement: SAME.label, run: rtt({ peer: "rudp", drive: "user" }, SAME) },
    { name: "ours plain UDP readiness (UdpSocket + Poll.poll, park) <-> same", placement: SAME.label, run: rtt({ peer: "dccp", impl: "readiness" }, SAME) }
  ]
}

// --- one-way rate -------------------------------------------------------------------------------

const RATE_SIZE = 100

const rate = (impl: "rudp" | "udpbatch") => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const secs = ctx.quick ? 0.3 : 1
    const { server: receiver, client: sender } = await startPair(s, {
      server: { peer: "rudp", args: ["--role", "recv", "--impl", impl] },
      client: (port) => ({ peer: "rudp", args: ["--role", "send", "--impl", impl, "--port", port, "--size", RATE_SIZE, "--secs", secs] }),
      at: CROSS
    })
    const sent = await sender.result(30_000 + secs * 1000)
    await sleep(100)
    receiver.writeLine("stop")
    const got = await receiver.result(10_000)
    const extra: Record<string, number> = {
      recv_cpu_us_per_msg: field(got, "cpu_us_per_msg"),
      send_cpu_us_per_msg: field(sent, "cpu_us_per_msg"),
      sent_per_s: field(sent, "sent_per_s"),
      ...extras(sent, ["msgs_per_datagram", "retransmissions", "rtt_ms", "send_dropped"])
    }
    return { value: field(got, "per_s"), extra }
  })

const rateCase: Case = {
  id: "rudp-rate-100",
  group: "rudp",
  title: `Reliable UDP one-way rate, ${RATE_SIZE} B Delivery messages, 1 s, vs our plain UDP batched (messages/s received)`,
  unit: "msg/s",
  better: "higher",
  method:
    "Receiver on CPU 0, sender on CPU 1, park reactor, SO_RCVBUF 4 MiB. The sender sends as fast as it can for 1 s (quick: 0.3 s); " +
    "the receiver counts messages / (last − first arrival). CPU per message: process.cpuUsage (user + system) of each side over its " +
    "own window, divided by its messages. RUDP: Endpoint.connect (reactor-driven) calling sendPayload(Delivery) in a loop — it " +
    "waits when the send queue is full, so the receive window paces it; the engine groups the messages into datagrams of up to " +
    "1,200 B (msgs_per_datagram). The receiver: an Endpoint (role server) on UdpLike.listen, take then recv until empty. Plain UDP: " +
    "UdpSocket sendBatch of 32 × 100 B datagrams (sendmmsg) and recvBatch (recvmmsg ×32), Poll (park) — one message per datagram, " +
    "no acknowledgement, unpaced.",
  variants: [
    { name: "ours plain UDP readiness sendBatch/recvBatch x32 (park)", placement: CROSS.label, ref: true, run: rate("udpbatch") },
    { name: "ours RUDP Delivery, reactor-driven Endpoint, grouped (park)", placement: CROSS.label, run: rate("rudp") }
  ]
}

export const cases: ReadonlyArray<Case> = [rttCase, rateCase]
