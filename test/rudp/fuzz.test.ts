/**
 * Bad input into the engine: a seeded fuzzer feeds 100,000 random and mutated
 * datagrams (bit flips, overwritten bytes, cuts, extensions, splices and
 * replays of real packets) to an established connection, to a server waiting
 * for a handshake and to a client in the middle of one. The engines never
 * throw, every call returns promptly, and nothing is delivered that was not
 * sent (or delivered twice); no input makes an engine send without end (a
 * hang would end the test at its timeout). Reproducible: the seed is fixed;
 * FUZZ_SEED overrides it.
 */
import { assert, describe, it } from "@effect/vitest"
import { makeConfig } from "../../src/rudp/engine/Config.ts"
import { RudpEngine } from "../../src/rudp/engine/Connection.ts"
import * as Prng from "../../src/testing/Prng.ts"
import { makePair, sendPlan } from "./harness.ts"
import { parse, verify, workload } from "./workload.ts"

const SEED = Number(process.env["FUZZ_SEED"] ?? 20261121)
const DATAGRAMS = 100_000

describe("engine fuzzing", () => {
  it(`${DATAGRAMS} random and mutated datagrams (seed ${SEED}): no throw, no hang, nothing delivered that was not sent`, () => {
    const rng = Prng.make(SEED)
    // A real connection, and every datagram it carried, as the corpus.
    const pair = makePair({ seed: SEED % 1000, conditions: { latency: 2 } })
    const corpus: Array<Uint8Array> = []
    const original = pair.a.engine.pollTransmitInto.bind(pair.a.engine)
    pair.a.engine.pollTransmitInto = (now, buf) => {
      const n = original(now, buf)
      if (n > 0) corpus.push(buf.slice(0, n))
      return n
    }
    const plan = workload(SEED, 150, { largeEvery: 0.1 })
    sendPlan(pair, plan)
    pair.runUntil(() => pair.net.now() > 50 && pair.a.engine.info().unacked === 0 && pair.a.engine.info().sendQueue.messages === 0)
    assert.isAbove(corpus.length, 20)

    const random = Prng.make(SEED + 1).next
    const server = new RudpEngine(0, makeConfig({ role: "server", random }))
    const client = new RudpEngine(0, makeConfig({ random }))
    client.pollTransmit(0)
    const targets = [pair.b.engine, server, client]
    const buf = new Uint8Array(65536)
    const mutate = (p: Uint8Array): Uint8Array => {
      const q = p.slice()
      switch (rng.int(6)) {
        case 0: // flip 1–8 bits
          for (let k = 1 + rng.int(8); k > 0; k--) q[rng.int(q.length)]! ^= 1 << rng.int(8)
          return q
        case 1: // overwrite a run of bytes
          for (let i = rng.int(q.length), k = 1 + rng.int(16); k > 0 && i < q.length; k--, i++) q[i] = rng.int(256)
          return q
        case 2: // cut
          return q.subarray(0, rng.int(q.length))
        case 3: { // extend with garbage
          const r = new Uint8Array(q.length + 1 + rng.int(64))
          r.set(q)
          for (let i = q.length; i < r.length; i++) r[i] = rng.int(256)
          return r
        }
        case 4: { // splice two packets
          const other = corpus[rng.int(corpus.length)]!
          const cut = rng.int(q.length)
          const r = new Uint8Array(cut + other.length - Math.min(cut, other.length))
          r.set(q.subarray(0, cut))
          r.set(other.subarray(Math.min(cut, other.length)), cut)
          return r
        }
        default: // replay as is
          return q
      }
    }
    let now = pair.net.now()
    let mostOutput = 0
    for (let i = 0; i < DATAGRAMS; i++) {
      let d: Uint8Array
      if (rng.float() < 0.3) {
        d = new Uint8Array(rng.int(1400))
        for (let k = 0; k < d.length; k++) d[k] = rng.int(256)
      } else d = mutate(corpus[rng.int(corpus.length)]!)
      const target = targets[i % 3]!
      now += 0.01
      target.handleDatagram(now, d)
      if (i % 97 === 0) target.handleTimeout(now)
      // Output is bounded: a datagram never makes an engine send without end.
      let out = 0
      while (target.pollTransmitInto(now, buf) > 0) if (++out > 1000) assert.fail(`datagram ${i} made the engine send without end`)
      if (out > mostOutput) mostOutput = out
      while (target.pollEvent() !== undefined) { /* drain */ }
      for (let m = target.pollMessage(); m !== undefined; m = target.pollMessage()) {
        assert.strictEqual(target, pair.b.engine, "only the real connection delivers anything")
        pair.b.received.push(m)
        parse(m.payload)
      }
    }
    // Every message the receiver ever released is a sent one, intact, once, in a valid order.
    verify(pair.b.received, plan, `fuzz seed ${SEED}`)
    const dropped = Object.values(pair.b.engine.stats.dropped).reduce((a, b) => a + b, 0)
    assert.isAbove(dropped, DATAGRAMS / 3 - 10, "the connection dropped (and counted) what it was fed")
    assert.isBelow(mostOutput, 64, "no input made more than a few packets of output")
    // The connection still works after all that.
    const more = workload(SEED + 7, 20)
    const before = pair.b.received.length
    sendPlan(pair, more)
    const start = pair.net.now()
    pair.runUntil(() => pair.net.now() > start + 50 && pair.a.engine.info().unacked === 0 && pair.a.engine.info().sendQueue.messages === 0)
    assert.isAbove(pair.b.received.length, before)
  })
})
