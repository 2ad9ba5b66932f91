/**
 * Helpers that name expectations, after mio's tests/util: `expectEvents` polls up
 * to three times for 500 ms and accepts extra (spurious) events; `expectNoEvents`
 * polls 50 ms and fails on any event.
 */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { IoError } from "../../src/IoError.ts"
import type { Event } from "../../src/poll/Event.ts"
import * as Events from "../../src/poll/Events.ts"
import * as Interest from "../../src/poll/Interest.ts"
import * as PollModule from "../../src/poll/Poll.ts"
import type { Poll } from "../../src/poll/Poll.ts"
import { SourceFd } from "../../src/poll/SourceFd.ts"
import { Token } from "../../src/poll/Token.ts"
import { WouldBlock } from "../../src/WouldBlock.ts"

export type Readiness =
  | "readable"
  | "writable"
  | "error"
  | "readClosed"
  | "writeClosed"
  | "priority"

export interface Expected {
  readonly token: Token
  readonly readiness: ReadonlyArray<Readiness>
}

const has = (e: Event, r: Readiness): boolean => {
  switch (r) {
    case "readable":
      return e.isReadable()
    case "writable":
      return e.isWritable()
    case "error":
      return e.isError()
    case "readClosed":
      return e.isReadClosed()
    case "writeClosed":
      return e.isWriteClosed()
    case "priority":
      return e.isPriority()
  }
}

/** Every expected (token, readiness ⊆ event) is seen within three 500 ms polls. */
export const expectEvents = (
  poll: Poll,
  events: Events.Events,
  expected: ReadonlyArray<Expected>
): Effect.Effect<Array<Event>, IoError> =>
  Effect.gen(function*() {
    const missing = [...expected]
    const seen: Array<Event> = []
    for (let round = 0; round < 3 && missing.length > 0; round++) {
      yield* poll.poll(events, 500)
      for (const e of events) {
        seen.push(e.clone())
        const i = missing.findIndex((x) => x.token === e.token && x.readiness.every((r) => has(e, r)))
        if (i >= 0) missing.splice(i, 1)
      }
    }
    assert.deepStrictEqual(
      missing,
      [],
      `expected events not seen; saw ${seen.map(String).join(", ") || "nothing"}`
    )
    return seen
  })

/** A 50 ms poll returns no event. */
export const expectNoEvents = (poll: Poll, events: Events.Events): Effect.Effect<void, IoError> =>
  Effect.gen(function*() {
    yield* poll.poll(events, 50)
    const seen = [...events].map(String)
    assert.deepStrictEqual(seen, [], "expected no events")
  })

/** The operation returned `WouldBlock`. */
export const expectWouldBlock = (r: unknown): void => {
  assert.strictEqual(r, WouldBlock, `expected WouldBlock, got ${String(r)}`)
}

/** The operation returned a number (not WouldBlock, not an error); returns it. */
export const expectOk = <A>(r: A | typeof WouldBlock | IoError): A => {
  if (r === WouldBlock) assert.fail("expected a result, got WouldBlock")
  if (r instanceof Error) assert.fail(`expected a result, got ${r.message}`)
  return r as A
}

/** The operation returned an IoError of `kind` (and the message contains `text`). */
export const expectIoError = (r: unknown, kind: string, text?: string): IoError => {
  assert.isTrue(r instanceof Error && (r as IoError)._tag === "IoError", `expected an IoError, got ${String(r)}`)
  const e = r as IoError
  assert.strictEqual(e.kind, kind, e.message)
  if (text !== undefined) assert.include(e.message, text)
  return e
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
export const text = (b: Uint8Array, n = b.length): string => new TextDecoder().decode(b.subarray(0, n))

/**
 * mio's `loop { poll.poll(&mut events, None); for event in &events { … } }`:
 * polls until an event satisfies `match`, at most `ms` in all. Returns a copy
 * of that event; the assertion fails when none came.
 */
export const pollUntil = (
  poll: Poll,
  events: Events.Events,
  match: (e: Event) => boolean,
  ms = 5000
): Effect.Effect<Event, IoError> =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    const seen: Array<string> = []
    for (;;) {
      const left = deadline - Date.now()
      if (left <= 0) break
      yield* poll.poll(events, left)
      for (const e of events) {
        if (match(e)) return e.clone()
        seen.push(String(e))
      }
    }
    return assert.fail(`no matching event within ${ms} ms; saw ${seen.join(", ") || "nothing"}`)
  })

/**
 * mio's `while events.is_empty() { poll.poll(&mut events, None) }`, at most
 * `ms` in all: the events of the first poll that returned any.
 */
export const pollNonEmpty = (poll: Poll, events: Events.Events, ms = 5000): Effect.Effect<Array<Event>, IoError> =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      yield* poll.poll(events, deadline - Date.now())
      if (!events.isEmpty()) return [...events].map((e) => e.clone())
    }
    return assert.fail(`no event within ${ms} ms`)
  })

/** `n` bytes were written (mio's `checked_write!`). */
export const expectWritten = (r: number | typeof WouldBlock | IoError, n: number): void => {
  assert.strictEqual(expectOk(r), n, "short write")
}

/** A read returned exactly `expected` (mio's `expect_read!`). */
export const expectRead = (r: number | typeof WouldBlock | IoError, buf: Uint8Array, expected: Uint8Array | string): void => {
  const n = expectOk(r)
  const want = typeof expected === "string" ? bytes(expected) : expected
  assert.deepStrictEqual([...buf.subarray(0, n)], [...want])
}

/**
 * Waits (at most `ms`) until `poll` has an event ready, without collecting it:
 * a second Poll watches the first one's epoll fd, which is readable while its
 * ready list is not empty. Replaces mio's "sleep so the events show up".
 */
export const waitUntilReady = (poll: Poll, ms = 5000): Effect.Effect<void, IoError> =>
  Effect.scoped(Effect.gen(function*() {
    const outer = yield* PollModule.make()
    const events = Events.withCapacity(1)
    yield* outer.registry.register(SourceFd(poll.fd), Token(0), Interest.READABLE)
    yield* outer.poll(events, ms)
    assert.isFalse(events.isEmpty(), `no event became ready within ${ms} ms`)
  }))
