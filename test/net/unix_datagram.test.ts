/**
 * Port of mio's tests/unix_datagram.rs. The `_from_std` variants adopt
 * blocking, inheritable sockets made straight from libc.
 *
 * Not ported: `is_send_and_sync` (no threads).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { IoError } from "../../src/IoError.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as UnixDatagram from "../../src/net/UnixDatagram.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as C from "../../src/sys/constants.ts"
import { checkFdLeaks } from "../util/fds.ts"
import {
  bytes,
  expectEvents,
  expectIoError,
  expectNoEvents,
  expectOk,
  expectRead,
  expectWouldBlock,
  expectWritten
} from "../util/expect.ts"
import { tempPath } from "../util/peer.ts"
import { rawBound } from "../util/raw.ts"

const DATA1 = bytes("Hello same host!")
const DATA2 = bytes("Why hello mio!")
const TOKEN_1 = Token(0)
const TOKEN_2 = Token(1)
const RW = Interest.add(Interest.READABLE, Interest.WRITABLE)
const fmt = SocketAddress.format

type Make = (path: string) => Effect.Effect<UnixDatagram.UnixDatagram, IoError, Scope.Scope>
const bind: Make = (p) => UnixDatagram.bind(p)
const fromStd: Make = (p) => Effect.suspend(() => UnixDatagram.fromFd(rawBound(p, C.SOCK_DGRAM)))

/** mio's `smoke_test_unconnected`. */
const smokeUnconnected = (make: Make, name: string) =>
  Effect.gen(function*() {
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    const path1 = tempPath(`${name}1`)
    const path2 = tempPath(`${name}2`)
    const datagram1 = yield* make(path1)
    const datagram2 = yield* make(path2)
    for (const d of [datagram1, datagram2]) {
      assert.isTrue(expectOk(d.isNonblocking()))
      assert.isTrue(expectOk(d.isCloseOnExec()))
    }
    assert.strictEqual(fmt(expectOk(datagram1.localAddr())), path1)
    assert.strictEqual(fmt(expectOk(datagram2.localAddr())), path2)
    yield* poll.registry.register(datagram1, TOKEN_1, RW)
    yield* poll.registry.register(datagram2, TOKEN_2, RW)
    yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writable"] }, { token: TOKEN_2, readiness: ["writable"] }])
    const buf = new Uint8Array(64)
    expectWouldBlock(datagram1.recvFrom(buf))
    expectWouldBlock(datagram2.recvFrom(buf))
    expectWritten(datagram1.sendTo(DATA1, path2), DATA1.length)
    expectWritten(datagram2.sendTo(DATA2, path1), DATA2.length)
    yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }, { token: TOKEN_2, readiness: ["readable"] }])
    const [n1, from1] = expectOk(datagram1.recvFrom(buf))
    assert.deepStrictEqual([...buf.subarray(0, n1)], [...DATA2])
    assert.strictEqual(fmt(from1), path2)
    const [n2, from2] = expectOk(datagram2.recvFrom(buf))
    assert.deepStrictEqual([...buf.subarray(0, n2)], [...DATA1])
    assert.strictEqual(fmt(from2), path1)
    assert.isUndefined(datagram1.takeError())
    assert.isUndefined(datagram2.takeError())
  })

/** mio's `smoke_test_connected`. */
const smokeConnected = (make: Make, name: string) =>
  Effect.gen(function*() {
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    const path1 = tempPath(`${name}1`)
    const path2 = tempPath(`${name}2`)
    const datagram1 = yield* make(path1)
    const datagram2 = yield* make(path2)
    assert.isUndefined(datagram1.connect(path2))
    assert.isUndefined(datagram2.connect(path1))
    for (const d of [datagram1, datagram2]) {
      assert.isTrue(expectOk(d.isNonblocking()))
      assert.isTrue(expectOk(d.isCloseOnExec()))
    }
    assert.strictEqual(fmt(expectOk(datagram1.localAddr())), fmt(expectOk(datagram2.peerAddr())))
    assert.strictEqual(fmt(expectOk(datagram2.localAddr())), fmt(expectOk(datagram1.peerAddr())))
    yield* poll.registry.register(datagram1, TOKEN_1, RW)
    yield* poll.registry.register(datagram2, TOKEN_2, RW)
    yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writable"] }, { token: TOKEN_2, readiness: ["writable"] }])
    const buf = new Uint8Array(64)
    expectWouldBlock(datagram1.recv(buf))
    expectWouldBlock(datagram2.recv(buf))
    expectWritten(datagram1.send(DATA1), DATA1.length)
    expectWritten(datagram2.send(DATA2), DATA2.length)
    yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }, { token: TOKEN_2, readiness: ["readable"] }])
    expectRead(datagram1.recv(buf), buf, DATA2)
    expectRead(datagram2.recv(buf), buf, DATA1)
    assert.isUndefined(datagram1.takeError())
    assert.isUndefined(datagram2.takeError())
  })

describe("unix_datagram (mio tests/unix_datagram.rs)", () => {
  checkFdLeaks()

  // mio: unix_datagram.rs unix_datagram_smoke_unconnected / _from_std
  it.live("unix_datagram_smoke_unconnected", () => smokeUnconnected(bind, "unix_datagram_smoke_unconnected"))
  it.live("unix_datagram_smoke_unconnected_from_std", () =>
    smokeUnconnected(fromStd, "unix_datagram_smoke_unconnected_from_std"))

  // mio: unix_datagram.rs unix_datagram_smoke_connected / _from_std
  it.live("unix_datagram_smoke_connected", () => smokeConnected(bind, "unix_datagram_smoke_connected"))
  it.live("unix_datagram_smoke_connected_from_std", () => smokeConnected(fromStd, "unix_datagram_smoke_connected_from_std"))

  // mio: unix_datagram.rs unix_datagram_connect — to its own path
  it.live("unix_datagram_connect: a socket may connect to its own path", () =>
    Effect.gen(function*() {
      const datagram1 = yield* UnixDatagram.bind(tempPath("unix_datagram_connect1"))
      const datagram2 = yield* UnixDatagram.bind(tempPath("unix_datagram_connect2"))
      assert.isUndefined(datagram1.connect(expectOk(datagram1.localAddr())))
      assert.isUndefined(datagram2.connect(expectOk(datagram2.localAddr())))
      // and then talks to itself
      expectWritten(datagram1.send(DATA1), DATA1.length)
      const buf = new Uint8Array(64)
      expectRead(datagram1.recv(buf), buf, DATA1)
    }))

  // mio: unix_datagram.rs unix_datagram_pair
  it.live("unix_datagram_pair: both writable; send/recv both ways", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const [datagram1, datagram2] = yield* UnixDatagram.pair()
      for (const d of [datagram1, datagram2]) {
        assert.isTrue(expectOk(d.isNonblocking()))
        assert.isTrue(expectOk(d.isCloseOnExec()))
      }
      yield* poll.registry.register(datagram1, TOKEN_1, RW)
      yield* poll.registry.register(datagram2, TOKEN_2, RW)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writable"] }, { token: TOKEN_2, readiness: ["writable"] }])
      const buf = new Uint8Array(64)
      expectWouldBlock(datagram1.recv(buf))
      expectWouldBlock(datagram2.recv(buf))
      expectWritten(datagram1.send(DATA1), DATA1.length)
      expectWritten(datagram2.send(DATA2), DATA2.length)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }, { token: TOKEN_2, readiness: ["readable"] }])
      expectRead(datagram1.recv(buf), buf, DATA2)
      expectRead(datagram2.recv(buf), buf, DATA1)
      assert.isUndefined(datagram1.takeError())
      assert.isUndefined(datagram2.takeError())
    }))

  // mio: unix_datagram.rs unix_datagram_shutdown
  it.live("unix_datagram_shutdown: shutdown(read) → read-closed; shutdown(write) → write-closed; send → BrokenPipe", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const path2 = tempPath("unix_datagram_shutdown2")
      const datagram1 = yield* UnixDatagram.bind(tempPath("unix_datagram_shutdown1"))
      const datagram2 = yield* UnixDatagram.bind(path2)
      yield* poll.registry.register(datagram1, TOKEN_1, RW)
      yield* poll.registry.register(datagram2, TOKEN_2, RW)
      assert.isUndefined(datagram1.connect(path2))
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writable"] }])
      expectWritten(datagram1.send(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: TOKEN_2, readiness: ["readable"] }])
      assert.isUndefined(datagram1.shutdown("read"))
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readClosed"] }])
      assert.isUndefined(datagram1.shutdown("write"))
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writeClosed"] }])
      expectIoError(datagram1.send(DATA2), "BrokenPipe")
      assert.isUndefined(datagram1.takeError())
    }))

  // mio: unix_datagram.rs unix_datagram_register
  it.live("unix_datagram_register: no events", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const datagram = yield* UnixDatagram.bind(tempPath("unix_datagram_register"))
      yield* poll.registry.register(datagram, TOKEN_1, Interest.READABLE)
      yield* expectNoEvents(poll, events)
    }))

  // mio: unix_datagram.rs unix_datagram_reregister
  it.live("unix_datagram_reregister: READABLE → WRITABLE gives a writable event", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const path = tempPath("unix_datagram_reregister2")
      const datagram1 = yield* UnixDatagram.bind(tempPath("unix_datagram_reregister1"))
      const datagram2 = yield* UnixDatagram.bind(path)
      assert.isUndefined(datagram1.connect(path))
      yield* poll.registry.register(datagram1, TOKEN_1, Interest.READABLE)
      yield* poll.registry.reregister(datagram1, TOKEN_1, Interest.WRITABLE)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writable"] }])
      assert.isDefined(datagram2)
    }))

  // mio: unix_datagram.rs unix_datagram_deregister
  it.live("unix_datagram_deregister: no events after deregister", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const path = tempPath("unix_datagram_deregister2")
      const datagram1 = yield* UnixDatagram.bind(tempPath("unix_datagram_deregister1"))
      const datagram2 = yield* UnixDatagram.bind(path)
      assert.isUndefined(datagram1.connect(path))
      yield* poll.registry.register(datagram1, TOKEN_1, Interest.WRITABLE)
      yield* poll.registry.deregister(datagram1)
      yield* expectNoEvents(poll, events)
      assert.isDefined(datagram2)
    }))

  it.live("abstract names and the unnamed unbound sender", () =>
    Effect.gen(function*() {
      const name = `@effect-mio-dgram-${process.pid}-${Math.random().toString(36).slice(2)}`
      const rx = yield* UnixDatagram.bind(name)
      assert.strictEqual(fmt(expectOk(rx.localAddr())), name)
      const tx = yield* UnixDatagram.unbound()
      assert.isTrue(expectOk(tx.isNonblocking()))
      assert.isTrue(expectOk(tx.isCloseOnExec()))
      assert.strictEqual(expectOk(tx.localAddr())._tag, "UnixUnnamedAddress")
      expectWritten(tx.sendTo(DATA1, name), DATA1.length)
      const buf = new Uint8Array(64)
      const [n, from] = expectOk(rx.recvFrom(buf))
      assert.deepStrictEqual([...buf.subarray(0, n)], [...DATA1])
      assert.strictEqual(from._tag, "UnixUnnamedAddress")
      expectIoError(tx.sendTo(DATA1, tempPath("nobody")), "NotFound")
      expectIoError(tx.sendTo(DATA1, "127.0.0.1:9"), "InvalidInput")
    }))
})
