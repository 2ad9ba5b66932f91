/**
 * The SoupBinTCP scene of `npm start` (examples/soupbintcp/main.ts) runs to
 * its end over real TCP: login, six sequenced messages, logout, three messages
 * replayed on the next login, End of Session.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { TestConsole } from "effect/testing"
import { scene } from "../../examples/soupbintcp/main.ts"
import * as Reactor from "../../src/reactor/Reactor.ts"
import { checkFdLeaks } from "../util/fds.ts"

describe("examples/soupbintcp", () => {
  checkFdLeaks()

  it.live("the demo scene: login, orders, logout, replay on reconnect, End of Session", () =>
    Effect.gen(function*() {
      yield* scene
      const lines = (yield* TestConsole.logLines).map(String)
      assert.strictEqual(lines.filter((l) => /^ {4}seq [1-6]: /.test(l)).length, 6)
      assert.deepStrictEqual(lines.filter((l) => l.includes("(replayed)")).map((l) => l.trim().slice(0, 6)), ["seq 7:", "seq 8:", "seq 9:"])
      assert.isTrue(lines.some((l) => l.includes("asking for sequence number 7")))
      assert.isTrue(lines.some((l) => l.includes("EndOfSession") && l.includes("no longer connected")))
    }).pipe(Effect.provide([Reactor.layer, TestConsole.layer])))
})
