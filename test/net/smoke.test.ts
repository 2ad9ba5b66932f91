import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import { scoped } from "../../src/poll/IoSource.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { bytes, expectEvents, expectOk, expectWouldBlock, text } from "../util/expect.ts"

describe("net smoke", () => {
  checkFdLeaks()

  it.live("tcp accept, connect, echo", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const addr = expectOk(listener.localAddr())
      yield* poll.registry.register(listener, Token(0), Interest.READABLE)
      const client = yield* TcpStream.connect(addr)
      yield* poll.registry.register(client, Token(1), Interest.add(Interest.READABLE, Interest.WRITABLE))
      yield* expectEvents(poll, events, [{ token: Token(0), readiness: ["readable"] }, { token: Token(1), readiness: ["writable"] }])
      const accepted = listener.accept()
      assert.notStrictEqual(accepted, WouldBlock)
      const [server, peer] = expectOk(accepted)
      yield* scoped(server)
      expectWouldBlock(listener.accept())
      assert.strictEqual(SocketAddress.format(peer), SocketAddress.format(expectOk(client.localAddr())))
      assert.isUndefined(client.takeError())
      expectOk(client.write(bytes("ping")))
      yield* poll.registry.register(server, Token(2), Interest.READABLE)
      yield* expectEvents(poll, events, [{ token: Token(2), readiness: ["readable"] }])
      const buf = new Uint8Array(64)
      assert.strictEqual(text(buf, expectOk(server.read(buf))), "ping")
    }))

  it.live("udp sendTo/recvFrom and batches", () =>
    Effect.gen(function*() {
      const a = yield* UdpSocket.bind("127.0.0.1:0")
      const b = yield* UdpSocket.bind("127.0.0.1:0")
      const bAddr = expectOk(b.localAddr())
      expectOk(a.sendTo(bytes("one"), bAddr))
      const sent = a.sendBatch([{ payload: bytes("two"), address: bAddr }, { payload: bytes("three"), address: bAddr }])
      assert.strictEqual(sent, 2)
      const buf = new Uint8Array(64)
      const [n, from] = expectOk(b.recvFrom(buf))
      assert.strictEqual(text(buf, n), "one")
      assert.strictEqual(SocketAddress.format(from), SocketAddress.format(expectOk(a.localAddr())))
      const batch = expectOk(b.recvBatch())
      assert.deepStrictEqual(batch.map((d) => text(d.payload)), ["two", "three"])
      expectWouldBlock(b.recvBatch())
      const segs = a.sendSegments(new Uint8Array(1000).fill(7), 300, bAddr)
      assert.strictEqual(segs, 4)
      const got = expectOk(b.recvBatch())
      assert.deepStrictEqual(got.map((d) => d.payload.length), [300, 300, 300, 100])
    }))
})
