/**
 * The metric groups of the fiber-level sockets (docs/observability.md): TCP
 * and Unix connections (dialled and accepted) and `Udp.make` sockets. Each
 * reads the sockets' `Traffic` counters and the adapters' own counts when a
 * snapshot is taken.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as observe from "../../internal/observe.ts"
import type { Traffic } from "../../net/internal/Traffic.ts"
import * as Metrics from "../../Metrics.ts"

/** A socket whose traffic a group reads. @internal */
export interface Counted {
  readonly traffic: Traffic
}

const streamFields: ReadonlyArray<(s: Counted) => number> = [
  observe.one,
  (s) => s.traffic.bytesReceived,
  (s) => s.traffic.bytesSent
]

/** The connections of one stream transport in one registry. @internal */
export interface StreamGroup {
  readonly connect: observe.Tally<Counted>
  readonly accept: observe.Tally<Counted>
  /** Dials the peer refused (`ECONNREFUSED`). */
  refused: number
}

/** The group of `transport` (`tcp` or `unix`) in the registry of `context`. @internal */
export const streamGroup = (context: Context.Context<never>, transport: "tcp" | "unix"): StreamGroup =>
  observe.group(
    context,
    transport,
    (): StreamGroup => ({ connect: new observe.Tally(streamFields), accept: new observe.Tally(streamFields), refused: 0 }),
    (g) => [
      observe.series(Metrics.connectionsOpen, { transport, side: "connect" }, () => g.connect.now(0)),
      observe.series(Metrics.connectionsOpen, { transport, side: "accept" }, () => g.accept.now(0)),
      observe.series(Metrics.connectionsTotal, { transport, side: "connect" }, () => g.connect.total(0)),
      observe.series(Metrics.connectionsTotal, { transport, side: "accept" }, () => g.accept.total(0)),
      observe.series(Metrics.bytesTotal, { transport, direction: "recv" }, () => g.connect.total(1) + g.accept.total(1)),
      observe.series(Metrics.bytesTotal, { transport, direction: "sent" }, () => g.connect.total(2) + g.accept.total(2)),
      observe.series(Metrics.connectionsRefusedTotal, { transport, side: "connect", reason: "no_listener" }, () => g.refused)
    ]
  )

/** The group of `transport` in the registry of the running fiber. @internal */
export const streamGroupHere = (transport: "tcp" | "unix"): Effect.Effect<StreamGroup> =>
  Effect.map(Effect.context<never>(), (context) => streamGroup(context, transport))

/**
 * One socket a `Udp.make` reader opened: its traffic, the oversize drops
 * counted while it was open, and its reader's receive-buffer drops.
 *
 * @internal
 */
export interface UdpSocketCounts extends Counted {
  readonly oversize: () => number
  /** Effect's `Reader.dropped`, once the reader exists. */
  receiveBufferDropped: () => number
}

const zero = (): number => 0

/** @internal */
export const udpCounts = (socket: Counted, oversize: () => number): UdpSocketCounts => ({
  traffic: socket.traffic,
  oversize,
  receiveBufferDropped: zero
})

const udpFields: ReadonlyArray<(s: UdpSocketCounts) => number> = [
  observe.one,
  (s) => s.traffic.datagramsReceived,
  (s) => s.traffic.datagramsSent,
  (s) => s.traffic.bytesReceived,
  (s) => s.traffic.bytesSent,
  (s) => s.oversize(),
  (s) => s.receiveBufferDropped()
]

/** The `Udp.make` sockets of the registry of `context`. @internal */
export const udpGroup = (context: Context.Context<never>): observe.Tally<UdpSocketCounts> =>
  observe.group(context, "udp", () => new observe.Tally(udpFields), (g) => {
    const transport = "udp"
    return [
      observe.series(Metrics.socketsOpen, { transport }, () => g.now(0)),
      observe.series(Metrics.datagramsTotal, { transport, direction: "recv" }, () => g.total(1)),
      observe.series(Metrics.datagramsTotal, { transport, direction: "sent" }, () => g.total(2)),
      observe.series(Metrics.bytesTotal, { transport, direction: "recv" }, () => g.total(3)),
      observe.series(Metrics.bytesTotal, { transport, direction: "sent" }, () => g.total(4)),
      observe.series(Metrics.dropsTotal, { transport, reason: "oversize" }, () => g.total(5)),
      observe.series(Metrics.dropsTotal, { transport, reason: "receive_buffer" }, () => g.total(6))
    ]
  })
