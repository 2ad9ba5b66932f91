/**
 * Datagram sizes above the 1,200-byte base: a large configured `mtu` must not
 * slow the handshake (the anti-amplification limit counts the bytes a packet
 * really has, not the largest it could have), every valid `mtu` works, and
 * path MTU discovery (RFC 8899 / RFC 9000 §14.3) finds what the path carries.
 * Two engines over the synchronous `Network` in virtual time.
 */
import { assert, describe, it } from "@effect/vitest"
import { makeConfig } from "../../src/rudp/engine/Config.ts"
import { BLACK_HOLE_COOLDOWN, COMMON_MTU, RAISE_INTERVAL, SEARCH_PRECISION } from "../../src/rudp/engine/PathMtu.ts"
import * as Impairment from "../../src/testing/Impairment.ts"
import type { ConditionsInput } from "../../src/testing/Impairment.ts"
import { makePair, numbered, numberOf, type Pair } from "./harness.ts"

/** Connects a client `a` to a server `b`, both with `mtu`; returns the pair and when both were connected (ms). */
const connect = (mtu: number, conditions: ConditionsInput = { latency: 1 }) => {
  const pair = makePair({ seed: 1, conditions, a: { mtu }, b: { role: "server", mtu } })
  const t0 = pair.net.now()
  pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected, 60_000)
  return { pair, ms: pair.net.now() - t0 }
}

/** Sends `n` numbered Delivery messages of `size` bytes from a to b and checks they arrive in order. */
const transfer = (pair: Pair, n: number, size: number) => {
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

/** Both links' path MTU (the largest datagram they carry) becomes `mtu`. */
const setPathMtu = (pair: Pair, mtu: number) => {
  for (const [from, to] of [["a", "b"], ["b", "a"]] as const) {
    const link = pair.net.link(from, to)
    link.setConditions(Impairment.conditionsUnsafe({ mtu }, link.conditions()))
  }
}

/**
 * Sends traffic (probes are paid for by it) until `a`'s discovery has settled — and `b`'s, with `both`,
 * sending both ways — or `rounds` batches of 200 × 100 B went. Returns `a`'s info.
 */
const settle = (pair: Pair, both = false, rounds = 100) => {
  const done = () => pair.a.engine.info().pmtu.phase === "done" && (!both || pair.b.engine.info().pmtu.phase === "done")
  for (let i = 0; i < rounds && !done(); i++) {
    const [ra, rb] = [pair.a.received.length, pair.b.received.length]
    for (let k = 0; k < 200; k++) {
      pair.send(pair.a, numbered(k, 100), "Delivery")
      if (both) pair.send(pair.b, numbered(k, 100), "Delivery")
    }
    pair.runUntil(() => pair.b.received.length >= rb + 200 && (!both || pair.a.received.length >= ra + 200), pair.net.now() + 60_000)
  }
  assert.isTrue(done(), "discovery settled")
  return pair.a.engine.info()
}

describe("path MTU discovery (RFC 8899 / RFC 9000 §14.3)", () => {
  for (const path of [1472, 1400, 1250]) {
    it(`a path that drops datagrams over ${path} bytes: discovery settles within ${SEARCH_PRECISION} bytes of it, and nothing else is lost`, () => {
      const pair = makePair({ seed: 3, conditions: { latency: 5, mtu: path }, b: { role: "server" } })
      pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
      const info = settle(pair)
      assert.strictEqual(info.pmtu.phase, "done")
      assert.strictEqual(info.pmtu.base, 1200)
      assert.strictEqual(info.pmtu.limit, 8952, "the default maxMtu on both ends")
      assert.isAtMost(info.mtu, path, "never above what the path carries")
      assert.isAbove(info.mtu, path - SEARCH_PRECISION, `settled at ${info.mtu}`)
      const s = pair.a.engine.stats
      assert.isAtLeast(s.mtuProbesLost, 3, "each size given up cost three lost probes")
      assert.strictEqual(s.packetsLost, 0, "lost probes are not lost packets")
      assert.strictEqual(pair.a.engine.cc.stats()["cwnd"]! >= 4 * 1200, true)
      // Data rides the discovered size, and a message longer than it still arrives whole.
      const sentBefore = s.datagramsSent
      transfer(pair, 3000, 100)
      const datagrams = pair.a.engine.stats.datagramsSent - sentBefore
      transfer(pair, 10, 20_000)
      assert.strictEqual(pair.a.engine.stats.packetsLost, 0, "no data packet was too large for the path")
      assert.strictEqual(pair.a.engine.stats.mtuBlackHoles, 0)
      // At the base a datagram holds 11 of them; at the size found, about one per 104 bytes.
      assert.isBelow(datagrams, (3000 * 104) / (info.mtu - 100) * 1.25, `100-byte messages share datagrams of the size found (${datagrams} datagrams)`)
    })
  }

  it("a path that carries the common size (1,472) but not the bound: stays at 1,472 after three lost probes of the bound", () => {
    const pair = makePair({ seed: 11, conditions: { latency: 5, mtu: 4000 }, b: { role: "server" } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    const info = settle(pair)
    assert.strictEqual(info.mtu, COMMON_MTU)
    assert.strictEqual(pair.a.engine.stats.mtuProbesSent, 4, "1,472 once, the bound three times")
    assert.strictEqual(pair.a.engine.stats.mtuProbesLost, 3)
  })

  it("an unlimited path: the common size, then the bound, both taken at once", () => {
    const pair = makePair({ seed: 12, conditions: { latency: 5 }, b: { role: "server" } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    const info = settle(pair)
    assert.strictEqual(info.mtu, 8952)
    assert.strictEqual(pair.a.engine.stats.mtuProbesSent, 2)
    assert.strictEqual(pair.a.engine.stats.mtuProbesLost, 0)
  })

  it("probing is paid for by traffic: a quiet connection sends no probe; a busy one spends at most 1/32 of its bytes on them", () => {
    const pair = makePair({ seed: 13, conditions: { latency: 5, mtu: 1300 }, b: { role: "server" } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    const t = pair.net.now()
    pair.runUntil(() => pair.net.now() > t + 5000)
    assert.strictEqual(pair.a.engine.stats.mtuProbesSent, 0, "heartbeats do not pay for a probe of 1,472 bytes")
    const before = pair.a.engine.stats.bytesSent
    settle(pair)
    const s = pair.a.engine.stats
    // Each probe is at most the common size here (the bound 8,952 is never tried below it).
    assert.isAtMost(s.mtuProbesSent * COMMON_MTU, (s.bytesSent - before) / 32 + COMMON_MTU)
  })

  it("probe losses are not congestion: NewReno's window is never cut by them", () => {
    const pair = makePair({ seed: 4, conditions: { latency: 5, mtu: 1400 }, a: { congestion: "aimd" }, b: { role: "server" } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    settle(pair)
    assert.isAtLeast(pair.a.engine.stats.mtuProbesLost, 3)
    assert.strictEqual(pair.a.engine.cc.stats()["congestionEvents"], 0)
  })

  it("the bound is the smallest of this end's maxMtu and the peer's (what it receives)", () => {
    const pair = makePair({ seed: 5, conditions: { latency: 2 }, b: { role: "server", maxMtu: 3000 } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    const info = settle(pair, true)
    assert.strictEqual(info.pmtu.limit, 3000)
    assert.strictEqual(info.mtu, 3000, "the common size, then the bound, went through")
    assert.strictEqual(pair.a.engine.stats.mtuProbesSent, 2)
    assert.strictEqual(pair.b.engine.info().mtu, 3000, "the server found the same bound")
  })

  it("the base is the smaller of both ends' mtu: a peer with mtu 500 gets 500-byte datagrams until a probe proves more", () => {
    const pair = makePair({ seed: 6, conditions: { latency: 2, mtu: 1300 }, b: { role: "server", mtu: 500 } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    assert.strictEqual(pair.a.engine.info().pmtu.base, 500)
    assert.strictEqual(pair.b.engine.info().pmtu.base, 500)
    const info = settle(pair)
    assert.isAtMost(info.mtu, 1300)
    assert.isAbove(info.mtu, 1300 - SEARCH_PRECISION)
    transfer(pair, 500, 100)
    transfer(pair, 5, 5000)
    assert.strictEqual(pair.a.engine.stats.packetsLost, 0)
  })

  it("maxMtu equal to mtu turns discovery off: no probe is sent", () => {
    const pair = makePair({ seed: 7, conditions: { latency: 2 }, a: { maxMtu: 1200 }, b: { role: "server" } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    transfer(pair, 200, 100)
    assert.strictEqual(pair.a.engine.info().pmtu.phase, "off")
    assert.strictEqual(pair.a.engine.stats.mtuProbesSent, 0)
    assert.strictEqual(pair.a.engine.info().mtu, 1200)
  })

  it("a black hole (the path shrinks under a transfer): back to the base, nothing lost for good; later the search finds the new size", () => {
    const pair = makePair({ seed: 8, conditions: { latency: 5, mtu: 4000 }, b: { role: "server" } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    assert.strictEqual(settle(pair).mtu, COMMON_MTU)
    const before = pair.b.received.length
    for (let i = 0; i < 4000; i++) pair.send(pair.a, numbered(i, 100), "Delivery")
    pair.pump()
    setPathMtu(pair, 1300)
    pair.runUntil(() => pair.b.received.length >= before + 4000, 120_000)
    assert.deepStrictEqual(pair.b.received.slice(before).map((m) => numberOf(m.payload)), Array.from({ length: 4000 }, (_, i) => i), "every message, in order")
    const s = pair.a.engine.stats
    assert.strictEqual(s.mtuBlackHoles, 1, "one fall back to the base")
    assert.strictEqual(pair.a.engine.info().mtu, 1200)
    // After the cool-down the search starts again, and settles at what the path now carries.
    const t = pair.net.now()
    pair.runUntil(() => pair.net.now() > t + BLACK_HOLE_COOLDOWN + 1000)
    const info = settle(pair)
    assert.isAtMost(info.mtu, 1300)
    assert.isAbove(info.mtu, 1300 - SEARCH_PRECISION)
    transfer(pair, 1000, 100)
  })

  it("random loss is no black hole: at 20 % loss the size found stays in use (3 seeds × 30,000 messages)", () => {
    for (const seed of [1, 2, 3]) {
      const pair = makePair({ seed, conditions: { latency: 10, mtu: COMMON_MTU, loss: 0.2 }, b: { role: "server" } })
      pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
      transfer(pair, 30_000, 100)
      const s = pair.a.engine.stats
      assert.isAbove(s.packetsLost, 100, `seed ${seed}: the path lost packets`)
      assert.strictEqual(s.mtuBlackHoles, 0, `seed ${seed}: no fall back`)
      assert.strictEqual(pair.a.engine.info().mtu, COMMON_MTU)
    }
  })

  it("a path that grows: the search starts again after RAISE_INTERVAL and finds the larger size", () => {
    const pair = makePair({ seed: 9, conditions: { latency: 5, mtu: 1400 }, b: { role: "server" } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    assert.isAtMost(settle(pair).mtu, 1400)
    setPathMtu(pair, 9000)
    const t = pair.net.now()
    pair.runUntil(() => pair.net.now() > t + RAISE_INTERVAL + 1000, t + RAISE_INTERVAL + 5000)
    assert.strictEqual(pair.a.engine.info().pmtu.phase, "searching")
    const info = settle(pair)
    assert.strictEqual(info.mtu, 8952, "the common size, then the bound")
    assert.strictEqual(pair.a.engine.stats.mtuBlackHoles, 0)
  })

  it("setPathLimit (the route's MTU) bounds the search and brings a larger size in use down at once", () => {
    const pair = makePair({ seed: 10, conditions: { latency: 2 }, b: { role: "server" } })
    pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
    assert.strictEqual(settle(pair).mtu, 8952)
    pair.a.engine.setPathLimit(pair.net.now(), 1472)
    assert.strictEqual(pair.a.engine.info().mtu, 1472)
    assert.strictEqual(pair.a.engine.info().pmtu.limit, 1472)
    transfer(pair, 500, 100)
  })

  it("maxMtu below mtu is refused, naming it", () => {
    assert.throws(() => makeConfig({ random: () => 1, mtu: 1400, maxMtu: 1300 }), /maxMtu is an integer from 1400 to 65507, not 1300/)
  })
})
