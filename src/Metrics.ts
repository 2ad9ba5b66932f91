/**
 * effect-mio's Effect `Metric`s: connections, bytes and datagrams, drops by
 * reason, DCCP's RTT and congestion window, and the reactor's polls and
 * wake-ups. They are ordinary Effect metrics — `Metric.snapshot`,
 * `Metric.value`, `PrometheusMetrics`, `OtlpMetrics` read them — whose values
 * are read, when a snapshot is taken, from the plain counters the sockets,
 * engines and the reactor keep anyway: nothing is done per packet for them,
 * and nothing at all while nobody reads them.
 *
 * A resource reports to the `Metric.MetricRegistry` (with the
 * `Metric.CurrentMetricAttributes`) of the fiber that created it (`Tcp.listen`,
 * `Tcp.connect`, `Udp.make`, `Dccp.connect`, `Reactor.make`, …). The series of
 * a transport appear in that registry with its first resource and stay for the
 * registry's life; a counter keeps what a resource counted after the resource
 * has ended. The per-connection DCCP gauges (`dccpRttSeconds`,
 * `dccpCwndPackets`) are the exception: each appears when its connection is
 * established and is removed when the connection ends.
 *
 * Attributes: `transport` (`tcp`, `unix`, `udp`, `dccp`, `rudp`), `side`
 * (`connect`: dialled here; `accept`: accepted here), `direction` (`recv`,
 * `sent`), `reason` (drops and refusals), `strategy` (the reactor's idle
 * strategy). docs/observability.md has the table of every series and what
 * exactly each counts.
 *
 * @since 0.2.0
 */
import * as Metric from "effect/Metric"

/**
 * Connections open now, with attributes `transport` (`tcp`, `unix`, `dccp`,
 * `rudp`) and `side` (`connect`: dialled here, or a reliable-UDP endpoint in
 * the client role; `accept`: accepted here, or an endpoint in the server role).
 *
 * @since 0.2.0
 * @category metrics
 */
export const connectionsOpen: Metric.Gauge<number> = Metric.gauge("effect_mio_connections_open", {
  description: "Connections open now, by transport and side"
})

/**
 * Connections established since the registry's first resource of the
 * transport: dialled (`side: connect`, once connected — for DCCP, once the
 * handshake completed) or accepted (`side: accept`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const connectionsTotal: Metric.Counter<number> = Metric.counter("effect_mio_connections_total", {
  description: "Connections established, by transport and side",
  incremental: true
})

/**
 * Connection attempts refused, with `transport`, `side` and `reason`. `side:
 * connect`: the peer refused a dial here (`no_listener`: ECONNREFUSED or
 * DCCP Reset No Connection; `bad_service_code`; `reset`: another DCCP Reset
 * during the handshake, Too Busy included). `side: accept`: a DCCP listener
 * refused a peer (`too_busy`: `maxConnections`; `bad_service_code`;
 * `bad_cookie`; `backlog`: accepted by the engine while the backlog was full,
 * then aborted). `Svc`'s own refusals are `Svc.refusedTotal`.
 *
 * @since 0.2.0
 * @category metrics
 */
export const connectionsRefusedTotal: Metric.Counter<number> = Metric.counter("effect_mio_connections_refused_total", {
  description: "Connection attempts refused, by transport, side and reason",
  incremental: true
})

/**
 * Payload bytes, with `transport` and `direction`: the bytes a stream read
 * and wrote (TCP, Unix), the payload of UDP datagrams, DCCP application data,
 * and the UDP datagrams a reliable-UDP endpoint exchanged.
 *
 * @since 0.2.0
 * @category metrics
 */
export const bytesTotal: Metric.Counter<number> = Metric.counter("effect_mio_bytes_total", {
  description: "Payload bytes, by transport and direction",
  incremental: true
})

/**
 * Datagrams, with `transport` and `direction`: UDP datagrams through the
 * socket (dropped ones included), DCCP packets (acknowledgements included),
 * reliable-UDP datagrams.
 *
 * @since 0.2.0
 * @category metrics
 */
export const datagramsTotal: Metric.Counter<number> = Metric.counter("effect_mio_datagrams_total", {
  description: "Datagrams, by transport and direction",
  incremental: true
})

/**
 * Datagrams or packets dropped, with `transport` and `reason` (the counted
 * drops of docs/reliability.md; docs/observability.md lists the reasons).
 *
 * @since 0.2.0
 * @category metrics
 */
export const dropsTotal: Metric.Counter<number> = Metric.counter("effect_mio_drops_total", {
  description: "Datagrams or packets dropped, by transport and reason",
  incremental: true
})

/**
 * Sockets open now that carry no connection (`transport: udp`: a `Udp.make`
 * reader's socket; `transport: dccp`: a DCCP listener).
 *
 * @since 0.2.0
 * @category metrics
 */
export const socketsOpen: Metric.Gauge<number> = Metric.gauge("effect_mio_sockets_open", {
  description: "Connectionless sockets and listeners open now, by transport"
})

/**
 * A DCCP connection's smoothed round-trip time in seconds (CCID 2's, or the
 * handshake's before the first sample), with `side`, `local` and `peer`: one
 * series per established connection, removed when it ends.
 *
 * @since 0.2.0
 * @category metrics
 */
export const dccpRttSeconds: Metric.Gauge<number> = Metric.gauge("effect_mio_dccp_rtt_seconds", {
  description: "Smoothed RTT of a DCCP connection, in seconds"
})

/**
 * A DCCP connection's congestion window in packets (CCID 2), with `side`,
 * `local` and `peer`: one series per established connection, removed when it
 * ends.
 *
 * @since 0.2.0
 * @category metrics
 */
export const dccpCwndPackets: Metric.Gauge<number> = Metric.gauge("effect_mio_dccp_cwnd_packets", {
  description: "Congestion window of a DCCP connection, in packets"
})

/**
 * The reactor's zero-timeout `epoll_wait` calls, with `strategy`.
 *
 * @since 0.2.0
 * @category metrics
 */
export const reactorPollsTotal: Metric.Counter<number> = Metric.counter("effect_mio_reactor_polls_total", {
  description: "epoll_wait calls of effect-mio reactors, by idle strategy",
  incremental: true
})

/**
 * Times a reactor's driver ran, with `strategy`: a libuv readiness callback
 * (`park`, and `backoff` once parked) or an event-loop turn it scheduled
 * (`spin`, `backoff`, `block`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const reactorWakeupsTotal: Metric.Counter<number> = Metric.counter("effect_mio_reactor_wakeups_total", {
  description: "Runs of effect-mio reactor drivers (watcher callbacks and event-loop turns), by idle strategy",
  incremental: true
})

/**
 * Readiness events a reactor dispatched (each resumes the fibers parked on
 * that source and direction), with `strategy`.
 *
 * @since 0.2.0
 * @category metrics
 */
export const reactorEventsTotal: Metric.Counter<number> = Metric.counter("effect_mio_reactor_events_total", {
  description: "Readiness events dispatched by effect-mio reactors, by idle strategy",
  incremental: true
})

/**
 * Sources registered with reactors now, with `strategy`.
 *
 * @since 0.2.0
 * @category metrics
 */
export const reactorRegistered: Metric.Gauge<number> = Metric.gauge("effect_mio_reactor_registered", {
  description: "Sources registered with effect-mio reactors now, by idle strategy"
})

/**
 * Fibers parked on reactors now, waiting for readiness, with `strategy`.
 *
 * @since 0.2.0
 * @category metrics
 */
export const reactorWaiting: Metric.Gauge<number> = Metric.gauge("effect_mio_reactor_waiting", {
  description: "Fibers parked on effect-mio reactors now, by idle strategy"
})
