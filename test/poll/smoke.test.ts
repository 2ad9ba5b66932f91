import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Pipe from "../../src/net/Pipe.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as Waker from "../../src/poll/Waker.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { bytes, expectEvents, expectNoEvents, expectOk, expectWouldBlock, text } from "../util/expect.ts"

describe("smoke", () => {
  checkFdLeaks()

  it.live("pipe readable after write, edge re-arms after WouldBlock", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      const [tx, rx] = yield* Pipe.make()
      yield* poll.registry.register(rx, Token(1), Interest.READABLE)
      yield* expectNoEvents(poll, events)
      expectOk(tx.write(bytes("hello")))
      yield* expectEvents(poll, events, [{ token: Token(1), readiness: ["readable"] }])
      const buf = new Uint8Array(16)
      assert.strictEqual(text(buf, expectOk(rx.read(buf))), "hello")
      expectWouldBlock(rx.read(buf))
      yield* expectNoEvents(poll, events)
      expectOk(tx.write(bytes("again")))
      yield* expectEvents(poll, events, [{ token: Token(1), readiness: ["readable"] }])
    }))

  it.live("pollBlocking is mio's blocking poll: the timeout, or the events at once", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      const [tx, rx] = yield* Pipe.make()
      yield* poll.registry.register(rx, Token(3), Interest.READABLE)
      const t0 = performance.now()
      assert.isUndefined(poll.pollBlocking(events, 50))
      assert.isAtLeast(performance.now() - t0, 49)
      assert.strictEqual(events.length, 0)
      expectOk(tx.write(bytes("now")))
      const t1 = performance.now()
      assert.isUndefined(poll.pollBlocking(events, 5000))
      assert.isBelow(performance.now() - t1, 1000)
      assert.strictEqual(events.length, 1)
      assert.strictEqual(events.get(0).token, 3)
      assert.strictEqual(poll.pollBlocking(events, -1)?.kind, "InvalidInput")
    }))

  it.live("waker wakes a waiting poll", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      const waker = yield* Waker.make(poll.registry, Token(9))
      setTimeout(() => waker.wakeNow(), 20)
      const t0 = Date.now()
      yield* poll.poll(events, 2000)
      assert.isBelow(Date.now() - t0, 1000)
      assert.strictEqual(events.length, 1)
      assert.strictEqual(events.get(0).token, 9)
      assert.isTrue(events.get(0).isReadable())
    }))
})
