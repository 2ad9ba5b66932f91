/**
 * Port of mio's tests/tcp_stream.rs. mio's `echo_listener` and
 * `start_listener` threads are `node:net` servers on the same event loop;
 * `tcp_stream_std` adopts a blocking, inheritable socket connected straight
 * from libc (mio's `from_std`).
 *
 * Not ported: `is_send_and_sync` (no threads), `raw_fd` (no `into_raw_fd`; see
 * tcp_listener.test.ts), `tcp_shutdown_client_write_close_event` (ignored by
 * mio on Linux: epoll reports no write-closed for a local shutdown(Write)).
 * `shutdown_write` is ignored by mio as flaky; it is ported here, waiting for
 * the echoed data instead of a single poll.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { IoError } from "../../src/IoError.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import { scoped } from "../../src/poll/IoSource.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as C from "../../src/sys/constants.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
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
import { nodeServer, nodeWrite, turn } from "../util/peer.ts"
import { rawConnected } from "../util/raw.ts"

const ID1 = Token(0)
const ID2 = Token(1)
const DATA1 = bytes("Hello world!")
const DATA2 = bytes("Hello mars!")
const RW = Interest.add(Interest.WRITABLE, Interest.READABLE)
const fmt = SocketAddress.format

const isLoopback = (a: SocketAddress.SocketAddress) => fmt(a).startsWith("127.") || fmt(a).startsWith("[::1]")

/** mio's `smoke_test_tcp_stream`, against an echo server. */
const smoke = (host: string, make: (address: string) => Effect.Effect<TcpStream.TcpStream, IoError, Scope.Scope>) =>
  Effect.gen(function*() {
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    const server = yield* nodeServer(host, { echo: true })
    const stream = yield* make(server.address)
    assert.isTrue(expectOk(stream.isNonblocking()))
    assert.isTrue(expectOk(stream.isCloseOnExec()))
    yield* poll.registry.register(stream, ID1, RW)
    yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }])

    const buf = new Uint8Array(16)
    expectWouldBlock(stream.peek(buf))
    expectWouldBlock(stream.read(buf))
    // peer_addr only after the writable event: the stream may not be connected before
    assert.strictEqual(fmt(expectOk(stream.peerAddr())), server.address)
    assert.isTrue(isLoopback(expectOk(stream.localAddr())))

    expectWritten(stream.write(DATA1), DATA1.length)
    yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
    expectRead(stream.peek(buf), buf, DATA1)
    expectRead(stream.read(buf), buf, DATA1)
    assert.isUndefined(stream.takeError())
    expectWouldBlock(stream.read(buf))

    assert.strictEqual(expectOk(stream.writev([DATA1, DATA2])), DATA1.length + DATA2.length)
    yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
    const buf1 = new Uint8Array(DATA1.length).fill(1)
    const buf2 = new Uint8Array(DATA2.length + 1).fill(2)
    assert.strictEqual(expectOk(stream.readv([buf1, buf2])), DATA1.length + DATA2.length)
    assert.deepStrictEqual([...buf1], [...DATA1])
    assert.deepStrictEqual([...buf2.subarray(0, DATA2.length)], [...DATA2])
    assert.strictEqual(buf2[DATA2.length], 2, "the last byte is untouched")
  })

/** Connects to a fresh Node server and waits for the writable (connected) event. */
const connected = (poll: Poll.Poll, events: Events.Events, options?: { readonly echo?: boolean }) =>
  Effect.gen(function*() {
    const server = yield* nodeServer("127.0.0.1", options)
    const stream = yield* TcpStream.connect(server.address)
    yield* poll.registry.register(stream, ID1, RW)
    yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writable"] }])
    return { stream, server }
  })

describe("tcp_stream (mio tests/tcp_stream.rs)", () => {
  checkFdLeaks()

  // mio: tcp_stream.rs tcp_stream_ipv4
  it.live("tcp_stream_ipv4: smoke", () => smoke("127.0.0.1", (a) => TcpStream.connect(a)))

  // mio: tcp_stream.rs tcp_stream_ipv6
  it.live("tcp_stream_ipv6: smoke", () => smoke("::1", (a) => TcpStream.connect(a)))

  // mio: tcp_stream.rs tcp_stream_std
  it.live("tcp_stream_std: an adopted blocking stream is made non-blocking, close-on-exec", () =>
    smoke("127.0.0.1", (a) => Effect.suspend(() => TcpStream.fromFd(rawConnected(a, C.SOCK_STREAM)))))

  // mio: tcp_stream.rs set_get_ttl
  it.live("set_get_ttl", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const { stream } = yield* connected(poll, Events.withCapacity(16))
      assert.isUndefined(stream.setTtl(10))
      assert.strictEqual(expectOk(stream.ttl()), 10)
      assert.isUndefined(stream.takeError())
    }))

  // mio: tcp_stream.rs get_ttl_without_previous_set
  it.live("get_ttl_without_previous_set", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const { stream } = yield* connected(poll, Events.withCapacity(16))
      assert.isAbove(expectOk(stream.ttl()), 0)
      assert.isUndefined(stream.takeError())
    }))

  // mio: tcp_stream.rs set_get_nodelay
  it.live("set_get_nodelay", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const { stream } = yield* connected(poll, Events.withCapacity(16))
      assert.isUndefined(stream.setNodelay(true))
      assert.isTrue(expectOk(stream.nodelay()))
      assert.isUndefined(stream.takeError())
    }))

  // mio: tcp_stream.rs get_nodelay_without_previous_set
  it.live("get_nodelay_without_previous_set", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const { stream } = yield* connected(poll, Events.withCapacity(16))
      assert.isFalse(expectOk(stream.nodelay()))
      assert.isUndefined(stream.takeError())
    }))

  // mio: tcp_stream.rs shutdown_read — succeeds; on Linux the stream can still be read
  it.live("shutdown_read: after an echo round trip, shutdown(read) succeeds", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const { stream } = yield* connected(poll, events, { echo: true })
      expectWritten(stream.write(DATA2), DATA2.length)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
      assert.isUndefined(stream.shutdown("read"))
      const buf = new Uint8Array(20)
      expectRead(stream.read(buf), buf, DATA2) // Linux: queued data is still readable
    }))

  // mio: tcp_stream.rs shutdown_write (#[ignore] in mio as flaky)
  it.live("shutdown_write: write fails with BrokenPipe; the echo is still readable", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const { stream } = yield* connected(poll, events, { echo: true })
      expectWritten(stream.write(DATA1), DATA1.length)
      assert.isUndefined(stream.shutdown("write"))
      expectIoError(stream.write(DATA2), "BrokenPipe")
      yield* pollUntil(poll, events, (e) => e.token === ID1 && e.isReadable())
      const buf = new Uint8Array(20)
      expectRead(stream.read(buf), buf, DATA1)
    }))

  // mio: tcp_stream.rs shutdown_both
  it.live("shutdown_both: write fails with BrokenPipe", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const { stream } = yield* connected(poll, events, { echo: true })
      expectWritten(stream.write(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
      assert.isUndefined(stream.shutdown("both"))
      expectIoError(stream.write(DATA2), "BrokenPipe")
    }))

  // mio: tcp_stream.rs registering
  it.live("registering: READABLE, connected, no data → no events", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const server = yield* nodeServer("127.0.0.1", { echo: true })
      const stream = yield* TcpStream.connect(server.address)
      yield* poll.registry.register(stream, ID1, Interest.READABLE)
      yield* expectNoEvents(poll, events)
    }))

  // mio: tcp_stream.rs reregistering
  it.live("reregistering: READABLE(ID1) → WRITABLE(ID2) gives a writable event for ID2", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const server = yield* nodeServer("127.0.0.1", { echo: true })
      const stream = yield* TcpStream.connect(server.address)
      yield* poll.registry.register(stream, ID1, Interest.READABLE)
      yield* poll.registry.reregister(stream, ID2, Interest.WRITABLE)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["writable"] }])
      assert.strictEqual(fmt(expectOk(stream.peerAddr())), server.address)
    }))

  // mio: tcp_stream.rs no_events_after_deregister
  it.live("no_events_after_deregister: no events; still connected; I/O works", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const server = yield* nodeServer("127.0.0.1", { echo: true })
      const stream = yield* TcpStream.connect(server.address)
      yield* poll.registry.register(stream, ID1, RW)
      yield* poll.registry.deregister(stream)
      yield* expectNoEvents(poll, events)
      assert.strictEqual(fmt(expectOk(stream.peerAddr())), server.address)
      const buf = new Uint8Array(16)
      expectWouldBlock(stream.peek(buf))
      expectWouldBlock(stream.read(buf))
      expectWritten(stream.write(DATA1), DATA1.length)
      yield* expectNoEvents(poll, events)
    }))

  // mio: tcp_stream.rs tcp_shutdown_client_read_close_event
  it.live("tcp_shutdown_client_read_close_event: local shutdown(read) → read-closed", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const { stream } = yield* connected(poll, events)
      assert.isUndefined(stream.shutdown("read"))
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readClosed"] }])
    }))

  // mio: tcp_stream.rs tcp_shutdown_server_write_close_event
  it.live("tcp_shutdown_server_write_close_event: peer shutdown(Write) → read-closed", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const { server } = yield* connected(poll, events)
      const peer = yield* server.accepted.take
      peer.end()
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readClosed"] }])
    }))

  // mio: tcp_stream.rs tcp_reset_close_event — the server goes away with unread
  // data (RST) → read-closed, then the events stop
  it.live("tcp_reset_close_event: peer reset → read-closed, then quiescence", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const { stream, server } = yield* connected(poll, events)
      const peer = yield* server.accepted.take
      expectWritten(stream.write(DATA1), DATA1.length)
      expectWouldBlock(stream.read(new Uint8Array(1)))
      peer.resetAndDestroy()
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readClosed"] }])
      for (let i = 0; i < 10; i++) {
        yield* poll.poll(events, 100)
        if (events.isEmpty()) break
      }
      assert.isTrue(events.isEmpty(), "events stop (edge-triggered)")
      expectIoError(stream.read(new Uint8Array(1)), "ConnectionReset")
    }))

  // mio: tcp_stream.rs tcp_shutdown_client_both_close_event — EPOLLHUP on Linux
  it.live("tcp_shutdown_client_both_close_event: local shutdown(both) → write-closed", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const { stream } = yield* connected(poll, events)
      assert.isUndefined(stream.shutdown("both"))
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["writeClosed"] }])
    }))

  // mio: tcp_stream.rs hup_event_on_disconnect — linger 0 on the accepted side
  it.live("hup_event_on_disconnect: the accepted socket resets → client readable", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      yield* poll.registry.register(listener, Token(0), Interest.READABLE)
      const stream = yield* TcpStream.connect(expectOk(listener.localAddr()))
      yield* poll.registry.register(stream, Token(1), Interest.add(Interest.READABLE, Interest.WRITABLE))
      yield* expectEvents(poll, events, [
        { token: Token(0), readiness: ["readable"] },
        { token: Token(1), readiness: ["writable"] }
      ])
      const [sock] = expectOk(listener.accept())
      assert.isUndefined(sock.setLinger(0))
      sock.close()
      yield* expectEvents(poll, events, [{ token: Token(1), readiness: ["readable"] }])
    }))

  // mio: tcp_stream.rs priority_event_on_oob_data (Linux)
  it.live("priority_event_on_oob_data: MSG_OOB → readable + priority", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const client = yield* TcpStream.connect(expectOk(listener.localAddr()))
      yield* poll.registry.register(client, Token(0), Interest.add(Interest.READABLE, Interest.PRIORITY))
      let accepted = listener.accept()
      while (accepted === WouldBlock) {
        yield* turn
        accepted = listener.accept()
      }
      const [stream] = expectOk(accepted)
      yield* scoped(stream)
      expectWritten(stream.writeOob(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: Token(0), readiness: ["readable", "priority"] }])
    }))

  // mio: tcp_stream.rs peek_ok — a successful peek does not consume readiness
  it.live("peek_ok: after a successful peek the readable event is still delivered", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const server = yield* nodeServer("127.0.0.1")
      const stream1 = yield* TcpStream.connect(server.address)
      const stream2 = yield* server.accepted.take
      yield* poll.registry.register(stream1, ID1, Interest.READABLE)
      yield* expectNoEvents(poll, events)
      yield* nodeWrite(stream2, new Uint8Array([0]))
      const buf = new Uint8Array(2)
      yield* peekUntilOk(stream1, buf, 1)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
    }))

  // mio: tcp_stream.rs peek_would_block — a peek returning WouldBlock does not
  // stop later events (regression fixed in mio 1.1.0)
  it.live("peek_would_block: read, peek WouldBlock, then new data is a new event", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const server = yield* nodeServer("127.0.0.1")
      const stream1 = yield* TcpStream.connect(server.address)
      const stream2 = yield* server.accepted.take
      yield* poll.registry.register(stream1, ID1, Interest.READABLE)
      yield* expectNoEvents(poll, events)
      yield* nodeWrite(stream2, new Uint8Array([0]))
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
      const buf = new Uint8Array(1)
      assert.strictEqual(expectOk(stream1.read(buf)), 1)
      expectWouldBlock(stream1.peek(buf))
      yield* nodeWrite(stream2, new Uint8Array([0, 1, 2, 3]))
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
    }))

  // mio: tcp_stream.rs read_peek_would_block
  it.live("read_peek_would_block: read WouldBlock first, then the same cycle", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const server = yield* nodeServer("127.0.0.1")
      const stream1 = yield* TcpStream.connect(server.address)
      const stream2 = yield* server.accepted.take
      yield* poll.registry.register(stream1, ID1, Interest.READABLE)
      const buf = new Uint8Array(1)
      expectWouldBlock(stream1.read(buf))
      yield* nodeWrite(stream2, new Uint8Array([0]))
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
      assert.strictEqual(expectOk(stream1.read(buf)), 1)
      expectWouldBlock(stream1.peek(buf))
      yield* nodeWrite(stream2, new Uint8Array([1]))
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
    }))
})

/** mio's `peek_until_ok`: peek until it returns data (giving the peer a turn between tries). */
const peekUntilOk = (stream: TcpStream.TcpStream, buf: Uint8Array, expected: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 1000; i++) {
      const r = stream.peek(buf)
      if (r === WouldBlock) {
        yield* turn
        continue
      }
      assert.strictEqual(expectOk(r), expected)
      return
    }
    assert.fail("peek never returned data")
  })
