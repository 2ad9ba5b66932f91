/**
 * A DCCP listener under hostile traffic (issue 8, defect 2): garbage and
 * spoofed Requests from thousands of sources leave no state behind, the heap
 * comes back, and legitimate clients are still served. `npm run soak` runs the
 * same scenario with 10^5 datagrams of each kind.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { dccpFlood } from "./scenarios/dccpFlood.ts"

describe("hostile: a DCCP listener under a flood", () => {
  checkFdLeaks()

  it.live("10,000 garbage datagrams and 10,000 spoofed Requests from distinct sources leave nothing behind", () =>
    Effect.gen(function*() {
      const f = yield* dccpFlood({ garbage: 10_000, requests: 10_000 })
      assert.strictEqual(f.peers, 0, "peers held for sources that only sent")
      assert.strictEqual(f.connections, 0)
      assert.isAbove(f.cookiesSent, 5_000, "past the half-open bound, Requests are answered statelessly")
      assert.strictEqual(f.echoed, 3, "legitimate clients are served after the flood")
      // 20,000 sources once cost +6 MiB here; what is left now is noise.
      assert.isBelow(f.heapAfter - f.heapBefore, 1.5 * 1024 * 1024, `heap grew ${f.heapAfter - f.heapBefore} bytes`)
    }).pipe(Effect.provide(Reactor.layer)), 60_000)
})
