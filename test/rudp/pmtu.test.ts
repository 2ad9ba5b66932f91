/**
 * Datagram sizes above the 1,200-byte base: a large configured `mtu` must not
 * slow the handshake (the anti-amplification limit counts the bytes a packet
 * really has, not the largest it could have), every valid `mtu` works, and
 * path MTU discovery (RFC 8899 / RFC 9000 §14.3) finds what the path carries.
 * Two engines over the synchronous `Network` in virtual time.
 */
import { assert, describe, it } from "@effect/vitest"
import type { ConditionsInput } from "../../src/testing/Impairment.ts"
import { makePair, numbered, numberOf } from "./harness.ts"

/** Connects a client `a` to a server `b`, both with `mtu`; returns the pair and when both were connected (ms). */
const connect = (mtu: number, conditions: ConditionsInput = { latency: 1 }) => {
  const pair = makePair({ seed: 1, conditions, a: { mtu }, b: { role: "server", mtu } })
  const t0 = pair.net.now()
  pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected, 60_000)
  return { pair, ms: pair.net.now() - t0 }
}

/** Sends `n` numbered Delivery messages of `size` bytes from a to b and checks they arrive in order. */
const transfer = (pair: ReturnType<typeof makePair>, n: number, size: number) => {
  const before = pair.b.received.length
  for (let i = 0; i < n; i++) pair.send(pair.a, numbered(i, size), "Delivery")
  pair.runUntil(() => pair.b.received.length >= before + n, 120_000)
  const got = pair.b.received.slice(before)
  assert.deepStrictEqual(got.map((m) => numberOf(m.payload)), Array.from({ length: n }, (_, i) => i))
  assert.isTrue(got.every((m) => m.payload.length === size))
}

describe("large datagrams", () => {
  for (const mtu of [8192, 16384, 65507]) {
    it(`mtu ${mtu} on both ends: the handshake takes one round trip, not retransmissions; data flows`, () => {
      const { pair, ms } = connect(mtu)
      assert.isBelow(ms, 10, `connected in ${ms} ms of virtual time over a 2 ms round trip`)
      assert.strictEqual(pair.a.engine.stats.ptoCount, 0, "no Initial was sent again")
      transfer(pair, 2000, 100)
      transfer(pair, 20, 40_000)
    })
  }
})
