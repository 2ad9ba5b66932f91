/**
 * Port of mio's tests/regressions.rs (all three are Linux-relevant).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as UnixDatagram from "../../src/net/UnixDatagram.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Waker from "../../src/poll/Waker.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { expectOk, expectWouldBlock, pollUntil } from "../util/expect.ts"
import { nodeServer, tempPath } from "../util/peer.ts"

const ID1 = Token(1)
const WAKE_TOKEN = Token(10)

describe("regressions (mio tests/regressions.rs)", () => {
  checkFdLeaks()

  // mio: regressions.rs issue_776 — reading a connected, idle stream after its
  // first event is WouldBlock, not an error
  it.live("issue_776: read on an idle connected stream is WouldBlock", () =>
    Effect.gen(function*() {
      const server = yield* nodeServer("127.0.0.1")
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const stream = yield* TcpStream.connect(server.address)
      yield* poll.registry.register(stream, Token(1), Interest.add(Interest.READABLE, Interest.WRITABLE))
      yield* pollUntil(poll, events, (e) => e.token === 1) // connected
      expectWouldBlock(stream.read(new Uint8Array(1024)))
    }))

  // mio: regressions.rs issue_1205 — a listener deregistered after a connection
  // arrived reports nothing; the next poll returns only the waker's event
  it.live("issue_1205: after deregister, only the waker event is returned", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const waker = yield* Waker.make(poll.registry, WAKE_TOKEN)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      yield* poll.registry.register(listener, ID1, Interest.READABLE)
      yield* poll.poll(events, 0)
      assert.strictEqual(events.length, 0)

      yield* TcpStream.connect(expectOk(listener.localAddr()))
      yield* poll.registry.deregister(listener)
      const timer = setTimeout(() => waker.wakeNow(), 100)
      yield* Effect.addFinalizer(() => Effect.sync(() => clearTimeout(timer)))
      yield* poll.poll(events) // no timeout, as mio's `None`
      assert.strictEqual(events.length, 1)
      assert.isTrue(events.get(0).isReadable())
      assert.strictEqual(events.get(0).token, WAKE_TOKEN)
    }))

  // mio: regressions.rs issue_1403 — a datagram from an unbound Unix socket
  // has an unnamed source address
  it.live("issue_1403: recvFrom a datagram of an unbound socket: its address is unnamed", () =>
    Effect.gen(function*() {
      const path = tempPath("issue_1403")
      const datagram1 = yield* UnixDatagram.bind(path)
      const datagram2 = yield* UnixDatagram.unbound()
      const buf = new Uint8Array(1024).fill(1)
      const n = expectOk(datagram2.sendTo(buf, path))
      const [got, addr] = expectOk(datagram1.recvFrom(buf))
      assert.strictEqual(got, n)
      assert.strictEqual(addr._tag, "UnixUnnamedAddress")
      assert.strictEqual(SocketAddress.format(addr), "(unnamed)")
    }))
})
