/**
 * Every bad input of the public API, classified (issue 8, defect 5 and the
 * hostile suite, issue 14): some 1,650 untyped calls — garbage options, addresses,
 * tokens, durations, buffers — against `effect-mio` and `effect-mio/testing`.
 * Each must be a typed failure (a `Fail` in the Cause, or an `IoError` value
 * returned at the readiness level) of the expected kind whose message names
 * the option or input and the value: never a defect, a thrown exception, a
 * hang or silent acceptance. The tables live in ./badInput/.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Reactor from "../../src/reactor/Reactor.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { checkFdLeaks } from "../util/fds.ts"
import { adapterGroups } from "./badInput/adapters.ts"
import { type Group, runGroup } from "./badInput/harness.ts"
import { netGroups } from "./badInput/net.ts"
import { pollGroup } from "./badInput/poll.ts"
import { rudpGroups } from "./badInput/rudp.ts"
import { testingGroups } from "./badInput/testing.ts"

const groups: ReadonlyArray<Group<any, Reactor.Reactor | SimNet.SimNet>> = [pollGroup, ...netGroups, ...adapterGroups, ...testingGroups, ...rudpGroups]

describe("hostile: every bad input of the public API is a typed failure", () => {
  checkFdLeaks()

  for (const group of groups) {
    it.live(`${group.name} (${group.cases.length} cases)`, () =>
      Effect.gen(function*() {
        const tally = yield* runGroup(group)
        assert.deepStrictEqual(tally.failures, [], `${tally.failures.length} of ${tally.cases} misclassified:\n${tally.failures.join("\n")}`)
      }).pipe(Effect.provide(SimNet.layer({ seed: 7 })), Effect.provide(Reactor.layer)), 120_000)
  }

  it("the tables cover more than 1,600 inputs", () => {
    const total = groups.reduce((n, g) => n + g.cases.length, 0)
    assert.isAtLeast(total, 1600)
  })
})
