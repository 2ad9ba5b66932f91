/**
 * Redundant bundling for thin streams (`redundantBundling`): a Delivery
 * fragment sent with nothing waiting behind it goes again as filler in the
 * next packet that leaves anyway. Two engines over the synchronous `Network`
 * in virtual time: a single lost packet is repaired by its successor without a
 * resend; under random loss the resends and the median latency fall; a bulk
 * sender (a queue behind every packet) bundles nothing; `false` turns it off.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ConfigInput } from "../../src/rudp/engine/Config.ts"
import { makePair, numbered, numberOf } from "./harness.ts"

/** 400 × 100 B Delivery messages at 2,000/s, one way over 10 ms each way, the chosen data packets dropped; checks order. */
const paced = (seed: number, loss: number, a: Partial<ConfigInput>, drop?: (dataPacket: number) => boolean) => {
  const pair = makePair({ seed, conditions: { latency: "10 millis", loss }, a, b: { role: "server" } })
  pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
  if (drop !== undefined) {
    // Drop chosen packets from a to b, counted from here on (the handshake is over).
    let n = 0
    const transmit = pair.net.transmit.bind(pair.net)
    ;(pair.net as { transmit: typeof transmit }).transmit = (from, to, bytes, opts) => {
      if (from === "a" && drop(n++)) return
      transmit(from, to, bytes, opts)
    }
  }
  const COUNT = 400
  const t0 = pair.net.now()
  for (let i = 0; i < COUNT; i++) {
    pair.net.schedule(t0 + i * 0.5 - pair.net.now(), () => {
      pair.send(pair.a, numbered(i, 100), "Delivery")
      pair.pump()
    })
  }
  pair.runUntil(() => pair.b.received.length >= COUNT)
  const order = pair.b.received.map((m) => numberOf(m.payload))
  assert.deepStrictEqual(order, Array.from({ length: COUNT }, (_, i) => i), "every message once, in order")
  return { pair, stats: pair.a.engine.stats }
}

describe("redundant bundling for thin streams", () => {
  it("one lost packet is repaired by the next one: no resend, the message half a millisecond late", () => {
    const on = paced(1, 0, {}, (n) => n === 100)
    assert.strictEqual(on.stats.retransmissions, 0, "nothing was resent")
    assert.isAbove(on.stats.bundledCopies, 300, "each message also rode in the next packet")
    assert.strictEqual(on.pair.b.engine.stats.dropped.duplicate, 0, "copies are not counted as duplicate packets")
    const off = paced(1, 0, { redundantBundling: false }, (n) => n === 100)
    assert.strictEqual(off.stats.bundledCopies, 0, "off: no copies")
    assert.isAtLeast(off.stats.retransmissions, 1, "off: the lost message was resent")
  })

  it("under 5 % random loss: under a quarter of the resends, and the median latency is the path's delay", () => {
    for (const seed of [1, 2, 3]) {
      const measure = (a: Partial<ConfigInput>) => {
        const pair = makePair({ seed, conditions: { latency: "10 millis", loss: 0.05 }, a, b: { role: "server" } })
        pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
        const t0 = pair.net.now(), COUNT = 2000, sentAt: Array<number> = [], lat: Array<number> = []
        for (let i = 0; i < COUNT; i++) {
          pair.net.schedule(t0 + i * 0.5 - pair.net.now(), () => {
            sentAt[i] = pair.net.now()
            pair.send(pair.a, numbered(i, 100), "Delivery")
            pair.pump()
          })
        }
        let seen = 0
        pair.runUntil(() => {
          for (; seen < pair.b.received.length; seen++) lat.push(pair.net.now() - sentAt[numberOf(pair.b.received[seen]!.payload)]!)
          return seen >= COUNT
        })
        lat.sort((x, y) => x - y)
        return { p50: lat[COUNT / 2]!, resent: pair.a.engine.stats.retransmissions, copies: pair.a.engine.stats.bundledCopies }
      }
      const on = measure({}), off = measure({ redundantBundling: false })
      assert.isAtMost(on.p50, 11, `seed ${seed}: median ${on.p50} ms with bundling, the 10 ms path plus the pacing of the stream`)
      assert.isAbove(off.p50, 15, `seed ${seed}: median ${off.p50} ms without: head-of-line blocking behind resends`)
      assert.isBelow(on.resent * 4, off.resent, `seed ${seed}: resends ${on.resent} with bundling, ${off.resent} without`)
      assert.strictEqual(off.copies, 0)
    }
  })

  it("a bulk sender (a queue behind every packet) bundles nothing but its tail", () => {
    const pair = makePair({ seed: 4, conditions: { latency: "10 millis" }, b: { role: "server" } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    for (let i = 0; i < 3000; i++) pair.send(pair.a, numbered(i, 100), "Delivery")
    pair.pump()
    pair.runUntil(() => pair.b.received.length >= 3000)
    const s = pair.a.engine.stats
    // 3,000 × 100 B fill about 270 packets; only the last packet or two find nothing queued behind them.
    assert.isAtMost(s.bundledCopies, 24, `${s.bundledCopies} copies for a burst`)
  })

  it("redundantBundling must be a boolean", async () => {
    const { makeConfig } = await import("../../src/rudp/engine/Config.ts")
    assert.throws(() => makeConfig({ random: () => 1, redundantBundling: "yes" as unknown as boolean }), /redundantBundling is true or false, not "yes"/)
  })
})
