/**
 * Reliable UDP part 2 (issue 11), head to head: ours against ENet (Debian's
 * libenet through our C driver native/enet_peer.c, reliable channel 0, default
 * host settings) and KCP (node-kcp, fast preset nodelay(1, 10, 2, 1), window
 * 128), through the project's lossy `Relay` in its own process — 10 ms each
 * way, loss 0 / 1 / 5 / 20 % both ways (20 % with three seeds) — in the same
 * run. Workloads, every message reliable and ordered and carrying its offered
 * time: small-burst 10,000 × 100 B offered at t0 (completion), small-paced
 * 4,000 × 100 B at 2,000 msg/s (latency), bulk 20 MiB as 20,480 × 1 KiB
 * (goodput). Also: the relay alone (plain UDP as fast as it goes), and our
 * message rate with encryption on and off. Peers: bench/peers/rudploss.ts,
 * native/enet_peer.c.
 */
import { existsSync } from "node:fs"
import * as path from "node:path"
import { type Case, field, type RunContext, type Sample, sleep, type Variant } from "../lib/bench.ts"
import { hasPackage } from "../lib/optional.ts"
import { NATIVE, type Program, type Session, withSession } from "../lib/proc.ts"

export type Impl = "ours" | "ours-aimd" | "ours-encrypted" | "enet" | "kcp"
export type Workload = "burst" | "paced" | "bulk"

const WORKLOADS: Readonly<Record<Workload, { readonly count: number; readonly size: number; readonly capMs: number }>> = {
  burst: { count: 10_000, size: 100, capMs: 12_000 },
  paced: { count: 4_000, size: 100, capMs: 12_000 },
  bulk: { count: 20_480, size: 1024, capMs: 15_000 }
}

const PSK = "52756470206c6f73732062656e63686d61726b20707368206b6579"

/**
 * The relay's path MTU in UDP payload bytes: an Ethernet path (1,500 less IPv4 and UDP headers). Longer
 * datagrams are dropped, so path MTU discovery meets what a network has, not loopback's 64 KiB.
 */
const PATH_MTU = 1472

const enetSkip = existsSync(path.join(NATIVE, "enet_peer")) ? undefined : "native/enet_peer was not built (libenet-dev missing: scripts/ensure-bench-tools.sh)"
const kcpSkip = hasPackage("node-kcp") && existsSync(path.join(path.dirname(NATIVE), "..", "node_modules", "node-kcp", "build", "Release", "kcp.node"))
  ? undefined
  : "node-kcp is not installed and built (npm install; scripts/ensure-bench-tools.sh)"

const programs = (impl: Impl, w: Workload, relayPort: number | undefined): Program => {
  const { count, size, capMs } = WORKLOADS[w]
  if (impl === "enet") {
    return relayPort === undefined
      ? { c: "enet_peer", args: ["--role", "recv", "--count", count, "--cap-ms", capMs] }
      : { c: "enet_peer", args: ["--role", "send", "--port", relayPort, "--workload", w, "--count", count, "--size", size] }
  }
  const base = impl === "kcp" ? ["--impl", "kcp"] : ["--impl", "ours"]
  const extra = impl === "ours-aimd" ? ["--congestion", "aimd"] : (impl as string) === "ours-none" ? ["--congestion", "none"] : impl === "ours-encrypted" ? ["--psk", PSK] : []
  return relayPort === undefined
    ? { peer: "rudploss", args: ["--role", "recv", ...base, ...extra, "--count", count, "--cap-ms", capMs] }
    : { peer: "rudploss", args: ["--role", "send", ...base, ...extra, "--port", relayPort, "--workload", w, "--count", count, "--size", size] }
}

/** One run of `impl` on workload `w` through the relay at `loss`: the receiver's and the relay's figures. */
export const lossRun = (impl: Impl, w: Workload, loss: number, seed: number): Promise<Record<string, number>> =>
  withSession(async (s: Session) => {
    const receiver = s.spawn({ name: `${impl} receiver`, program: programs(impl, w, undefined) })
    const port = await receiver.ready()
    const relay = s.spawn({ name: "relay", program: { peer: "rudploss", args: ["--role", "relay", "--target", port, "--loss", loss, "--delay-ms", 10, "--seed", seed, "--mtu", PATH_MTU] } })
    const relayPort = await relay.ready()
    s.spawn({ name: `${impl} sender`, program: programs(impl, w, relayPort) })
    const r = await receiver.result(WORKLOADS[w].capMs + 30_000)
    relay.writeLine("stop")
    const path_ = await relay.result(10_000)
    const delivered = field(r, "bytes")
    const out: Record<string, number> = {
      delivered: field(r, "delivered"),
      done: field(r, "done"),
      completion_s: field(r, "completion_s"),
      p50_ms: field(r, "p50_ms"),
      p99_ms: field(r, "p99_ms"),
      max_ms: field(r, "max_ms"),
      goodput_mbit_s: field(r, "completion_s") > 0 ? (delivered * 8) / field(r, "completion_s") / 1e6 : 0,
      fwd_wire_ratio: delivered > 0 ? field(path_, "fwd_wire_bytes") / delivered : 0,
      rev_wire_ratio: delivered > 0 ? field(path_, "rev_wire_bytes") / delivered : 0,
      fwd_datagrams: field(path_, "fwd_datagrams"),
      out_of_order: field(r, "out_of_order")
    }
    if (typeof r["disconnected"] === "number") out["disconnected"] = r["disconnected"]
    return out
  })

const headline: Readonly<Record<Workload, { readonly key: string; readonly unit: string; readonly better: "lower" | "higher"; readonly title: string }>> = {
  burst: { key: "completion_s", unit: "s", better: "lower", title: "small-burst 10,000 × 100 B offered at t0: completion" },
  paced: { key: "p99_ms", unit: "ms", better: "lower", title: "small-paced 4,000 × 100 B at 2,000 msg/s: p99 latency" },
  bulk: { key: "goodput_mbit_s", unit: "Mbit/s", better: "higher", title: "bulk 20 MiB as 20,480 × 1 KiB: goodput" }
}

const METHOD =
  "Three processes, unpinned on the 2 vCPUs: the receiver, the relay (bench/peers/rudploss.ts --role relay: src/testing/Relay.ts, " +
  "10 ms one-way delay and Bernoulli loss in each direction, the row's seed, an Ethernet-size path: datagrams over 1,472 bytes dropped), the sender. Each message is reliable and ordered and " +
  "carries its offered time (µs of CLOCK_MONOTONIC, read by all three programs); latency = delivery − offered. Completion = first " +
  "offer to last delivery; a run is cut at 12 s (bulk 15 s), done = 0 then. fwd/rev wire ratio = bytes that entered the lossy path " +
  "(IPv4 + UDP headers included, retransmissions and acknowledgements included) / delivered payload. Ours: Endpoint (reactor-driven, " +
  "default configuration: the delivery-rate controller) on UdpLike.listen / Endpoint.connect, Guarantee.Delivery. ENet: libenet " +
  "1.3.17 (Debian), enet_host_create(…, 1 peer, 1 channel, 0, 0), ENET_PACKET_FLAG_RELIABLE on channel 0, enet_host_service every " +
  "≤ 1 ms. KCP: node-kcp 1.0.13, message mode, nodelay(1, 10, 2, 1), wndsize(128, 128), update() every 1 ms, on node:dgram."

interface Row {
  readonly loss: number
  readonly seed: number
}
const ROWS: ReadonlyArray<Row> = [
  { loss: 0, seed: 1 },
  { loss: 0.01, seed: 1 },
  { loss: 0.05, seed: 1 },
  { loss: 0.2, seed: 1 },
  { loss: 0.2, seed: 2 },
  { loss: 0.2, seed: 3 }
]

const rowId = (w: Workload, r: Row): string => `rudp-loss-${w}-${Math.round(r.loss * 100)}${r.seed === 1 ? "" : `-s${r.seed}`}`

const variant = (name: string, impl: Impl, w: Workload, r: Row, ref: boolean, skip?: string): Variant => ({
  name,
  ref,
  skip,
  run: async (ctx: RunContext): Promise<Sample> => {
    const x = await lossRun(impl, w, r.loss, r.seed + 1000 * ctx.run)
    // A run cut at the cap reports its figures so far, with done = 0.
    const { [headline[w].key]: value, ...extra } = x
    return { value: value!, extra }
  }
})

const lossCase = (w: Workload, r: Row): Case => {
  const loss = `${Math.round(r.loss * 100)} %`
  const variants: Array<Variant> = [
    variant("ours RUDP (default: delivery-rate controller)", "ours", w, r, true),
    variant("ENet 1.3.17 (reliable, channel 0, default host)", "enet", w, r, false, enetSkip),
    variant("KCP node-kcp (fast: nodelay 1,10,2,1, wnd 128)", "kcp", w, r, false, kcpSkip)
  ]
  if (r.seed === 1 && (r.loss === 0.05 || r.loss === 0)) {
    variants.push(variant("ours RUDP, congestion aimd (NewReno)", "ours-aimd", w, r, false))
    variants.push(variant("ours RUDP, encrypted (psk, AES-256-GCM, the default)", "ours-encrypted", w, r, false))
  }
  return {
    id: rowId(w, r),
    group: "rudp-loss",
    title: `Reliable UDP through the lossy relay, ${loss} loss${r.seed === 1 ? "" : ` (seed ${r.seed})`}, 10 ms each way — ${headline[w].title} (${headline[w].unit})`,
    unit: headline[w].unit,
    better: headline[w].better,
    method: METHOD,
    variants
  }
}

// --- the relay alone ---------------------------------------------------------------------------------

const relayAlone = (viaRelay: boolean) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const secs = ctx.quick ? 0.5 : 1
    const receiver = s.spawn({ name: "blast receiver", program: { peer: "rudploss", args: ["--role", "blast-recv"] } })
    const port = await receiver.ready()
    let target = port
    let relay: ReturnType<Session["spawn"]> | undefined
    if (viaRelay) {
      relay = s.spawn({ name: "relay", program: { peer: "rudploss", args: ["--role", "relay", "--target", port, "--loss", 0, "--delay-ms", 10, "--seed", 1] } })
      target = await relay.ready()
    }
    const sender = s.spawn({ name: "blaster", program: { peer: "rudploss", args: ["--role", "blast-send", "--port", target, "--secs", secs, "--size", 1024] } })
    const sent = await sender.result(30_000)
    await sleep(200)
    receiver.writeLine("stop")
    const got = await receiver.result(10_000)
    relay?.writeLine("stop")
    return { value: field(got, "mbit_s"), extra: { sent_datagrams: field(sent, "sent"), received_bytes: field(got, "bytes") } }
  })

const relayCase: Case = {
  id: "rudp-loss-relay",
  group: "rudp-loss",
  title: "The lossy relay alone: plain UDP 1 KiB datagrams through it at 0 % loss, 10 ms, as fast as the sender goes (Mbit/s received)",
  unit: "Mbit/s",
  better: "higher",
  method:
    "A UdpSocket sender (sendBatch of 32 × 1 KiB, then a turn of the event loop) for 1 s, through the relay process (as in the " +
    "rudp-loss rows, 0 % loss) or straight to the receiver; the receiver counts bytes / (last − first arrival). What the relay can " +
    "carry bounds every bulk figure of the rows.",
  variants: [
    { name: "plain UDP, no relay", ref: true, run: relayAlone(false) },
    { name: "plain UDP through the relay", run: relayAlone(true) }
  ]
}

// --- encryption's cost ---------------------------------------------------------------------------

const encryptedRate = (cipher: "chacha20-poly1305" | "aes-256-gcm" | undefined) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const secs = ctx.quick ? 0.3 : 1
    const psk = cipher !== undefined ? ["--psk", PSK, "--cipher", cipher] : []
    const receiver = s.spawn({ name: "receiver", program: { peer: "rudp", args: ["--role", "recv", "--impl", "rudp", ...psk] }, cpu: "0" })
    const port = await receiver.ready()
    const sender = s.spawn({ name: "sender", program: { peer: "rudp", args: ["--role", "send", "--impl", "rudp", "--port", port, "--size", 100, "--secs", secs, ...psk] }, cpu: "1" })
    const sent = await sender.result(30_000 + secs * 1000)
    await sleep(100)
    receiver.writeLine("stop")
    const got = await receiver.result(10_000)
    return {
      value: field(got, "per_s"),
      extra: { recv_cpu_us_per_msg: field(got, "cpu_us_per_msg"), send_cpu_us_per_msg: field(sent, "cpu_us_per_msg"), msgs_per_datagram: field(sent, "msgs_per_datagram"), mtu: field(sent, "mtu") }
    }
  })

const encryptionCase: Case = {
  id: "rudp-loss-encryption-rate",
  group: "rudp-loss",
  title: "Reliable UDP message rate with encryption on and off, 100 B Delivery messages on loopback, 1 s (messages/s received)",
  unit: "msg/s",
  better: "higher",
  method:
    "bench/peers/rudp.ts as in the rudp-rate-100 case (receiver on CPU 0, sender on CPU 1, reactor-driven endpoints, sendPayload in " +
    "a loop, grouped into datagrams of the size path MTU discovery finds: 8,952 bytes on loopback with the defaults), without and with " +
    "encryption: { psk } (X25519 handshake, AES-256-GCM — the default, with key updates — and header " +
    "protection on every packet; ChaCha20-Poly1305 as a second variant).",
  variants: [
    { name: "ours RUDP, encryption off", ref: true, run: encryptedRate(undefined) },
    { name: "ours RUDP, encryption on (psk, AES-256-GCM, the default)", run: encryptedRate("aes-256-gcm") },
    { name: "ours RUDP, encryption on (psk, ChaCha20-Poly1305)", run: encryptedRate("chacha20-poly1305") }
  ]
}

// --- 10,000 peers on one port ---------------------------------------------------------------------

const manyPeers = (peers: number, connectSecs = 10) => (ctx: RunContext): Promise<Sample> =>
  withSession(async (s) => {
    const n = ctx.quick ? Math.min(peers, 1000) : peers
    const server = s.spawn({ name: "server", program: { peer: "rudpserver", args: ["--role", "server"] } })
    const port = await server.ready()
    server.writeLine("stats")
    const base = await server.json((j) => typeof j["rss_kb"] === "number", 10_000)
    const clients = s.spawn({ name: "clients", program: { peer: "rudpserver", args: ["--role", "clients", "--port", port, "--peers", n, "--rate", 1, "--connect-secs", connectSecs] } })
    const up = await clients.json((j) => j["phase"] === "connected", 180_000)
    await sleep(2000)
    server.writeLine("stats")
    clients.writeLine("stats")
    const a = await server.json((j) => typeof j["rss_kb"] === "number", 10_000)
    const ca = await clients.json((j) => j["phase"] === "stats", 10_000)
    const secs = ctx.quick ? 2 : 5
    await sleep(secs * 1000)
    server.writeLine("stats")
    clients.writeLine("stats")
    const b = await server.json((j) => typeof j["rss_kb"] === "number", 10_000)
    const cb = await clients.json((j) => j["phase"] === "stats", 10_000)
    clients.writeLine("stop")
    const peersUp = field(b, "peers")
    return {
      value: peersUp,
      extra: {
        connect_s: field(up, "secs"),
        clients_connected: field(up, "connected"),
        msgs_per_s: (field(b, "received") - field(a, "received")) / secs,
        offered_per_s: (field(cb, "sent") - field(ca, "sent")) / secs,
        clients_cpu_pct: ((field(cb, "cpu_us") - field(ca, "cpu_us")) / (secs * 1e6)) * 100,
        cpu_pct: ((field(b, "cpu_us") - field(a, "cpu_us")) / (secs * 1e6)) * 100,
        cpu_us_per_peer_s: (field(b, "cpu_us") - field(a, "cpu_us")) / secs / Math.max(1, peersUp),
        rss_per_peer_b: ((field(b, "rss_kb") - field(base, "rss_kb")) * 1024) / Math.max(1, peersUp),
        heap_per_peer_b: ((field(b, "heap_kb") - field(base, "heap_kb")) * 1024) / Math.max(1, peersUp),
        rss_mb: field(b, "rss_kb") / 1024,
        gc_ms_per_s: (field(b, "gc_ms") - field(a, "gc_ms")) / secs,
        gc_max_ms: field(b, "gc_max_ms"),
        server_peers_made: field(b, "peers_made"),
        server_retries: field(b, "retries"),
        token_expired: Number((b["dropped"] as Record<string, number> | undefined)?.["token-expired"] ?? 0)
      }
    }
  })

const serverCase: Case = {
  id: "rudp-server-10k",
  group: "rudp-server",
  title: "EndpointServer: 10,000 peers on one port, each sending one 64 B Delivery message a second (peers connected)",
  unit: "peers",
  better: "higher",
  method:
    "bench/peers/rudpserver.ts: the server process (EndpointServer.make, default configuration with maxPeers 20,000, a handler " +
    "per peer reading its messages) and a client process holding 10,000 connections — RudpEngine instances over 16 UDP sockets " +
    "(the server routes by connection id), started evenly over 10 s (each through a stateless Retry), each sending one message a " +
    "second once connected (a second variant starts them within 2 s: do all connect?). " +
    "After all are connected and 2 s more, the server's CPU (process.cpuUsage) and RSS are read over 5 s; per peer = the increase over " +
    "the server's RSS before any client, and its CPU, divided by the peers connected. Both processes unpinned on the 2 vCPUs.",
  variants: [
    { name: "ours EndpointServer, 10,000 peers × 1 msg/s", ref: true, run: manyPeers(10_000) },
    { name: "ours EndpointServer, 10,000 peers started within 2 s", run: manyPeers(10_000, 2) }
  ]
}

export const cases: ReadonlyArray<Case> = [
  relayCase,
  encryptionCase,
  serverCase,
  ...ROWS.flatMap((r) => (["burst", "paced", "bulk"] as const).map((w) => lossCase(w, r)))
]
