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
import type { Poll } from "../../src/poll/Poll.ts"
import type { Token } from "../../src/poll/Token.ts"
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
