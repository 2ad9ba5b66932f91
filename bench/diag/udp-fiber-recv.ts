/**
 * Where the DatagramSocket receive path spends its time per datagram, beside
 * the batch it is built on: 1,000 datagrams of 64 B are queued (sendmmsg,
 * untimed), then drained by `reader.pull` of `Udp.make`, by `recvBatch(64)` +
 * copy, or by `recvBatch(64)` + copy + one record per datagram (the least a
 * `DatagramSocket` must do); prints CPU ns per datagram of each (the process's
 * CPU time, which other processes on the machine do not inflate), the pulls
 * per round and the datagrams per pull. Run under `node --cpu-prof` for the
 * profile. Diagnostic, not part of `npm run bench`.
 *
 *   node --import tsx bench/diag/udp-fiber-recv.ts [rounds]
 */
import * as Effect from "effect/Effect"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Udp from "../../src/socket/Udp.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"

const rounds = Number(process.argv[2] ?? 400)
const K = 1000
const HOST = "127.0.0.1"
const payload = new Uint8Array(64).fill(7)
/** CPU time of this process, in ns. */
const cpuNs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) * 1000
}
/** What a `DatagramSocket` hands out per datagram at least: the payload's copy and its source. */
class Datagram {
  readonly payload: Uint8Array
  readonly address: unknown
  constructor(payload: Uint8Array, address: unknown) {
    this.payload = payload
    this.address = address
  }
}

const program = Effect.gen(function*() {
  const filler = yield* UdpSocket.bind(`${HOST}:0`, { sendBufferSize: 4 << 20, batch: { size: 64, sendBytes: 1 << 20 } })
  const rx = yield* UdpSocket.bind(`${HOST}:0`, { recvBufferSize: 4 << 20, batch: { size: 64 } })
  const socket = yield* Udp.make({ bind: `${HOST}:0`, kernelReceiveBufferSize: 4 << 20 })
  const reader = yield* socket.reader
  const fill = (port: number) => {
    const list = Array.from({ length: K }, () => ({ payload, address: `${HOST}:${port}` }))
    let sent = 0
    while (sent < K) sent += filler.sendBatch(list.slice(sent)) as number
  }
  let fiberNs = 0, batchNs = 0, recordsNs = 0, pulls = 0
  let kept: Array<Datagram> = []
  for (let r = 0; r < rounds; r++) {
    fill(reader.address.port)
    let t0 = cpuNs()
    let n = 0
    while (n < K) {
      n += (yield* reader.pull).length
      pulls++
    }
    if (r >= rounds / 10) fiberNs += cpuNs() - t0
    for (const withRecords of [false, true]) {
      fill((rx.localAddr() as { port: number }).port)
      t0 = cpuNs()
      for (;;) {
        const b = rx.recvBatch()
        if (b === WouldBlock) break
        if (withRecords) {
          const out: Array<Datagram> = []
          for (const d of b as ReadonlyArray<UdpSocket.ReceivedDatagram>) out.push(new Datagram(d.payload.slice(), d.address))
          kept = out
        } else for (const d of b as ReadonlyArray<UdpSocket.ReceivedDatagram>) void d.payload.slice()
      }
      if (r >= rounds / 10) {
        if (withRecords) recordsNs += cpuNs() - t0
        else batchNs += cpuNs() - t0
      }
    }
  }
  void kept
  const measured = (rounds - Math.ceil(rounds / 10)) * K
  console.log(JSON.stringify({
    fiber_ns: Math.round(fiberNs / measured),
    batch_ns: Math.round(batchNs / measured),
    batch_records_ns: Math.round(recordsNs / measured),
    pulls_per_round: pulls / rounds,
    datagrams_per_pull: K / (pulls / rounds)
  }))
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Reactor.layer))).catch((e) => {
  console.error(e)
  process.exit(1)
})
