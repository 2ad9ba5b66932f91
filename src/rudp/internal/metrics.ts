/**
 * The reliable-UDP metric group (docs/observability.md): endpoints read from
 * their drivers' and engines' own counters (`Endpoint.stats`'s sources) when a
 * snapshot is taken.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import type * as Context from "effect/Context"
import * as observe from "../../internal/observe.ts"
import * as Metrics from "../../Metrics.ts"
import type { RudpEngine } from "../engine/Connection.ts"
import * as RudpMetrics from "../RudpMetrics.ts"
import type { Driver } from "./Driver.ts"

const snake = (name: string): string => name.replace(/-/g, "_").replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/** Reliable UDP in one registry: its endpoints and the drop reasons their engines count. @internal */
export interface RudpGroup {
  readonly endpoints: observe.Tally<Driver<unknown>>
}

/**
 * The group of the registry of `context`. The drop reasons are those the
 * engine's counters have (`stats.dropped`, `inbox.drops`), taken from the first
 * endpoint's.
 *
 * @internal
 */
export const rudpGroup = (context: Context.Context<never>, first: Driver<unknown>): RudpGroup => {
  const packetReasons = Object.keys(first.engine.stats.dropped) as ReadonlyArray<keyof Driver<unknown>["engine"]["stats"]["dropped"]>
  const messageReasons = Object.keys(first.engine.inbox.drops) as ReadonlyArray<keyof Driver<unknown>["engine"]["inbox"]["drops"]>
  const fields: ReadonlyArray<(d: Driver<unknown>) => number> = [
    (d) => (d.engine.config.role === "client" ? 1 : 0),
    (d) => (d.engine.config.role === "server" ? 1 : 0),
    (d) => d.datagramsIn,
    (d) => d.datagramsOut,
    (d) => d.engine.stats.bytesReceived,
    (d) => d.engine.stats.bytesSent,
    (d) => d.fast?.stats().sendDropped ?? 0,
    (d) => d.fast?.stats().truncated ?? 0,
    ...packetReasons.map((r) => (d: Driver<unknown>) => d.engine.stats.dropped[r]),
    ...messageReasons.map((r) => (d: Driver<unknown>) => d.engine.inbox.drops[r])
  ]
  return observe.group(context, "rudp", (): RudpGroup => ({ endpoints: new observe.Tally(fields) }), ({ endpoints: g }) => {
    const transport = "rudp"
    const drop = (reason: string, i: number) => observe.series(Metrics.dropsTotal, { transport, reason }, () => g.total(i))
    return [
      observe.series(Metrics.connectionsOpen, { transport, side: "connect" }, () => g.now(0)),
      observe.series(Metrics.connectionsOpen, { transport, side: "accept" }, () => g.now(1)),
      observe.series(Metrics.connectionsTotal, { transport, side: "connect" }, () => g.total(0)),
      observe.series(Metrics.connectionsTotal, { transport, side: "accept" }, () => g.total(1)),
      observe.series(Metrics.datagramsTotal, { transport, direction: "recv" }, () => g.total(2)),
      observe.series(Metrics.datagramsTotal, { transport, direction: "sent" }, () => g.total(3)),
      observe.series(Metrics.bytesTotal, { transport, direction: "recv" }, () => g.total(4)),
      observe.series(Metrics.bytesTotal, { transport, direction: "sent" }, () => g.total(5)),
      drop("send_buffer", 6),
      drop("truncated", 7),
      ...packetReasons.map((r, i) => drop(snake(r), 8 + i)),
      ...messageReasons.map((r, i) => drop(`message_${snake(r)}`, 8 + packetReasons.length + i))
    ]
  })
}

/** An endpoint's figures for `RudpMetrics`. @internal */
export const endpointFigures = (engine: RudpEngine, driver: { readonly datagramsIn: number; readonly datagramsOut: number }): RudpMetrics.Figures => {
  const s = engine.stats
  const cc = engine.cc.stats()
  const drops: Record<string, number> = { ...s.dropped }
  for (const [k, v] of Object.entries(engine.inbox.drops)) drops[`inbox-${k}`] = v
  return {
    gauges: [
      [RudpMetrics.rttMs, engine.rtt.samples > 0 ? engine.rtt.smoothed : Number.NaN],
      [RudpMetrics.cwndBytes, engine.cc.window()],
      [RudpMetrics.mtuBytes, engine.mtu],
      [RudpMetrics.pacingRate, engine.cc.pacingRate() * 1000],
      [RudpMetrics.deliveryRate, (cc["bottleneckBandwidth"] ?? 0) * 1000],
      [RudpMetrics.bytesInFlight, engine.bytesInFlight],
      [RudpMetrics.sendQueue, engine.outbox.queue.length],
      [RudpMetrics.receiveQueue, engine.inbox.ready.length]
    ],
    counters: [
      [RudpMetrics.lossesTotal, s.packetsLost],
      [RudpMetrics.resendsTotal, s.retransmissions],
      [RudpMetrics.datagramsInTotal, driver.datagramsIn],
      [RudpMetrics.datagramsOutTotal, driver.datagramsOut]
    ],
    drops
  }
}
