/**
 * Interruption storms (issue 8): fibers interrupted mid-I/O leave no
 * descriptor, registration, waiter or memory behind. `npm run soak` runs 10^4.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { interruptionStorm } from "./scenarios/interruption.ts"

describe("hostile: interruption storms", () => {
  checkFdLeaks()

  it.live("1,500 fibers interrupted in every kind of wait leave nothing behind", () =>
    Effect.gen(function*() {
      const f = yield* interruptionStorm({ fibers: 1500 })
      assert.strictEqual(Object.keys(f.byKind).length, 6, "every kind of wait was interrupted")
      assert.strictEqual(f.fdsAfter, f.fdsBefore, "descriptors back to baseline")
      assert.strictEqual(f.registeredAfter, f.registeredBefore, "reactor registrations back to baseline")
      assert.strictEqual(f.waitingAfter, 0, "no waiter left parked")
      assert.isBelow(f.heapGrowth, 2 * 1024 * 1024, `heap grew ${f.heapGrowth} bytes`)
    }).pipe(Effect.provide(Reactor.layer)), 60_000)
})
