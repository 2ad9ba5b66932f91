/**
 * A one-way receiver acknowledges a batch of received packets before its
 * application takes the datagrams (docs/dccp.md, the driver): the sender's next
 * window is not held back by the application's work. A receiver that answers
 * (it sent data since the last batch) keeps the other order, so that its
 * replies carry the acknowledgement (a DataAck, not an Ack and a Data).
 * Real sockets on loopback, both ends in this process.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Dccp from "../../src/dccp/Dccp.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"

const CHUNKS = 20
const CHUNK = 10

/** Waits (polling every ms, at most 5 s) until `done()` holds. */
const until = (done: () => boolean, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 5000 && !done(); i++) yield* Effect.sleep(1)
    assert.isTrue(done(), what)
  })

describe("Dccp over udp: when a receive batch is acknowledged", () => {
  checkFdLeaks()

  it.live("one way: the acknowledgement of a batch has left when the application takes its first datagram", () =>
    Effect.gen(function*() {
      const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42] })
      const client = yield* Dccp.connect({ address: SocketAddress.format(server.address), serviceCode: 42 })
      const receiver = yield* server.accept
      /** The receiver's datagrams sent, as its application saw them at each datagram. */
      const sentAt: Array<number> = []
      const taking = yield* Effect.forkChild(Effect.forever(Effect.flatMap(receiver.recv, () =>
        Effect.map(receiver.info, (i) => {
          sentAt.push(i.stats.datagramsSent)
        }))).pipe(Effect.ignore))
      const payload = new Uint8Array(64)
      // Chunks that each arrive as one receive batch: the sending fiber does not yield within one.
      for (let c = 1; c <= CHUNKS; c++) {
        for (let i = 0; i < CHUNK; i++) yield* client.send(payload)
        yield* until(() => sentAt.length >= c * CHUNK, `chunk ${c} arrived`)
      }
      yield* Fiber.interrupt(taking)
      // At the first datagram of each chunk the receiver has sent more than by the end of the last one: its acknowledgement.
      let ackedFirst = 0
      for (let c = 1; c < CHUNKS; c++) if (sentAt[c * CHUNK]! > sentAt[c * CHUNK - 1]!) ackedFirst++
      assert.isAtLeast(ackedFirst, CHUNKS - 3, `chunks acknowledged before the application took them: ${sentAt.join(",")}`)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("answering: a reply carries the acknowledgement of the batch it answers", () =>
    Effect.gen(function*() {
      const server = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [42] })
      const client = yield* Dccp.connect({ address: SocketAddress.format(server.address), serviceCode: 42 })
      const echo = yield* server.accept
      const echoing = yield* Effect.forkChild(Effect.forever(Effect.flatMap(echo.recv, echo.send)).pipe(Effect.ignore))
      const payload = new Uint8Array(64)
      // The first exchange switches the server to answering; then count the packets of 200 more.
      yield* client.send(payload)
      yield* client.recv
      const before = (yield* echo.info).stats.datagramsSent
      const rounds = 200
      for (let i = 0; i < rounds; i++) {
        yield* client.send(payload)
        yield* client.recv
      }
      const sent = (yield* echo.info).stats.datagramsSent - before
      yield* Fiber.interrupt(echoing)
      // One DataAck per round trip; a separate Ack before each reply would make it two.
      assert.isAtMost(sent, rounds * 1.2, `the server's datagrams for ${rounds} round trips`)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
