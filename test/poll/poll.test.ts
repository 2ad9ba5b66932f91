/**
 * Port of mio's tests/poll.rs (Linux behaviour), plus the Poll requirements of
 * effect-mio itself: no fd left by make/close cycles, a waiting poll does not
 * block Node's event loop, and polling allocates nothing.
 *
 * Not ported: `is_send_and_sync` (no threads share these objects in JS).
 * mio's threads become fibers or timer callbacks that register while a `poll`
 * with a long timeout is waiting; `Registry::try_clone` has no counterpart (a
 * `Registry` is shared by reference).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as IoError from "../../src/IoError.ts"
import * as Pipe from "../../src/net/Pipe.ts"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import type { Registry } from "../../src/poll/Registry.ts"
import type { Source } from "../../src/poll/Source.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Waker from "../../src/poll/Waker.ts"
import * as C from "../../src/sys/constants.ts"
import * as fd from "../../src/sys/fd.ts"
import { checkFdLeaks, openFds } from "../util/fds.ts"
import {
  expectEvents,
  expectIoError,
  expectNoEvents,
  expectOk,
  expectWouldBlock,
  pollUntil,
  waitUntilReady
} from "../util/expect.ts"
import { nodeReadAll, nodeServer, nodeWrite } from "../util/peer.ts"

const fcntl = (f: number, cmd: number): number => {
  const r = fd.fcntl(f, cmd, 0)
  if (typeof r !== "number") return assert.fail(`fcntl failed: ${String(r)}`)
  return r
}

const ID1 = Token(1)
const ID2 = Token(2)
const ID3 = Token(3)
const RW = Interest.add(Interest.READABLE, Interest.WRITABLE)

describe("poll (mio tests/poll.rs)", () => {
  checkFdLeaks()

  // mio: src/sys/unix/selector/epoll.rs — Poll::new is epoll_create1(EPOLL_CLOEXEC)
  it.live("the epoll fd is close-on-exec; the waker's eventfd is non-blocking and close-on-exec", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      assert.notStrictEqual(fcntl(poll.fd, C.F_GETFD) & C.FD_CLOEXEC, 0)
      const waker = yield* Waker.make(poll.registry, Token(1))
      assert.notStrictEqual(fcntl(waker.fd, C.F_GETFD) & C.FD_CLOEXEC, 0)
      assert.notStrictEqual(fcntl(waker.fd, C.F_GETFL) & C.O_NONBLOCK, 0)
    }))

  // mio: poll.rs run_once_with_nothing
  it.live("run_once_with_nothing: a 100 ms poll with nothing registered returns empty", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const t0 = performance.now()
      yield* poll.poll(events, 100)
      assert.isTrue(events.isEmpty())
      assert.isAtLeast(performance.now() - t0, 99)
    }))

  // mio: poll.rs add_then_drop
  it.live("add_then_drop: closing a registered listener removes it; the poll is fine", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      yield* poll.registry.register(listener, Token(1), RW)
      assert.isUndefined(listener.close())
      yield* poll.poll(events, 100)
      assert.isTrue(events.isEmpty())
    }))

  // mio: poll.rs zero_duration_polls_events
  it.live("zero_duration_polls_events: a zero timeout still makes the syscall", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const addr = expectOk(listener.localAddr())
      for (let n = 0; n < 3; n++) {
        const stream = yield* TcpStream.connect(addr)
        yield* poll.registry.register(stream, Token(n), Interest.WRITABLE)
      }
      // mio sleeps 10 ms for the connections; we wait until the epoll fd itself
      // is readable, which collects nothing.
      yield* waitUntilReady(poll)
      yield* poll.poll(events, 0)
      assert.isFalse(events.isEmpty())
    }))

  // mio: poll.rs poll_closes_fd (2000 cycles), also with the libuv watcher of a
  // blocking wait
  it.live("poll_closes_fd: 2000 Poll make/poll/close cycles leave no fd behind", () =>
    Effect.gen(function*() {
      const before = openFds().size
      for (let i = 0; i < 2000; i++) {
        yield* Effect.scoped(Effect.gen(function*() {
          const poll = yield* Poll.make()
          yield* poll.poll(Events.withCapacity(4), 0)
        }))
      }
      for (let i = 0; i < 20; i++) {
        yield* Effect.scoped(Effect.gen(function*() {
          const poll = yield* Poll.make()
          yield* poll.poll(Events.withCapacity(4), 1) // creates the watcher
        }))
      }
      assert.strictEqual(openFds().size, before)
    }))

  // mio: poll.rs readiness_is_reregistered_after_would_block
  it.live("readiness_is_reregistered_after_would_block: drained source gets a new edge", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      const server = yield* nodeServer("127.0.0.1")
      const client = yield* TcpStream.connect(server.address)
      const peer = yield* server.accepted.take
      yield* poll.registry.register(client, ID1, Interest.READABLE)

      yield* nodeWrite(peer, "hello")
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
      const buf = new Uint8Array(16)
      assert.strictEqual(expectOk(client.read(buf)), 5)
      expectWouldBlock(client.read(buf))
      yield* expectNoEvents(poll, events)

      yield* nodeWrite(peer, "again")
      yield* expectEvents(poll, events, [{ token: ID1, readiness: ["readable"] }])
    }))

  // mio: poll.rs drop_cancels_interest_and_shuts_down
  it.live("drop_cancels_interest_and_shuts_down: closing the stream sends EOF to the peer", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const server = yield* nodeServer("127.0.0.1")
      const stream = TcpStream.connectUnscoped(server.address)
      if (stream instanceof IoError.IoError) return yield* stream
      yield* poll.registry.register(stream, Token(1), RW)
      yield* pollUntil(poll, events, (e) => e.token === 1) // connected
      const peer = yield* server.accepted.take
      const received = nodeReadAll(peer)
      expectWouldBlock(stream.read(new Uint8Array(1024)))
      stream.close()
      const got = yield* received.pipe(Effect.timeout(5000))
      assert.strictEqual(got.length, 0, "the peer reads end of stream, no data")
    }))

  // mio: poll.rs registry_behind_arc — two fibers share the registry and
  // register while the main fiber polls for 1 s
  it.live("registry_behind_arc: registrations from other fibers during a poll", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const registry = poll.registry
      const events = Events.withCapacity(128)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const addr = expectOk(listener.localAddr())
      const f1 = yield* Effect.forkChild(registry.register(listener, Token(0), Interest.READABLE))
      const f2 = yield* Effect.forkChild(Effect.gen(function*() {
        const stream = yield* TcpStream.connect(addr)
        yield* registry.register(stream, Token(1), RW)
      }))
      yield* poll.poll(events, 1000)
      assert.isAtLeast(events.length, 1)
      yield* Fiber.join(f1)
      yield* Fiber.join(f2)
    }))

  // mio: poll.rs registry_operations_are_thread_safe — register, deregister,
  // register, reregister from three fibers
  it.live("registry_operations_are_thread_safe: interleaved operations from three fibers", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const registry = poll.registry
      const flow = (source: Source, token: Token, first: Interest.Interest, last: Interest.Interest) =>
        Effect.gen(function*() {
          yield* registry.register(source, token, first)
          yield* Effect.yieldNow
          yield* registry.deregister(source)
          yield* Effect.yieldNow
          yield* registry.register(source, token, first)
          yield* Effect.yieldNow
          yield* registry.reregister(source, token, last)
        })
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const addr = expectOk(listener.localAddr())
      const udp = yield* UdpSocket.bind("127.0.0.1:0")
      const stream = yield* TcpStream.connect(addr)
      const fibers = [
        yield* Effect.forkChild(flow(listener, ID1, Interest.READABLE, Interest.READABLE)),
        yield* Effect.forkChild(flow(udp, ID2, Interest.WRITABLE, RW)),
        yield* Effect.forkChild(flow(stream, ID3, Interest.READABLE, RW))
      ]
      for (const f of fibers) yield* Fiber.join(f)
      yield* expectEvents(poll, events, [
        { token: ID1, readiness: ["readable"] },
        { token: ID2, readiness: ["writable"] },
        { token: ID3, readiness: ["writable"] }
      ])
    }))

  // mio: poll.rs register_during_poll — a timer callback registers ~200 ms
  // into a 5 s poll; that poll returns with exactly that event
  it.live("register_during_poll: a registration during a blocking poll wakes it", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      let registered: Exit.Exit<void, IoError.IoError> | undefined
      const timer = setTimeout(() => {
        registered = Effect.runSyncExit(poll.registry.register(socket, ID1, Interest.WRITABLE))
      }, 200)
      yield* Effect.addFinalizer(() => Effect.sync(() => clearTimeout(timer)))
      const t0 = performance.now()
      yield* poll.poll(events, 5000)
      const waited = performance.now() - t0
      assert.isTrue(registered !== undefined && Exit.isSuccess(registered), "registered from the timer callback")
      assert.isBelow(waited, 2500, "the poll ended with the registration, not its timeout")
      assert.strictEqual(events.length, 1, "exactly one event")
      assert.strictEqual(events.get(0).token, ID1)
      assert.isTrue(events.get(0).isWritable())
    }))

  // mio: poll.rs reregister_interest_token_usage
  it.live("reregister_interest_token_usage: reregister fully overrides token and interest", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      yield* poll.registry.register(socket, ID1, Interest.READABLE)
      yield* poll.registry.reregister(socket, ID1, Interest.READABLE)
      yield* poll.registry.reregister(socket, ID2, Interest.WRITABLE)
      const seen = yield* expectEvents(poll, events, [{ token: ID2, readiness: ["writable"] }])
      assert.isTrue(seen.every((e) => e.token === ID2), "the old token is gone")
    }))

  // mio: poll.rs double_register_different_token
  it.live("double_register_different_token: a second register fails (AlreadyExists)", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      yield* poll.registry.register(listener, Token(0), Interest.READABLE)
      const e = yield* Effect.flip(poll.registry.register(listener, Token(1), Interest.READABLE))
      expectIoError(e, "AlreadyExists", "already registered")
    }))

  // mio: poll.rs poll_ok_after_cancelling_pending_ops
  it.live("poll_ok_after_cancelling_pending_ops: reregister after a poll, then another fiber registers", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const addr = expectOk(listener.localAddr())
      yield* poll.registry.register(listener, ID1, Interest.READABLE)
      yield* poll.poll(events, 0)
      yield* poll.registry.reregister(listener, ID2, Interest.READABLE)

      const stream = yield* TcpStream.connect(addr)
      yield* expectEvents(poll, events, [{ token: ID2, readiness: ["readable"] }])
      const accepted = expectOk(listener.accept())
      accepted[0].close()

      const f = yield* Effect.forkChild(poll.registry.register(stream, ID3, Interest.WRITABLE))
      yield* expectEvents(poll, events, [{ token: ID3, readiness: ["writable"] }])
      yield* Fiber.join(f)
    }))

  // mio: poll.rs reregister_without_register
  it.live("reregister_without_register: NotFound, \"not registered\"", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const e = yield* Effect.flip(poll.registry.reregister(listener, ID1, Interest.READABLE))
      expectIoError(e, "NotFound", "not registered")
    }))

  // mio: poll.rs deregister_without_register
  it.live("deregister_without_register: NotFound, \"not registered\"", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const e = yield* Effect.flip(poll.registry.deregister(listener))
      expectIoError(e, "NotFound", "not registered")
    }))

  // mio: poll.rs poll_registration — the Registry delegates to the Source once per call
  it.live("poll_registration: Registry methods call the Source's, once, with the arguments", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const registry = poll.registry
      const registrations: Array<[Registry, Token, Interest.Interest]> = []
      const reregistrations: Array<[Registry, Token, Interest.Interest]> = []
      let deregisterCount = 0
      const source: Source = {
        register: (r, token, interest) => {
          registrations.push([r, token, interest])
          return undefined
        },
        reregister: (r, token, interest) => {
          reregistrations.push([r, token, interest])
          return undefined
        },
        deregister: () => {
          deregisterCount++
          return undefined
        }
      }
      yield* registry.register(source, Token(0), Interest.READABLE)
      assert.deepStrictEqual(registrations, [[registry, Token(0), Interest.READABLE]])
      assert.deepStrictEqual(reregistrations, [])
      assert.strictEqual(deregisterCount, 0)

      yield* registry.reregister(source, Token(0), Interest.READABLE)
      assert.strictEqual(registrations.length, 1)
      assert.deepStrictEqual(reregistrations, [[registry, Token(0), Interest.READABLE]])
      assert.strictEqual(deregisterCount, 0)

      yield* registry.deregister(source)
      assert.strictEqual(registrations.length, 1)
      assert.strictEqual(reregistrations.length, 1)
      assert.strictEqual(deregisterCount, 1)
    }))

  // mio: poll.rs poll_erroneous_registration — the Source's errors come back
  it.live("poll_erroneous_registration: the Source's errors are the Registry's", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const registry = poll.registry
      const source: Source = {
        register: () => IoError.make("Other", "register", "register"),
        reregister: () => IoError.make("Other", "reregister", "reregister"),
        deregister: () => IoError.make("Other", "deregister", "deregister")
      }
      expectIoError(yield* Effect.flip(registry.register(source, Token(0), Interest.READABLE)), "Other", "register")
      expectIoError(yield* Effect.flip(registry.reregister(source, Token(0), Interest.READABLE)), "Other", "reregister")
      expectIoError(yield* Effect.flip(registry.deregister(source)), "Other", "deregister")
    }))
})

describe("poll (effect-mio)", () => {
  checkFdLeaks()

  // mio's timeout rule (src/poll.rs): rounded up to whole milliseconds,
  // clamped to c_int::MAX; `None` waits forever.
  it("timeouts round up to milliseconds", () => {
    assert.strictEqual(Poll.timeoutMillis(undefined), -1)
    assert.strictEqual(Poll.timeoutMillis(0), 0)
    assert.strictEqual(Poll.timeoutMillis("1 nanos"), 1)
    assert.strictEqual(Poll.timeoutMillis("1500 micros"), 2)
    assert.strictEqual(Poll.timeoutMillis("2 millis"), 2)
    assert.strictEqual(Poll.timeoutMillis("Infinity"), -1)
    assert.strictEqual(Poll.timeoutMillis("1000 days"), 2147483647)
    expectIoError(Poll.timeoutMillis(-1), "InvalidInput")
  })

  // mio's Token is a usize carried in epoll_event.u64; ours is any safe integer
  it.live("tokens up to 2^53 - 1 come back exactly (both halves of the 64-bit data field)", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      const tokens = [0, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]
      for (const t of tokens) {
        const s = yield* UdpSocket.bind("127.0.0.1:0")
        yield* poll.registry.register(s, Token(t), Interest.WRITABLE)
      }
      yield* poll.poll(events, 500)
      assert.deepStrictEqual([...events].map((e) => e.token).sort((a, b) => a - b), tokens)
    }))

  it.live("a 1 s poll does not block Node's event loop: timers and other fibers run on time", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      const [, rx] = yield* Pipe.make()
      yield* poll.registry.register(rx, Token(1), Interest.READABLE) // registered, never ready
      let ticks = 0
      const interval = setInterval(() => ticks++, 10)
      yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(interval)))
      const sleeper = yield* Effect.forkChild(Effect.gen(function*() {
        const t0 = performance.now()
        yield* Effect.sleep(100)
        return performance.now() - t0
      }))
      const t0 = performance.now()
      yield* poll.poll(events, 1000)
      const waited = performance.now() - t0
      const slept = yield* Fiber.join(sleeper)
      assert.isTrue(events.isEmpty())
      assert.isAtLeast(waited, 999)
      assert.isBelow(waited, 1500)
      // A poll that blocked the loop would hold both back for its whole second
      // (ticks ≤ 1, slept ≥ 1000); the bounds leave room for a loaded machine.
      assert.isAtLeast(ticks, 20, "setInterval(10 ms) kept firing during the poll")
      assert.isAtLeast(slept, 95)
      assert.isAtMost(slept, 500, "Effect.sleep(100 ms) ended long before the poll's 1 s")
    }))

  // epoll_wait returns what is ready when its timeout expires; so must a poll
  // whose timer fires in the same loop turn as the readiness (here: the event
  // loop is held up past the timeout after the event arrived).
  it.live("a timeout that expires while events are ready returns those events", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(4)
      const waker = yield* Waker.make(poll.registry, Token(9))
      const waiting = yield* Effect.forkChild(poll.poll(events, 20))
      yield* Effect.yieldNow
      assert.isUndefined(waker.wakeNow())
      const until = performance.now() + 60
      while (performance.now() < until) {
        // hold the event loop past the timeout
      }
      yield* Fiber.join(waiting)
      assert.deepStrictEqual([...events].map((e) => e.token), [9])
    }))

  it.live("a second concurrent poll of one Poll fails with ResourceBusy", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const waker = yield* Waker.make(poll.registry, Token(9))
      const first = yield* Effect.forkChild(poll.poll(Events.withCapacity(4), 2000))
      yield* Effect.yieldNow
      const e = yield* Effect.flip(poll.poll(Events.withCapacity(4), 10))
      expectIoError(e, "ResourceBusy")
      assert.isUndefined(waker.wakeNow())
      yield* Fiber.join(first)
    }))

  it.live("a closed Poll: poll and register fail with Closed, close twice is a no-op", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      assert.isUndefined(poll.close())
      assert.isUndefined(poll.close())
      expectIoError(yield* Effect.flip(poll.poll(Events.withCapacity(4), 0)), "Closed")
      expectIoError(yield* Effect.flip(poll.poll(Events.withCapacity(4), 10)), "Closed")
      expectIoError(yield* Effect.flip(poll.registry.register(socket, ID1, Interest.READABLE)), "Closed")
    }))

  it.live("interrupting a waiting poll stops its wait", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(4)
      const f = yield* Effect.forkChild(poll.poll(events, 10_000))
      yield* Effect.yieldNow
      expectIoError(yield* Effect.flip(poll.poll(Events.withCapacity(1), 10)), "ResourceBusy") // the child is waiting
      yield* Fiber.interrupt(f)
      // The Poll is free again, and a new wait sees new readiness.
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      yield* poll.registry.register(socket, ID1, Interest.WRITABLE)
      yield* poll.poll(events, 1000)
      assert.strictEqual(events.length, 1)
      assert.strictEqual(events.get(0).token, ID1)
    }))

  // mio's README: "Zero allocations at runtime". A level-triggered pipe with
  // data makes every poll return an event; the child process measures the heap.
  it("zero allocation: 100 000 pollNow/poll(events, 0) calls with events", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/zero-alloc.ts", import.meta.url))
    const root = fileURLToPath(new URL("../../", import.meta.url))
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--expose-gc", "--min-semi-space-size=64", "--max-semi-space-size=64", "--import", "tsx", fixture],
        { cwd: root, timeout: 30_000 },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout))
      )
    )
    const r = JSON.parse(out) as {
      iterations: number
      pollNow: { allocated: Array<number>; otherGcs: number; events: Array<number> }
      poll: { retained: Array<number>; events: Array<number> }
    }
    assert.deepStrictEqual(r.pollNow.events, r.pollNow.events.map(() => r.iterations), "every pollNow returned the event")
    assert.deepStrictEqual(r.poll.events, r.poll.events.map(() => r.iterations), "every poll returned the event")
    assert.strictEqual(r.pollNow.otherGcs, 0, "no GC ran during the measured rounds")
    // One allocation per iteration would add ≥ 1.6 MB to a round; the bound leaves room for what
    // the JIT and a loaded machine's runtime put on the heap now and then (4.4 KB seen under load).
    const bound = 64 * 1024
    assert.isBelow(Math.min(...r.pollNow.allocated), bound, `pollNow allocated: ${r.pollNow.allocated.join(", ")} bytes`)
    assert.isBelow(Math.min(...r.poll.retained), bound, `poll retained: ${r.poll.retained.join(", ")} bytes`)
  })
})
