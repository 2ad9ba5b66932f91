/**
 * `Signals` (signalfd) — not part of mio, asked for by users with one readiness
 * loop. A signal sent to the process arrives as a readable event; `read`
 * returns one pending signal at a time, then `WouldBlock`. Taking a signal must
 * not let its default action run (the test process would die), and closing
 * gives everything back.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Events from "../../src/poll/Events.ts"
import * as Poll from "../../src/poll/Poll.ts"
import * as Signals from "../../src/poll/Signals.ts"
import { Token } from "../../src/poll/Token.ts"
import * as C from "../../src/sys/constants.ts"
import { checkFdLeaks } from "../util/fds.ts"
import type { IoError } from "../../src/IoError.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"
import { expectIoError, expectNoEvents, expectOk, expectWouldBlock } from "../util/expect.ts"

const S = Token(4)

/**
 * Polls (without blocking Node's event loop) until `token` is readable and a
 * read returns a signal. A readable event may be spurious, as mio allows: the
 * kernel can hand the pending signal to another of Node's threads between
 * epoll_wait and read; Node's handler then reports it to this thread's event
 * loop, whose forwarding listener raises it here again. So on WouldBlock the
 * test lets the event loop turn and polls again.
 */
const nextSignal = (
  poll: Poll.Poll,
  events: Events.Events,
  signals: Signals.Signals,
  token: Token
): Effect.Effect<Signals.SignalInfo, IoError> =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5000
    let readable = 0
    while (Date.now() < deadline) {
      yield* poll.poll(events, 0)
      for (const e of events) {
        if (e.token !== token || !e.isReadable()) continue
        readable++
        const r = signals.read()
        if (r !== WouldBlock) return expectOk(r)
      }
      yield* Effect.sleep("2 millis")
    }
    return assert.fail(`no signal within 5 s (${readable} readable events)`)
  })

describe("signals", () => {
  checkFdLeaks()

  it.live("a signal sent to the process is a readable event; read returns it, then WouldBlock", () =>
    Effect.gen(function*() {
      const listenersBefore = process.listenerCount("SIGUSR2")
      yield* Effect.scoped(Effect.gen(function*() {
        const poll = yield* Poll.make()
        const events = Events.withCapacity(4)
        const signals = yield* Signals.make(poll.registry, S, ["SIGUSR2", C.SIGWINCH])
        assert.deepStrictEqual([...signals.signals], [C.SIGUSR2, C.SIGWINCH])
        expectWouldBlock(signals.read())
        yield* expectNoEvents(poll, events)

        process.kill(process.pid, "SIGUSR2")
        const info = yield* nextSignal(poll, events, signals, S)
        assert.strictEqual(info.signal, C.SIGUSR2)
        assert.strictEqual(info.name, "SIGUSR2")
        assert.strictEqual(info.pid, process.pid)
        expectWouldBlock(signals.read())

        process.kill(process.pid, "SIGWINCH")
        assert.strictEqual((yield* nextSignal(poll, events, signals, S)).name, "SIGWINCH")
        expectWouldBlock(signals.read())
      }))
      assert.strictEqual(process.listenerCount("SIGUSR2"), listenersBefore, "the forwarding listener is removed")
    }))

  it.live("two Signals for one signal: the second keeps it after the first closes", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(4)
      const kept = yield* Signals.make(poll.registry, Token(1), ["SIGUSR2"])
      yield* Effect.scoped(Signals.make(poll.registry, Token(2), ["SIGUSR2"]))
      process.kill(process.pid, "SIGUSR2")
      assert.strictEqual((yield* nextSignal(poll, events, kept, Token(1))).signal, C.SIGUSR2)
    }))

  it.live("bad input: no signal, unknown names, uncatchable or fault signals are InvalidInput", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      expectIoError(yield* Effect.flip(Signals.make(poll.registry, S, [])), "InvalidInput", "no signal")
      expectIoError(
        yield* Effect.flip(Signals.make(poll.registry, S, ["SIGNOPE" as NodeJS.Signals])),
        "InvalidInput",
        "SIGNOPE"
      )
      expectIoError(yield* Effect.flip(Signals.make(poll.registry, S, ["SIGKILL"])), "InvalidInput", "SIGKILL")
      expectIoError(yield* Effect.flip(Signals.make(poll.registry, S, [C.SIGSTOP])), "InvalidInput")
      expectIoError(yield* Effect.flip(Signals.make(poll.registry, S, ["SIGSEGV"])), "InvalidInput")
      expectIoError(yield* Effect.flip(Signals.make(poll.registry, S, [1000])), "InvalidInput")
      // A failure part-way gives back what was taken.
      const before = process.listenerCount("SIGUSR2")
      expectIoError(yield* Effect.flip(Signals.make(poll.registry, S, ["SIGUSR2", "SIGKILL"])), "InvalidInput")
      assert.strictEqual(process.listenerCount("SIGUSR2"), before)
    }))
})
