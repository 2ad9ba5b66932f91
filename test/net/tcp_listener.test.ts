/**
 * Port of mio's tests/tcp_listener.rs. `tcp_listener_std` adopts a blocking,
 * inheritable listener made straight from libc (mio's `from_std` of a
 * `std::net::TcpListener`); `fromFd` makes it non-blocking and close-on-exec.
 *
 * Not ported: `is_send_and_sync` (no threads), `raw_fd` (there is no
 * `into_raw_fd`: a source owns its fd; `fromFd` is covered by the `_std` test).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { IoError } from "../../src/IoError.ts"
import * as SocketAddress from "../../src/net/SocketAddress.ts"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import { scoped } from "../../src/poll/IoSource.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as C from "../../src/sys/constants.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { expectEvents, expectNoEvents, expectOk, expectWouldBlock } from "../util/expect.ts"
import { nodeConnect } from "../util/peer.ts"
import { rawBound } from "../util/raw.ts"

const ID1 = Token(0)
const ID2 = Token(1)

const isLoopback = (a: SocketAddress.SocketAddress) => {
  const s = SocketAddress.format(a)
  return s.startsWith("127.") || s.startsWith("[::1]")
}

/** mio's `smoke_test_tcp_listener`. */
const smoke = (make: Effect.Effect<TcpListener.TcpListener, IoError, Scope.Scope>) =>
  Effect.gen(function*() {
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    const listener = yield* make
    const address = expectOk(listener.localAddr())
    assert.isTrue(expectOk(listener.isNonblocking()))
    assert.isTrue(expectOk(listener.isCloseOnExec()))
    yield* poll.registry.register(listener, ID1, Interest.READABLE)

    yield* nodeConnect(SocketAddress.format(address))
    yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])

    const [stream, peer] = expectOk(listener.accept())
    yield* scoped(stream)
    assert.isTrue(isLoopback(peer))
    assert.strictEqual(SocketAddress.format(expectOk(stream.peerAddr())), SocketAddress.format(peer))
    assert.strictEqual(SocketAddress.format(expectOk(stream.localAddr())), SocketAddress.format(address))
    // the accepted stream is non-blocking and close-on-exec too
    expectWouldBlock(stream.read(new Uint8Array(20)))
    assert.isTrue(expectOk(stream.isCloseOnExec()))
    expectWouldBlock(listener.accept())
    assert.isUndefined(listener.takeError())
  })

describe("tcp_listener (mio tests/tcp_listener.rs)", () => {
  checkFdLeaks()

  // mio: tcp_listener.rs tcp_listener
  it.live("tcp_listener: IPv4 smoke", () => smoke(TcpListener.bind("127.0.0.1:0")))

  // mio: tcp_listener.rs tcp_listener_ipv6
  it.live("tcp_listener_ipv6: IPv6 smoke", () => smoke(TcpListener.bind("[::1]:0")))

  // mio: tcp_listener.rs tcp_listener_std
  it.live("tcp_listener_std: an adopted blocking listener is made non-blocking, close-on-exec", () =>
    smoke(Effect.suspend(() => TcpListener.fromFd(rawBound("127.0.0.1:0", C.SOCK_STREAM, true)))))

  // mio: tcp_listener.rs set_get_ttl
  it.live("set_get_ttl", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      assert.isUndefined(listener.setTtl(10))
      assert.strictEqual(expectOk(listener.ttl()), 10)
      assert.isUndefined(listener.takeError())
    }))

  // mio: tcp_listener.rs get_ttl_without_previous_set
  it.live("get_ttl_without_previous_set", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      assert.isAbove(expectOk(listener.ttl()), 0)
      assert.isUndefined(listener.takeError())
    }))

  // mio: tcp_listener.rs registering
  it.live("registering: no events without clients", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      yield* poll.registry.register(listener, ID1, Interest.READABLE)
      yield* expectNoEvents(poll, events)
    }))

  // mio: tcp_listener.rs reregister
  it.live("reregister: the connection event comes with the new token", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const address = SocketAddress.format(expectOk(listener.localAddr()))
      yield* poll.registry.register(listener, ID1, Interest.READABLE)
      yield* poll.registry.reregister(listener, ID2, Interest.READABLE)
      yield* nodeConnect(address)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["readable"] }])
      const [stream, peer] = expectOk(listener.accept())
      yield* scoped(stream)
      assert.isTrue(isLoopback(peer))
      expectWouldBlock(listener.accept())
    }))

  // mio: tcp_listener.rs no_events_after_deregister
  it.live("no_events_after_deregister: no event, but accept still works", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const address = SocketAddress.format(expectOk(listener.localAddr()))
      yield* poll.registry.register(listener, ID1, Interest.READABLE)
      yield* poll.registry.deregister(listener)
      yield* nodeConnect(address) // resolves once connected: the connection is queued
      yield* expectNoEvents(poll, events)
      const [stream] = expectOk(listener.accept())
      yield* scoped(stream)
      expectWouldBlock(listener.accept())
      yield* expectNoEvents(poll, events)
    }))

  // mio: tcp_listener.rs tcp_listener_two_streams — the edge re-arms after WouldBlock
  it.live("tcp_listener_two_streams: a second connection after WouldBlock is a new event", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const address = expectOk(listener.localAddr())
      yield* nodeConnect(SocketAddress.format(address))
      yield* poll.registry.register(listener, ID1, Interest.READABLE)
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
      for (let i = 0; i < 2; i++) {
        const [stream, peer] = expectOk(listener.accept())
        assert.isTrue(isLoopback(peer))
        assert.strictEqual(SocketAddress.format(expectOk(stream.peerAddr())), SocketAddress.format(peer))
        assert.strictEqual(SocketAddress.format(expectOk(stream.localAddr())), SocketAddress.format(address))
        stream.close()
        if (i === 0) {
          expectWouldBlock(listener.accept())
          yield* nodeConnect(SocketAddress.format(address))
          yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
        }
      }
      yield* expectNoEvents(poll, events)
    }))

  it.live("options: backlog, SO_REUSEADDR on by default, SO_REUSEPORT shares a port", () =>
    Effect.gen(function*() {
      const a = yield* TcpListener.bind("127.0.0.1:0", { reusePort: true, backlog: 16 })
      assert.isTrue(expectOk(a.reuseAddr()), "SO_REUSEADDR, as mio")
      assert.isTrue(expectOk(a.reusePort()))
      const b = yield* TcpListener.bind(expectOk(a.localAddr()), { reusePort: true })
      assert.strictEqual(SocketAddress.format(expectOk(b.localAddr())), SocketAddress.format(expectOk(a.localAddr())))
      const v6 = yield* TcpListener.bind("[::1]:0", { onlyV6: true })
      assert.isTrue(expectOk(v6.onlyV6()))
    }))
})
