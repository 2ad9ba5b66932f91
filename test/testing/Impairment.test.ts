import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as Impairment from "../../src/testing/Impairment.ts"
import * as Network from "../../src/testing/Network.ts"
import * as Trace from "../../src/testing/Trace.ts"

const N = 100_000

const link = (seed: number, input: Impairment.ConditionsInput, trace?: Trace.Recorder) =>
  Impairment.makeLink({ seed, conditions: Impairment.conditionsUnsafe(input), name: "a->b", trace })

/** Sends `n` one-byte packets `spacing` ms apart; returns the verdicts. */
const run = (l: Impairment.Link, n: number, spacing = 1, size = 1) => {
  const verdicts: Array<Impairment.Verdict> = []
  for (let i = 0; i < n; i++) verdicts.push(l.transmit(i * spacing, new Uint8Array(size)))
  return verdicts
}

const arrivalsInOrder = (verdicts: ReadonlyArray<Impairment.Verdict>) =>
  verdicts
    .flatMap((v) => v.deliveries.map((d) => ({ id: v.id, ...d })))
    .sort((x, y) => x.at - y.at || x.id - y.id)

describe("Impairment · statistics over 10^5 packets (fixed seeds)", () => {
  for (const seed of [1, 2, 3]) {
    it(`loss 5% is measured within ±0.4% (seed ${seed})`, () => {
      const verdicts = run(link(seed, { latency: 10, loss: 0.05 }), N)
      const lost = verdicts.filter((v) => v.dropped === "loss").length
      assert.approximately(lost / N, 0.05, 0.004)
    })
  }

  it("duplication 2% is measured within ±0.15%, copies arrive after their original", () => {
    const verdicts = run(link(4, { latency: 10, jitter: 2, duplicate: 0.02 }), N)
    const copies = verdicts.filter((v) => v.deliveries.length === 2)
    assert.approximately(copies.length / N, 0.02, 0.0015)
    for (const v of copies) {
      assert.isTrue(v.deliveries[1]!.copy && !v.deliveries[0]!.copy)
      assert.isAtLeast(v.deliveries[1]!.at, v.deliveries[0]!.at)
    }
  })

  it("reordering 3% is measured within ±0.2% as late arrivals; nothing else is out of order", () => {
    const verdicts = run(link(5, { latency: 10, reorder: 0.03 }), N)
    let highest = 0
    let late = 0
    let lateNotHeld = 0
    for (const a of arrivalsInOrder(verdicts)) {
      if (a.id < highest) {
        late++
        if (!a.reordered) lateNotHeld++
      } else {
        highest = a.id
      }
    }
    assert.approximately(late / N, 0.03, 0.002)
    assert.strictEqual(lateNotHeld, 0)
  })

  it("corruption 1% flips exactly one bit of a copy, never the sender's buffer", () => {
    const l = link(6, { corrupt: 0.01 })
    let corrupted = 0
    let wrong = 0
    const payload = new Uint8Array(32).fill(0xa5)
    for (let i = 0; i < N; i++) {
      const d = l.transmit(i, payload).deliveries[0]!
      let bits = 0
      for (let j = 0; j < 32; j++) {
        let x = d.payload[j]! ^ 0xa5
        while (x !== 0) {
          bits += x & 1
          x >>= 1
        }
      }
      if (bits !== (d.corrupted ? 1 : 0)) wrong++
      if (d.corrupted) corrupted++
    }
    assert.strictEqual(wrong, 0)
    assert.isTrue(payload.every((b) => b === 0xa5), "the sender's buffer is untouched")
    assert.approximately(corrupted / N, 0.01, 0.001)
  })

  it("Gilbert-Elliott loss comes in bursts of mean 1/leaveBad; independent loss at the same rate does not", () => {
    const measure = (verdicts: ReadonlyArray<Impairment.Verdict>) => {
      let lost = 0
      let bursts = 0
      let afterLoss = 0
      let previous = false
      for (const v of verdicts) {
        const isLost = v.dropped !== undefined
        if (isLost) {
          lost++
          if (previous) afterLoss++
          else bursts++
        }
        previous = isLost
      }
      return { rate: lost / verdicts.length, meanBurst: lost / bursts, lossAfterLoss: afterLoss / lost }
    }
    // stationary loss = 0.01 / (0.01 + 0.25) ≈ 3.85 %, mean burst 4 packets
    const burst = measure(run(link(7, { burstLoss: { enterBad: 0.01, leaveBad: 0.25 } }), N))
    assert.approximately(burst.rate, 0.01 / 0.26, 0.008)
    assert.approximately(burst.meanBurst, 4, 0.5)
    assert.approximately(burst.lossAfterLoss, 0.75, 0.05)
    const independent = measure(run(link(7, { loss: 0.01 / 0.26 }), N))
    assert.approximately(independent.rate, 0.01 / 0.26, 0.003)
    assert.isBelow(independent.meanBurst, 1.1)
    assert.isBelow(independent.lossAfterLoss, 0.06)
  })

  it("lossInGood and lossInBad apply in their states", () => {
    const always = measure2(run(link(8, { burstLoss: { enterBad: 0, leaveBad: 1, lossInGood: 0.2 } }), N))
    assert.approximately(always, 0.2, 0.005)
    function measure2(verdicts: ReadonlyArray<Impairment.Verdict>) {
      return verdicts.filter((v) => v.dropped === "burst").length / verdicts.length
    }
  })

  it("bandwidth limits the delivery rate; the queue tail-drops the excess", () => {
    // 1 Mbit/s = 125 packets of 1000 B per second; offered at 250 per second for 10 s
    const l = link(9, { latency: 5, bandwidth: { bitsPerSecond: 1_000_000, queueBytes: 20_000 } })
    const verdicts = run(l, 2500, 4, 1000)
    const arrivals = arrivalsInOrder(verdicts)
    const span = (arrivals.at(-1)!.at - arrivals[0]!.at) / 1000
    const rate = (arrivals.length - 1) / span
    assert.approximately(rate, 125, 125 * 0.02)
    for (let i = 1; i < arrivals.length; i++) assert.approximately(arrivals[i]!.at - arrivals[i - 1]!.at, 8, 1e-6)
    const queued = verdicts.filter((v) => v.dropped === "queue").length
    assert.approximately(queued / 2500, 0.5, 0.02)
    assert.strictEqual(queued + arrivals.length, 2500)
  })

  it("below the bandwidth nothing queues: arrival = send + serialization + latency", () => {
    const l = link(10, { latency: 5, bandwidth: { bitsPerSecond: 1_000_000 } })
    const verdicts = run(l, 1000, 10, 1000)
    for (const [i, v] of verdicts.entries()) assert.strictEqual(v.deliveries[0]!.at, i * 10 + 8 + 5)
  })

  it("jitter stays within latency ± jitter, uniform when packets are sparse, and never reorders", () => {
    for (const spacing of [0.5, 12]) {
      const verdicts = run(link(11, { latency: 20, jitter: 5 }), 20_000, spacing)
      let last = -Infinity
      let sum = 0
      for (const v of verdicts) {
        const d = v.deliveries[0]!
        const delay = d.at - (v.id - 1) * spacing
        assert.isTrue(delay >= 15 - 1e-9 && delay <= 25 + 1e-9, `delay ${delay}`)
        assert.isAtLeast(d.at, last)
        last = d.at
        sum += delay
      }
      // packets closer than the jitter range queue behind each other (FIFO): their mean delay grows
      if (spacing > 10) assert.approximately(sum / verdicts.length, 20, 0.1)
      else assert.isAbove(sum / verdicts.length, 21)
    }
  })

  it("the MTU drops longer payloads only", () => {
    const l = link(12, { mtu: 1500 })
    assert.isUndefined(l.transmit(0, new Uint8Array(1500)).dropped)
    assert.strictEqual(l.transmit(0, new Uint8Array(1501)).dropped, "mtu")
    assert.deepStrictEqual(l.stats().dropped, { mtu: 1 })
  })

  it("every packet consumes the same draws: enabling duplication does not move the losses", () => {
    const lost = (input: Impairment.ConditionsInput) =>
      run(link(13, input), 10_000).filter((v) => v.dropped !== undefined).map((v) => v.id)
    const base = lost({ loss: 0.1 })
    assert.deepStrictEqual(lost({ loss: 0.1, duplicate: 0.3, jitter: 3, corrupt: 0.2, reorder: 0.1 }), base)
  })

  it("a blocked link drops datagrams and holds reliable segments", () => {
    const l = link(14, { latency: 10, loss: 1 })
    l.setBlocked(true)
    assert.strictEqual(l.transmit(0, new Uint8Array(1)).dropped, "blocked")
    assert.isUndefined(l.transmitReliable(0, new Uint8Array(1), "DATA").at)
    l.setBlocked(false)
    // reliable segments ignore loss and keep order, in spite of jitter
    l.setConditions(Impairment.conditionsUnsafe({ latency: 10, jitter: 9, loss: 1, reorder: 1, duplicate: 1 }))
    let last = -Infinity
    for (let i = 0; i < 1000; i++) {
      const at = l.transmitReliable(i * 0.1, new Uint8Array(1), "DATA").at!
      assert.isAtLeast(at, last)
      last = at
    }
  })

  it("records send, drop, corrupt, duplicate and deliver in its trace; the same seed gives the same trace", () => {
    const traceOf = (seed: number) => {
      const trace = Trace.makeRecorder()
      const l = link(seed, { latency: 3, jitter: 1, loss: 0.2, duplicate: 0.2, corrupt: 0.2 }, trace)
      for (let i = 0; i < 200; i++) {
        const v = l.transmit(i, new Uint8Array([i, i >> 8]))
        for (const d of v.deliveries) l.delivered(d.at, v.id, d.payload, d.copy ? "copy" : undefined)
      }
      return trace
    }
    const a = traceOf(1)
    assert.deepStrictEqual(traceOf(1).lines(), a.lines())
    assert.strictEqual(traceOf(1).digest(), a.digest())
    assert.notStrictEqual(traceOf(2).digest(), a.digest())
    const kinds = new Set(a.events().map((e) => e.kind))
    assert.deepStrictEqual([...kinds].sort(), ["corrupt", "deliver", "drop", "duplicate", "send"])
  })
})

describe("Impairment · conditions", () => {
  it("resolves over a base and checks every field", () => {
    const base = Impairment.conditionsUnsafe({ latency: "10 millis", loss: 0.1 })
    const c = Impairment.conditionsUnsafe({ jitter: 2, bandwidth: { bitsPerSecond: 8000 } }, base)
    assert.strictEqual(c.latency, 10)
    assert.strictEqual(c.loss, 0.1)
    assert.deepStrictEqual(c.bandwidth, { bitsPerSecond: 8000, queueBytes: 65536 })
    assert.isUndefined(Impairment.conditionsUnsafe({ bandwidth: false }, c).bandwidth)
    const bad = Impairment.conditions({ loss: 1.5 })
    assert.isTrue(Result.isFailure(bad) && bad.failure.field === "loss")
    assert.throws(() => Impairment.conditionsUnsafe({ jitter: -1 }))
    assert.throws(() => Impairment.conditionsUnsafe({ mtu: 1.5 }))
    assert.throws(() => Impairment.conditionsUnsafe({ burstLoss: { enterBad: 2, leaveBad: 0.1 } }))
  })

  it("describes itself and reads rates and durations written for people", () => {
    assert.strictEqual(Impairment.describe(Impairment.ideal), "ideal")
    assert.strictEqual(
      Impairment.describe(Impairment.conditionsUnsafe({ latency: 10, jitter: 2, loss: 0.05, reorder: 0.01 })),
      "latency=10ms jitter=2ms loss=5% reorder=1%"
    )
    assert.deepStrictEqual(Impairment.parseRate("5%"), Result.succeed(0.05))
    assert.deepStrictEqual(Impairment.parseRate("0.5%"), Result.succeed(0.005))
    assert.deepStrictEqual(Impairment.parseRate("0.02"), Result.succeed(0.02))
    assert.isTrue(Result.isFailure(Impairment.parseRate("120%")))
    assert.isTrue(Result.isFailure(Impairment.parseRate("lots")))
    assert.deepStrictEqual(Impairment.parseMillis("10ms"), Result.succeed(10))
    assert.deepStrictEqual(Impairment.parseMillis("1.5s"), Result.succeed(1500))
    assert.deepStrictEqual(Impairment.parseMillis("250us"), Result.succeed(0.25))
    assert.deepStrictEqual(Impairment.parseMillis("7"), Result.succeed(7))
    assert.isTrue(Result.isFailure(Impairment.parseMillis("-3ms")))
  })
})

describe("Impairment · for the relay", () => {
  it("reads the relay's flags", () => {
    const flags = Impairment.fromFlags({
      loss: "5%",
      delay: "10ms",
      jitter: "2ms",
      reorder: "1%",
      duplicate: "0.5%",
      rate: "1mbit",
      queue: "30000",
      burst: "1%,25%"
    })
    assert.isTrue(Result.isSuccess(flags))
    const c = Impairment.conditionsUnsafe(Result.getOrThrow(flags))
    assert.strictEqual(Impairment.describe(c), "latency=10ms jitter=2ms loss=5% burst=(enter 1%, leave 25%, bad 100%, good 0%) duplicate=0.5% reorder=1% bandwidth=1000000bit/s queue=30000B")
    for (const bad of [{ loss: "5" }, { delay: "soon" }, { colour: "blue" }, { queue: "100" }, { burst: "1%" }, { rate: "fast" }]) {
      const r = Impairment.fromFlags(bad)
      assert.isTrue(Result.isFailure(r), JSON.stringify(bad))
    }
    assert.deepStrictEqual(Impairment.parseBitRate("500kbit"), Result.succeed(500_000))
  })

  it("a path makes the same decisions as a SimNet network with the same seed and host names", () => {
    const conditions = { latency: 10, jitter: 3, loss: 0.2, duplicate: 0.1, reorder: 0.05 }
    const path = Impairment.makePath({ seed: 7, conditions })
    const net = Network.make({ seed: 7, ...conditions })
    const fromNet: Array<string> = []
    const fromPath: Array<string> = []
    for (let i = 0; i < 300; i++) {
      net.advanceTo(i)
      net.transmit("client", "server", new Uint8Array([i & 255]), {
        deliver: (payload) => fromNet.push(`${net.now()}:${payload[0]}`)
      })
      for (const d of path.forward.transmit(i, new Uint8Array([i & 255])).deliveries) fromPath.push(`${d.at}:${d.payload[0]}`)
    }
    net.runUntilIdle()
    const byTime = (x: string, y: string) => Number(x.split(":")[0]) - Number(y.split(":")[0])
    assert.deepStrictEqual(fromNet, [...fromPath].sort(byTime))
    assert.strictEqual(path.forward.name, "client->server")
    assert.strictEqual(path.backward.name, "server->client")
  })
})
