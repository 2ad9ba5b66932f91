/**
 * UDP one-way rate, our side and Node's: an unpaced sender for `--secs` and a
 * receiver that counts until a line arrives on stdin.
 *
 *   --role recv  binds 127.0.0.1:0 (SO_RCVBUF 4 MiB), prints {"ready":true,"port":N};
 *                on stop prints {"received","secs","per_s"[,"dropped"]}
 *                (timed from the first datagram to the last)
 *   --role send  --port N|stdin; prints {"sent","secs","sent_per_s"}
 *   --impl readiness  UdpSocket + Poll (park): --batch 1 → send()/recv() per
 *                     datagram, --batch 32 → sendBatch/recvBatch (sendmmsg/recvmmsg)
 *          fiber      effect/socket DatagramSocket (Udp.make) on the park
 *                     reactor: writer.writeAll of --batch datagrams / reader.pull
 *          node       node:dgram, one send() per datagram without a callback
 *                     (bursts of 64, then a setImmediate so libuv runs)
 *   --size 64|1200
 */
import * as Effect from "effect/Effect"
import * as dgram from "node:dgram"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Udp from "../../src/socket/Udp.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { arg, emit, must, now, num, ok, onStop, port, runMain } from "./common.ts"

const role = arg("role")
const impl = arg("impl")
const size = num("size", 64)
const batch = num("batch", 1)
const maxMs = num("secs", 1) * 1000
const HOST = "127.0.0.1"
const RCVBUF = 4 * 2 ** 20
const payload = new Uint8Array(size).fill(117)

/** Receiver bookkeeping, reported when stdin says stop. */
let received = 0, first = 0, last = 0
const count = (n: number): void => {
  if (received === 0) first = now()
  received += n
  last = now()
}
const reportOnStop = (more: () => Record<string, number> = () => ({})): void =>
  onStop(() => {
    const secs = received > 1 ? (last - first) / 1000 : 0
    emit({ received, secs, per_s: secs > 0 ? received / secs : 0, ...more() })
    process.exit(0)
  })

// --- readiness ---------------------------------------------------------------------------

const readinessRecv = Effect.gen(function*() {
  const udp = yield* UdpSocket.bind(`${HOST}:0`, { recvBufferSize: RCVBUF, batch: { size: Math.max(1, batch) } })
  const poll = yield* Poll.make()
  const events = Events.withCapacity(16)
  yield* poll.registry.register(udp, Token(0), Interest.READABLE)
  emit({ ready: true, port: (must(udp.localAddr(), "localAddr") as { port: number }).port })
  reportOnStop()
  const buf = new Uint8Array(65536)
  for (;;) {
    if (batch === 1) {
      for (;;) {
        const r = udp.recv(buf)
        if (r === WouldBlock) break
        must(r, "recv")
        count(1)
      }
    } else {
      for (;;) {
        const r = udp.recvBatch(batch)
        if (r === WouldBlock) break
        count(must(r, "recvBatch").length)
      }
    }
    yield* poll.poll(events)
  }
})

const readinessSend = (p: number) =>
  Effect.gen(function*() {
    const udp = yield* UdpSocket.bind(`${HOST}:0`, { batch: { size: Math.max(1, batch) } })
    ok(udp.connect(`${HOST}:${p}`), "connect")
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    yield* poll.registry.register(udp, Token(0), Interest.WRITABLE)
    const datagrams = Array.from({ length: batch }, () => ({ payload }))
    const t0 = now()
    let sent = 0, errors = 0, iter = 0
    for (;;) {
      const r = batch === 1 ? udp.send(payload) : udp.sendBatch(datagrams)
      if (r === WouldBlock) yield* poll.poll(events)
      else if (r instanceof Error) errors++
      else sent += batch === 1 ? 1 : r
      if ((++iter & (batch === 1 ? 31 : 0)) === 0 && now() - t0 > maxMs) break
    }
    const secs = (now() - t0) / 1000
    emit({ sent, secs, sent_per_s: sent / secs, errors })
  })

// --- fiber (effect/socket DatagramSocket) ------------------------------------------------------

const fiberRecv = Effect.gen(function*() {
  const socket = yield* Udp.make({ bind: `${HOST}:0`, kernelReceiveBufferSize: RCVBUF })
  const reader = yield* socket.reader
  emit({ ready: true, port: reader.address.port })
  reportOnStop(() => ({ dropped: reader.dropped() }))
  for (;;) count((yield* reader.pull).length)
})

const fiberSend = (p: number) =>
  Effect.gen(function*() {
    const socket = yield* Udp.make({ bind: `${HOST}:0`, connect: `${HOST}:${p}` })
    // A DatagramSocket writes only while a reader is open.
    yield* socket.reader
    const writer = yield* socket.writer
    const datagrams = Array.from({ length: batch }, () => ({ payload }))
    const all = datagrams as unknown as readonly [{ payload: Uint8Array }, ...Array<{ payload: Uint8Array }>]
    const t0 = now()
    let sent = 0, iter = 0
    for (;;) {
      if (batch === 1) yield* writer.write({ payload })
      else yield* writer.writeAll(all)
      sent += batch
      if ((++iter & (batch === 1 ? 31 : 0)) === 0 && now() - t0 > maxMs) break
    }
    const secs = (now() - t0) / 1000
    emit({ sent, secs, sent_per_s: sent / secs })
  })

// --- node:dgram -----------------------------------------------------------------------------

const nodeRecv = (): void => {
  const s = dgram.createSocket({ type: "udp4", recvBufferSize: RCVBUF })
  s.on("message", () => count(1))
  s.bind(0, HOST, () => {
    emit({ ready: true, port: s.address().port })
    reportOnStop()
  })
}

const nodeSend = (p: number): void => {
  const s = dgram.createSocket("udp4")
  const buf = Buffer.from(payload)
  let errors = 0
  s.on("error", () => errors++)
  s.connect(p, HOST, () => {
    const t0 = now()
    let sent = 0
    // Bursts of 64 sends without callbacks (the cheapest dgram use), then one
    // setImmediate so libuv can run.
    const burst = (): void => {
      if (now() - t0 > maxMs) {
        const secs = (now() - t0) / 1000
        // Report once libuv's send queue is empty: every counted datagram left.
        const finish = (): void => {
          if (s.getSendQueueCount() > 0) return void setImmediate(finish)
          emit({ sent: sent - errors, secs, sent_per_s: (sent - errors) / secs, errors })
          process.exit(0)
        }
        return finish()
      }
      for (let i = 0; i < 64; i++) s.send(buf)
      sent += 64
      setImmediate(burst)
    }
    burst()
  })
}

// --- main -------------------------------------------------------------------------------------

const main = async (): Promise<void> => {
  if (role === "recv") {
    if (impl === "readiness") return runMain(Effect.scoped(readinessRecv))
    if (impl === "fiber") return runMain(fiberRecv.pipe(Effect.scoped, Effect.provide(Reactor.layer)))
    if (impl === "node") return nodeRecv()
  } else {
    const p = await port()
    if (impl === "readiness") return runMain(Effect.scoped(readinessSend(p)))
    if (impl === "fiber") return runMain(fiberSend(p).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
    if (impl === "node") return nodeSend(p)
  }
  throw new Error(`unknown --role ${role} / --impl ${impl}`)
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`)
  process.exit(1)
})
