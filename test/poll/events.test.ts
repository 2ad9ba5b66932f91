/**
 * Port of mio's tests/events.rs, plus the Linux mapping of epoll flags to
 * `Event` predicates (mio's src/sys/unix/selector/epoll.rs `event` module) and
 * the reuse rules of `Events` iteration.
 *
 * Not ported: `is_event_send_sync` (no threads share these objects in JS).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Pipe from "../../src/net/Pipe.ts"
import * as TcpListener from "../../src/net/TcpListener.ts"
import * as TcpStream from "../../src/net/TcpStream.ts"
import * as UdpSocket from "../../src/net/UdpSocket.ts"
import * as UnixDatagram from "../../src/net/UnixDatagram.ts"
import * as UnixStream from "../../src/net/UnixStream.ts"
import * as C from "../../src/sys/constants.ts"
import { Event } from "../../src/poll/Event.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { isSource, type Source } from "../../src/poll/Source.ts"
import { SourceFd } from "../../src/poll/SourceFd.ts"
import * as Timer from "../../src/poll/Timer.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Waker from "../../src/poll/Waker.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { expectIoError, expectOk } from "../util/expect.ts"

const WAKE_TOKEN = Token(10)

const event = (flags: number): Event => {
  const e = new Event()
  e.flags = flags
  return e
}

describe("events (mio tests/events.rs)", () => {
  checkFdLeaks()

  // mio: events.rs assert_event_source_implemented_for — every fd type is a Source
  it.live("assert_event_source_implemented_for: every source type is a Source", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const listener = yield* TcpListener.bind("127.0.0.1:0")
      const stream = yield* TcpStream.connect(expectOk(listener.localAddr()))
      const udp = yield* UdpSocket.bind("127.0.0.1:0")
      const [us] = yield* UnixStream.pair()
      const [ud] = yield* UnixDatagram.pair()
      const [tx, rx] = yield* Pipe.make()
      const timer = yield* Timer.make(poll.registry, Token(1))
      const sources: Array<Source> = [listener, stream, udp, us, ud, tx, rx, timer, SourceFd(0)]
      for (const s of sources) assert.isTrue(isSource(s))
      assert.isFalse(isSource({}))
      assert.isFalse(isSource(null))
    }))

  // mio: events.rs events_all
  it.live("events_all: capacity, empty, waker events, clear", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(16)
      assert.strictEqual(events.capacity, 16)
      assert.isTrue(events.isEmpty())

      const waker = yield* Waker.make(poll.registry, WAKE_TOKEN)
      yield* waker.wake
      yield* poll.poll(events, 100)
      assert.isFalse(events.isEmpty())
      for (const e of events) {
        assert.strictEqual(e.token, WAKE_TOKEN)
        assert.isTrue(e.isReadable())
      }
      events.clear()
      assert.isTrue(events.isEmpty())
      assert.strictEqual([...events].length, 0)
    }))

  it.live("a poll fills at most `capacity` events; the rest come with the next poll", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(2)
      for (let i = 0; i < 5; i++) {
        const s = yield* UdpSocket.bind("127.0.0.1:0")
        yield* poll.registry.register(s, Token(i), Interest.WRITABLE)
      }
      const tokens = new Set<number>()
      for (let round = 0; round < 3; round++) {
        yield* poll.poll(events, 500)
        assert.isAtMost(events.length, 2)
        for (const e of events) tokens.add(e.token)
      }
      assert.deepStrictEqual([...tokens].sort(), [0, 1, 2, 3, 4])
    }))

  it.effect("Events.withCapacity takes an integer from 1 to 2^20; a poll refuses another with InvalidInput, it never throws", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      for (const bad of [0, 1.5, (1 << 20) + 1]) {
        const events = Events.withCapacity(bad)
        assert.strictEqual(events.capacity, 0)
        expectIoError(poll.pollNow(events), "InvalidInput", `Events capacity is an integer from 1 to 1048576, not ${bad}`)
        expectIoError(yield* Effect.flip(poll.poll(events, 0)), "InvalidInput", "Events capacity")
      }
      assert.strictEqual(Events.withCapacity(1).capacity, 1)
    }))
})

describe("Event: mio's Linux mapping of epoll flags", () => {
  it("is_readable: EPOLLIN or EPOLLPRI", () => {
    assert.isTrue(event(C.EPOLLIN).isReadable())
    assert.isTrue(event(C.EPOLLPRI).isReadable())
    assert.isFalse(event(C.EPOLLOUT | C.EPOLLRDHUP | C.EPOLLHUP | C.EPOLLERR).isReadable())
  })

  it("is_writable: EPOLLOUT", () => {
    assert.isTrue(event(C.EPOLLOUT).isWritable())
    assert.isFalse(event(C.EPOLLIN | C.EPOLLPRI | C.EPOLLHUP | C.EPOLLERR).isWritable())
  })

  it("is_error: EPOLLERR", () => {
    assert.isTrue(event(C.EPOLLERR).isError())
    assert.isTrue(event(C.EPOLLERR | C.EPOLLOUT).isError())
    assert.isFalse(event(C.EPOLLIN | C.EPOLLOUT | C.EPOLLHUP).isError())
  })

  it("is_read_closed: EPOLLHUP, or EPOLLIN with EPOLLRDHUP", () => {
    assert.isTrue(event(C.EPOLLHUP).isReadClosed())
    assert.isTrue(event(C.EPOLLIN | C.EPOLLRDHUP).isReadClosed())
    assert.isFalse(event(C.EPOLLRDHUP).isReadClosed(), "RDHUP without IN is not read-closed")
    assert.isFalse(event(C.EPOLLIN).isReadClosed())
    assert.isFalse(event(C.EPOLLOUT | C.EPOLLERR).isReadClosed())
  })

  it("is_write_closed: EPOLLHUP, or EPOLLOUT with EPOLLERR, or exactly EPOLLERR", () => {
    assert.isTrue(event(C.EPOLLHUP).isWriteClosed())
    assert.isTrue(event(C.EPOLLOUT | C.EPOLLERR).isWriteClosed())
    assert.isTrue(event(C.EPOLLERR).isWriteClosed(), "a pipe whose read end closed")
    assert.isFalse(event(C.EPOLLIN | C.EPOLLERR).isWriteClosed())
    assert.isFalse(event(C.EPOLLOUT).isWriteClosed())
    assert.isFalse(event(C.EPOLLIN | C.EPOLLRDHUP).isWriteClosed())
  })

  it("is_priority: EPOLLPRI; is_aio and is_lio: never on Linux", () => {
    assert.isTrue(event(C.EPOLLPRI).isPriority())
    assert.isFalse(event(C.EPOLLIN).isPriority())
    const all = event(0xffffffff)
    assert.isFalse(all.isAio())
    assert.isFalse(all.isLio())
  })

  it("clone keeps flags and token; toString names the readiness", () => {
    const e = event(C.EPOLLIN | C.EPOLLOUT)
    e.token = Token(5)
    const c = e.clone()
    e.flags = 0
    assert.strictEqual(c.flags, C.EPOLLIN | C.EPOLLOUT)
    assert.strictEqual(c.token, 5)
    assert.strictEqual(String(c), "Event(token: 5, READABLE | WRITABLE, flags: 0x5)")
  })
})

describe("Events iteration", () => {
  checkFdLeaks()

  it.live("loops restart from the first event, also after a break; nested loops are independent", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      for (let i = 0; i < 3; i++) {
        const s = yield* UdpSocket.bind("127.0.0.1:0")
        // level-triggered: every poll reports all three
        yield* poll.registry.register(s, Token(i), Interest.WRITABLE, { trigger: "level" })
      }
      yield* poll.poll(events, 500)
      const all = [...events].map((e) => e.token).sort()
      assert.deepStrictEqual(all, [0, 1, 2])
      for (const e of events) {
        assert.isDefined(e)
        break
      }
      assert.strictEqual([...events].length, 3, "a new loop after a break sees every event")
      let pairs = 0
      for (const a of events) {
        for (const b of events) {
          assert.isDefined(a)
          assert.isDefined(b)
          pairs++
        }
      }
      assert.strictEqual(pairs, 9)
      for (let i = 0; i < events.length; i++) {
        assert.strictEqual(events.tokenAt(i), events.get(i).token)
        assert.strictEqual(events.flagsAt(i), events.get(i).flags)
      }
    }))
})
