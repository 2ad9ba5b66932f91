/**
 * Port of mio's tests/unix_stream.rs. mio's `new_echo_listener` and
 * `new_noop_listener` threads are `node:net` servers on a Unix path;
 * `unix_stream_from_std` adopts a blocking, inheritable stream connected
 * straight from libc.
 *
 * Not ported: `unix_stream_send_and_sync` (no threads). mio's BSD-only
 * expectations (write-closed after a local shutdown(Write), reads of 0 after
 * shutdown(Read)) are replaced by what Linux does.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { IoError } from "../../src/IoError.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as UnixListener from "../../src/net/UnixListener.ts"
import * as UnixStream from "../../src/net/UnixStream.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import { scoped } from "../../src/poll/IoSource.ts"
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
  expectWritten,
  pollUntil
} from "../util/expect.ts"
import { nodeClose, nodeServer, tempPath } from "../util/peer.ts"
import { rawConnected } from "../util/raw.ts"

const DATA1 = bytes("Hello same host!")
const DATA2 = bytes("Why hello mio!")
const TOKEN_1 = Token(0)
const TOKEN_2 = Token(1)
const RW = Interest.add(Interest.WRITABLE, Interest.READABLE)

/** A Node echo server on a fresh Unix path (mio's `new_echo_listener`). */
const echoListener = (name: string) => nodeServer(tempPath(name), { echo: true, unix: true })

/** mio's `smoke_test`. */
const smoke = (connect: (path: string) => Effect.Effect<UnixStream.UnixStream, IoError, Scope.Scope>, name: string) =>
  Effect.gen(function*() {
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    const server = yield* echoListener(name)
    const stream = yield* connect(server.address)
    assert.isTrue(expectOk(stream.isNonblocking()))
    assert.isTrue(expectOk(stream.isCloseOnExec()))
    yield* poll.registry.register(stream, TOKEN_1, RW)
    yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writable"] }])
    const buf = new Uint8Array(64)
    expectWouldBlock(stream.read(buf))
    expectWritten(stream.write(DATA1), DATA1.length)
    yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }])
    expectRead(stream.read(buf), buf, DATA1)
    assert.isUndefined(stream.takeError())
    expectWouldBlock(stream.read(buf))

    assert.strictEqual(expectOk(stream.writev([DATA1, DATA2])), DATA1.length + DATA2.length)
    yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }])
    const buf1 = new Uint8Array(DATA1.length).fill(1)
    const buf2 = new Uint8Array(DATA2.length + 1).fill(2)
    assert.strictEqual(expectOk(stream.readv([buf1, buf2])), DATA1.length + DATA2.length)
    assert.deepStrictEqual([...buf1], [...DATA1])
    assert.deepStrictEqual([...buf2.subarray(0, DATA2.length)], [...DATA2])
    assert.strictEqual(buf2[DATA2.length], 2, "the last byte is untouched")
  })

/** Connects to a fresh echo server and waits for the writable event. */
const connected = (poll: Poll.Poll, events: Events.Events, name: string, echo = true) =>
  Effect.gen(function*() {
    const server = yield* nodeServer(tempPath(name), { echo, unix: true })
    const stream = yield* UnixStream.connect(server.address)
    yield* poll.registry.register(stream, TOKEN_1, RW)
    yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writable"] }])
    return { stream, server }
  })

describe("unix_stream (mio tests/unix_stream.rs)", () => {
  checkFdLeaks()

  // mio: unix_stream.rs unix_stream_smoke
  it.live("unix_stream_smoke", () => smoke((p) => UnixStream.connect(p), "unix_stream_smoke"))

  // mio: unix_stream.rs unix_stream_from_std
  it.live("unix_stream_from_std: an adopted blocking stream is made non-blocking, close-on-exec", () =>
    smoke((p) => Effect.suspend(() => UnixStream.fromFd(rawConnected(p, C.SOCK_STREAM))), "unix_stream_from_std"))

  // mio: unix_stream.rs unix_stream_connect
  it.live("unix_stream_connect: writable, then readable when the peer closes", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const server = yield* nodeServer(tempPath("unix_stream_connect"), { unix: true })
      const stream = yield* UnixStream.connect(server.address)
      yield* poll.registry.register(stream, TOKEN_1, RW)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writable"] }])
      yield* nodeClose(yield* server.accepted.take)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }])
    }))

  // mio: unix_stream.rs unix_stream_connect_addr — connect to the listener's own address value
  it.live("unix_stream_connect_addr: connect to listener.localAddr()", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* UnixListener.bind(tempPath("unix_stream_connect_addr"))
      const localAddr = expectOk(listener.localAddr())
      const stream = yield* UnixStream.connect(localAddr)
      const [accepted] = expectOk(listener.accept())
      yield* poll.registry.register(stream, TOKEN_1, RW)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writable"] }])
      accepted.close()
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }])
    }))

  // mio: unix_stream.rs unix_stream_pair
  it.live("unix_stream_pair: both writable; data both ways", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const [s1, s2] = yield* UnixStream.pair()
      for (const s of [s1, s2]) {
        assert.isTrue(expectOk(s.isNonblocking()))
        assert.isTrue(expectOk(s.isCloseOnExec()))
      }
      yield* poll.registry.register(s1, TOKEN_1, RW)
      yield* poll.registry.register(s2, TOKEN_2, RW)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writable"] }])
      const buf = new Uint8Array(64)
      expectWouldBlock(s1.read(buf))
      expectWritten(s1.write(DATA1), DATA1.length)
      expectRead(s2.read(buf), buf, DATA1)
      expectWouldBlock(s2.read(buf))
      expectWritten(s2.write(DATA2), DATA2.length)
      expectRead(s1.read(buf), buf, DATA2)
      expectWouldBlock(s2.read(buf))
      assert.strictEqual(expectOk(s1.localAddr())._tag, "UnixUnnamedAddress")
      assert.strictEqual(expectOk(s1.peerAddr())._tag, "UnixUnnamedAddress")
    }))

  // mio: unix_stream.rs unix_stream_peer_addr
  it.live("unix_stream_peer_addr: the peer is the listener's path; the client is unnamed", () =>
    Effect.gen(function*() {
      const server = yield* echoListener("unix_stream_peer_addr")
      const stream = yield* UnixStream.connect(server.address)
      const peer = expectOk(stream.peerAddr())
      assert.strictEqual(peer._tag, "UnixPathAddress")
      assert.strictEqual(SocketAddress.format(peer), server.address)
      assert.strictEqual(expectOk(stream.localAddr())._tag, "UnixUnnamedAddress")
    }))

  // mio: unix_stream.rs unix_stream_shutdown_read
  it.live("unix_stream_shutdown_read: local shutdown(read) → read-closed", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const { stream } = yield* connected(poll, events, "unix_stream_shutdown_read")
      expectWritten(stream.write(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }])
      assert.isUndefined(stream.shutdown("read"))
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readClosed"] }])
    }))

  // mio: unix_stream.rs unix_stream_shutdown_write — on Linux: no write-closed
  // event is expected; write → BrokenPipe; the echo is still readable
  it.live("unix_stream_shutdown_write: write → BrokenPipe, read still returns the echo", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const { stream } = yield* connected(poll, events, "unix_stream_shutdown_write")
      expectWritten(stream.write(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }])
      assert.isUndefined(stream.shutdown("write"))
      expectIoError(stream.write(DATA2), "BrokenPipe")
      const buf = new Uint8Array(64)
      expectRead(stream.read(buf), buf, DATA1)
    }))

  // mio: unix_stream.rs unix_stream_shutdown_both — EPOLLHUP on Linux
  it.live("unix_stream_shutdown_both: write-closed; write → BrokenPipe", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const { stream } = yield* connected(poll, events, "unix_stream_shutdown_both")
      expectWritten(stream.write(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }])
      assert.isUndefined(stream.shutdown("both"))
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writeClosed"] }])
      expectIoError(stream.write(DATA2), "BrokenPipe")
    }))

  // mio: unix_stream.rs unix_stream_shutdown_listener_write
  it.live("unix_stream_shutdown_listener_write: peer shutdown(Write) → read-closed", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const { server } = yield* connected(poll, events, "unix_stream_shutdown_listener_write", false)
      const peer = yield* server.accepted.take
      peer.end()
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readClosed"] }])
    }))

  // mio: unix_stream.rs unix_stream_register
  it.live("unix_stream_register: READABLE, idle → no events", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const server = yield* echoListener("unix_stream_register")
      const stream = yield* UnixStream.connect(server.address)
      yield* poll.registry.register(stream, TOKEN_1, Interest.READABLE)
      yield* expectNoEvents(poll, events)
    }))

  // mio: unix_stream.rs unix_stream_reregister
  it.live("unix_stream_reregister: READABLE → WRITABLE gives a writable event", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const server = yield* echoListener("unix_stream_reregister")
      const stream = yield* UnixStream.connect(server.address)
      yield* poll.registry.register(stream, TOKEN_1, Interest.READABLE)
      yield* poll.registry.reregister(stream, TOKEN_1, Interest.WRITABLE)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["writable"] }])
    }))

  // mio: unix_stream.rs unix_stream_deregister
  it.live("unix_stream_deregister: no events", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const server = yield* echoListener("unix_stream_deregister")
      const stream = yield* UnixStream.connect(server.address)
      yield* poll.registry.register(stream, TOKEN_1, RW)
      yield* poll.registry.deregister(stream)
      yield* expectNoEvents(poll, events)
    }))

  it.live("abstract names: connect to \"@name\"; the listener's address is the abstract name", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const name = `@effect-mio-test-${process.pid}-${Math.random().toString(36).slice(2)}`
      const listener = yield* UnixListener.bind(name)
      assert.strictEqual(SocketAddress.format(expectOk(listener.localAddr())), name)
      const stream = yield* UnixStream.connect(name)
      assert.strictEqual(SocketAddress.format(expectOk(stream.peerAddr())), name)
      const [accepted] = expectOk(listener.accept())
      yield* scoped(accepted)
      yield* poll.registry.register(stream, TOKEN_1, Interest.READABLE)
      expectWritten(accepted.write(DATA1), DATA1.length)
      yield* pollUntil(poll, events, (e) => e.token === TOKEN_1 && e.isReadable())
      const buf = new Uint8Array(64)
      expectRead(stream.read(buf), buf, DATA1)
    }))

  // mio: UnixStream::connect "may return a WouldBlock … Usually it means the
  // backlog is full". Here that is kind ResourceBusy (a constructor has no
  // WouldBlock to return), and the half-made socket is closed.
  it.live("connect to a listener whose backlog is full: ResourceBusy", () =>
    Effect.gen(function*() {
      const path = tempPath("backlog_full")
      const listener = yield* UnixListener.bind(path, { backlog: 0 })
      yield* UnixStream.connect(path)
      const e = yield* Effect.flip(UnixStream.connect(path))
      expectIoError(e, "ResourceBusy", "backlog")
      const [accepted] = expectOk(listener.accept())
      accepted.close()
      yield* UnixStream.connect(path) // room again
    }))
})
