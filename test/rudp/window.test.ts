/**
 * Receive-window auto-tuning (`maxReceiveWindow`): two engines over the
 * synchronous `Network` in virtual time. A reader that keeps up with a bulk
 * sender on a 20 ms path sees window updates due within two round trips of
 * each other, so the window doubles (up to the maximum) and the transfer gets
 * faster; a reader that does not read never grows it, and the sender stops
 * at the first window. Bad values name themselves.
 */
import { assert, describe, it } from "@effect/vitest"
import { type ConfigInput, makeConfig } from "../../src/rudp/engine/Config.ts"
import { makePair, numbered } from "./harness.ts"

const MiB = 1024 * 1024

/** 8 MiB as 1 KiB Delivery messages over 10 ms each way; the virtual time it took and the receiver. */
const bulk = (b: Partial<ConfigInput>) => {
  const pair = makePair({ seed: 1, conditions: { latency: "10 millis" }, b: { role: "server", ...b } })
  pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
  const t0 = pair.net.now(), n = 8192
  for (let i = 0; i < n; i++) pair.send(pair.a, numbered(i, 1024), "Delivery")
  pair.pump()
  pair.runUntil(() => pair.b.received.length >= n)
  return { ms: pair.net.now() - t0, b: pair.b.engine }
}

describe("receive-window auto-tuning", () => {
  it("a reader that keeps up: the window doubles up to maxReceiveWindow and the transfer is faster", () => {
    const tuned = bulk({})
    const fixed = bulk({ maxReceiveWindow: MiB })
    assert.isAbove(tuned.b.stats.receiveWindowGrowths, 0)
    assert.isAbove(tuned.b.info().flow.window, MiB)
    assert.isAtMost(tuned.b.info().flow.window, 16 * MiB)
    assert.strictEqual(fixed.b.stats.receiveWindowGrowths, 0)
    assert.strictEqual(fixed.b.info().flow.window, MiB)
    assert.isBelow(tuned.ms, fixed.ms * 0.8, `${tuned.ms} ms tuned against ${fixed.ms} ms with the window fixed at 1 MiB`)
    const capped = bulk({ maxReceiveWindow: 3 * MiB })
    assert.strictEqual(capped.b.info().flow.window, 3 * MiB, "the last doubling stops at the maximum")
  })

  it("a reader that does not read: no window update, no growth, the sender held at the first window", () => {
    const pair = makePair({ seed: 2, conditions: { latency: "10 millis" }, b: { role: "server" } })
    pair.b.reading = false
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    for (let i = 0; i < 4096; i++) pair.send(pair.a, numbered(i, 1024), "Delivery")
    pair.pump()
    const end = pair.net.now() + 2000
    pair.runUntil(() => pair.net.now() >= end)
    assert.strictEqual(pair.b.engine.stats.receiveWindowGrowths, 0)
    assert.strictEqual(pair.b.engine.info().flow.window, MiB)
    // A message starts only below the limit, so the last one may end past it by its own size.
    assert.isAtMost(pair.a.engine.info().flow.sent, MiB + 1024 + 16, "the sender stopped at the first window")
    assert.isTrue(pair.a.engine.info().flow.blocked)
  })

  it("maxReceiveWindow below receiveWindow is refused, naming it", () => {
    assert.throws(() => makeConfig({ random: () => 1, receiveWindow: 2 * MiB, maxReceiveWindow: MiB }), /maxReceiveWindow is an integer from 2097152/)
    assert.strictEqual(makeConfig({ random: () => 1, receiveWindow: 32 * MiB }).maxReceiveWindow, 32 * MiB, "the default maximum is at least receiveWindow")
  })
})
