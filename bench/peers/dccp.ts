/**
 * DCCP over UDP encapsulation (RFC 6773) against our plain UDP, on loopback
 * (issue 5): ping-pong RTT, one-way datagram rate, and CCID 2 goodput through
 * the lossy `Relay`.
 *
 *   --role server  echo server; prints {"ready":true,"port":N}, runs until stop
 *   --role client  --port N|stdin: `--size` bytes, waits for the echo, `--rounds`
 *                  times after `--warmup` round trips and `--warmup-ms`; prints
 *                  {"mean_us","p50_us","p99_us",…,"count"}
 *   --role recv    one-way receiver; prints {"ready":true,"port":N}; on stop prints
 *                  {"received","bytes","secs","per_s","bytes_per_s"[,…]} (timed from the
 *                  first datagram to the last)
 *   --role send    --port N|stdin [--dccp-port N]: unpaced sender for `--secs`; prints {"sent","secs",
 *                  "sent_per_s"[, DCCP: "cwnd","rtt_ms","loss_events","lost_packets",…; CCID 3: "x_Bps",
 *                  "x_recv_Bps","x_calc_Bps","p","rto_ms"]}
 *   --ccid 2|3     the DCCP sender's CCID (default 2; the receiver accepts either)
 *   --bin-ms N     the receiver also reports "cov": the coefficient of variation of the bytes it
 *                  received per N ms, after the first `--skip-ms` (default 1000) ms, and "steady_Bps"
 *                  (bytes/s over those bins); the DCCP sender samples its info() every N ms after
 *                  that and reports the means ("rtt_mean_ms"; CCID 3: "p_mean", "x_mean_Bps", and
 *                  "equation_mean_Bps", the TFRC equation averaged over the samples with p > 0)
 *   --trace-ms N   diagnostics (not read by the runner): the receiver also reports "trace", its
 *                  datagrams per N ms from the first; the DCCP sender "trace", every N ms
 *                  [data packets sent, cwnd, lost packets, smoothed RTT in µs]
 *   --role relay   --target N: `Relay` (src/testing/Relay.ts) to 127.0.0.1:N with
 *                  `--loss` (a fraction) and `--delay-ms` (one way), both directions, and
 *                  `--seed`; prints
 *                  {"ready":true,"port":N}, on stop its counters
 *
 *   --impl dccp       Dccp.connect / Dccp.listen (transport "udp", CCID 2), park reactor
 *          fiber      effect/socket DatagramSocket (Udp.make), park reactor
 *          readiness  UdpSocket + Poll.poll (park): recvFrom/sendTo per datagram
 *
 * Every role ends on a "stop" line or when stdin closes.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Dccp from "../../src/dccp/Dccp.ts"
import { throughput } from "../../src/dccp/engine/Tfrc.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Udp from "../../src/socket/Udp.ts"
import * as Relay from "../../src/testing/Relay.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { arg, emit, measureRoundTrips, must, now, num, ok, onStop, port, runMain } from "./common.ts"

const role = arg("role")
const impl = arg("impl", "dccp")
const size = num("size", 64)
const rounds = num("rounds", 20000)
const warmup = num("warmup", 3000)
const warmupMs = num("warmup-ms", 0)
const maxMs = num("secs", 1) * 1000
const ccid = num("ccid", 2) === 3 ? 3 : 2
const binMs = num("bin-ms", 0)
const skipMs = num("skip-ms", 1000)
/** Diagnostics: the receiver's datagrams and the DCCP sender's transmissions and cwnd per `--trace-ms` (0: off). */
const traceMs = num("trace-ms", 0)
const HOST = "127.0.0.1"
const SERVICE = "BNCH"
const message = new Uint8Array(size).fill(100)

// Every role exits on "stop" or when stdin ends (the runner died): nothing hangs.
// A role with something to report on stop installs its own handler instead.
const exitOnStop = (): void => onStop(() => process.exit(0))

/** The timed ping-pong loop (`measureRoundTrips`) with this peer's rounds and warm-up. */
const measure = <E, R>(roundTrip: Effect.Effect<void, E, R>) => measureRoundTrips(roundTrip, { rounds, warmup, warmupMs })

/** Receiver bookkeeping, reported when stdin says stop. */
let received = 0, bytes = 0, first = 0, last = 0
let cpuFirst: NodeJS.CpuUsage | undefined, cpuLast: NodeJS.CpuUsage | undefined
/** Bytes received per `binMs`, from the first datagram. */
const bins: Array<number> = []
/** Datagrams received per `traceMs`, from the first datagram. */
const traced: Array<number> = []
const count = (n: number): void => {
  if (received === 0) {
    first = now()
    cpuFirst = process.cpuUsage()
  }
  received++
  bytes += n
  last = now()
  if ((received & 1023) === 0) cpuLast = process.cpuUsage(cpuFirst)
  if (traceMs > 0) {
    const i = Math.floor((last - first) / traceMs)
    while (traced.length <= i) traced.push(0)
    traced[i]!++
  }
  if (binMs > 0) {
    const i = Math.floor((last - first) / binMs)
    while (bins.length <= i) bins.push(0)
    bins[i]! += n
  }
}
/** The full bins after `skipMs` (the last, partial bin is left out). */
const steadyBins = (): Array<number> => bins.slice(Math.ceil(skipMs / binMs), -1)
/** Coefficient of variation of the steady bins. */
const binCov = (): number => {
  const full = steadyBins()
  if (full.length < 2) return Number.NaN
  const mean = full.reduce((a, b) => a + b, 0) / full.length
  const variance = full.reduce((a, b) => a + (b - mean) ** 2, 0) / (full.length - 1)
  return mean > 0 ? Math.sqrt(variance) / mean : Number.NaN
}
/** Process CPU (µs) per datagram received, over the datagrams counted up to the last multiple of 1024. */
const cpuPerDatagram = (): number => {
  const c = cpuLast
  return c === undefined ? Number.NaN : (c.user + c.system) / (received - (received & 1023))
}
const reportOnStop = (more: () => Record<string, number> = () => ({})): void =>
  onStop(() => {
    const secs = received > 1 ? (last - first) / 1000 : 0
    emit({
      received,
      bytes,
      secs,
      per_s: secs > 0 ? received / secs : 0,
      bytes_per_s: secs > 0 ? bytes / secs : 0,
      recv_cpu_us: cpuPerDatagram(),
      ...(binMs > 0 ?
        {
          cov: binCov(),
          bins: bins.length,
          steady_Bps: steadyBins().reduce((a, b) => a + b, 0) * 1000 / (Math.max(1, steadyBins().length) * binMs)
        } :
        {}),
      ...(traceMs > 0 ? { trace: traced } : {}),
      ...more()
    })
    process.exit(0)
  })

// --- DCCP ---------------------------------------------------------------------------------

const dccpListen = Dccp.listen({ address: `${HOST}:0`, serviceCodes: [SERVICE], closeTimeout: "200 millis", ccid: [2, 3] })
// Through the relay the UDP port is the relay's; the DCCP port stays the server's.
const dccpPort = num("dccp-port", 0)
const dccpConnect = (p: number) =>
  Dccp.connect({
    address: `${HOST}:${p}`,
    dccpPort: dccpPort === 0 ? undefined : dccpPort,
    serviceCode: SERVICE,
    closeTimeout: "200 millis",
    connectTimeout: "5 seconds",
    ccid
  })

const dccpServer = Effect.gen(function*() {
  const server = yield* dccpListen
  emit({ ready: true, port: server.port })
  exitOnStop()
  return yield* server.run((socket) => Effect.forever(Effect.flatMap(socket.recv, socket.send), { disableYield: true }))
})

const dccpClient = (p: number) =>
  Effect.gen(function*() {
    const socket = yield* dccpConnect(p)
    const roundTrip = Effect.flatMap(socket.send(message), () => socket.recv)
    yield* measure(roundTrip)
  })

const dccpRecv = Effect.gen(function*() {
  const server = yield* dccpListen
  emit({ ready: true, port: server.port })
  let info: Dccp.DccpInfo | undefined
  let socket: Dccp.DccpSocket | undefined
  reportOnStop(() => {
    // The receiver's view: datagrams dropped because `recv` lagged, and what its engine delivered.
    const i = info ?? (socket === undefined ? undefined : Effect.runSync(socket.info))
    return i === undefined ? {} : { receive_dropped: i.receiveDropped, delivered_by_engine: i.stats.dataPacketsDelivered }
  })
  socket = yield* server.accept
  const s = socket
  yield* Effect.forever(Effect.map(s.recv, (d) => count(d.length)), { disableYield: true }).pipe(
    // The sender closed: keep the final figures (the engine is gone after the close).
    Effect.catch(() => Effect.map(s.info, (i) => void (info = i)))
  )
  yield* Effect.never
})

const dccpSend = (p: number) =>
  Effect.gen(function*() {
    const socket = yield* dccpConnect(p)
    const t0 = now(), c0 = process.cpuUsage()
    let sent = 0
    // With --bin-ms: the sender's RTT (and CCID 3's p and X) every bin after --skip-ms, for the
    // TFRC equation over the steady part of the run.
    let nextSample = t0 + skipMs
    const samples: Array<{ rtt: number; p: number; x: number }> = []
    const trace: Array<[number, number, number, number]> = []
    let nextTrace = t0 + traceMs
    while (now() - t0 < maxMs) {
      yield* socket.send(message)
      sent++
      if (traceMs > 0 && now() >= nextTrace) {
        nextTrace += traceMs
        const i = yield* socket.info
        trace.push([i.stats.dataPacketsSent, i.cwnd ?? -1, i.lostPackets, Math.round((i.rttMs ?? -1) * 1000)])
      }
      if (binMs > 0 && now() >= nextSample) {
        nextSample += binMs
        const i = yield* socket.info
        samples.push({ rtt: i.tfrcTx?.rttMs ?? i.rttMs ?? Number.NaN, p: i.tfrcTx?.p ?? Number.NaN, x: i.tfrcTx?.x ?? Number.NaN })
      }
    }
    const secs = (now() - t0) / 1000
    const cpu = process.cpuUsage(c0)
    const i = yield* socket.info
    const transmitted = i.stats.dataPacketsSent
    const mean = (f: (x: (typeof samples)[number]) => number) => samples.reduce((a, x) => a + f(x), 0) / samples.length
    // The equation at each sample (p > 0), averaged: what TFRC allows over the steady part.
    const withLoss = samples.filter((x) => x.p > 0 && x.rtt > 0)
    emit({
      sent,
      transmitted,
      secs,
      sent_per_s: transmitted / secs,
      send_cpu_us: (cpu.user + cpu.system) / transmitted,
      cwnd: i.cwnd ?? Number.NaN,
      rtt_ms: i.rttMs ?? Number.NaN,
      loss_events: i.lossEvents,
      lost_packets: i.lostPackets,
      queued: i.sendQueueLength,
      send_refused: i.stats.sendRefused,
      ...(traceMs > 0 ? { trace } : {}),
      ...(i.tfrcTx === undefined ? {} : {
        x_Bps: i.tfrcTx.x,
        x_recv_Bps: i.tfrcTx.xRecv,
        x_calc_Bps: i.tfrcTx.xCalc,
        p: i.tfrcTx.p,
        rto_ms: i.tfrcTx.rtoMs
      }),
      ...(samples.length === 0 ? {} : {
        samples: samples.length,
        rtt_mean_ms: mean((x) => x.rtt),
        ...(i.tfrcTx === undefined ? {} : { p_mean: mean((x) => x.p), x_mean_Bps: mean((x) => x.x) }),
        ...(withLoss.length === 0 ? {} : {
          equation_mean_Bps: withLoss.reduce((a, x) => a + throughput(size, x.rtt, x.p), 0) / withLoss.length
        })
      })
    })
    // The measurement is over; leave without waiting for the graceful close.
    process.exit(0)
  })

// --- plain UDP, fiber level (effect/socket DatagramSocket) ------------------------------------

const fiberServer = Effect.gen(function*() {
  const socket = yield* Udp.make({ bind: `${HOST}:0` })
  const reader = yield* socket.reader
  const writer = yield* socket.writer
  emit({ ready: true, port: reader.address.port })
  exitOnStop()
  for (;;) {
    const datagrams = yield* reader.pull
    // Echo each to its sender (the received datagram is the destination).
    for (const d of datagrams) yield* writer.write(d)
  }
})

const fiberClient = (p: number) =>
  Effect.gen(function*() {
    const socket = yield* Udp.make({ bind: `${HOST}:0`, connect: `${HOST}:${p}` })
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    const roundTrip = Effect.flatMap(writer.write({ payload: message }), () => reader.pull)
    yield* measure(roundTrip)
  })

const fiberRecv = Effect.gen(function*() {
  const socket = yield* Udp.make({ bind: `${HOST}:0` })
  const reader = yield* socket.reader
  emit({ ready: true, port: reader.address.port })
  reportOnStop(() => ({ receive_dropped: reader.dropped() }))
  for (;;) for (const d of yield* reader.pull) count(d.payload.length)
})

const fiberSend = (p: number) =>
  Effect.gen(function*() {
    const socket = yield* Udp.make({ bind: `${HOST}:0`, connect: `${HOST}:${p}` })
    // A DatagramSocket writes only while a reader is open.
    yield* socket.reader
    const writer = yield* socket.writer
    const t0 = now(), c0 = process.cpuUsage()
    let sent = 0
    while (now() - t0 < maxMs) {
      yield* writer.write({ payload: message })
      sent++
    }
    const secs = (now() - t0) / 1000
    const cpu = process.cpuUsage(c0)
    emit({ sent, transmitted: sent, secs, sent_per_s: sent / secs, send_cpu_us: (cpu.user + cpu.system) / sent })
    process.exit(0)
  })

// --- plain UDP, readiness level (UdpSocket + Poll) ---------------------------------------------

const readinessServer = Effect.gen(function*() {
  const udp = yield* UdpSocket.bind(`${HOST}:0`)
  const poll = yield* Poll.make()
  const events = Events.withCapacity(16)
  yield* poll.registry.register(udp, Token(0), Interest.READABLE)
  emit({ ready: true, port: (must(udp.localAddr(), "localAddr") as { port: number }).port })
  exitOnStop()
  const buf = new Uint8Array(65536)
  for (;;) {
    for (;;) {
      const r = udp.recvFrom(buf)
      if (r === WouldBlock) break
      const [n, from] = must(r, "recvFrom")
      // Small echoes: the socket buffer takes them.
      must(udp.sendTo(buf.subarray(0, n), from), "sendTo")
    }
    yield* poll.poll(events)
  }
})

const readinessClient = (p: number) =>
  Effect.gen(function*() {
    const udp = yield* UdpSocket.bind(`${HOST}:0`)
    ok(udp.connect(`${HOST}:${p}`), "connect")
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    yield* poll.registry.register(udp, Token(0), Interest.READABLE)
    const buf = new Uint8Array(65536)
    const roundTrip = Effect.gen(function*() {
      must(udp.send(message), "send")
      for (;;) {
        const r = udp.recv(buf)
        if (r !== WouldBlock) return void must(r, "recv")
        yield* poll.poll(events)
      }
    })
    yield* measure(roundTrip)
  })

// --- the lossy relay ---------------------------------------------------------------------------

const relay = Effect.gen(function*() {
  const loss = num("loss", 0)
  const delayMs = num("delay-ms", 0)
  const r = yield* Relay.make({
    target: `${HOST}:${num("target")}`,
    conditions: { loss, latency: `${delayMs} millis` },
    seed: num("seed", 1)
  })
  emit({ ready: true, port: (r.address as { port: number }).port })
  onStop(() => {
    const s = r.stats()
    const dropped = (x: Readonly<Record<string, number>>) => Object.values(x).reduce((a, b) => a + b, 0)
    emit({
      forward_sent: s.forward.sent,
      forward_delivered: s.forward.delivered,
      forward_dropped: dropped(s.forward.dropped),
      backward_sent: s.backward.sent,
      backward_delivered: s.backward.delivered,
      backward_dropped: dropped(s.backward.dropped),
      send_failures: s.sendFailures
    })
    process.exit(0)
  })
  yield* Effect.never
})

// --- main -------------------------------------------------------------------------------------

const run = <A, E>(program: Effect.Effect<A, E, Reactor.Reactor | Scope.Scope>): void =>
  runMain(program.pipe(Effect.scoped, Effect.provide(Reactor.layer)))

const main = async (): Promise<void> => {
  switch (`${role}/${impl}`) {
    case "server/dccp":
      return run(dccpServer)
    case "server/fiber":
      return run(fiberServer)
    case "server/readiness":
      return runMain(Effect.scoped(readinessServer))
    case "recv/dccp":
      return run(dccpRecv)
    case "recv/fiber":
      return run(fiberRecv)
    case "relay/dccp":
    case "relay/relay":
      return run(relay)
  }
  if (role === "client" || role === "send") {
    const p = await port()
    // A client that outlives its runner (stdin closed) exits too.
    exitOnStop()
    switch (`${role}/${impl}`) {
      case "client/dccp":
        return run(dccpClient(p))
      case "client/fiber":
        return run(fiberClient(p))
      case "client/readiness":
        return runMain(Effect.scoped(readinessClient(p)))
      case "send/dccp":
        return run(dccpSend(p))
      case "send/fiber":
        return run(fiberSend(p))
    }
  }
  throw new Error(`unknown --role ${role} / --impl ${impl}`)
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
