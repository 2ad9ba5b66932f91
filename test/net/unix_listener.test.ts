/**
 * Port of mio's tests/unix_listener.rs. mio's `open_connections` threads are
 * `node:net` clients; `unix_listener_from_std` adopts a blocking, inheritable
 * listener made straight from libc.
 *
 * Not ported: `unix_listener_send_and_sync` (no threads).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { existsSync } from "node:fs"
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
import { expectEvents, expectIoError, expectNoEvents, expectOk, expectWouldBlock } from "../util/expect.ts"
import { nodeConnect, tempPath } from "../util/peer.ts"
import { rawBound } from "../util/raw.ts"

const TOKEN_1 = Token(0)
const RW = Interest.add(Interest.WRITABLE, Interest.READABLE)

/** mio's `smoke_test`: a listener never reports writable; one connection, one accept. */
const smoke = (make: (path: string) => Effect.Effect<UnixListener.UnixListener, IoError, Scope.Scope>, name: string) =>
  Effect.gen(function*() {
    const poll = yield* Poll.make()
    const events = Events.withCapacity(16)
    const path = tempPath(name)
    const listener = yield* make(path)
    assert.isTrue(expectOk(listener.isNonblocking()))
    assert.isTrue(expectOk(listener.isCloseOnExec()))
    yield* poll.registry.register(listener, TOKEN_1, RW)
    yield* expectNoEvents(poll, events)

    yield* nodeConnect(path, { unix: true })
    yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }])
    const [stream] = expectOk(listener.accept())
    yield* scoped(stream)
    expectWouldBlock(stream.read(new Uint8Array(64)))
    expectWouldBlock(listener.accept())
    assert.isUndefined(listener.takeError())
  })

describe("unix_listener (mio tests/unix_listener.rs)", () => {
  checkFdLeaks()

  // mio: unix_listener.rs unix_listener_smoke
  it.live("unix_listener_smoke", () => smoke((p) => UnixListener.bind(p), "unix_listener_smoke"))

  // mio: unix_listener.rs unix_listener_from_std
  it.live("unix_listener_from_std: an adopted blocking listener is made non-blocking, close-on-exec", () =>
    smoke((p) => Effect.suspend(() => UnixListener.fromFd(rawBound(p, C.SOCK_STREAM, true))), "unix_listener_from_std"))

  // mio: unix_listener.rs unix_listener_local_addr
  it.live("unix_listener_local_addr: the accepted stream's local address is the path; the peer is unnamed", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const path = tempPath("unix_listener_local_addr")
      const listener = yield* UnixListener.bind(path)
      yield* poll.registry.register(listener, TOKEN_1, RW)
      yield* nodeConnect(path, { unix: true })
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }])
      const [stream, peer] = expectOk(listener.accept())
      yield* scoped(stream)
      const local = expectOk(stream.localAddr())
      assert.strictEqual(local._tag, "UnixPathAddress")
      assert.strictEqual(SocketAddress.format(local), path)
      assert.strictEqual(peer._tag, "UnixUnnamedAddress")
    }))

  // mio: unix_listener.rs unix_listener_register
  it.live("unix_listener_register: no events", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* UnixListener.bind(tempPath("unix_listener_register"))
      yield* poll.registry.register(listener, TOKEN_1, Interest.READABLE)
      yield* expectNoEvents(poll, events)
    }))

  // mio: unix_listener.rs unix_listener_reregister — a connection is no event
  // for WRITABLE; after reregister READABLE it is
  it.live("unix_listener_reregister: WRITABLE sees no connection; READABLE does", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const path = tempPath("unix_listener_reregister")
      const listener = yield* UnixListener.bind(path)
      yield* poll.registry.register(listener, TOKEN_1, Interest.WRITABLE)
      yield* nodeConnect(path, { unix: true })
      yield* expectNoEvents(poll, events)
      yield* poll.registry.reregister(listener, TOKEN_1, Interest.READABLE)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }])
      const [stream] = expectOk(listener.accept())
      stream.close()
    }))

  // mio: unix_listener.rs unix_listener_deregister
  it.live("unix_listener_deregister: no events after deregister", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const path = tempPath("unix_listener_deregister")
      const listener = yield* UnixListener.bind(path)
      yield* poll.registry.register(listener, TOKEN_1, Interest.READABLE)
      yield* poll.registry.deregister(listener)
      yield* nodeConnect(path, { unix: true })
      yield* expectNoEvents(poll, events)
      const [stream] = expectOk(listener.accept())
      stream.close()
    }))

  // mio: unix_listener.rs unix_listener_abstract_namespace (Linux)
  it.live("unix_listener_abstract_namespace: bind, local address, connect, unnamed peer", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const name = `mio-abstract-uds-${process.pid}-${Math.floor(Math.random() * 2 ** 32)}`
      const address = SocketAddress.abstract(name)
      const listener = yield* UnixListener.bind(address)
      const local = expectOk(listener.localAddr())
      assert.strictEqual(local._tag, "UnixAbstractAddress")
      assert.deepStrictEqual([...(local as SocketAddress.UnixAbstractAddress).bytes], [...address.bytes])
      yield* poll.registry.register(listener, TOKEN_1, RW)
      yield* expectNoEvents(poll, events)
      yield* UnixStream.connect(address)
      yield* expectEvents(poll, events, [{ token: TOKEN_1, readiness: ["readable"] }])
      const [stream, peer] = expectOk(listener.accept())
      yield* scoped(stream)
      assert.strictEqual(peer._tag, "UnixUnnamedAddress")
    }))

  it.live("the bound path is unlinked on close (unless unlinkOnClose: false); a taken path is AddressInUse", () =>
    Effect.gen(function*() {
      const path = tempPath("unlink")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* UnixListener.bind(path)
        assert.isTrue(existsSync(path))
        expectIoError(yield* Effect.flip(UnixListener.bind(path)), "AddressInUse", path)
      }))
      assert.isFalse(existsSync(path))
      yield* Effect.scoped(UnixListener.bind(path, { unlinkOnClose: false }))
      assert.isTrue(existsSync(path))
      // A stale socket file still blocks bind, as in mio (the caller removes it).
      expectIoError(yield* Effect.flip(UnixListener.bind(path)), "AddressInUse")
    }))
})
