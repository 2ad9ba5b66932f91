/**
 * The readiness core as a user meets it through `effect-mio` only: the Poll's
 * lifecycle against the fibers and sources that use it, and the addresses an
 * error names. Each test here failed before the fix it names.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { Events, Interest, IoError, Poll, TcpListener, TcpStream, Timer, Token, UdpSocket, WouldBlock } from "effect-mio"
import { checkFdLeaks } from "../util/fds.ts"

const expectError = (r: unknown): IoError.IoError => {
  assert.instanceOf(r, IoError.IoError)
  return r as IoError.IoError
}

describe("user audit: the readiness core", () => {
  checkFdLeaks()

  // Before: the waiting fiber hung forever — close() dropped its callback and
  // the libuv watcher without resuming it.
  it.live("closing a Poll under a fiber waiting with no timeout fails that wait with Closed at once", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const waiting = yield* Effect.forkChild(poll.poll(Events.withCapacity(8)))
      yield* Effect.yieldNow
      yield* Effect.sleep("20 millis")
      poll.close()
      const exit = yield* Fiber.await(waiting).pipe(Effect.timeout("2 seconds"))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.strictEqual(error?._tag, "Fail")
      assert.strictEqual(error?._tag === "Fail" ? (error.error as IoError.IoError).kind : undefined, "Closed")
    }))

  // Before: the wait ended only when its timeout elapsed.
  it.live("closing a Poll under a wait with a long timeout ends the wait at once", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const waiting = yield* Effect.forkChild(poll.poll(Events.withCapacity(8), "1 minute"))
      yield* Effect.sleep("20 millis")
      poll.close()
      const exit = yield* Fiber.await(waiting).pipe(Effect.timeout("2 seconds"))
      assert.isTrue(Exit.isFailure(exit))
    }))

  // Before: a source registered with a Poll whose Scope had closed stayed
  // "already registered with a `Registry`" for ever, though the kernel had
  // dropped the registration with the epoll fd.
  it.live("a source whose Poll was closed can be registered with another Poll, and its events arrive", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      yield* Effect.scoped(Effect.gen(function*() {
        const first = yield* Poll.make()
        yield* first.registry.register(listener, Token(1), Interest.READABLE)
      }))
      const second = yield* Poll.make()
      yield* second.registry.register(listener, Token(2), Interest.READABLE)
      const address = listener.localAddr()
      assert.notInstanceOf(address, IoError.IoError)
      yield* TcpStream.connect(address as never)
      const events = Events.withCapacity(8)
      yield* second.poll(events, "2 seconds")
      assert.deepStrictEqual([...events].map((e) => e.token), [Token(2)])
      // and once more: deregister, then the registry it was moved to is the one that counts
      yield* second.registry.deregister(listener)
      const again = yield* Effect.result(second.registry.deregister(listener))
      assert.strictEqual(again._tag === "Failure" ? again.failure.kind : undefined, "NotFound")
    }))

  it.live("a source still registered with a live Poll is refused by another (mio's AlreadyExists)", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const first = yield* Poll.make()
      const second = yield* Poll.make()
      yield* first.registry.register(listener, Token(1), Interest.READABLE)
      const r = yield* Effect.result(second.registry.register(listener, Token(2), Interest.READABLE))
      assert.strictEqual(r._tag === "Failure" ? r.failure.kind : undefined, "AlreadyExists")
    }))

  // Before: "register: the source is closed" — about a listener that was open;
  // it is the Poll that was closed.
  it.live("an operation on a closed Poll says the Poll is closed, not the source", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      poll.close()
      const registered = yield* Effect.result(poll.registry.register(listener, Token(1), Interest.READABLE))
      const polled = yield* Effect.result(poll.poll(Events.withCapacity(4), 0))
      for (const r of [registered, polled]) {
        assert.strictEqual(r._tag === "Failure" ? r.failure.kind : undefined, "Closed")
        assert.include(r._tag === "Failure" ? r.failure.message : "", "the Poll is closed")
      }
      listener.close()
      const closedSource = yield* Effect.result((yield* Poll.make()).registry.register(listener, Token(1), Interest.READABLE))
      assert.include(closedSource._tag === "Failure" ? closedSource.failure.message : "", "the source is closed")
    }))

  // Before: Timer.set(1e300) reached the kernel and failed with a bare
  // "timerfd_settime EINVAL (Invalid argument)", naming nothing.
  it.live("a Timer set too far in the future is refused naming the argument", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const timer = yield* Timer.make(poll.registry, Token(1))
      for (const [after, interval, name] of [[1e300, undefined, "after"], [10, 1e300, "interval"]] as const) {
        const r = yield* Effect.result(timer.set(after, interval))
        assert.strictEqual(r._tag === "Failure" ? r.failure.kind : undefined, "InvalidInput")
        assert.include(r._tag === "Failure" ? r.failure.message : "", `${name} is at most`)
      }
      yield* timer.set("1 day", "1 hour") // a long one still works
    }))

  // Before: "bind EINVAL 127.0.0.1:0 (Invalid argument)" — true, but the
  // problem is that the peer is IPv6, which nothing said.
  it.live("a connect whose bind option and peer are of different families says so", () =>
    Effect.gen(function*() {
      for (const [bind, peer] of [["127.0.0.1:0", "[::1]:9"], ["[::1]:0", "127.0.0.1:9"]] as const) {
        const r = yield* Effect.result(TcpStream.connect(peer, { bind }))
        assert.strictEqual(r._tag === "Failure" ? r.failure.kind : undefined, "InvalidInput")
        assert.include(r._tag === "Failure" ? r.failure.message : "", "different address families")
        assert.include(r._tag === "Failure" ? r.failure.message : "", peer)
      }
    }))

  // Before: `sendto EAFNOSUPPORT (Address family not supported by protocol)`,
  // with no address — where `connect` and Node's dgram name it.
  it.live("a sendTo the kernel refuses names the destination, as connect does", () =>
    Effect.gen(function*() {
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      const wrongFamily = expectError(socket.sendTo(new Uint8Array(4), "[::1]:9"))
      assert.strictEqual(wrongFamily.address, "[::1]:9")
      assert.include(wrongFamily.message, "[::1]:9")
      const portZero = expectError(socket.sendTo(new Uint8Array(4), "127.0.0.1:0"))
      assert.strictEqual(portZero.kind, "InvalidInput")
      assert.include(portZero.message, "127.0.0.1:0")
      // the batched sends name the destination the kernel refused, too
      const batch = expectError(socket.sendBatch([{ payload: new Uint8Array(4), address: "[::1]:9" }]))
      assert.include(batch.message, "[::1]:9")
      const segments = expectError(socket.sendSegments(new Uint8Array(100), 10, "[::1]:9"))
      assert.include(segments.message, "[::1]:9")
      // a send that works is unchanged
      const peer = yield* UdpSocket.bind("127.0.0.1:0")
      const to = peer.localAddr()
      assert.notInstanceOf(to, IoError.IoError)
      assert.strictEqual(socket.sendTo(new Uint8Array(3), to as never), 3)
      const buf = new Uint8Array(8)
      const got = peer.recvFrom(buf)
      assert.notStrictEqual(got, WouldBlock)
    }))
})
