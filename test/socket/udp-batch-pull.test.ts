/**
 * The fiber-level `DatagramSocket` hands a whole receive batch to one `pull`
 * (issue 12): a burst of datagrams from node:dgram reaches a waiting reader in
 * far fewer pulls than datagrams, in the order they were sent, none lost —
 * and the receive buffer's capacity and `dropped` count still apply to a
 * reader that does not pull.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as dgram from "node:dgram"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Udp from "../../src/socket/Udp.ts"
import { checkFdLeaks } from "../util/fds.ts"

/** A node:dgram socket (a sender we did not write), closed with the Scope. */
const nodeSender = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket({ type: "udp4", sendBufferSize: 1 << 20 })
      s.bind(0, "127.0.0.1", () => resolve(s))
    })
  ),
  (s) => Effect.promise(() => new Promise<void>((r) => s.close(() => r())))
)

/** Sends datagrams `from`..`to - 1`, each its 4-byte big-endian index, and waits until node has sent them all. */
const burst = (s: dgram.Socket, port: number, from: number, to: number) =>
  Effect.promise(() =>
    new Promise<void>((resolve, reject) => {
      let left = to - from
      for (let i = from; i < to; i++) {
        const b = Buffer.alloc(4)
        b.writeUInt32BE(i)
        s.send(b, port, "127.0.0.1", (e) => {
          if (e) reject(e)
          else if (--left === 0) resolve()
        })
      }
    })
  )

const index = (p: Uint8Array): number => new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0)

describe("DatagramSocket pulls a batch per wake-up", () => {
  checkFdLeaks()

  it.live("a reader waiting in pull gets a burst of 500 in order, many per pull", () =>
    Effect.gen(function*() {
      const sender = yield* nodeSender
      const socket = yield* Udp.make({ bind: "127.0.0.1:0", kernelReceiveBufferSize: 1 << 20 })
      const reader = yield* socket.reader
      const N = 500
      const got: Array<number> = []
      let pulls = 0
      const consumer = yield* Effect.forkChild(Effect.gen(function*() {
        while (got.length < N) {
          const batch = yield* reader.pull
          pulls++
          for (const d of batch) got.push(index(d.payload))
        }
      }))
      // Let the consumer park in its first pull before anything arrives.
      for (let i = 0; i < 5 && pulls === 0 && got.length === 0; i++) yield* Effect.yieldNow
      yield* burst(sender, reader.address.port, 0, N)
      yield* Fiber.join(consumer)
      assert.deepStrictEqual(got, Array.from({ length: N }, (_, i) => i))
      assert.isBelow(pulls, N / 4, `${N} datagrams took ${pulls} pulls`)
      assert.deepStrictEqual(socket.stats(), { received: N, droppedOversize: 0 })
      assert.strictEqual(reader.dropped(), 0)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a reader that does not pull: the receive buffer keeps its capacity and counts what it dropped", () =>
    Effect.gen(function*() {
      const sender = yield* nodeSender
      const socket = yield* Udp.make({ bind: "127.0.0.1:0", kernelReceiveBufferSize: 1 << 20, receiveBuffer: { capacity: 50 } })
      const reader = yield* socket.reader
      const N = 200
      yield* burst(sender, reader.address.port, 0, N)
      // The background receive drains the socket into the buffer: wait until it has seen them all.
      while (socket.stats().received < N) yield* Effect.sleep("1 millis")
      const batch = yield* reader.pull
      assert.deepStrictEqual(batch.map((d) => index(d.payload)), Array.from({ length: 50 }, (_, i) => i))
      assert.strictEqual(reader.dropped(), N - 50)
      // Later datagrams come after the kept ones.
      yield* burst(sender, reader.address.port, N, N + 3)
      const next: Array<number> = []
      while (next.length < 3) for (const d of yield* reader.pull) next.push(index(d.payload))
      assert.deepStrictEqual(next, [N, N + 1, N + 2])
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("a sliding receive buffer keeps the newest datagrams; no pull returns more than the capacity", () =>
    Effect.gen(function*() {
      const sender = yield* nodeSender
      const socket = yield* Udp.make({
        bind: "127.0.0.1:0",
        kernelReceiveBufferSize: 1 << 20,
        receiveBuffer: { capacity: 20, strategy: "sliding" }
      })
      const reader = yield* socket.reader
      const N = 200
      yield* burst(sender, reader.address.port, 0, N)
      while (socket.stats().received < N) yield* Effect.sleep("1 millis")
      const kept = (yield* reader.pull).map((d) => index(d.payload))
      assert.deepStrictEqual(kept, Array.from({ length: 20 }, (_, i) => N - 20 + i))
      assert.strictEqual(reader.dropped(), N - 20)
      // A reader that keeps up takes batches straight from the socket, still at most `capacity` each.
      yield* burst(sender, reader.address.port, N, N + 100)
      const next: Array<number> = []
      while (next.length < 100) {
        const batch = yield* reader.pull
        assert.isAtMost(batch.length, 20)
        for (const d of batch) next.push(index(d.payload))
      }
      assert.deepStrictEqual(next, Array.from({ length: 100 }, (_, i) => N + i))
      assert.strictEqual(reader.dropped(), N - 20)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("an interrupted waiting pull takes nothing: the next pull gets every datagram, and payloads stay their own", () =>
    Effect.gen(function*() {
      const sender = yield* nodeSender
      const socket = yield* Udp.make({ bind: "127.0.0.1:0", kernelReceiveBufferSize: 1 << 20 })
      const reader = yield* socket.reader
      const waiting = yield* Effect.forkChild(reader.pull)
      for (let i = 0; i < 5; i++) yield* Effect.yieldNow
      yield* Fiber.interrupt(waiting)
      const N = 300
      yield* burst(sender, reader.address.port, 0, N)
      const got: Array<Uint8Array> = []
      while (got.length < N) for (const d of yield* reader.pull) got.push(d.payload)
      // Later receives (into the same batch slots and pools) leave earlier payloads as they were.
      yield* burst(sender, reader.address.port, N, 2 * N)
      let more = 0
      while (more < N) more += (yield* reader.pull).length
      assert.deepStrictEqual(got.map(index), Array.from({ length: N }, (_, i) => i))
      assert.deepStrictEqual(socket.stats(), { received: 2 * N, droppedOversize: 0 })
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("payloads of 65 B to 2 KiB are copies that later receives do not overwrite", () =>
    Effect.gen(function*() {
      const sender = yield* nodeSender
      const socket = yield* Udp.make({ bind: "127.0.0.1:0", kernelReceiveBufferSize: 1 << 20 })
      const reader = yield* socket.reader
      const send = (i: number, size: number) =>
        Effect.promise(() =>
          new Promise<void>((resolve, reject) =>
            sender.send(Buffer.alloc(size, i & 0xff), reader.address.port, "127.0.0.1", (e) => (e ? reject(e) : resolve()))
          )
        )
      const got: Array<Uint8Array> = []
      const sizes = [65, 700, 1200, 2048, 2049, 64]
      for (let round = 0; round < 40; round++) {
        const size = sizes[round % sizes.length]!
        yield* send(round, size)
        const batch = yield* reader.pull
        for (const d of batch) got.push(d.payload)
      }
      assert.strictEqual(got.length, 40)
      got.forEach((p, round) => {
        assert.strictEqual(p.length, sizes[round % sizes.length])
        assert.isTrue(p.every((b) => b === (round & 0xff)), `datagram ${round} changed`)
      })
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))
})
