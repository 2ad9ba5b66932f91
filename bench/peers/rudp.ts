/**
 * Reliable UDP (issue 9) against our plain UDP, on loopback: request/response
 * round trips and the one-way rate of 100 B Delivery messages, with the CPU
 * each side spent per message.
 *
 *   --role server  echo: prints {"ready":true,"port":N}, runs until stop
 *   --role client  --port N|stdin: `--size` bytes, waits for the echo, `--rounds`
 *                  times after `--warmup` round trips and `--warmup-ms`; prints
 *                  {"mean_us","p50_us","p99_us",…,"count"}
 *   --role recv    one-way receiver; prints {"ready":true,"port":N}; on stop prints
 *                  {"received","secs","per_s","cpu_us_per_msg"} (timed from the first
 *                  message to the last; CPU over the same window)
 *   --role send    --port N|stdin: unpaced sender for `--secs`; prints
 *                  {"sent","secs","sent_per_s","cpu_us_per_msg",…}
 *
 *   --impl rudp      Endpoint on our UDP socket (UdpLike.listen / UdpLike.connect),
 *                    Guarantee.Delivery; --drive reactor (default) | user
 *          udpbatch  plain UDP at the readiness level, batched: UdpSocket
 *                    sendBatch/recvBatch ×32 (sendmmsg/recvmmsg) + Poll (park)
 *
 * Every role ends on a "stop" line or when stdin closes.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Endpoint from "../../src/rudp/Endpoint.ts"
import * as Guarantee from "../../src/rudp/Guarantee.ts"
import * as UdpLike from "../../src/rudp/UdpLike.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { arg, emit, measureRoundTrips, must, now, num, ok, onStop, port, runMain } from "./common.ts"

const role = arg("role")
const impl = arg("impl", "rudp")
const drive = arg("drive", "reactor") as "user" | "reactor"
const size = num("size", 100)
const rounds = num("rounds", 20000)
const warmup = num("warmup", 3000)
const warmupMs = num("warmup-ms", 0)
const maxMs = num("secs", 1) * 1000
const batch = num("batch", 32)
const HOST = "127.0.0.1"
const RCVBUF = 4 * 2 ** 20
const message = new Uint8Array(size).fill(100)
/** `--psk hex [--cipher chacha20-poly1305|aes-256-gcm]`: both ends encrypted with that pre-shared key. */
const psk = arg("psk", "")
const cipher = arg("cipher", "chacha20-poly1305") as "chacha20-poly1305" | "aes-256-gcm"
const encryption = psk === "" ? undefined : { psk: Uint8Array.from(Buffer.from(psk, "hex")), cipher }

const exitOnStop = (): void => onStop(() => process.exit(0))
const cpuMicros = (): number => {
  const u = process.cpuUsage()
  return u.user + u.system
}

/** Receiver bookkeeping: messages and CPU between the first message and the last. */
let received = 0, first = 0, last = 0, cpuFirst = 0, cpuLast = 0
const count = (n: number): void => {
  if (received === 0) {
    first = now()
    cpuFirst = cpuMicros()
  }
  received += n
  last = now()
  if ((received & 1023) < n) cpuLast = cpuMicros()
}
const reportOnStop = (more: () => Record<string, number> = () => ({})): void =>
  onStop(() => {
    const secs = received > 1 ? (last - first) / 1000 : 0
    emit({
      received,
      secs,
      per_s: secs > 0 ? received / secs : 0,
      cpu_us_per_msg: received > 1024 ? (cpuLast - cpuFirst) / (received - 1024) : 0,
      ...more()
    })
    process.exit(0)
  })

// --- reliable UDP ----------------------------------------------------------------------------

const rudpServer = Effect.gen(function*() {
  const udp = yield* UdpLike.listen({ bind: `${HOST}:0` })
  const ep = yield* Endpoint.make(udp, { drive, role: "server" })
  emit({ ready: true, port: (udp.localAddress as { port: number }).port })
  exitOnStop()
  return yield* Effect.forever(Effect.flatMap(ep.take, (m) => ep.sendPayload(Guarantee.Delivery, m)), { disableYield: true })
})

const rudpConnect = (p: number) => Endpoint.connect({ peer: `${HOST}:${p}`, config: { drive, encryption } })

const rudpClient = (p: number) =>
  Effect.gen(function*() {
    const ep = yield* rudpConnect(p)
    yield* ep.connected
    yield* measureRoundTrips(Effect.andThen(ep.sendPayload(Guarantee.Delivery, message), ep.take), { rounds, warmup, warmupMs })
  })

const rudpRecv = Effect.gen(function*() {
  const udp = yield* UdpLike.listen({ bind: `${HOST}:0` })
  const ep = yield* Endpoint.make(udp, { drive, role: "server", encryption })
  emit({ ready: true, port: (udp.localAddress as { port: number }).port })
  reportOnStop(() => {
    const s = Effect.runSync(ep.stats)
    return { datagrams: s.stats.datagramsReceived, acks_sent: s.stats.acksSent }
  })
  for (;;) {
    yield* ep.take
    let n = 1
    for (let m = yield* ep.recv; m !== undefined; m = yield* ep.recv) n++
    count(n)
  }
})

const rudpSend = (p: number) =>
  Effect.gen(function*() {
    const ep = yield* rudpConnect(p)
    yield* ep.connected
    const t0 = now(), c0 = cpuMicros()
    let sent = 0
    while (now() - t0 < maxMs) {
      for (let i = 0; i < 64; i++) yield* ep.sendPayload(Guarantee.Delivery, message)
      sent += 64
    }
    const secs = (now() - t0) / 1000
    const cpu = cpuMicros() - c0
    const s = yield* ep.stats
    emit({
      sent,
      secs,
      sent_per_s: sent / secs,
      cpu_us_per_msg: cpu / sent,
      datagrams: s.stats.datagramsSent,
      msgs_per_datagram: sent / Math.max(1, s.stats.datagramsSent),
      datagrams_received: s.stats.datagramsReceived,
      bundled_copies: s.stats.bundledCopies,
      retransmissions: s.stats.retransmissions,
      rtt_ms: s.rtt?.smoothed ?? Number.NaN,
      send_dropped: s.transport.sendDropped,
      mtu: s.mtu
    })
    // The measurement is over; leave without waiting for a graceful close.
    process.exit(0)
  })

// --- plain UDP, batched, readiness level -------------------------------------------------------------

const udpRecv = Effect.gen(function*() {
  const udp = yield* UdpSocket.bind(`${HOST}:0`, { recvBufferSize: RCVBUF, batch: { size: batch } })
  const poll = yield* Poll.make()
  const events = Events.withCapacity(16)
  yield* poll.registry.register(udp, Token(0), Interest.READABLE)
  emit({ ready: true, port: (must(udp.localAddr(), "localAddr") as { port: number }).port })
  reportOnStop()
  for (;;) {
    for (;;) {
      const r = udp.recvBatch(batch)
      if (r === WouldBlock) break
      count(must(r, "recvBatch").length)
    }
    yield* poll.poll(events)
  }
})

const udpSend = (p: number) =>
  Effect.gen(function*() {
    const udp = yield* UdpSocket.bind(`${HOST}:0`, { batch: { size: batch } })
    ok(udp.connect(`${HOST}:${p}`), "connect")
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    yield* poll.registry.register(udp, Token(0), Interest.WRITABLE)
    const datagrams = Array.from({ length: batch }, () => ({ payload: message }))
    const t0 = now(), c0 = cpuMicros()
    let sent = 0
    while (now() - t0 < maxMs) {
      const r = udp.sendBatch(datagrams)
      if (r === WouldBlock) yield* poll.poll(events)
      else sent += must(r, "sendBatch")
    }
    const secs = (now() - t0) / 1000
    emit({ sent, secs, sent_per_s: sent / secs, cpu_us_per_msg: (cpuMicros() - c0) / sent })
  })

// --- main -------------------------------------------------------------------------------------

const main = async (): Promise<void> => {
  const reactor = <A, E>(e: Effect.Effect<A, E, Reactor.Reactor | Scope.Scope>) => e.pipe(Effect.scoped, Effect.provide(Reactor.layer))
  if (role === "server" && impl === "rudp") return runMain(reactor(rudpServer))
  if (role === "recv" && impl === "rudp") return runMain(reactor(rudpRecv))
  if (role === "recv" && impl === "udpbatch") return runMain(Effect.scoped(udpRecv))
  if (role === "client" || role === "send") {
    const p = await port()
    if (role === "client" && impl === "rudp") return runMain(reactor(rudpClient(p)))
    if (role === "send" && impl === "rudp") return runMain(reactor(rudpSend(p)))
    if (role === "send" && impl === "udpbatch") return runMain(Effect.scoped(udpSend(p)))
  }
  throw new Error(`unknown --role ${role} / --impl ${impl}`)
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
