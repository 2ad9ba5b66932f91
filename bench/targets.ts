/**
 * The issues' acceptance targets, checked against the medians of this run (every
 * ratio is between variants measured in the same run). A target whose case or
 * variant did not run is reported as "not run".
 */
import { median } from "./lib/bench.ts"
import { type CaseResult, paired, type VariantResult } from "./lib/report.ts"

export interface TargetResult {
  readonly issue: string
  readonly text: string
  readonly figure: string
  readonly status: "met" | "NOT MET" | "not run"
}

type Metric = { readonly kind: "delta"; readonly max: number } | { readonly kind: "ratio"; readonly min?: number; readonly max?: number } | {
  readonly kind: "value"
  readonly max: number
} | {
  /** The median within bounds; every run is shown (issue 11's absolute targets). */
  readonly kind: "bound"
  readonly min?: number
  readonly max?: number
  readonly digits: number
}

interface Target {
  readonly issue: "Foundation" | "Sockets" | "Messaging" | "Reliable UDP" | "Reliable UDP part 2" | "DCCP CCID 3" | "Fiber level"
  readonly text: string
  readonly caseId: string
  readonly variant: string
  /** Compare this extra instead of the headline value. */
  readonly extra?: string
  /** Compare with this variant of the case instead of its reference. */
  readonly against?: string
  readonly metric: Metric
  readonly unit?: string
}

const T = (issue: Target["issue"], text: string, caseId: string, variant: string, metric: Metric, more: Partial<Target> = {}): Target => ({
  issue,
  text,
  caseId,
  variant,
  metric,
  ...more
})

const FIBER_PARK = "ours fiber (Registration.readIo), park"
const FIBER_SPIN = "ours fiber (Registration.readIo), spin"

export const TARGETS: ReadonlyArray<Target> = [
  T("Foundation", "park: eventfd wake → fiber resume within 4 µs of a C epoll loop (same core)", "wake-same", FIBER_PARK, { kind: "delta", max: 4 }),
  T("Foundation", "park: eventfd wake → fiber resume within 4 µs of a C epoll loop (cross core)", "wake-cross", FIBER_PARK, { kind: "delta", max: 4 }),
  T("Foundation", "spin: eventfd wake → fiber resume within 1.5 µs of a C busy-poll loop (cross core)", "wake-busy", FIBER_SPIN, { kind: "delta", max: 1.5 }),
  T("Sockets", "same-core TCP RTT through the readiness level ≤ 1.15× C epoll (both ends ours)", "tcp-rtt-same", "ours readiness (Poll.poll, park) <-> same", { kind: "ratio", max: 1.15 }),
  T("Sockets", "same-core TCP RTT through the readiness level ≤ 1.15× C epoll (one end ours: our client, C server)", "tcp-rtt-same", "ours readiness client, park -> C epoll server", {
    kind: "ratio",
    max: 1.15
  }),
  T("Sockets", "same-core TCP RTT through the fiber level (effect/socket) ≤ 1.3× C epoll (both ends ours)", "tcp-rtt-same", "ours fiber (effect/socket Socket <-> SocketServer), park", {
    kind: "ratio",
    max: 1.3
  }),
  T("Sockets", "same-core TCP RTT through the fiber level (effect/socket) ≤ 1.3× C epoll (one end ours: our client, C server)", "tcp-rtt-same", "ours fiber client, park -> C epoll server", {
    kind: "ratio",
    max: 1.3
  }),
  T("Sockets", "cross-core TCP RTT with spin ≤ 1.2× C busy-spin (fiber level)", "tcp-rtt-busy", "ours fiber (effect/socket), spin", { kind: "ratio", max: 1.2 }),
  T("Sockets", "cross-core TCP RTT with spin ≤ 1.2× C busy-spin (readiness level, pollNow loop)", "tcp-rtt-busy", "ours readiness (pollNow busy loop) <-> same", {
    kind: "ratio",
    max: 1.2
  }),
  T("Sockets", "10k-connection server ≥ 0.95× C's msgs/s (readiness level)", "tcp-many", "ours readiness echo server (Poll, park)", { kind: "ratio", min: 0.95 }, {
    extra: "msgs_per_s"
  }),
  T("Sockets", "10k-connection server ≥ 0.95× C's msgs/s (fiber level)", "tcp-many", "ours fiber echo server (effect/socket SocketServer, park)", { kind: "ratio", min: 0.95 }, {
    extra: "msgs_per_s"
  }),
  T("Sockets", "10k-connection server ≤ 1 KiB RSS per connection (readiness level)", "tcp-many", "ours readiness echo server (Poll, park)", { kind: "value", max: 1024 }, {
    extra: "rss_per_conn_b",
    unit: "B"
  }),
  T("Sockets", "10k-connection server ≤ 1 KiB RSS per connection (fiber level)", "tcp-many", "ours fiber echo server (effect/socket SocketServer, park)", {
    kind: "value",
    max: 1024
  }, { extra: "rss_per_conn_b", unit: "B" }),
  T("Sockets", "UDP receive ≤ 0.6 µs CPU per datagram with batching, 64 B (recvBatch)", "udp-recv-cost-64", "ours UdpSocket.recvBatch(32) + copy", { kind: "value", max: 600 }, {
    unit: "ns"
  }),
  T("Sockets", "UDP receive ≤ 0.6 µs CPU per datagram with batching, 64 B (DatagramSocket)", "udp-recv-cost-64", "ours DatagramSocket reader.pull (Udp.make, park)", {
    kind: "value",
    max: 600
  }, { unit: "ns" }),
  T("Sockets", "UDP end-to-end batched rate ≥ 1.3× Node dgram, 64 B (readiness, sendBatch/recvBatch)", "udp-oneway-64", "ours readiness sendBatch/recvBatch x32 (park)", {
    kind: "ratio",
    min: 1.3
  }),
  T("Sockets", "UDP end-to-end batched rate ≥ 1.3× Node dgram, 64 B (fiber, DatagramSocket)", "udp-oneway-64", "ours fiber DatagramSocket writeAll x32 / pull (park)", {
    kind: "ratio",
    min: 1.3
  }),
  T("Sockets", "UDP end-to-end batched rate ≥ 1.3× Node dgram, 1200 B (readiness, sendBatch/recvBatch)", "udp-oneway-1200", "ours readiness sendBatch/recvBatch x32 (park)", {
    kind: "ratio",
    min: 1.3
  }),
  T("Sockets", "UDP end-to-end batched rate ≥ 1.3× Node dgram, 1200 B (fiber, DatagramSocket)", "udp-oneway-1200", "ours fiber DatagramSocket writeAll x32 / pull (park)", {
    kind: "ratio",
    min: 1.3
  }),
  T("Sockets", "TCP bulk ≥ 0.95× C (readiness level)", "tcp-bulk", "ours readiness (Poll, park)", { kind: "ratio", min: 0.95 }),
  T("Sockets", "TCP bulk ≥ 0.95× C (fiber level)", "tcp-bulk", "ours fiber (effect/socket Socket), park", { kind: "ratio", min: 0.95 }),
  T("Sockets", "accept rate ≥ 0.9× C (readiness level)", "tcp-accept", "C client -> ours readiness (TcpListener + Poll, park)", { kind: "ratio", min: 0.9 }),
  T("Sockets", "accept rate ≥ 0.9× C (fiber level)", "tcp-accept", "C client -> ours fiber (effect/socket SocketServer, park)", { kind: "ratio", min: 0.9 }),
  // The same targets through the opt-in modes that block the JS thread in epoll_wait.
  T("Foundation", "opt-in: eventfd wake within 4 µs of C (same core), fiber, block strategy", "wake-same", "ours fiber, block strategy (opt-in)", { kind: "delta", max: 4 }),
  T("Foundation", "opt-in: eventfd wake within 4 µs of C (same core), readiness, Poll.pollBlocking", "wake-same", "ours readiness (Poll.pollBlocking loop, opt-in)", {
    kind: "delta",
    max: 4
  }),
  T("Sockets", "opt-in: same-core TCP RTT ≤ 1.15× C, readiness pollBlocking (both ends ours)", "tcp-rtt-same", "ours readiness (Poll.pollBlocking: blocks the thread, opt-in) <-> same", {
    kind: "ratio",
    max: 1.15
  }),
  T("Sockets", "opt-in: same-core TCP RTT ≤ 1.15× C, readiness pollBlocking (our client, C server)", "tcp-rtt-same", "ours readiness client, pollBlocking -> C epoll server", {
    kind: "ratio",
    max: 1.15
  }),
  T("Sockets", "opt-in: same-core TCP RTT ≤ 1.3× C, fiber, block strategy (both ends ours)", "tcp-rtt-same", "ours fiber, block strategy (opt-in) <-> same", { kind: "ratio", max: 1.3 }),
  T("Sockets", "opt-in: same-core TCP RTT ≤ 1.3× C, fiber, block strategy (our client, C server)", "tcp-rtt-same", "ours fiber client, block strategy -> C epoll server", {
    kind: "ratio",
    max: 1.3
  }),
  T("Sockets", "opt-in: 10k-connection server ≥ 0.95× C's msgs/s, readiness pollBlocking", "tcp-many", "ours readiness echo server (Poll.pollBlocking, opt-in)", { kind: "ratio", min: 0.95 }, {
    extra: "msgs_per_s"
  }),
  T("Sockets", "opt-in: 10k-connection server ≤ 1 KiB RSS per connection, readiness pollBlocking", "tcp-many", "ours readiness echo server (Poll.pollBlocking, opt-in)", {
    kind: "value",
    max: 1024
  }, { extra: "rss_per_conn_b", unit: "B" }),
  T("Sockets", "opt-in: accept rate ≥ 0.9× C, readiness pollBlocking", "tcp-accept", "C client -> ours readiness (TcpListener + Poll.pollBlocking, opt-in)", {
    kind: "ratio",
    min: 0.9
  }),
  T("Sockets", "opt-in: accept rate ≥ 0.9× C, fiber, block strategy", "tcp-accept", "C client -> ours fiber, block strategy (opt-in)", { kind: "ratio", min: 0.9 }),
  // issue 10: typed messaging
  T("Messaging", "typed 64 B round trip ≤ 1.2× our raw effect/socket TCP round trip, same core (Svc recv/send loop)", "msg-rtt-same", "ours typed Clt <-> Svc (recv/send loop), park", {
    kind: "ratio",
    max: 1.2
  }),
  T("Messaging", "typed 64 B round trip ≤ 1.2× our raw effect/socket TCP round trip, same core (Svc sendReply)", "msg-rtt-same", "ours typed Clt <-> Svc (sendReply), park", {
    kind: "ratio",
    max: 1.2
  }),
  T("Messaging", "typed 64 B round trip with wait: spin ≤ 1.3× C busy-spin TCP, cross core (Svc recv/send loop)", "msg-rtt-busy", "ours typed Clt <-> Svc (recv/send loop), wait: spin", {
    kind: "ratio",
    max: 1.3
  }),
  T("Messaging", "typed 64 B round trip with wait: spin ≤ 1.3× C busy-spin TCP, cross core (Svc sendReply)", "msg-rtt-busy", "ours typed Clt <-> Svc (sendReply), wait: spin", {
    kind: "ratio",
    max: 1.3
  }),
  T("Messaging", "one-way typed rate, 100 B, batched writes ≥ 2× node:net ndjson", "msg-rate-100", "ours typed Clt.sendAll x64 -> Svc (binary layout, park)", { kind: "ratio", min: 2 }),
  T("Messaging", "request/response calls/s ≥ 3× Effect RPC over NodeSocket (1 in flight)", "msg-calls-1", "ours typed Clt -> Svc (sendReply)", { kind: "ratio", min: 3 }),
  T("Messaging", "request/response calls/s ≥ 3× Effect RPC over NodeSocket (16 in flight)", "msg-calls-16", "ours typed Clt -> Svc (sendReply)", { kind: "ratio", min: 3 }),
  T("Reliable UDP", "Delivery 100 B messages/s ≥ 0.5× our plain UDP batched rate (grouping)", "rudp-rate-100", "ours RUDP Delivery, reactor-driven Endpoint, grouped (park)", {
    kind: "ratio",
    min: 0.5
  }),
  T("Reliable UDP", "request/response RTT ≤ our plain UDP ping-pong RTT + 10 µs (reactor-driven)", "rudp-rtt", "ours RUDP Delivery, reactor-driven Endpoint (park)", {
    kind: "delta",
    max: 10
  }),
  T("Reliable UDP", "request/response RTT ≤ our plain UDP ping-pong RTT + 10 µs (user-driven)", "rudp-rtt", "ours RUDP Delivery, user-driven Endpoint (park)", {
    kind: "delta",
    max: 10
  }),
  // Issue 12: the fiber level against C, Node `net` and Effect's NodeSocket (same runs). The targets
  // that repeat a Sockets target with the same bound (same-core RTT ≤ 1.3×, spin ≤ 1.2×, accept ≥ 0.9×,
  // recvBatch ≤ 600 ns) are the Sockets rows above.
  T("Fiber level", "10k idle + 100 active conns ≥ 0.9× C's msgs/s (fiber level)", "tcp-many", "ours fiber echo server (effect/socket SocketServer, park)", { kind: "ratio", min: 0.9 }, {
    extra: "msgs_per_s"
  }),
  T("Fiber level", "10k idle + 100 active conns ≤ 2 KiB RSS per connection (fiber level)", "tcp-many", "ours fiber echo server (effect/socket SocketServer, park)", {
    kind: "value",
    max: 2048
  }, { extra: "rss_per_conn_b", unit: "B" }),
  T("Fiber level", "UDP receive ≤ 800 ns CPU per datagram, 64 B (DatagramSocket)", "udp-recv-cost-64", "ours DatagramSocket reader.pull (Udp.make, park)", { kind: "value", max: 800 }, {
    unit: "ns"
  }),
  T("Fiber level", "same-core TCP RTT, both ends ours (fiber) ≤ Node net <-> Node net", "tcp-rtt-same", "ours fiber (effect/socket Socket <-> SocketServer), park", { kind: "ratio", max: 1 }, {
    against: "Node net <-> Node net"
  }),
  T("Fiber level", "same-core TCP RTT, both ends ours (fiber) ≤ Effect NodeSocket <-> NodeSocketServer", "tcp-rtt-same", "ours fiber (effect/socket Socket <-> SocketServer), park", {
    kind: "ratio",
    max: 1
  }, { against: "Effect NodeSocket <-> NodeSocketServer" }),
  T("Fiber level", "10k-connection msgs/s (fiber) ≥ Node net", "tcp-many", "ours fiber echo server (effect/socket SocketServer, park)", { kind: "ratio", min: 1 }, {
    extra: "msgs_per_s",
    against: "Node net echo server"
  }),
  T("Fiber level", "10k-connection msgs/s (fiber) ≥ Effect NodeSocketServer", "tcp-many", "ours fiber echo server (effect/socket SocketServer, park)", { kind: "ratio", min: 1 }, {
    extra: "msgs_per_s",
    against: "Effect NodeSocketServer echo server"
  }),
  T("Fiber level", "10k-connection RSS per connection (fiber) ≤ Node net", "tcp-many", "ours fiber echo server (effect/socket SocketServer, park)", { kind: "ratio", max: 1 }, {
    extra: "rss_per_conn_b",
    against: "Node net echo server"
  }),
  T("Fiber level", "10k-connection RSS per connection (fiber) ≤ Effect NodeSocketServer", "tcp-many", "ours fiber echo server (effect/socket SocketServer, park)", { kind: "ratio", max: 1 }, {
    extra: "rss_per_conn_b",
    against: "Effect NodeSocketServer echo server"
  }),
  T("Fiber level", "accept rate (fiber) ≥ Node net", "tcp-accept", "C client -> ours fiber (effect/socket SocketServer, park)", { kind: "ratio", min: 1 }, {
    against: "C client -> Node net server"
  }),
  T("Fiber level", "accept rate (fiber) ≥ Effect NodeSocketServer", "tcp-accept", "C client -> ours fiber (effect/socket SocketServer, park)", { kind: "ratio", min: 1 }, {
    against: "C client -> Effect NodeSocketServer"
  }),
  ...(["tcp", "unix"] as const).flatMap((net) =>
    (["ndjson", "binary"] as const).map((ser) =>
      T("Fiber level", `Effect RPC calls/s over ours ≥ 1.2× over NodeSocket (${net === "tcp" ? "TCP" : "Unix"}, ${ser === "ndjson" ? "ndjson" : "SchemaBinary"})`, `rpc-${net}-${ser}`, `Effect RPC over ours (${net === "tcp" ? "Tcp" : "Unix"}, park)`, {
        kind: "ratio",
        min: 1.2
      })
    )
  ),
  // Issue 13: the DCCP data path against our plain UDP, same run.
  T("DCCP CCID 3", "DCCP-UDP ping-pong RTT ≤ 1.3× our plain UDP (fiber level, same core)", "dccp-rtt", "ours DCCP-UDP (Dccp.connect <-> Dccp.listen, park)", {
    kind: "ratio",
    max: 1.3
  }),
  T("DCCP CCID 3", "DCCP-UDP one-way rate, 64 B, ≥ 0.6× our plain UDP", "dccp-rate-64", "ours DCCP-UDP, CCID 2 (socket.send / socket.recv, park)", {
    kind: "ratio",
    min: 0.6
  }),
  ...rudpLossTargets()
]

function rudpLossTargets(): Array<Target> {
  const OURS = "ours RUDP (default: delivery-rate controller)"
  const P2 = "Reliable UDP part 2" as const
  const out: Array<Target> = [
    T(P2, "small-burst at 5 % loss ≤ 0.4 s (ENet 1.65 s, KCP-fast 3.8 s, TCP-BBR 0.47 s in the reference runs)", "rudp-loss-burst-5", OURS, { kind: "bound", max: 0.4, digits: 2 }),
    T(P2, "small-paced at 5 % loss p99 ≤ 50 ms (ENet 495 ms, KCP-fast 60 ms)", "rudp-loss-paced-5", OURS, { kind: "bound", max: 50, digits: 1 }),
    T(P2, "bulk at 0 % loss ≥ 100 Mbit/s (ENet ~25, KCP-fast ~32)", "rudp-loss-bulk-0", OURS, { kind: "bound", min: 100, digits: 1 }),
    T(P2, "bulk at 1 % loss ≥ 100 Mbit/s (ENet ~25, KCP-fast ~22)", "rudp-loss-bulk-1", OURS, { kind: "bound", min: 100, digits: 1 }),
    T(P2, "bytes on the wire per delivered byte ≤ 1.15 at 5 % loss, small-burst (KCP-fast ~1.5)", "rudp-loss-burst-5", OURS, { kind: "bound", max: 1.15, digits: 3 }, {
      extra: "fwd_wire_ratio",
      unit: "B/B"
    }),
    T(P2, "encryption on: ≥ 0.7× the message rate of encryption off", "rudp-loss-encryption-rate", "ours RUDP, encryption on (psk, AES-256-GCM, the default)", { kind: "ratio", min: 0.7 }),
    T(P2, "server: 10,000 peers connected on one port (CPU and RSS per peer reported)", "rudp-server-10k", "ours EndpointServer, 10,000 peers × 1 msg/s", {
      kind: "bound",
      min: 10_000,
      digits: 0
    }),
    T(P2, "server: those 10,000 peers' 1 message/s each taken by the server (≥ 9,500 msg/s)", "rudp-server-10k", "ours EndpointServer, 10,000 peers × 1 msg/s", {
      kind: "bound",
      min: 9_500,
      digits: 0
    }, { extra: "msgs_per_s", unit: "msg/s" })
  ]
  for (const seed of ["", "-s2", "-s3"]) {
    const label = seed === "" ? "seed 1" : `seed ${seed.slice(2)}`
    out.push(
      T(P2, `20 % loss, ${label}: small-burst ≤ 3 s (ENet 8.4 s, KCP-fast 5.3 s)`, `rudp-loss-burst-20${seed}`, OURS, { kind: "bound", max: 3, digits: 2 }),
      T(P2, `20 % loss, ${label}: small-paced p99 ≤ 500 ms (ENet 1.0 s, KCP-fast 7.5 s)`, `rudp-loss-paced-20${seed}`, OURS, { kind: "bound", max: 500, digits: 1 })
    )
    for (const w of ["burst", "paced", "bulk"]) {
      out.push(T(P2, `20 % loss, ${label}, ${w}: no disconnect, every message delivered`, `rudp-loss-${w}-20${seed}`, OURS, { kind: "bound", min: 1, digits: 0 }, { extra: "done", unit: "done" }))
    }
  }
  return out
}

/** The reference of a comparison: the variant marked ref, or for udp-oneway the Node dgram row. */
const referenceFor = (r: CaseResult): VariantResult | undefined =>
  r.id.startsWith("udp-oneway-") ? r.variants.find((v) => v.name === "Node dgram") : r.variants.find((v) => v.ref)

const num = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "–")
const sign = (x: number) => (x >= 0 ? "+" : "")
const valuesOf = (v: VariantResult, extra: string | undefined): Array<number> =>
  v.samples.map((s) => (extra === undefined ? s.value : s.extra?.[extra])).filter((x): x is number => x !== undefined)

export const evaluateTargets = (results: ReadonlyArray<CaseResult>): Array<TargetResult> =>
  TARGETS.map((t): TargetResult => {
    const r = results.find((c) => c.id === t.caseId)
    const v = r?.variants.find((x) => x.name === t.variant)
    const ref = r === undefined ? undefined : t.against !== undefined ? r.variants.find((x) => x.name === t.against) : referenceFor(r)
    if (r === undefined || v === undefined || ref === undefined || v.samples.length === 0 || ref.samples.length === 0) {
      return { issue: t.issue, text: t.text, figure: "–", status: "not run" }
    }
    const val = t.extra === undefined ? v.median : v.extras[t.extra] ?? Number.NaN
    const refVal = t.extra === undefined ? ref.median : ref.extras[t.extra] ?? Number.NaN
    const m = t.metric
    const unit = t.extra === undefined ? r.unit : t.extra
    switch (m.kind) {
      case "delta": {
        const ds = paired(v, ref, (a, b) => a - b, t.extra)
        const d = median(ds)
        return {
          issue: t.issue,
          text: t.text,
          figure: `${sign(d)}${num(d)} ${unit} (runs ${sign(Math.min(...ds))}${num(Math.min(...ds))} to ${sign(Math.max(...ds))}${num(Math.max(...ds))}; ` +
            `medians ${num(val, 1)} vs ${num(refVal, 1)} ${unit})`,
          status: d <= m.max ? "met" : "NOT MET"
        }
      }
      case "ratio": {
        const rs = paired(v, ref, (a, b) => a / b, t.extra)
        const ratio = median(rs)
        const okMin = m.min === undefined || ratio >= m.min
        const okMax = m.max === undefined || ratio <= m.max
        return {
          issue: t.issue,
          text: t.text,
          figure: `${num(ratio, 3)}× (runs ${num(Math.min(...rs))}–${num(Math.max(...rs))}×; medians ${num(val, val < 100 ? 1 : 0)} vs ${num(refVal, refVal < 100 ? 1 : 0)} ${unit})`,
          status: okMin && okMax ? "met" : "NOT MET"
        }
      }
      case "bound": {
        const runs = valuesOf(v, t.extra).map((x) => num(x, m.digits)).join(", ")
        const okMin = m.min === undefined || val >= m.min
        const okMax = m.max === undefined || val <= m.max
        return { issue: t.issue, text: t.text, figure: `${num(val, m.digits)} ${t.unit ?? unit} (runs ${runs})`, status: okMin && okMax ? "met" : "NOT MET" }
      }
      case "value":
        return {
          issue: t.issue,
          text: t.text,
          figure: `${num(val, 0)} ${t.unit ?? r.unit} (runs ${num(Math.min(...valuesOf(v, t.extra)), 0)}–${num(Math.max(...valuesOf(v, t.extra)), 0)})`,
          status: val <= m.max ? "met" : "NOT MET"
        }
    }
  })
