/**
 * Port of mio's tests/unix_pipe.rs. mio's `Sender::from(ChildStdin)` /
 * `Receiver::from(ChildStdout)` become: the child (`cat`) gets the other ends of
 * two of our pipes as its stdin and stdout.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Pipe from "../../src/net/Pipe.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { Token } from "../../src/poll/Token.ts"
import * as C from "../../src/sys/constants.ts"
import * as fd from "../../src/sys/fd.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { bytes, expectEvents, expectIoError, expectOk, expectRead, expectWouldBlock, expectWritten } from "../util/expect.ts"

const RECEIVER = Token(0)
const SENDER = Token(1)
const DATA1 = bytes("Hello world")

/** mio's `expect_one_closed_event`: one poll (1 s) returns exactly one event, closed. */
const expectOneClosedEvent = (poll: Poll.Poll, events: Events.Events, token: Token, read: boolean) =>
  Effect.gen(function*() {
    yield* poll.poll(events, 1000)
    assert.strictEqual(events.length, 1, `one event, saw ${[...events].map(String).join(", ")}`)
    const e = events.get(0)
    assert.strictEqual(e.token, token, String(e))
    if (read) assert.isTrue(e.isReadClosed(), String(e))
    else assert.isTrue(e.isWriteClosed(), String(e))
  })

const fcntl = (f: number, cmd: number): number => {
  const r = fd.fcntl(f, cmd, 0)
  if (typeof r !== "number") return assert.fail(`fcntl failed: ${String(r)}`)
  return r
}

/** `cat` with stdin from `stdin` and stdout to `stdout` (blocking ends given to the child). */
const spawnCat = (stdin: Pipe.Receiver, stdout: Pipe.Sender): Effect.Effect<ChildProcess> =>
  Effect.sync(() => {
    // O_NONBLOCK belongs to the open file description, which the child shares.
    assert.isUndefined(stdin.setNonblocking(false))
    assert.isUndefined(stdout.setNonblocking(false))
    const child = spawn("cat", [], { stdio: [stdin.fd, stdout.fd, "inherit"] })
    // The child holds its own copies now.
    stdin.close()
    stdout.close()
    return child
  })

const exited = (child: ChildProcess): Effect.Effect<number | null> =>
  Effect.promise(() =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode)
      child.once("exit", (code) => resolve(code))
    })
  )

describe("unix_pipe (mio tests/unix_pipe.rs)", () => {
  checkFdLeaks()

  // mio: unix_pipe.rs smoke
  it.live("smoke: WouldBlock before a write; sender writable, receiver readable", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      const [sender, receiver] = yield* Pipe.make()
      const buf = new Uint8Array(20)
      expectWouldBlock(receiver.read(buf))
      yield* poll.registry.register(receiver, RECEIVER, Interest.READABLE)
      yield* poll.registry.register(sender, SENDER, Interest.WRITABLE)
      yield* expectEvents(poll, events, [{ token: SENDER, readiness: ["writable"] }])
      expectWritten(sender.write(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: RECEIVER, readiness: ["readable"] }])
      expectRead(receiver.read(buf), buf, DATA1)
    }))

  // mio: unix_pipe.rs event_when_sender_is_dropped
  it.live("event_when_sender_is_dropped: exactly one read-closed event for the receiver", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      const [sender, receiver] = yield* Pipe.make()
      yield* poll.registry.register(receiver, RECEIVER, Interest.READABLE)
      expectWritten(sender.write(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: RECEIVER, readiness: ["readable"] }])
      sender.close()
      yield* expectOneClosedEvent(poll, events, RECEIVER, true)
    }))

  // mio: unix_pipe.rs event_when_receiver_is_dropped
  it.live("event_when_receiver_is_dropped: exactly one write-closed event for the sender", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      const [sender, receiver] = yield* Pipe.make()
      yield* poll.registry.register(sender, SENDER, Interest.WRITABLE)
      yield* expectEvents(poll, events, [{ token: SENDER, readiness: ["writable"] }])
      receiver.close()
      yield* expectOneClosedEvent(poll, events, SENDER, false)
      expectIoError(sender.write(DATA1), "BrokenPipe")
    }))

  // mio: unix_pipe.rs from_child_process_io
  it.live("from_child_process_io: round trip through `cat`; closing its stdin closes its stdout", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(8)
      const [sender, childStdin] = yield* Pipe.make()
      const [childStdout, receiver] = yield* Pipe.make()
      const child = yield* spawnCat(childStdin, childStdout)
      yield* poll.registry.register(receiver, RECEIVER, Interest.READABLE)
      yield* poll.registry.register(sender, SENDER, Interest.WRITABLE)
      yield* expectEvents(poll, events, [{ token: SENDER, readiness: ["writable"] }])
      expectWritten(sender.write(DATA1), DATA1.length)
      yield* expectEvents(poll, events, [{ token: RECEIVER, readiness: ["readable"] }])
      const buf = new Uint8Array(20)
      expectRead(receiver.read(buf), buf, DATA1)
      sender.close()
      yield* expectOneClosedEvent(poll, events, RECEIVER, true)
      assert.strictEqual(yield* exited(child), 0)
    }))

  // mio: unix_pipe.rs nonblocking_child_process_io
  it.live("nonblocking_child_process_io: setNonblocking(true) on a blocking end → WouldBlock", () =>
    Effect.gen(function*() {
      const [sender, childStdin] = yield* Pipe.make()
      const [childStdout, receiver] = yield* Pipe.make()
      const child = yield* spawnCat(childStdin, childStdout)
      assert.isUndefined(receiver.setNonblocking(false))
      assert.strictEqual(fcntl(receiver.fd, C.F_GETFL) & C.O_NONBLOCK, 0)
      assert.isUndefined(receiver.setNonblocking(true))
      expectWouldBlock(receiver.read(new Uint8Array(20)))
      sender.close()
      assert.strictEqual(yield* exited(child), 0)
    }))

  it.live("both ends are non-blocking and close-on-exec (pipe2(O_NONBLOCK | O_CLOEXEC)); closed ends return Closed", () =>
    Effect.gen(function*() {
      const [sender, receiver] = yield* Pipe.make()
      for (const end of [sender.fd, receiver.fd]) {
        assert.notStrictEqual(fcntl(end, C.F_GETFL) & C.O_NONBLOCK, 0)
        assert.notStrictEqual(fcntl(end, C.F_GETFD) & C.FD_CLOEXEC, 0)
      }
      const bufs = [new Uint8Array(3), new Uint8Array(8)]
      assert.strictEqual(expectOk(sender.writev([bytes("abc"), bytes("defgh")])), 8)
      assert.strictEqual(expectOk(receiver.readv(bufs)), 8)
      assert.deepStrictEqual([...bufs[0]!, ...bufs[1]!.subarray(0, 5)], [...bytes("abcdefgh")])
      sender.close()
      receiver.close()
      expectIoError(sender.write(DATA1), "Closed")
      expectIoError(receiver.read(new Uint8Array(1)), "Closed")
      expectIoError(receiver.setNonblocking(true), "Closed")
    }))
})
