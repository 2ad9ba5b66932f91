/**
 * The Node peers of the reliable-UDP loss benchmark (bench/cases/rudploss.ts):
 * ours and KCP (node-kcp, fast preset) as receiver and sender of the three
 * workloads, the lossy relay between them, and a plain-UDP blaster that
 * measures what the relay alone can carry. ENet's peer is native/enet_peer.c.
 *
 *   --role recv  --impl ours|kcp --count N [--cap-ms 12000] [--psk hex]
 *       prints {"ready":true,"port":N}, then one result line when N messages arrived
 *       (or at the cap): {"delivered","expected","done","completion_s","p50_ms","p99_ms",
 *       "max_ms","out_of_order","bytes", …}
 *   --role send  --impl ours|kcp --port P --workload burst|paced|bulk --count N --size S
 *       [--rate 2000] [--psk hex] [--congestion bbr|aimd|none]: sends, then runs until stopped
 *   --role relay --target P --loss L --delay-ms D --seed S [--mtu N] [--resolution-ms 0.25]: `Relay`
 *       (src/testing/Relay.ts; deliveries due within 0.25 ms leave on one timer expiry);
 *       on "stop" prints the bytes and datagrams each direction carried
 *   --role blast-recv | blast-send --port P [--secs 1] [--size 1024]: plain UDP through
 *       the relay as fast as the sender can (the relay's own ceiling)
 *
 * Every message: seq u32 LE | 0 u32 | offered time f64 LE (µs of CLOCK_MONOTONIC, the
 * clock the C peer reads too) | padding. Latency = delivery time − offered time.
 */
import * as dgram from "node:dgram"
import { appendFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Endpoint from "../../src/rudp/Endpoint.ts"
import * as Guarantee from "../../src/rudp/Guarantee.ts"
import * as UdpLike from "../../src/rudp/UdpLike.ts"
import * as Relay from "../../src/testing/Relay.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { arg, emit, must, num, ok, onStop, runMain } from "./common.ts"

const role = arg("role")
const impl = arg("impl", "ours")
const HOST = "127.0.0.1"
const count = num("count", 10000)
const capMs = num("cap-ms", 12000)
const pskHex = arg("psk", "")
const encryption = pskHex === "" ? undefined : { psk: Uint8Array.from(Buffer.from(pskHex, "hex")) }
const congestion = arg("congestion", "") as "" | "bbr" | "aimd" | "none"

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n)

// --- the message and the receiver's account ------------------------------------------------

const message = (size: number, seq: number, offered: number): Uint8Array => {
  const m = new Uint8Array(Math.max(16, size))
  const v = new DataView(m.buffer)
  v.setUint32(0, seq, true)
  v.setFloat64(8, offered, true)
  return m
}

class Account {
  readonly latency = new Float64Array(count)
  delivered = 0
  outOfOrder = 0
  bytes = 0
  t0 = Number.POSITIVE_INFINITY
  last = 0
  #reported = false
  readonly #timer: ReturnType<typeof setInterval>
  readonly more: () => Record<string, number>
  constructor(more: () => Record<string, number> = () => ({})) {
    this.more = more
    // The cap runs from the first message's offered time.
    this.#timer = setInterval(() => {
      if (this.t0 !== Number.POSITIVE_INFINITY && nowUs() - this.t0 > capMs * 1000) this.report()
    }, 50)
  }
  take(m: Uint8Array): void {
    if (m.length < 16) return
    const v = new DataView(m.buffer, m.byteOffset, m.length)
    const seq = v.getUint32(0, true), offered = v.getFloat64(8, true)
    const now = nowUs()
    if (offered < this.t0) this.t0 = offered
    if (seq !== this.delivered) this.outOfOrder++
    if (this.delivered < count) this.latency[this.delivered] = now - offered
    this.delivered++
    this.bytes += m.length
    this.last = now
    if (this.delivered >= count) this.report()
  }
  report(): void {
    if (this.#reported) return
    this.#reported = true
    clearInterval(this.#timer)
    const n = Math.min(this.delivered, count)
    const lat = this.latency.subarray(0, n).sort()
    const q = (p: number) => (n === 0 ? 0 : lat[Math.floor(p * (n - 1))]! / 1000)
    emit({
      delivered: n,
      expected: count,
      done: n === count ? 1 : 0,
      completion_s: n > 0 ? (this.last - this.t0) / 1e6 : 0,
      p50_ms: q(0.5),
      p99_ms: q(0.99),
      max_ms: n === 0 ? 0 : lat[n - 1]! / 1000,
      out_of_order: this.outOfOrder,
      bytes: this.bytes,
      ...this.more()
    })
  }
}

/** The sender's schedule: every message at t0 (burst, bulk), or `rate` per second (paced). */
const schedule = (workload: string) => {
  const rate = num("rate", 2000)
  const t0 = nowUs()
  return { t0, offered: (i: number) => (workload === "paced" ? t0 + (i * 1e6) / rate : t0), paced: workload === "paced" }
}

// --- ours --------------------------------------------------------------------------------

const config = (): Endpoint.Config => ({ drive: "reactor", encryption, ...(congestion === "" ? {} : { congestion }) })

/**
 * A fresh Node process runs its first messages through unoptimised code (V8 tiers a hot function up after
 * some thousands of calls; measured here, the first 10,000 sends cost 4× the CPU of later ones). Before it
 * connects, each of our peers exchanges messages with itself over loopback, with the same configuration,
 * so the measured connection starts warm: JIT state only, no connection state carries over.
 */
const warmUp = Effect.scoped(Effect.gen(function*() {
  const [ua, ub] = yield* UdpLike.loopbackPair()
  const a = yield* Endpoint.make(ua, config())
  const b = yield* Endpoint.make(ub, config())
  for (const [n, size] of [[20_000, 100], [3_000, 1024]] as const) {
    const m = new Uint8Array(size)
    const receive = Effect.gen(function*() {
      for (let got = 0; got < n;) {
        yield* b.take
        got++
        for (let x = yield* b.recv; x !== undefined; x = yield* b.recv) got++
      }
    })
    yield* Effect.all([Effect.forEach(Array.from({ length: n }), () => a.sendPayload(Guarantee.Delivery, m), { discard: true }), receive], { concurrency: 2 })
  }
  yield* a.close
}))

const oursRecv = Effect.gen(function*() {
  yield* warmUp
  const udp = yield* UdpLike.listen({ bind: `${HOST}:0` })
  const ep = yield* Endpoint.make(udp, { ...config(), role: "server" })
  emit({ ready: true, port: (udp.localAddress as { port: number }).port })
  const account = new Account(() => {
    const s = Effect.runSync(ep.stats)
    return { retransmissions: s.stats.retransmissions, disconnected: s.state === "closed" ? 1 : 0 }
  })
  onStop(() => process.exit(0))
  for (;;) {
    account.take(yield* ep.take)
    for (let m = yield* ep.recv; m !== undefined; m = yield* ep.recv) account.take(m)
  }
})

const oursSend = (port: number) =>
  Effect.gen(function*() {
    const workload = arg("workload")
    const size = num("size", 100)
    yield* warmUp
    const ep = yield* Endpoint.connect({ peer: `${HOST}:${port}`, config: config() })
    onStop(() => {
      const s = Effect.runSync(ep.stats)
      emit({ retransmissions: s.stats.retransmissions, rtt_ms: s.rtt?.smoothed ?? -1, cwnd: s.congestion["cwnd"] ?? -1, lost: s.stats.packetsLost })
      process.exit(0)
    })
    yield* ep.connected
    if (process.env["RUDPLOSS_TRACE"] !== undefined) {
      const start = nowUs()
      setInterval(() => {
        const s = Effect.runSync(ep.stats)
        appendFileSync(process.env["RUDPLOSS_TRACE"]!, `${((nowUs() - start) / 1000).toFixed(0)} ms: queue ${s.sendQueue.messages} inflight ${s.bytesInFlight} cwnd ${s.congestion["cwnd"]?.toFixed(0)} pace ${s.congestion["pacingRate"]?.toFixed(0)} mode ${s.congestion["mode"]} bw ${s.congestion["bottleneckBandwidth"]?.toFixed(0)} sent ${s.stats.datagramsSent} rtt ${s.rtt?.smoothed.toFixed(1)}/${s.rtt?.variance.toFixed(1)}/${s.rtt?.latest.toFixed(1)} pto ${s.stats.ptoCount} lost ${s.stats.packetsLost} rtx ${s.stats.retransmissions} flow ${JSON.stringify(s.flow)}\n`)
      }, 20).unref()
    }
    const { offered, paced } = schedule(workload)
    for (let i = 0; i < count; i++) {
      if (paced) {
        const wait = (offered(i) - nowUs()) / 1000
        if (wait > 0.5) yield* Effect.sleep(Math.floor(wait))
      }
      yield* ep.sendPayload(Guarantee.Delivery, message(size, i, offered(i)))
    }
    return yield* Effect.never
  })

// --- KCP (node-kcp, the fast preset) ------------------------------------------------------------

interface Kcp {
  send(b: Buffer): number
  recv(): Buffer | undefined
  input(b: Buffer): number
  output(f: (data: Buffer, size: number) => void): void
  update(ms: number): void
  nodelay(nodelay: number, interval: number, resend: number, nc: number): number
  wndsize(snd: number, rcv: number): number
  waitsnd(): number
}
const kcpOf = (): Kcp => {
  const { KCP } = createRequire(import.meta.url)("node-kcp/index.js") as { KCP: new(conv: number, context: object) => Kcp }
  const k = new KCP(1, {})
  k.nodelay(1, 10, 2, 1)
  k.wndsize(128, 128)
  return k
}

const kcpRecv = (): void => {
  const socket = dgram.createSocket("udp4")
  const k = kcpOf()
  let peer: dgram.RemoteInfo | undefined
  k.output((data, size) => {
    if (peer !== undefined) socket.send(data, 0, size, peer.port, peer.address)
  })
  const account = new Account()
  socket.on("message", (msg, rinfo) => {
    peer = rinfo
    k.input(msg)
    for (let m = k.recv(); m !== undefined; m = k.recv()) account.take(m)
  })
  socket.bind(0, HOST, () => emit({ ready: true, port: socket.address().port }))
  setInterval(() => k.update(Date.now()), 1)
  onStop(() => process.exit(0))
}

const kcpSend = (port: number): void => {
  const workload = arg("workload")
  const size = num("size", 100)
  const socket = dgram.createSocket("udp4")
  const k = kcpOf()
  k.output((data, n) => socket.send(data, 0, n, port, HOST))
  socket.on("message", (msg) => k.input(msg))
  socket.bind(0, HOST, () => {
    const { offered, paced } = schedule(workload)
    let next = 0
    const offer = (): void => {
      const now = nowUs()
      while (next < count && (!paced || offered(next) <= now)) {
        k.send(Buffer.from(message(size, next, offered(next))))
        next++
      }
      if (next < count) setTimeout(offer, Math.max(0, Math.floor((offered(next) - nowUs()) / 1000)))
    }
    offer()
    setInterval(() => k.update(Date.now()), 1)
  })
  onStop(() => process.exit(0))
}

// --- the relay, and its own ceiling ------------------------------------------------------------

const relay = Effect.gen(function*() {
  const r = yield* Relay.make({
    target: `${HOST}:${num("target")}`,
    // `--mtu N`: datagrams longer than N are dropped, as on a path of that MTU (0: no limit).
    conditions: { loss: num("loss", 0), latency: `${num("delay-ms", 10)} millis`, ...(num("mtu", 0) > 0 ? { mtu: num("mtu", 0) } : {}) },
    seed: num("seed", 1),
    resolutionMs: num("resolution-ms", 0.25)
  })
  emit({ ready: true, port: (r.address as { port: number }).port })
  onStop(() => {
    const s = r.stats()
    // Bytes that entered the lossy path, with the 28 bytes of IPv4 and UDP headers per datagram.
    emit({
      fwd_datagrams: s.forward.sent,
      fwd_wire_bytes: s.forward.bytesSent + 28 * s.forward.sent,
      rev_datagrams: s.backward.sent,
      rev_wire_bytes: s.backward.bytesSent + 28 * s.backward.sent,
      overflow: s.overflowDrops,
      send_failures: s.sendFailures
    })
    process.exit(0)
  })
  return yield* Effect.never
})

const blastRecv = Effect.gen(function*() {
  const udp = yield* UdpSocket.bind(`${HOST}:0`, { recvBufferSize: 8 * 2 ** 20, batch: { size: 64, bufferSize: 2048 } })
  emit({ ready: true, port: (must(udp.localAddr(), "localAddr") as { port: number }).port })
  let bytes = 0, first = 0, last = 0
  onStop(() => {
    emit({ bytes, secs: (last - first) / 1e6, mbit_s: last > first ? (bytes * 8) / (last - first) : 0 })
    process.exit(0)
  })
  for (;;) {
    const r = udp.recvBatch(64)
    if (r === WouldBlock) {
      yield* Effect.sleep(1)
      continue
    }
    const batch = must(r, "recvBatch")
    if (first === 0) first = nowUs()
    for (const d of batch) bytes += d.payload.length
    last = nowUs()
  }
})

const blastSend = (port: number) =>
  Effect.gen(function*() {
    const udp = yield* UdpSocket.bind(`${HOST}:0`, { sendBufferSize: 8 * 2 ** 20, batch: { size: 32, bufferSize: 2048 } })
    ok(udp.connect(`${HOST}:${port}`), "connect")
    const payloads = Array.from({ length: 32 }, () => ({ payload: new Uint8Array(num("size", 1024)) }))
    const until = nowUs() + num("secs", 1) * 1e6
    let sent = 0
    while (nowUs() < until) {
      const r = udp.sendBatch(payloads)
      if (typeof r === "number") sent += r
      else yield* Effect.yieldNow
      // A little air for the relay on two cores: 32 datagrams, then a turn of the event loop.
      yield* Effect.yieldNow
    }
    emit({ sent })
    return yield* Effect.never
  })

// --- main -------------------------------------------------------------------------------------

const run = <A, E>(program: Effect.Effect<A, E, Reactor.Reactor | Scope.Scope>): void =>
  runMain(program.pipe(Effect.scoped, Effect.provide(Reactor.layer)))

const main = (): void => {
  const p = (): number => num("port")
  switch (`${role}/${impl}`) {
    case "recv/ours":
      return run(oursRecv)
    case "send/ours":
      return run(oursSend(p()))
    case "recv/kcp":
      return kcpRecv()
    case "send/kcp":
      return kcpSend(p())
    default:
  }
  switch (role) {
    case "relay":
      return run(relay)
    case "blast-recv":
      return run(blastRecv)
    case "blast-send":
      return run(blastSend(p()))
  }
  throw new Error(`unknown --role ${role} / --impl ${impl}`)
}

main()
