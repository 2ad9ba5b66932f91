/**
 * Datagrams arrive whole or not at all (issue 8, defect 1): the fiber-level
 * `DatagramSocket` once delivered only the first 2048 bytes of longer datagrams.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as NetAddress from "effect/net/NetAddress"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import * as dgram from "node:dgram"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as Udp from "../../src/socket/Udp.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { checkFdLeaks } from "../util/fds.ts"

/** A node:dgram socket (a sender we did not write), closed with the Scope. */
const nodeSender = Effect.acquireRelease(
  Effect.promise(() =>
    new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket("udp4")
      s.bind(0, "127.0.0.1", () => resolve(s))
    })
  ),
  (s) => Effect.promise(() => new Promise<void>((r) => s.close(() => r())))
)

const pattern = (n: number): Uint8Array => {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff
  return b
}

const send = (s: dgram.Socket, bytes: Uint8Array, port: number) =>
  Effect.promise(() => new Promise<void>((r, j) => s.send(bytes, port, "127.0.0.1", (e) => e ? j(e) : r())))

describe("UDP datagrams arrive whole", () => {
  checkFdLeaks()

  it.live("DatagramSocket delivers 5,000- and 60,000-byte datagrams whole", () =>
    Effect.gen(function*() {
      const sender = yield* nodeSender
      const socket = yield* Udp.make({ bind: "127.0.0.1:0" })
      const reader = yield* socket.reader
      const port = reader.address.port
      const sizes = [5000, 60000, 100, 65507]
      for (const n of sizes) yield* send(sender, pattern(n), port)
      const got: Array<Uint8Array> = []
      while (got.length < sizes.length) for (const d of yield* reader.pull) got.push(d.payload)
      assert.deepStrictEqual(got.map((p) => p.length), sizes)
      for (const p of got) assert.deepStrictEqual(p, pattern(p.length))
      assert.deepStrictEqual(socket.stats(), { received: 4, droppedOversize: 0 })
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("with maxDatagramSize a longer datagram is dropped whole, counted and reported — never cut", () =>
    Effect.gen(function*() {
      const sender = yield* nodeSender
      const reported: Array<DatagramSocket.DatagramSocketError> = []
      const socket = yield* Udp.make({ bind: "127.0.0.1:0", maxDatagramSize: 1000, onError: (e) => reported.push(e) })
      const reader = yield* socket.reader
      const port = reader.address.port
      yield* send(sender, pattern(5000), port)
      yield* send(sender, pattern(1000), port)
      yield* send(sender, pattern(1001), port)
      yield* send(sender, pattern(10), port)
      const got: Array<number> = []
      while (got.length < 2) for (const d of yield* reader.pull) got.push(d.payload.length)
      assert.deepStrictEqual(got, [1000, 10])
      assert.deepStrictEqual(socket.stats(), { received: 2, droppedOversize: 2 })
      assert.strictEqual(reported.length, 2)
      const reason = reported[0]!.reason
      assert.strictEqual(reason._tag, "DatagramSocketReadError")
      assert.match(String((reason as DatagramSocket.DatagramSocketReadError).cause), /5000-byte datagram exceeds maxDatagramSize 1000/)
    }).pipe(Effect.scoped, Effect.provide(Reactor.layer)))

  it.live("recvBatch holds any datagram by default; a smaller bufferSize flags the cut with the real size", () =>
    Effect.gen(function*() {
      const sender = yield* nodeSender
      const whole = yield* UdpSocket.bind("127.0.0.1:0")
      const small = yield* UdpSocket.bind("127.0.0.1:0", { batch: { bufferSize: 1200 } })
      const portOf = (u: UdpSocket.UdpSocket) => (u.localAddr() as NetAddress.InetAddress).port
      yield* send(sender, pattern(60000), portOf(whole))
      yield* send(sender, pattern(5000), portOf(small))
      const a = whole.recvBatch()
      const b = small.recvBatch()
      if (a === WouldBlock || a instanceof Error || b === WouldBlock || b instanceof Error) return assert.fail(`no datagram: ${String(a)} ${String(b)}`)
      assert.deepStrictEqual([a[0]!.payload.length, a[0]!.truncated, a[0]!.size], [60000, false, 60000])
      assert.deepStrictEqual(a[0]!.payload, pattern(60000))
      assert.deepStrictEqual([b[0]!.payload.length, b[0]!.truncated, b[0]!.size], [1200, true, 5000])
    }).pipe(Effect.scoped))

  it.effect("invalid options are typed open errors naming the option, not defects", () =>
    Effect.gen(function*() {
      const cases: Array<[Udp.Options, RegExp]> = [
        [{ receiveBuffer: { capacity: 0 } }, /receiveBuffer\.capacity is a positive integer, not 0/],
        [{ receiveBuffer: { capacity: Number.NaN } }, /receiveBuffer\.capacity .* not NaN/],
        [{ maxDatagramSize: 0 }, /maxDatagramSize is an integer from 1 to 65535, not 0/],
        [{ maxDatagramSize: 70000 }, /maxDatagramSize .* not 70000/],
        [{ family: "ipx" as never }, /family is "ipv4" or "ipv6", not "ipx"/]
      ]
      for (const [options, message] of cases) {
        const exit = yield* Effect.exit(Udp.make(options))
        assert.isTrue(Exit.isFailure(exit), JSON.stringify(options))
        if (Exit.isFailure(exit)) {
          const error = exit.cause.reasons[0]
          assert.strictEqual(error?._tag, "Fail", JSON.stringify(options))
          const e = (error as { error: DatagramSocket.DatagramSocketError }).error
          assert.strictEqual(e.reason._tag, "DatagramSocketOpenError")
          assert.match(String((e.reason as DatagramSocket.DatagramSocketOpenError).cause), message)
        }
      }
    }).pipe(Effect.provide(Reactor.layer)))
})
