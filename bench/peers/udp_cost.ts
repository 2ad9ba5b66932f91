/**
 * UDP per-datagram CPU cost in one process (baselines.md group 7), `--size` B:
 *
 * receive — `--k` datagrams are queued on a socket (SO_RCVBUF 4 MiB) by a
 * sendmmsg from this process, untimed; then the time to take all of them out,
 * each copied into a fresh Uint8Array:
 *   recv_dgram_ns      node:dgram 'message' events (the reference)
 *   recv_batch_ns      ours, UdpSocket.recvBatch(32) + slice() per datagram
 *   recv_from_ns       ours, UdpSocket.recvFrom per datagram + slice()
 *   recv_fiber_ns      ours, DatagramSocket reader.pull (Udp.make, park reactor;
 *                      the adapter copies each payload)
 * send — `--k` datagrams to a connected sink socket that is drained untimed
 * after each round (the loopback send includes delivery to the sink):
 *   send_dgram_ns      node:dgram send(), until every callback has run (reference)
 *   send_one_ns        ours, UdpSocket.send per datagram
 *   send_batch_ns      ours, UdpSocket.sendBatch of 32 (sendmmsg)
 *   send_fiber_ns      ours, DatagramSocket writer.writeAll of 32
 * for scale:
 *   koffi_getpid_ns    any koffi call
 *   recv_wouldblock_ns ours, UdpSocket.recv on an empty socket (→ WouldBlock)
 *
 * Rounds interleave the variants (rotating which goes first); the first
 * `--warm` rounds are discarded; each figure is total time / total datagrams.
 * Each receive figure has a `<name>_cpu` twin: the same by this process's CPU
 * time (`process.cpuUsage`, GC threads included), which time other processes
 * take on the CPU does not inflate.
 */
import * as Effect from "effect/Effect"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import * as dgram from "node:dgram"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Udp from "../../src/socket/Udp.ts"
import { libc } from "../../src/sys/libc.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { emit, must, now, num, ok, runMain } from "./common.ts"

const size = num("size", 64)
const K = num("k", 1000)
const rounds = num("rounds", 40)
const warm = num("warm", 5)
const HOST = "127.0.0.1"
const RCVBUF = 4 * 2 ** 20
const payload = new Uint8Array(size).fill(7)

const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

const portOf = (u: UdpSocket.UdpSocket): number => (must(u.localAddr(), "localAddr") as { port: number }).port

const program = Effect.gen(function*() {
  // --- sockets -------------------------------------------------------------------------
  const filler = yield* UdpSocket.bind(`${HOST}:0`, { sendBufferSize: RCVBUF, batch: { size: 64, sendBytes: 1 << 20 } })
  const ourRx = yield* UdpSocket.bind(`${HOST}:0`, { recvBufferSize: RCVBUF, batch: { size: 32 } })
  const sink = yield* UdpSocket.bind(`${HOST}:0`, { recvBufferSize: RCVBUF, batch: { size: 64 } })
  const ourTx = yield* UdpSocket.bind(`${HOST}:0`, { sendBufferSize: RCVBUF, batch: { size: 32 } })
  ok(ourTx.connect(`${HOST}:${portOf(sink)}`), "connect")

  const fiberRxSocket = yield* Udp.make({ bind: `${HOST}:0`, kernelReceiveBufferSize: RCVBUF })
  const fiberRx = yield* fiberRxSocket.reader
  const fiberTxSocket = yield* Udp.make({ bind: `${HOST}:0`, connect: `${HOST}:${portOf(sink)}` })
  yield* fiberTxSocket.reader
  const fiberTx = yield* fiberTxSocket.writer

  const dgramRx = dgram.createSocket({ type: "udp4", recvBufferSize: RCVBUF })
  const dgramTx = dgram.createSocket({ type: "udp4", sendBufferSize: RCVBUF })
  yield* Effect.promise(() => new Promise<void>((r) => dgramRx.bind(0, HOST, () => r())))
  yield* Effect.promise(() => new Promise<void>((r) => dgramTx.connect(portOf(sink), HOST, () => r())))
  yield* Effect.addFinalizer(() => Effect.sync(() => {
    dgramRx.close()
    dgramTx.close()
  }))

  const batchOut = Array.from({ length: 32 }, () => ({ payload }))
  const batchOutFiber = batchOut as unknown as readonly [DatagramSocket.OutgoingDatagram, ...Array<DatagramSocket.OutgoingDatagram>]
  const fillTo = (port: number): void => {
    const to = `${HOST}:${port}`
    const list = Array.from({ length: K }, () => ({ payload, address: to }))
    let sent = 0
    while (sent < K) sent += must(filler.sendBatch(list.slice(sent)), "fill") as number
  }
  const drainSink = (): number => {
    let n = 0
    for (;;) {
      const r = sink.recvBatch()
      if (r === WouldBlock) return n
      n += must(r, "drain").length
    }
  }

  // --- one timed round per variant: milliseconds, or undefined when datagrams went missing ---
  let dgramCount = 0
  let dgramDone: (() => void) | undefined
  dgramRx.on("message", (msg) => {
    void msg
    if (++dgramCount === K) dgramDone?.()
  })
  const buf = new Uint8Array(65536)
  /** A timed section: `begin` returns the wall-clock start, `end` the wall-clock ms and sets `lastCpu` (CPU ms). */
  let cpuStart = 0
  let lastCpu = 0
  const begin = (): number => {
    cpuStart = cpuMs()
    return now()
  }
  const end = (t0: number): number => {
    const ms = now() - t0
    lastCpu = cpuMs() - cpuStart
    return ms
  }
  const variants: Record<string, Effect.Effect<number>> = {
    recv_dgram_ns: Effect.promise(() => {
      dgramCount = 0
      fillTo(dgramRx.address().port)
      const t0 = begin()
      return new Promise<number>((resolve) => {
        dgramDone = () => resolve(end(t0))
      })
    }),
    recv_batch_ns: Effect.sync(() => {
      fillTo(portOf(ourRx))
      const t0 = begin()
      let n = 0
      for (;;) {
        const r = ourRx.recvBatch(32)
        if (r === WouldBlock) break
        for (const d of must(r, "recvBatch")) {
          void d.payload.slice()
          n++
        }
      }
      const ms = end(t0)
      if (n !== K) throw new Error(`recvBatch got ${n} of ${K}`)
      return ms
    }),
    recv_from_ns: Effect.sync(() => {
      fillTo(portOf(ourRx))
      const t0 = begin()
      let n = 0
      for (;;) {
        const r = ourRx.recvFrom(buf)
        if (r === WouldBlock) break
        void buf.slice(0, must(r, "recvFrom")[0])
        n++
      }
      const ms = end(t0)
      if (n !== K) throw new Error(`recvFrom got ${n} of ${K}`)
      return ms
    }),
    recv_fiber_ns: Effect.gen(function*() {
      fillTo(fiberRx.address.port)
      const t0 = begin()
      let n = 0
      while (n < K) n += (yield* fiberRx.pull).length
      return end(t0)
    }).pipe(Effect.orDie),
    send_dgram_ns: Effect.promise(() => {
      const b = Buffer.from(payload)
      const t0 = begin()
      return new Promise<number>((resolve) => {
        let left = K
        const cb = () => {
          if (--left === 0) resolve(end(t0))
        }
        for (let i = 0; i < K; i++) dgramTx.send(b, cb)
      })
    }),
    send_one_ns: Effect.sync(() => {
      const t0 = begin()
      for (let i = 0; i < K; i++) must(ourTx.send(payload), "send")
      return end(t0)
    }),
    send_batch_ns: Effect.sync(() => {
      const t0 = begin()
      for (let i = 0; i < K; i += 32) must(ourTx.sendBatch(batchOut), "sendBatch")
      return end(t0)
    }),
    send_fiber_ns: Effect.gen(function*() {
      const t0 = begin()
      for (let i = 0; i < K; i += 32) yield* fiberTx.writeAll(batchOutFiber)
      return end(t0)
    }).pipe(Effect.orDie)
  }

  const names = Object.keys(variants)
  const total: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]))
  const cpu: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]))
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length]!
      const ms = yield* variants[name]!
      drainSink()
      if (r >= warm) {
        total[name] = total[name]! + ms
        cpu[name] = cpu[name]! + lastCpu
      }
    }
  }
  const perDatagram = (ms: number, n: number) => (ms * 1e6) / n
  const out: Record<string, number> = {}
  const measured = (rounds - warm) * K
  for (const n of names) {
    // Sends go in whole batches of 32: count what was sent.
    const count = n === "send_batch_ns" || n === "send_fiber_ns" ? (rounds - warm) * Math.ceil(K / 32) * 32 : measured
    out[n] = perDatagram(total[n]!, count)
    out[`${n}_cpu`] = perDatagram(cpu[n]!, count)
  }

  // --- per-call floors ---------------------------------------------------------------------
  const c = libc()
  const calls = 200_000
  for (let i = 0; i < calls / 10; i++) c.getpid()
  let t0 = now()
  for (let i = 0; i < calls; i++) c.getpid()
  out["koffi_getpid_ns"] = perDatagram(now() - t0, calls)
  for (let i = 0; i < calls / 10; i++) ourRx.recv(buf)
  t0 = now()
  for (let i = 0; i < calls; i++) ourRx.recv(buf)
  out["recv_wouldblock_ns"] = perDatagram(now() - t0, calls)
  emit(out)
})

runMain(program.pipe(Effect.scoped, Effect.provide(Reactor.layer)))
