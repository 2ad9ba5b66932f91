/**
 * Every socket counts what it moved (`traffic`, read by the metrics): stream
 * bytes through read, write, readv, writev and out-of-band writes; datagrams
 * and their bytes through every send and receive call, batches and GSO
 * segments included. A peek moves nothing and counts nothing; a call that
 * would block or fails counts nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { IoError } from "../../src/IoError.ts"
import type * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as UnixStream from "../../src/net/UnixStream.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { bytes, expectOk } from "../util/expect.ts"

/** Retries a non-blocking receive until it has something (loopback delivers within microseconds). */
const received = <A>(op: () => A | WouldBlock | IoError): Effect.Effect<A> =>
  Effect.gen(function*() {
    for (let i = 0; i < 5000; i++) {
      const r = op()
      if (r !== WouldBlock) return expectOk(r)
      yield* Effect.sleep("1 millis")
    }
    return assert.fail("nothing arrived")
  })

describe("socket traffic counters", () => {
  checkFdLeaks()

  it.live("a stream counts the bytes of read, write, readv, writev; not a peek, not a WouldBlock", () =>
    Effect.gen(function*() {
      const [a, b] = yield* UnixStream.pair()
      const buf = new Uint8Array(64)
      assert.strictEqual(a.read(buf), WouldBlock)
      expectOk(a.write(bytes("hello")))
      expectOk(a.writev([bytes("wor"), bytes("ld!")]))
      assert.strictEqual(expectOk(b.peek(buf)), 11)
      assert.strictEqual(b.traffic.bytesReceived, 0, "a peek is not a receive")
      assert.strictEqual(expectOk(b.read(buf.subarray(0, 4))), 4)
      assert.strictEqual(expectOk(b.readv([buf.subarray(0, 3), buf.subarray(3, 20)])), 7)
      assert.deepStrictEqual(
        [a.traffic.bytesSent, a.traffic.bytesReceived, b.traffic.bytesReceived, b.traffic.bytesSent],
        [11, 0, 11, 0]
      )
      assert.strictEqual(a.traffic.datagramsSent, 0, "streams count no datagrams")
      a.close()
      assert.strictEqual(b.read(buf), 0)
      assert.strictEqual(b.traffic.bytesReceived, 11)
    }).pipe(Effect.scoped))

  it.live("a UDP socket counts datagrams and bytes of send, sendTo, sendBatch, sendSegments, recv, recvFrom, recvBatch; not peekFrom", () =>
    Effect.gen(function*() {
      const a = yield* UdpSocket.bind("127.0.0.1:0")
      const b = yield* UdpSocket.bind("127.0.0.1:0")
      const at = expectOk(b.localAddr()) as SocketAddress.SocketAddress
      const buf = new Uint8Array(2048)
      expectOk(a.sendTo(bytes("one"), at)) // 3
      assert.strictEqual(expectOk(a.sendBatch([{ payload: bytes("two!"), address: at }, { payload: bytes("three"), address: at }])), 2) // 4 + 5
      assert.strictEqual(expectOk(a.sendSegments(new Uint8Array(250), 100, at)), 3) // 100 + 100 + 50
      assert.deepStrictEqual([a.traffic.datagramsSent, a.traffic.bytesSent], [6, 262])

      const [n] = yield* received(() => b.peekFrom(buf))
      assert.strictEqual(n, 3)
      assert.deepStrictEqual([b.traffic.datagramsReceived, b.traffic.bytesReceived], [0, 0], "a peek is not a receive")
      yield* received(() => b.recvFrom(buf)) // "one"
      assert.strictEqual(expectOk(b.recv(buf)), 4) // "two!"
      let batched = 0
      while (batched < 4) batched += (yield* received(() => b.recvBatch())).length
      assert.deepStrictEqual([b.traffic.datagramsReceived, b.traffic.bytesReceived], [6, 262])

      expectOk(b.connect(expectOk(a.localAddr()) as SocketAddress.SocketAddress))
      assert.strictEqual(expectOk(b.send(bytes("back"))), 4)
      assert.deepStrictEqual([b.traffic.datagramsSent, b.traffic.bytesSent], [1, 4])
      assert.strictEqual(b.recv(buf), WouldBlock)
      assert.deepStrictEqual([b.traffic.datagramsReceived, b.traffic.bytesReceived], [6, 262], "WouldBlock counts nothing")
    }).pipe(Effect.scoped))
})
