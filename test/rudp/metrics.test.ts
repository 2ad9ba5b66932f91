/**
 * Observability: an endpoint's and a server's figures as Effect Metrics
 * (`RudpMetrics`), matching their `stats`.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Stream from "effect/Stream"
import * as Endpoint from "../../src/rudp/Endpoint.ts"
import * as EndpointServer from "../../src/rudp/EndpointServer.ts"
import * as Guarantee from "../../src/rudp/Guarantee.ts"
import * as RudpMetrics from "../../src/rudp/RudpMetrics.ts"
import * as MemoryDatagram from "../../src/testing/MemoryDatagram.ts"
import * as SimNet from "../../src/testing/SimNet.ts"
import { numbered } from "./harness.ts"
import { inVirtualTime } from "./virtual.ts"

const gaugeOf = (m: Metric.Gauge<number>, endpoint: string) => Effect.map(Metric.value(Metric.withAttributes(m, { endpoint })), (s) => s.value)
const countOf = (m: Metric.Counter<number>, attributes: Record<string, string>) => Effect.map(Metric.value(Metric.withAttributes(m, attributes)), (s) => s.count)

describe("RudpMetrics", () => {
  it.effect("an endpoint publishes its RTT, window, pacing, losses, resends and drops; they agree with stats", () =>
    Effect.gen(function*() {
      const net = yield* SimNet.SimNet
      const [ua, ub] = yield* net.pair()
      const a = yield* Endpoint.make(ua, { drive: "reactor", metrics: { label: "sender", interval: "100 millis" } })
      const b = yield* Endpoint.make(ub, { drive: "reactor" })
      yield* inVirtualTime(Effect.gen(function*() {
        for (let i = 0; i < 2000; i++) yield* a.sendPayload(Guarantee.Delivery, numbered(i, 200))
        for (let got = 0; got < 2000; got++) yield* b.take
        yield* Effect.sleep("200 millis")
      }))
      const stats = yield* a.stats
      assert.isAbove(stats.stats.packetsLost, 0, "the 10 % loss took packets")
      assert.approximately(yield* gaugeOf(RudpMetrics.rttMs, "sender"), stats.rtt!.smoothed, 5)
      assert.isAbove(yield* gaugeOf(RudpMetrics.cwndBytes, "sender"), 0)
      assert.isAtLeast(yield* gaugeOf(RudpMetrics.mtuBytes, "sender"), 1200)
      assert.isAbove(yield* gaugeOf(RudpMetrics.pacingRate, "sender"), 0)
      assert.isAbove(yield* gaugeOf(RudpMetrics.deliveryRate, "sender"), 0)
      assert.strictEqual(yield* countOf(RudpMetrics.lossesTotal, { endpoint: "sender" }), stats.stats.packetsLost)
      assert.strictEqual(yield* countOf(RudpMetrics.resendsTotal, { endpoint: "sender" }), stats.stats.retransmissions)
      assert.strictEqual(yield* countOf(RudpMetrics.datagramsOutTotal, { endpoint: "sender" }), stats.transport.datagramsOut)
      yield* inVirtualTime(a.close)
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map()), Effect.provide(SimNet.layer({ seed: 41, latency: "5 millis", loss: 0.1 }))))

  it.effect("a server publishes its peers, Retries and drops", () =>
    Effect.gen(function*() {
      const socket = yield* MemoryDatagram.make({ host: "server", port: 7000 })
      const server = yield* EndpointServer.fromDatagramSocket(socket, { initialRtt: 50, metrics: { label: "srv", interval: "100 millis" } })
      yield* Effect.forkScoped(server.run((peer) => Stream.runForEach(peer.messages, (m) => peer.sendPayload(Guarantee.Delivery, m))))
      const eps = yield* inVirtualTime(Effect.forEach(["x", "y", "z"], (host) =>
        Effect.gen(function*() {
          const udp = yield* MemoryDatagram.udpLike({ host, peer: "server:7000" })
          const ep = yield* Endpoint.make(udp, { drive: "reactor", initialRtt: 50 })
          yield* ep.sendPayload(Guarantee.Delivery, numbered(1))
          yield* ep.take
          return ep
        })))
      yield* inVirtualTime(Effect.sleep("200 millis"))
      assert.strictEqual(yield* gaugeOf(RudpMetrics.peers, "srv"), 3)
      assert.strictEqual(yield* countOf(RudpMetrics.retriesTotal, { endpoint: "srv" }), (yield* server.stats).listener.retriesSent)
      assert.strictEqual(yield* countOf(RudpMetrics.dropsTotal, { endpoint: "srv", reason: "retry-sent" }), 3)
      yield* inVirtualTime(Effect.forEach(eps, (ep) => ep.close, { discard: true }))
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map()), Effect.provide(SimNet.layer({ seed: 42, latency: "5 millis" }))))
})
