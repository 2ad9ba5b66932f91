import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { run } from "../../examples/reuseport/main.ts"
import { checkFdLeaks } from "../util/fds.ts"

describe("SO_REUSEPORT scale-out across worker threads", () => {
  checkFdLeaks()

  it.live("connections to one port land on more than one worker, each with its own reactor", () =>
    Effect.gen(function*() {
      const served = yield* run(2, 48)
      const counts = [...served.values()]
      assert.strictEqual(counts.reduce((a, b) => a + b, 0), 48)
      // The kernel hashes each connection's 4-tuple: all 48 on one of two listeners
      // has probability 2^-47.
      assert.isAtLeast(served.size, 2, `served by ${[...served.keys()].join(", ")}`)
      for (const who of served.keys()) assert.match(who, /^worker \d+$/)
    }), 30_000)
})
