/**
 * A burst of sends over real sockets on loopback (DCCP-UDP): the send queue
 * (`txQueueLength`, Linux's `tx_qlen`) holds only what the CCID holds back, as
 * in Linux, where `sendmsg` hands a datagram to the CCID at once. Datagrams the
 * CCID lets go wait for the driver's batched flush without counting against it,
 * so a burst within the congestion window is taken without waiting.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Dccp from "../../src/dccp/Dccp.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"

const BURST = 40

/** Counts what `socket` receives, in a fiber. */
const counting = (socket: Dccp.DccpSocket, count: { n: number }) =>
  Effect.forkChild(Effect.forever(Effect.map(socket.recv, () => void count.n++)).pipe(Effect.ignore))

/** Waits (polling every ms, at most 5 s) until `count.n` reaches `n`. */
const awaitCount = (count: { n: number }, n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 5000 && count.n < n; i++) yield* Effect.sleep(1)
    assert.isAtLeast(count.n, n, "datagrams received")
  })

/**
 * Opens CCID 2's window with `warmup` datagrams from `from` to `to`, then sends
 * `BURST` more in one go (the sending fiber never yields between them) and
 * reports how many of those sends found the queue full.
 */
const burst = (from: Dccp.DccpSocket, to: Dccp.DccpSocket, warmup: number) =>
  Effect.gen(function*() {
    const got = { n: 0 }
    const receiving = yield* counting(to, got)
    const payload = new Uint8Array(64)
    // In chunks the receiving fiber (in this process) takes before the next: nothing is dropped.
    // Past `warmup`, on until the window is open (a loaded machine can delay an
    // acknowledgement past the RTO, and CCID 2 then starts over from a small window).
    let sent = 0
    while (sent < warmup || ((yield* from.info).cwnd ?? 0) <= BURST && sent < 5 * warmup) {
      for (let i = 0; i < 20; i++, sent++) yield* from.send(payload)
      yield* awaitCount(got, sent)
    }
    // Everything was acknowledged: nothing is in flight.
    yield* Effect.sleep(20)
    const before = yield* from.info
    assert.isAbove(before.cwnd ?? 0, BURST, "the warm-up opened the window")
    for (let i = 0; i < BURST; i++) yield* from.send(payload)
    const after = yield* from.info
    yield* awaitCount(got, sent + BURST)
    yield* Fiber.interrupt(receiving)
    return { refused: after.stats.sendRefused - before.stats.sendRefused, sent: after.stats.dataPacketsSent - before.stats.dataPacketsSent }
  })

describe("Dccp over udp: a burst of sends within the congestion window", () => {
  checkFdLeaks()

  const directions = [
    { title: "client to server: no send of the burst waits for room in the send queue", fromClient: true },
    { title: "server to client: the same for a listener's connection", fromClient: false }
  ]
  for (const { fromClient, title } of directions) {
    it.live(title, () =>
      Effect.gen(function*() {
        const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42] })
        const client = yield* Dccp.connect({ address: SocketAddress.format(server.address), serviceCode: 42 })
        const accepted = yield* server.accept
        const r = yield* (fromClient ? burst(client, accepted, 1000) : burst(accepted, client, 1000))
        assert.strictEqual(r.refused, 0, "sends that found the queue full")
        // The last few wait in the queue for the flush when the fiber yields.
        assert.isAtLeast(r.sent, BURST - 5, "the burst went to the CCID as it was sent")
      }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
  }

  it.live("a queue the CCID holds back still refuses: a burst past a closed window waits, and every datagram arrives", () =>
    Effect.gen(function*() {
      const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42] })
      const client = yield* Dccp.connect({ address: SocketAddress.format(server.address), serviceCode: 42, txQueueLength: 2 })
      const accepted = yield* server.accept
      const got = { n: 0 }
      const receiving = yield* counting(accepted, got)
      // A fresh connection's window is a few packets: most of these wait for acknowledgements.
      for (let i = 0; i < 200; i++) yield* client.send(new Uint8Array(64))
      const info = yield* client.info
      assert.isAbove(info.stats.sendRefused, 0, "sends waited for room while the window was closed")
      yield* awaitCount(got, 200)
      yield* Fiber.interrupt(receiving)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
