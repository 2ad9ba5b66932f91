/**
 * `SourceFd` — mio's `unix::SourceFd`: registers an fd the caller owns, never
 * closes it, and keeps no registration state, so the kernel's answers come
 * through: `EEXIST` for a second register, `ENOENT` for reregister/deregister
 * of an fd that is not registered (mio's release-build behaviour on epoll).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { closeSync, openSync } from "node:fs"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as Poll from "../../src/poll/Poll.ts"
import { SourceFd } from "../../src/poll/SourceFd.ts"
import { Token } from "../../src/poll/Token.ts"
import * as fd from "../../src/sys/fd.ts"
import { checkFdLeaks, openFds } from "../util/fds.ts"
import { expectEvents, expectIoError, expectNoEvents } from "../util/expect.ts"

/** An eventfd the test owns, closed by the Scope. */
const ownedEventfd = Effect.acquireRelease(
  Effect.sync(() => {
    const r = fd.eventfd()
    if (typeof r !== "number") throw new Error("eventfd failed")
    return r
  }),
  (f) => Effect.sync(() => fd.close(f))
)

describe("sourcefd", () => {
  checkFdLeaks()

  it.live("an eventfd registered through SourceFd: readable after a write; deregister stops events", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const events = Events.withCapacity(4)
      const efd = yield* ownedEventfd
      const source = SourceFd(efd)
      yield* poll.registry.register(source, Token(1), Interest.READABLE)
      yield* expectNoEvents(poll, events)
      fd.eventfdWrite(efd, 1n)
      yield* expectEvents(poll, events, [{ token: Token(1), readiness: ["readable"] }])
      yield* poll.registry.reregister(source, Token(2), Interest.READABLE)
      yield* expectEvents(poll, events, [{ token: Token(2), readiness: ["readable"] }])
      yield* poll.registry.deregister(source)
      fd.eventfdWrite(efd, 1n)
      yield* expectNoEvents(poll, events)
    }))

  it.live("the kernel's errors: EEXIST (AlreadyExists), ENOENT (NotFound), EPERM, EBADF", () =>
    Effect.gen(function*() {
      const poll = yield* Poll.make()
      const efd = yield* ownedEventfd
      const source = SourceFd(efd)
      const e1 = yield* Effect.flip(poll.registry.reregister(source, Token(1), Interest.READABLE))
      assert.strictEqual(expectIoError(e1, "NotFound").code, "ENOENT")
      const e2 = yield* Effect.flip(poll.registry.deregister(source))
      assert.strictEqual(expectIoError(e2, "NotFound").code, "ENOENT")
      yield* poll.registry.register(source, Token(1), Interest.READABLE)
      const e3 = yield* Effect.flip(poll.registry.register(source, Token(1), Interest.READABLE))
      assert.strictEqual(expectIoError(e3, "AlreadyExists").code, "EEXIST")
      // A regular file cannot be polled.
      const file = openSync(new URL(import.meta.url).pathname, "r")
      const e4 = yield* Effect.flip(poll.registry.register(SourceFd(file), Token(2), Interest.READABLE))
      closeSync(file)
      assert.strictEqual(expectIoError(e4, "PermissionDenied").code, "EPERM")
      const e5 = yield* Effect.flip(poll.registry.register(SourceFd(-1), Token(3), Interest.READABLE))
      assert.strictEqual(expectIoError(e5, "Closed").code, "EBADF")
    }))

  it.live("SourceFd never closes the fd", () =>
    Effect.gen(function*() {
      const efd = yield* ownedEventfd
      yield* Effect.scoped(Effect.gen(function*() {
        const poll = yield* Poll.make()
        yield* poll.registry.register(SourceFd(efd), Token(1), Interest.READABLE)
      }))
      assert.isTrue(openFds().has(efd))
    }))
})
