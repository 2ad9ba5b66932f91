/**
 * One-way DCCP-UDP in one process for `secs` seconds, then both ends' `info()`
 * (the sender's CCID 2 state, both ends' packet counters): how many packets
 * each end sent per data packet, and where the window and Ack Ratio settled.
 * Diagnostic, not part of `npm run bench`.
 *
 *   npx tsx bench/diag/dccp-oneway-state.ts [secs]
 */
import * as Effect from "effect/Effect"
import * as Dccp from "../../src/dccp/Dccp.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"

const secs = Number(process.argv[2] ?? 1)
const message = new Uint8Array(64)

const program = Effect.gen(function*() {
  const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42] })
  let socket: Dccp.DccpSocket | undefined
  let received = 0
  yield* Effect.forkChild(server.run((s) => {
    socket = s
    return Effect.forever(Effect.map(s.recv, () => void received++), { disableYield: true })
  }))
  const c = yield* Dccp.connect({ address: SocketAddress.format(server.address), serviceCode: 42 })
  const t0 = performance.now()
  let sent = 0
  while (performance.now() - t0 < secs * 1000) {
    yield* c.send(message)
    sent++
  }
  yield* Effect.sleep("50 millis")
  const tx = yield* c.info
  const rx = yield* socket!.info
  console.log(JSON.stringify({ sent, received, per_s: received / secs, sender: { cwnd: tx.cwnd, rttMs: tx.rttMs, stats: tx.stats }, receiver: { stats: rx.stats } }, null, 1))
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Reactor.layer))).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
