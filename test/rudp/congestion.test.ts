/**
 * Congestion control and pacing through a bottleneck (a 10 Mbit/s link with a
 * bounded drop-tail queue, 10 ms each way), in virtual time: NewReno ("aimd")
 * halves its window on loss and grows it back; the delivery-rate controller
 * ("bbr") holds at least 80 % of the bottleneck through 5 % random loss with
 * the queue bounded; two flows share the bottleneck within 2:1; and no sender
 * ever has more in flight than its window or sends a burst larger than its
 * pacer allows.
 */
import { assert, describe, it } from "@effect/vitest"
import { type CongestionFactory, initialWindow } from "../../src/rudp/engine/Congestion.ts"
import { newReno } from "../../src/rudp/engine/NewReno.ts"
import { type Flow, mbps, runBottleneck } from "./bottleneck.ts"

const BOTTLENECK = { bitsPerSecond: 10_000_000, queueBytes: 64 * 1024 }
const MTU = 1200

/** No packet left with more in flight than the window (a probe may add two datagrams), nor in a burst past the pacer's. */
const checkWindowAndPacing = (flow: Flow, label: string): void => {
  let instant = Number.NaN, burst = 0
  for (const s of flow.sends) {
    assert.isAtMost(s.inFlight, s.window + 2 * MTU, `${label}: in flight ${s.inFlight} over the window ${s.window} at ${s.at} ms`)
    if (s.at !== instant) {
      instant = s.at
      burst = 0
    }
    burst += s.size
    // RFC 9002 §7.7: the initial window may leave at once; after that, the pacer's bucket.
    const allowed = Math.max(s.burst, initialWindow(MTU)) + MTU
    assert.isAtMost(burst, allowed, `${label}: a burst of ${burst} bytes at ${s.at} ms, pacer allows ${s.burst}`)
  }
}

describe("congestion control through a bottleneck", () => {
  it("aimd (NewReno): the window halves on loss and grows back", () => {
    const events: Array<{ at: number; before: number; after: number }> = []
    let controller: ReturnType<CongestionFactory> | undefined
    // The real NewReno, observed: the window before and after each loss report.
    const observed: CongestionFactory = (mtu, rtt) => {
      const inner = newReno(mtu, rtt)
      controller = inner
      return {
        ...inner,
        onPacketsLost: (now, bytes, lastLostSentAt, persistent) => {
          const before = inner.window()
          inner.onPacketsLost(now, bytes, lastLostSentAt, persistent)
          if (inner.window() !== before) events.push({ at: now, before, after: inner.window() })
        }
      }
    }
    const windows: Array<{ at: number; cwnd: number }> = []
    const { flows } = runBottleneck(
      { seed: 3, forward: { latency: 10, bandwidth: BOTTLENECK }, backward: { latency: 10 }, flows: [{ congestion: observed }] },
      8_000,
      (now) => windows.push({ at: now, cwnd: controller!.window() })
    )
    assert.isAtLeast(events.length, 3, "the queue overflowed more than once: several congestion events")
    for (const e of events) assert.approximately(e.after, Math.max(2 * MTU, Math.floor(e.before / 2)), 1, `halved at ${e.at} ms`)
    // After each halving the window grows again past the halved value before the next event.
    for (let i = 0; i < events.length - 1; i++) {
      const e = events[i]!, next = events[i + 1]!
      const grew = windows.some((w) => w.at > e.at && w.at < next.at && w.cwnd > e.after)
      assert.isTrue(grew, `the window grew back after the halving at ${e.at} ms`)
    }
    const stats = flows[0]!.sender.cc.stats()
    assert.strictEqual(stats["congestionEvents"], events.length)
    assert.isAbove(mbps(flows[0]!.received, 8_000), 6, "NewReno keeps most of a clean bottleneck busy")
    checkWindowAndPacing(flows[0]!, "aimd")
  })

  it("bbr (delivery rate): ≥ 80 % of the bottleneck through 5 % random loss, with the queue bounded; aimd collapses there", () => {
    const run = (congestion: "bbr" | "aimd") =>
      runBottleneck(
        { seed: 5, forward: { latency: 10, bandwidth: BOTTLENECK, loss: 0.05 }, backward: { latency: 10, loss: 0.05 }, flows: [{ congestion }] },
        10_000
      )
    const { net, flows } = run("bbr")
    // Goodput over the last 8 s (after start-up).
    const flow = flows[0]!
    const link = net.stats("a", "b")
    // The bottleneck's use: the bytes it serialized (random loss strikes after the queue) over its capacity.
    const serialized = link.bytesSent * (1 - (link.dropped["queue"] ?? 0) / link.sent)
    const utilisation = (serialized * 8) / (10 * BOTTLENECK.bitsPerSecond)
    assert.isAtLeast(utilisation, 0.8, `bottleneck utilisation ${(utilisation * 100).toFixed(1)} %`)
    const goodput = mbps(flow.received, 10_000)
    // What arrives is what the link carried less the 5 % it lost, in 1 KiB messages of ~1,060-byte packets.
    assert.isAtLeast(goodput, 0.8 * 10 * 0.95 * 0.95, `goodput ${goodput.toFixed(2)} Mbit/s`)
    assert.isAbove(link.dropped["loss"] ?? 0, 300, "the path dropped packets at random")
    // The queue stays bounded: the controller keeps about one BDP queued at most, never the whole queue's worth of drops.
    assert.isBelow(link.dropped["queue"] ?? 0, link.sent / 100, `queue drops ${link.dropped["queue"]} of ${link.sent}`)
    checkWindowAndPacing(flow, "bbr")
    const aimd = run("aimd").flows[0]!
    assert.isBelow(mbps(aimd.received, 10_000), goodput / 2, "NewReno reads random loss as congestion")
  })

  it("two bbr flows share the bottleneck within 2:1; two aimd flows too", () => {
    for (const congestion of ["bbr", "aimd"] as const) {
      let at10 = [0, 0]
      let live: ReadonlyArray<Flow> = []
      const { flows } = runBottleneck(
        { seed: 9, forward: { latency: 10, bandwidth: BOTTLENECK }, backward: { latency: 10 }, flows: [{ congestion }, { congestion, startAt: 1_000 }] },
        25_000,
        (now) => {
          if (now < 10_000) at10 = [live[0]?.received ?? 0, live[1]?.received ?? 0]
        },
        (f) => (live = f)
      )
      // Shares over the last 15 s, when both have been running a while.
      const a = flows[0]!.received - at10[0]!, b = flows[1]!.received - at10[1]!
      const ratio = Math.max(a, b) / Math.min(a, b)
      assert.isAtMost(ratio, 2, `${congestion}: shares ${mbps(a, 15_000).toFixed(2)} and ${mbps(b, 15_000).toFixed(2)} Mbit/s`)
      assert.isAbove(mbps(a + b, 15_000), 8, `${congestion}: together they fill the bottleneck`)
      flows.forEach((f, i) => checkWindowAndPacing(f, `${congestion} flow ${i}`))
    }
  })

  it("none (fixed window) paces too: no burst of the whole window into the network", () => {
    const { flows } = runBottleneck(
      { seed: 2, forward: { latency: 10, bandwidth: { bitsPerSecond: 100_000_000, queueBytes: 4 * 1024 * 1024 } }, backward: { latency: 10 }, flows: [{ congestion: "none" }] },
      2_000
    )
    const flow = flows[0]!
    checkWindowAndPacing(flow, "none")
    const largest = Math.max(...flow.sends.map((s) => s.burst))
    assert.isBelow(largest, 1024 * 1024 / 4, "the pacer's burst is far below the 1 MiB window")
  })
})
