/**
 * Port of mio's tests/registering.rs, plus registering a closed source.
 * mio's debug-build association checks (`tcp/udp_register_multiple_event_loops`)
 * hold in every build here.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { bytes, expectIoError, expectOk, pollNonEmpty, waitUntilReady } from "../util/expect.ts"

const SERVER = Token(0)
const CLIENT = Token(1)
const RW = Interest.add(Interest.READABLE, Interest.WRITABLE)

describe("registering (mio tests/registering.rs)", () => {
  checkFdLeaks()

  // mio: registering.rs register_deregister — the TestHandler state machine
  it.live("register_deregister: readable → reregister writable → deregister both → no events", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(1024)
      const server = yield* TcpListener.bind("127.0.0.1:0")
      yield* poll.registry.register(server, SERVER, Interest.READABLE)
      const client = yield* TcpStream.connect(expectOk(server.localAddr()))
      yield* poll.registry.register(client, CLIENT, Interest.READABLE)

      let state = 0
      const deadline = Date.now() + 5000
      loop: while (Date.now() < deadline) {
        yield* poll.poll(events, 500)
        if (events.isEmpty()) continue
        const event = events.get(0) // mio handles the first event of each poll
        if (event.isReadable()) {
          if (event.token === SERVER) {
            const [sock] = expectOk(server.accept())
            const w = sock.write(bytes("foobar"))
            if (w !== WouldBlock) expectOk(w)
            sock.close()
          } else {
            assert.strictEqual(event.token, CLIENT)
            assert.strictEqual(state, 0, "unexpected state")
            state = 1
            yield* poll.registry.reregister(client, CLIENT, Interest.WRITABLE)
          }
        }
        if (event.isWritable()) {
          assert.strictEqual(event.token, CLIENT)
          assert.strictEqual(state, 1, "unexpected state")
          state = 2
          yield* poll.registry.deregister(client)
          yield* poll.registry.deregister(server)
          break loop
        }
      }
      assert.strictEqual(state, 2)
      yield* poll.poll(events, 100)
      assert.isTrue(events.isEmpty())
    }))

  // mio: registering.rs reregister_different_interest_without_poll
  it.live("reregister_different_interest_without_poll: the pending readiness is not reported for WRITABLE", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(1024)
      const l = yield* TcpListener.bind("127.0.0.1:0")
      yield* poll.registry.register(l, Token(0), Interest.READABLE)
      const s1 = yield* TcpStream.connect(expectOk(l.localAddr()))
      yield* poll.registry.register(s1, Token(2), Interest.READABLE)
      // mio sleeps 200 ms for the connection to be pending; we wait for it.
      yield* waitUntilReady(poll)
      yield* poll.registry.reregister(l, Token(0), Interest.WRITABLE)
      yield* poll.poll(events, 200)
      assert.isTrue(events.isEmpty(), `unexpected ${[...events].map(String).join(", ")}`)
    }))

  // mio: registering.rs tcp_register_multiple_event_loops (debug builds)
  it.live("tcp_register_multiple_event_loops: a registered source cannot join another Poll", () =>
    Effect.gen(function*() {
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const poll1 = yield* Poll.make()
      yield* poll1.registry.register(listener, Token(0), RW)
      const poll2 = yield* Poll.make()
      expectIoError(
        yield* Effect.flip(poll2.registry.register(listener, Token(0), RW)),
        "AlreadyExists",
        "I/O source already registered with a `Registry`"
      )
      const stream = yield* TcpStream.connect(expectOk(listener.localAddr()))
      yield* poll1.registry.register(stream, Token(1), RW)
      expectIoError(
        yield* Effect.flip(poll2.registry.register(stream, Token(1), RW)),
        "AlreadyExists",
        "I/O source already registered with a `Registry`"
      )
      // Nor be reregistered or deregistered through it (mio: "with a different `Registry`").
      expectIoError(
        yield* Effect.flip(poll2.registry.reregister(stream, Token(1), RW)),
        "AlreadyExists",
        "different `Registry`"
      )
      expectIoError(yield* Effect.flip(poll2.registry.deregister(stream)), "AlreadyExists", "different `Registry`")
    }))

  // mio: registering.rs udp_register_multiple_event_loops (debug builds)
  it.live("udp_register_multiple_event_loops: a registered socket cannot join another Poll", () =>
    Effect.gen(function*() {
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      const poll1 = yield* Poll.make()
      yield* poll1.registry.register(socket, Token(0), RW)
      const poll2 = yield* Poll.make()
      expectIoError(
        yield* Effect.flip(poll2.registry.register(socket, Token(0), RW)),
        "AlreadyExists",
        "I/O source already registered with a `Registry`"
      )
    }))

  // mio: registering.rs registering_after_deregistering
  it.live("registering_after_deregistering: register, deregister, register again; idle → no events", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      const server = yield* TcpListener.bind("127.0.0.1:0")
      yield* poll.registry.register(server, SERVER, Interest.READABLE)
      yield* poll.registry.deregister(server)
      yield* poll.registry.register(server, SERVER, Interest.READABLE)
      yield* poll.poll(events, 100)
      assert.isTrue(events.isEmpty())
    }))

  it.live("a closed source: register, reregister and deregister fail with Closed", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      yield* poll.registry.register(socket, Token(0), Interest.READABLE)
      assert.isUndefined(socket.close())
      assert.isTrue(socket.isClosed)
      expectIoError(yield* Effect.flip(poll.registry.register(socket, Token(0), Interest.READABLE)), "Closed")
      expectIoError(yield* Effect.flip(poll.registry.reregister(socket, Token(0), Interest.READABLE)), "Closed")
      expectIoError(yield* Effect.flip(poll.registry.deregister(socket)), "Closed")
      assert.isUndefined(socket.close(), "closing twice is a no-op")
    }))

  it.live("registration options: level-triggered repeats, oneshot fires once until reregistered", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      const level = yield* UdpSocket.bind("127.0.0.1:0")
      const once = yield* UdpSocket.bind("127.0.0.1:0")
      yield* poll.registry.register(level, Token(1), Interest.WRITABLE, { trigger: "level" })
      yield* poll.registry.register(once, Token(2), Interest.WRITABLE, { oneshot: true })
      const first = yield* pollNonEmpty(poll, events)
      assert.deepStrictEqual(first.map((e) => e.token).sort(), [1, 2])
      yield* poll.poll(events, 50)
      assert.deepStrictEqual([...events].map((e) => e.token), [1], "level repeats, oneshot is disarmed")
      yield* poll.registry.reregister(once, Token(2), Interest.WRITABLE, { oneshot: true })
      yield* poll.poll(events, 50)
      assert.deepStrictEqual([...events].map((e) => e.token).sort(), [1, 2])
    }))

  it.live("bad registration input: not a Token, not an Interest, exclusive misuse → InvalidInput", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const socket = yield* UdpSocket.bind("127.0.0.1:0")
      expectIoError(yield* Effect.flip(poll.registry.register(socket, -1 as Token, Interest.READABLE)), "InvalidInput")
      expectIoError(yield* Effect.flip(poll.registry.register(socket, Token(1), 0 as Interest.Interest)), "InvalidInput")
      expectIoError(
        yield* Effect.flip(poll.registry.register(socket, Token(1), Interest.READABLE, { exclusive: true, oneshot: true })),
        "InvalidInput"
      )
      expectIoError(
        yield* Effect.flip(poll.registry.register(socket, Token(1), Interest.PRIORITY, { exclusive: true })),
        "InvalidInput"
      )
      yield* poll.registry.register(socket, Token(1), Interest.READABLE, { exclusive: true })
      expectIoError(
        yield* Effect.flip(poll.registry.reregister(socket, Token(1), Interest.READABLE, { exclusive: true })),
        "InvalidInput"
      )
      assert.throws(() => Token(-1))
      assert.throws(() => Token(2 ** 53))
    }))
})
