/**
 * Where the DatagramSocket receive path spends its time per datagram, beside
 * the batch it is built on: 1,000 datagrams of 64 B are queued (sendmmsg,
 * untimed), then drained by `reader.pull` of `Udp.make` (Effect's
 * `makeFromBackingSocket` over our recvmmsg batches) or by `recvBatch(32)` +
 * copy; prints ns per datagram of each, the pulls per round and the datagrams
 * per pull. Run under `node --cpu-prof` for the profile. Diagnostic, not part
 * of `npm run bench`.
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

const program = Effect.gen(function*() {
  const filler = yield* UdpSocket.bind(`${HOST}:0`, { sendBufferSize: 4 << 20, batch: { size: 64, sendBytes: 1 << 20 } })
  const rx = yield* UdpSocket.bind(`${HOST}:0`, { recvBufferSize: 4 << 20, batch: { size: 32 } })
  const socket = yield* Udp.make({ bind: `${HOST}:0`, kernelReceiveBufferSize: 4 << 20 })
  const reader = yield* socket.reader
  const fill = (port: number) => {
    const list = Array.from({ length: K }, () => ({ payload, address: `${HOST}:${port}` }))
    let sent = 0
    while (sent < K) sent += filler.sendBatch(list.slice(sent)) as number
  }
  let fiberNs = 0, batchNs = 0, pulls = 0
  for (let r = 0; r < rounds; r++) {
    fill(reader.address.port)
    let t0 = process.hrtime.bigint()
    let n = 0
    while (n < K) {
      n += (yield* reader.pull).length
      pulls++
    }
    if (r >= rounds / 10) fiberNs += Number(process.hrtime.bigint() - t0)
    fill((rx.localAddr() as { port: number }).port)
    t0 = process.hrtime.bigint()
    n = 0
    for (;;) {
      const b = rx.recvBatch(32)
      if (b === WouldBlock) break
      for (const d of b as ReadonlyArray<UdpSocket.ReceivedDatagram>) {
        void d.payload.slice()
        n++
      }
    }
    if (r >= rounds / 10) batchNs += Number(process.hrtime.bigint() - t0)
  }
  const measured = (rounds - Math.ceil(rounds / 10)) * K
  console.log(JSON.stringify({
    fiber_ns: Math.round(fiberNs / measured),
    batch_ns: Math.round(batchNs / measured),
    pulls_per_round: pulls / rounds,
    datagrams_per_pull: K / (pulls / rounds)
  }))
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Reactor.layer))).catch((e) => {
  console.error(e)
  process.exit(1)
})
