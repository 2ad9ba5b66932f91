import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import { requestResponse } from "../../examples/simnet-request-response.ts"

// the tests compare explicit seeds: a SIMNET_SEED in the environment must not override them
const noOverride = Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord({}))

describe("examples/simnet-request-response", () => {
  it.effect("answers every request correctly under 10% loss, with retries", () =>
    Effect.gen(function*() {
      const result = yield* requestResponse({ seed: 1, requests: 100 })
      assert.strictEqual(result.requests, 100)
      assert.isAbove(result.sent, 100, "some requests were retried")
      assert.isAbove(result.lost, 0)
      // 10 % loss each way: about one exchange in five needs a retry
      assert.approximately(result.lost / result.packets, 0.1, 0.05)
    }).pipe(noOverride))

  it.effect("replays exactly from its seed", () =>
    Effect.gen(function*() {
      const a = yield* requestResponse({ seed: 7, requests: 30 })
      const b = yield* requestResponse({ seed: 7, requests: 30 })
      assert.strictEqual(b.report, a.report)
      assert.notStrictEqual((yield* requestResponse({ seed: 8, requests: 30 })).report, a.report)
    }).pipe(noOverride))
})
