/**
 * TCP churn and slowloris against our server (issue 8): resets, half-closes,
 * peers vanishing mid-write, slow clients. `npm run soak` runs 20,000+
 * connections; here a bounded count.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { tcpChurn } from "./scenarios/tcpChurn.ts"

describe("hostile: TCP churn and slowloris", () => {
  checkFdLeaks()

  it.live("1,500 abusive connections and 50 slowloris clients: health checks answered, handlers ended, fds back", () =>
    Effect.gen(function*() {
      const f = yield* tcpChurn({ connections: 500, slowloris: 50 })
      assert.strictEqual(f.healthChecksAnswered, f.healthChecks, "every health check answered")
      assert.strictEqual(f.halfClosesEchoed, 500, "every half-closed client got its whole echo")
      assert.isAtLeast(f.accepted, 1500)
      assert.strictEqual(f.handlersLeft, 0, "every handler ended")
      assert.strictEqual(f.registeredAfter, f.registeredBefore, "reactor registrations back to baseline")
      assert.strictEqual(f.fdsAfter, f.fdsBefore, "descriptors back to baseline")
    }).pipe(Effect.provide(Reactor.layer)), 60_000)
})
