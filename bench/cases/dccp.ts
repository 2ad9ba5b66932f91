/**
 * DCCP over UDP encapsulation on loopback (issue 5): ping-pong RTT and one-way
 * datagram rate against our plain UDP measured in the same run, and CCID 2
 * goodput through the lossy `Relay` at 0, 1 and 5 % loss; CCID 3 (issue 13):
 * goodput and smoothness through the relay next to CCID 2 and the TFRC
 * equation. Peer: bench/peers/dccp.ts.
 */
import { throughput } from "../../src/dccp/engine/Tfrc.ts"
import { type Case, extras, field, LATENCY_EXTRAS, type RunContext, type Sample, sleep, type Variant, warmupMs } from "../lib/bench.ts"
import { runPair, startPair } from "../lib/pairs.ts"
import { CROSS, type Placement, SAME } from "../lib/placement.ts"
import { type Program, withSession } from "../lib/proc.ts"

type Impl = "dccp" | "fiber" | "readiness"

// --- RTT ------------------------------------------------------------------------------------

const RTT_SIZE = 64

const rtt = (impl: Impl, at: Placement) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const rounds = ctx.quick ? 5000 : 20000, warmup = ctx.quick ? 2000 : 3000
    const r = await runPair(s, {
      server: { peer: "dccp", args: ["--role", "server", "--impl", impl] },
      client: (port): Program => ({
        peer: "dccp",
        args: ["--role", "client", "--impl", impl, "--port", port, "--size", RTT_SIZE, "--rounds", rounds, "--warmup", warmup, "--warmup-ms", warmupMs(ctx)]
      }),
      at
    })
    return { value: field(r, "mean_us"), extra: extras(r, LATENCY_EXTRAS) }
  })

const rttCase: Case = {
  id: "dccp-rtt",
  group: "dccp",
  title: "DCCP-UDP ping-pong RTT 64 B vs our plain UDP, same core (µs)",
  unit: "µs",
  better: "lower",
  delta: true,
  method:
    "The client sends 64 B and waits for the echo, 20,000 round trips after a 3,000 warm-up (quick: 5,000 after 2,000); the value is the " +
    "client's mean round trip, p50/p99 from every round trip. Both ends are the named implementation, both on CPU 0 (taskset), park reactor. " +
    "DCCP: Dccp.connect → Dccp.listen (transport \"udp\", RFC 6773; CCID 2), client send + recv, server recv → send in its run handler. " +
    "Plain UDP fiber: Udp.make DatagramSocket, connected client write + pull, server pull → write back to the datagram. " +
    "Plain UDP readiness: UdpSocket + Poll.poll, send/recv against recvFrom/sendTo.",
  variants: [
    { name: "ours plain UDP fiber (DatagramSocket, park) <-> same", placement: SAME.label, ref: true, run: rtt("fiber", SAME) },
    { name: "ours DCCP-UDP (Dccp.connect <-> Dccp.listen, park)", placement: SAME.label, run: rtt("dccp", SAME) },
    { name: "ours plain UDP readiness (UdpSocket + Poll.poll, park) <-> same", placement: SAME.label, run: rtt("readiness", SAME) }
  ]
}

// --- one-way rate ---------------------------------------------------------------------------------

/** Receiver and sender; through a relay when `loss` is given. */
const oneWay = async (
  ctx: RunContext,
  impl: Impl,
  size: number,
  secs: number,
  relay?: {
    readonly loss: number
    readonly delayMs: number
    readonly seed: number
    readonly sendArgs?: ReadonlyArray<string | number>
    readonly recvArgs?: ReadonlyArray<string | number>
  },
  recvArgs: ReadonlyArray<string | number> = relay?.recvArgs ?? []
): Promise<{ sent: Record<string, unknown>; got: Record<string, unknown>; relayed?: Record<string, unknown> }> =>
  withSession(async (s) => {
    const recvProgram: Program = { peer: "dccp", args: ["--role", "recv", "--impl", impl, ...recvArgs] }
    const sendArgs = ["--role", "send", "--impl", impl, "--size", size, "--secs", secs, ...(relay?.sendArgs ?? [])]
    const wait = 30_000 + secs * 1000
    if (relay === undefined) {
      const { server: receiver, client: sender } = await startPair(s, {
        server: recvProgram,
        client: (port) => ({ peer: "dccp", args: [...sendArgs, "--port", port] }),
        at: CROSS
      })
      const sent = await sender.result(wait)
      // Let the receiver drain its socket and queue, then stop it.
      await sleep(100)
      receiver.writeLine("stop")
      return { sent, got: await receiver.result(10_000) }
    }
    const receiver = s.spawn({ name: "receiver", program: recvProgram, cpu: CROSS.a })
    const port = await receiver.ready()
    const relayProc = s.spawn({
      name: "relay",
      program: {
        peer: "dccp",
        args: ["--role", "relay", "--impl", "relay", "--target", port, "--loss", relay.loss, "--delay-ms", relay.delayMs, "--seed", relay.seed + ctx.run]
      },
      cpu: CROSS.a
    })
    const relayPort = await relayProc.ready()
    const sender = s.spawn({ name: "sender", program: { peer: "dccp", args: [...sendArgs, "--port", relayPort, "--dccp-port", port] }, cpu: CROSS.b })
    const sent = await sender.result(wait)
    await sleep(100)
    receiver.writeLine("stop")
    relayProc.writeLine("stop")
    return { sent, got: await receiver.result(10_000), relayed: await relayProc.result(10_000) }
  })

const DCCP_EXTRAS = ["cwnd", "rtt_ms", "loss_events", "lost_packets"]

const rate = (impl: Impl, size: number) => async (ctx: RunContext): Promise<Sample> => {
  const { sent, got } = await oneWay(ctx, impl, size, ctx.quick ? 0.3 : 1)
  const received = field(got, "received"), transmitted = field(sent, "transmitted")
  const extra: Record<string, number> = {
    sent_per_s: field(sent, "sent_per_s"),
    loss_pct: transmitted > 0 ? Math.max(0, (1 - received / transmitted) * 100) : 0,
    ...extras(sent, DCCP_EXTRAS),
    ...extras(got, ["receive_dropped"])
  }
  return { value: field(got, "per_s"), extra }
}

/** Bins of the steady rate: the receiver's bytes per 100 ms after the first second (JIT warm-up, slow start). */
const STEADY_BIN_MS = 100
const STEADY_SKIP_MS = 1000

const steadyRate = (impl: Impl, size: number) => async (ctx: RunContext): Promise<Sample> => {
  const skipMs = ctx.quick ? 300 : STEADY_SKIP_MS
  const { sent, got } = await oneWay(ctx, impl, size, ctx.quick ? 1 : 3, undefined, ["--bin-ms", STEADY_BIN_MS, "--skip-ms", skipMs])
  return {
    value: field(got, "steady_Bps") / size,
    extra: { whole_run_per_s: field(got, "per_s"), sent_per_s: field(sent, "sent_per_s"), cov: field(got, "cov"), ...extras(sent, DCCP_EXTRAS) }
  }
}

/** Plain UDP (the reference) and DCCP, one way, each measured by `run`. */
const oneWayVariants = (run: (impl: Impl, size: number) => (ctx: RunContext) => Promise<Sample>, size: number): Array<Variant> => [
  { name: "ours plain UDP fiber (DatagramSocket write per datagram, park)", placement: CROSS.label, ref: true, run: run("fiber", size) },
  { name: "ours DCCP-UDP, CCID 2 (socket.send / socket.recv, park)", placement: CROSS.label, ref: false, run: run("dccp", size) }
]

const steadyRateCase = (size: number): Case => ({
  id: `dccp-rate-${size}-steady`,
  group: "dccp",
  title: `DCCP-UDP one-way rate ${size} B, steady state (3 s, the first second left out), vs our plain UDP (datagrams/s received)`,
  unit: "dgram/s",
  better: "higher",
  method:
    `As dccp-rate-${size}, but the sender runs 3 s (quick: 1 s) and the value is the receiver's datagrams per second over its ` +
    `${STEADY_BIN_MS} ms bins after the first ${STEADY_SKIP_MS} ms (quick: 300 ms) from its first arrival, for both variants: ` +
    "the rate once the JIT has compiled each path and CCID 2 has left slow start. whole_run_per_s is the whole run's rate, warm-up " +
    "included; cov the coefficient of variation of the steady bins. The 1-s case above stays the issue's reading; this one says " +
    "what the cold start costs.",
  variants: oneWayVariants(steadyRate, size)
})

const rateCase = (size: number): Case => ({
  id: `dccp-rate-${size}`,
  group: "dccp",
  title: `DCCP-UDP one-way rate ${size} B, 1 s, vs our plain UDP (datagrams/s received)`,
  unit: "dgram/s",
  better: "higher",
  method:
    "The sender sends as fast as it can for 1 s (quick: 0.3 s), one datagram per call; the receiver counts datagrams / (last − first " +
    "arrival); loss_pct compares with what the sender transmitted. Receiver on CPU 0, sender on CPU 1, park reactor, default socket " +
    "buffers. DCCP: socket.send waits while the send queue (5 datagrams, Linux's tx_qlen: what CCID 2's window holds back) is " +
    "full, so CCID 2's window paces the sender; socket.recv at the receiver. cwnd (packets), rtt_ms (CCID 2's smoothed RTT), loss_events and lost_packets are the " +
    "sender's info() at the end. Plain UDP: Udp.make DatagramSocket, writer.write per datagram (unpaced), reader.pull; " +
    "receive_dropped: datagrams the receiver's queue (DCCP's or the DatagramSocket's, 1024) dropped.",
  variants: oneWayVariants(rate, size)
})

// --- goodput through the relay -----------------------------------------------------------------------

const GOODPUT_SIZE = 1000
/** One-way delay the relay adds: a 10 ms round trip, so the window, not the CPU, sets the rate under loss. */
const DELAY_MS = 5

const goodput = (loss: number, delayMs: number) => async (ctx: RunContext): Promise<Sample> => {
  const { sent, got, relayed } = await oneWay(ctx, "dccp", GOODPUT_SIZE, ctx.quick ? 0.5 : 2, { loss, delayMs, seed: 7 })
  const transmitted = field(sent, "transmitted"), received = field(got, "received")
  const extra: Record<string, number> = {
    delivered_pct: transmitted > 0 ? (received / transmitted) * 100 : 0,
    pkts_per_s: field(got, "per_s"),
    ...extras(sent, DCCP_EXTRAS),
    relay_dropped: field(relayed!, "forward_dropped") + field(relayed!, "backward_dropped"),
    relay_send_failures: field(relayed!, "send_failures")
  }
  // RFC 4341 / TCP-friendly context (Mathis et al.): rate ≈ MSS / RTT · 1.22 / √p, with
  // CCID 2's own smoothed RTT at the end of the run and p the relay's loss rate; not a target.
  const rttMs = typeof sent["rtt_ms"] === "number" ? sent["rtt_ms"] : Number.NaN
  if (loss > 0 && rttMs > 0) extra["mathis_Bps"] = (GOODPUT_SIZE / (rttMs / 1000)) * 1.22 / Math.sqrt(loss)
  return { value: field(got, "bytes_per_s"), extra }
}

const goodputCase: Case = {
  id: "dccp-goodput",
  group: "dccp",
  title: `DCCP-UDP CCID 2 goodput through the lossy relay (+${DELAY_MS} ms each way), 1000 B datagrams, 2 s (payload bytes/s delivered)`,
  unit: "B/s",
  better: "higher",
  method:
    "Three processes: the DCCP receiver (Dccp.listen, socket.recv) and the relay (src/testing/Relay.ts: Relay.make with " +
    `conditions { loss, latency ${DELAY_MS} ms } in both directions, seeded 7 + run) both on CPU 0, the unpaced DCCP sender on CPU 1, ` +
    "connecting to the relay. The relay gets its own process so its per-datagram work is not charged to either DCCP endpoint's " +
    "event loop; it shares CPU 0 with the receiver, as a middlebox on the receiver's host would. The added delay makes the round " +
    `trip ≥ ${2 * DELAY_MS} ms, so the rate under loss is set by CCID 2's window rather than by the CPU; the last row, without ` +
    "added delay, is bound by the relay's CPU (it arms its timerfd for every datagram when " +
    "nothing else is queued). The sender sends 1000 B datagrams for 2 s (quick: 0.5 s); " +
    "the value is payload bytes received / (last − first arrival), slow start included. delivered_pct: received / transmitted; " +
    "cwnd, rtt_ms (CCID 2's smoothed RTT), loss_events, lost_packets: the sender's info() at the end; relay_dropped: datagrams " +
    "the relay's links dropped (both directions, acks included); relay_send_failures: due datagrams the relay could not send. " +
    "mathis_Bps: the TCP-friendly rate MSS/RTT·1.22/√p for that RTT and p = the relay's loss rate, as context, not a target.",
  variants: [
    { name: `0 % loss, +${DELAY_MS} ms each way`, placement: CROSS.label, ref: true, run: goodput(0, DELAY_MS) },
    { name: `1 % loss, +${DELAY_MS} ms each way`, placement: CROSS.label, run: goodput(0.01, DELAY_MS) },
    { name: `5 % loss, +${DELAY_MS} ms each way`, placement: CROSS.label, run: goodput(0.05, DELAY_MS) },
    { name: "0 % loss, no added delay (bound by the relay's CPU)", placement: CROSS.label, run: goodput(0, 0) }
  ]
}

// --- CCID 3 against CCID 2 and the equation through the relay (issue 13) --------------------------------

/** Bins of the receiver's smoothness figure, and the start it leaves out (slow start). */
const BIN_MS = 200, SKIP_MS = 1000

const tfrc = (ccidId: 2 | 3, loss: number) => async (ctx: RunContext): Promise<Sample> => {
  const secs = ctx.quick ? 1.5 : 4
  const { sent, got, relayed } = await oneWay(ctx, "dccp", GOODPUT_SIZE, secs, {
    loss,
    delayMs: DELAY_MS,
    seed: 7,
    sendArgs: ["--ccid", ccidId, "--bin-ms", BIN_MS, "--skip-ms", SKIP_MS],
    recvArgs: ["--bin-ms", BIN_MS, "--skip-ms", SKIP_MS]
  })
  const transmitted = field(sent, "transmitted"), received = field(got, "received")
  const num = (j: Record<string, unknown>, k: string) => (typeof j[k] === "number" ? j[k] : Number.NaN)
  const steady = num(got, "steady_Bps")
  const rttMs = num(sent, "rtt_mean_ms")
  // The equation over the steady part: CCID 3's own p and RTT sampled every bin (averaged per
  // sample); for CCID 2, as context, the relay's loss rate with CCID 2's mean RTT.
  const equation = ccidId === 3 ? num(sent, "equation_mean_Bps") : loss > 0 && rttMs > 0 ? throughput(GOODPUT_SIZE, rttMs, loss) : Number.NaN
  const all: Record<string, number> = {
    steady_Bps: steady,
    ...extras(got, ["cov"]),
    delivered_pct: transmitted > 0 ? (received / transmitted) * 100 : 0,
    rtt_ms: rttMs,
    ...(ccidId === 3 ? { p: num(sent, "p_mean"), x_Bps: num(sent, "x_mean_Bps") } : { p: loss, ...extras(sent, ["cwnd", "loss_events"]) }),
    equation_Bps: equation,
    vs_equation: steady / equation,
    relay_dropped: field(relayed!, "forward_dropped") + field(relayed!, "backward_dropped")
  }
  // Figures without a value (the equation without loss) are left out.
  const extra = Object.fromEntries(Object.entries(all).filter(([, v]) => Number.isFinite(v)))
  return { value: field(got, "bytes_per_s"), extra }
}

const tfrcCase: Case = {
  id: "dccp-ccid3",
  group: "dccp",
  title: `DCCP-UDP CCID 3 and CCID 2 through the lossy relay (+${DELAY_MS} ms each way), 1000 B datagrams, 4 s (payload bytes/s delivered)`,
  unit: "B/s",
  better: "higher",
  method:
    "The dccp-goodput setup (receiver and relay on CPU 0, unpaced sender on CPU 1, relay seeded 7 + run) with the sender's CCID " +
    "chosen (Dccp.connect ccid: 3 or 2; the receiver accepts either) and 4 s of 1000 B datagrams (quick: 1.5 s). Value: payload " +
    `bytes received / (last − first arrival), slow start included. steady_Bps: bytes received per s over the ${BIN_MS} ms bins after ` +
    `the first ${SKIP_MS} ms; cov: their coefficient of variation (smoothness: lower is smoother). The sender samples its info() every ` +
    `${BIN_MS} ms after ${SKIP_MS} ms: rtt_ms is the mean RTT estimate; for CCID 3, p and x_Bps the means of the loss event rate its ` +
    "receiver reported and of X (info().tfrcTx), and equation_Bps the TFRC throughput equation (RFC 5348 §3.1, b = 1, t_RTO = 4R, " +
    "s = 1000 B) at each sample, averaged — what TFRC allows; for CCID 2, as context, the equation for the relay's loss rate and " +
    "CCID 2's mean RTT. vs_equation: steady_Bps / equation_Bps (the receiver gets the sending rate less the relay's losses). " +
    "Without loss the equation has no value: CCID 3 is limited by X ≤ 2·X_recv, CCID 2 by its window and the receive buffers.",
  variants: [
    { name: "CCID 3, 0 % loss", placement: CROSS.label, run: tfrc(3, 0) },
    { name: "CCID 3, 1 % loss", placement: CROSS.label, run: tfrc(3, 0.01) },
    { name: "CCID 3, 5 % loss", placement: CROSS.label, run: tfrc(3, 0.05) },
    { name: "CCID 2, 0 % loss", placement: CROSS.label, ref: true, run: tfrc(2, 0) },
    { name: "CCID 2, 1 % loss", placement: CROSS.label, run: tfrc(2, 0.01) },
    { name: "CCID 2, 5 % loss", placement: CROSS.label, run: tfrc(2, 0.05) }
  ]
}

export const cases: ReadonlyArray<Case> = [rttCase, rateCase(64), steadyRateCase(64), rateCase(1000), goodputCase, tfrcCase]
