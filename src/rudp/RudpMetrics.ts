/**
 * Reliable UDP's figures as Effect `Metric`s: the same numbers as
 * `endpoint.stats` and `server.stats`, published by a recorder that an
 * endpoint (config `metrics`) or a server runs every `interval` (default 1 s)
 * in its Scope. Every series carries the attribute `endpoint` (the `label`
 * given, default `"rudp"`); drops carry `reason`.
 *
 * ```ts
 * const ep = yield* Endpoint.make(udp, { drive: "reactor", metrics: { label: "telemetry" } })
 * const rtt = yield* Metric.value(Metric.withAttributes(RudpMetrics.rttMs, { endpoint: "telemetry" }))
 * ```
 *
 * The engine itself counts without Effect (a `Metric.update` per packet would
 * cost more than the packet); the recorder turns the counters into metric
 * updates: gauges are set, counters grow by what changed since the last
 * recording.
 *
 * @since 0.2.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"

const gauge = (name: string, description: string): Metric.Gauge<number> => Metric.gauge(`effect_mio_rudp_${name}`, { description })
const counter = (name: string, description: string): Metric.Counter<number> =>
  Metric.counter(`effect_mio_rudp_${name}`, { description, incremental: true })

/**
 * Smoothed round-trip time (ms).
 *
 * @since 0.2.0
 * @category metrics
 */
export const rttMs: Metric.Gauge<number> = gauge("rtt_ms", "Smoothed round-trip time of a reliable-UDP connection (ms)")
/**
 * Congestion window (bytes).
 *
 * @since 0.2.0
 * @category metrics
 */
export const cwndBytes: Metric.Gauge<number> = gauge("cwnd_bytes", "Congestion window (bytes)")
/**
 * The datagram size in use (bytes): the base, raised by path MTU discovery.
 *
 * @since 0.2.0
 * @category metrics
 */
export const mtuBytes: Metric.Gauge<number> = gauge("mtu_bytes", "Datagram size in use, found by path MTU discovery (bytes)")
/**
 * Pacing rate (bytes per second).
 *
 * @since 0.2.0
 * @category metrics
 */
export const pacingRate: Metric.Gauge<number> = gauge("pacing_rate_bytes_per_second", "Pacing rate (bytes/s)")
/**
 * Delivery rate: the delivery-rate controller's bottleneck estimate (bytes per second; 0 for other controllers).
 *
 * @since 0.2.0
 * @category metrics
 */
export const deliveryRate: Metric.Gauge<number> = gauge("delivery_rate_bytes_per_second", "Estimated bottleneck delivery rate (bytes/s)")
/**
 * Bytes in flight.
 *
 * @since 0.2.0
 * @category metrics
 */
export const bytesInFlight: Metric.Gauge<number> = gauge("bytes_in_flight", "Bytes sent and neither acknowledged nor lost")
/**
 * Messages waiting in the send queue.
 *
 * @since 0.2.0
 * @category metrics
 */
export const sendQueue: Metric.Gauge<number> = gauge("send_queue_messages", "Messages waiting for their first transmission")
/**
 * Messages received and not yet read.
 *
 * @since 0.2.0
 * @category metrics
 */
export const receiveQueue: Metric.Gauge<number> = gauge("receive_queue_messages", "Messages released to the application and not yet read")
/**
 * Packets declared lost.
 *
 * @since 0.2.0
 * @category metrics
 */
export const lossesTotal: Metric.Counter<number> = counter("packets_lost_total", "Packets declared lost (RFC 9002 §6.1)")
/**
 * Fragments sent again.
 *
 * @since 0.2.0
 * @category metrics
 */
export const resendsTotal: Metric.Counter<number> = counter("retransmissions_total", "Delivery fragments sent again")
/**
 * Datagrams received and sent.
 *
 * @since 0.2.0
 * @category metrics
 */
export const datagramsInTotal: Metric.Counter<number> = counter("datagrams_received_total", "Datagrams received")
/**
 * @since 0.2.0
 * @category metrics
 */
export const datagramsOutTotal: Metric.Counter<number> = counter("datagrams_sent_total", "Datagrams sent")
/**
 * Received packets or datagrams dropped, by `reason`.
 *
 * @since 0.2.0
 * @category metrics
 */
export const dropsTotal: Metric.Counter<number> = counter("dropped_total", "Received packets dropped, by reason")
/**
 * Server: peers connected now.
 *
 * @since 0.2.0
 * @category metrics
 */
export const peers: Metric.Gauge<number> = gauge("server_peers", "Peers of an endpoint server")
/**
 * Server: stateless Retries and refusals sent.
 *
 * @since 0.2.0
 * @category metrics
 */
export const retriesTotal: Metric.Counter<number> = counter("server_retries_total", "Stateless Retry packets an endpoint server sent")
/**
 * @since 0.2.0
 * @category metrics
 */
export const refusalsTotal: Metric.Counter<number> = counter("server_refusals_total", "Initials an endpoint server refused (maxPeers)")

/**
 * The figures a recorder publishes: gauges as they are now, counters as
 * running totals (the recorder adds what changed).
 *
 * @since 0.2.0
 * @category models
 */
export interface Figures {
  readonly gauges: ReadonlyArray<readonly [Metric.Gauge<number>, number]>
  readonly counters: ReadonlyArray<readonly [Metric.Counter<number>, number]>
  /** Drops by reason (running totals). */
  readonly drops: Readonly<Record<string, number>>
}

/**
 * Options of metric publication.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The `endpoint` attribute of every series (default `"rudp"`). */
  readonly label?: string | undefined
  /** How often the figures are published (default 1 s). */
  readonly interval?: Duration.Input | undefined
}

/**
 * One publication step: sets the gauges, adds to the counters what changed
 * since the last step.
 *
 * @since 0.2.0
 * @category constructors
 */
export const recorder = (label: string): (figures: Figures) => Effect.Effect<void> => {
  const last = new Map<string, number>()
  const attrs = { endpoint: label }
  return (f) =>
    Effect.suspend(() => {
      const updates: Array<Effect.Effect<void>> = []
      for (const [m, v] of f.gauges) if (Number.isFinite(v)) updates.push(Metric.update(Metric.withAttributes(m, attrs), v))
      const grow = (key: string, m: Metric.Counter<number>, total: number, more: Record<string, string> = {}) => {
        const delta = total - (last.get(key) ?? 0)
        last.set(key, total)
        if (delta > 0) updates.push(Metric.update(Metric.withAttributes(m, { ...attrs, ...more }), delta))
      }
      f.counters.forEach(([m, v], i) => grow(`c${i}`, m, v))
      for (const [reason, v] of Object.entries(f.drops)) grow(`d:${reason}`, dropsTotal, v, { reason })
      return Effect.all(updates, { discard: true })
    })
}

/**
 * Publishes `figures()` every `interval` for the Scope's lifetime (and once
 * more when it closes).
 *
 * @since 0.2.0
 * @category constructors
 */
export const publish = (options: Options, figures: () => Figures): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const record = recorder(options.label ?? "rudp")
    const interval = Duration.fromInputUnsafe(options.interval ?? "1 second")
    const step = Effect.suspend(() => record(figures()))
    yield* step
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(interval), step)))
  })
