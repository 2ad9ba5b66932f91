/**
 * DCCP's metric group (docs/observability.md): connections (dialled and
 * accepted) and listeners, read from the engines' and listeners' own stats
 * and the transports' counters when a snapshot is taken; and each established
 * connection's RTT and congestion window, as gauges of its own.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import * as observe from "../../internal/observe.ts"
import * as Metrics from "../../Metrics.ts"
import type { DccpListener } from "../engine/Listener.ts"
import type { Endpoint, Handle } from "./Endpoint.ts"

/** A listener as the metrics see it: its engine, its endpoint, and the connections its full backlog refused. @internal */
export interface ListenerCounts {
  readonly listener: DccpListener
  readonly endpoint: Endpoint
  backlogRefused: number
}

const sum = (r: Readonly<Record<string, number>>): number => {
  let n = 0
  for (const k in r) n += r[k]!
  return n
}

/** The reasons a connection drops a packet or datagram, and how to read each. */
const connectionDrops: ReadonlyArray<readonly [string, (h: Handle) => number]> = [
  ["receive_queue", (h) => h.receiveDropped],
  ["too_old", (h) => h.engine.stats.droppedTooOldData],
  ["duplicate", (h) => h.engine.stats.droppedDuplicateData],
  ["checksum", (h) => h.engine.stats.droppedChecksum],
  ["header", (h) => sum(h.engine.stats.droppedHeader)],
  ["sequence", (h) => h.engine.stats.droppedSequenceInvalid + h.engine.stats.droppedShortSequence],
  ["unexpected", (h) => h.engine.stats.droppedUnexpected + h.engine.stats.droppedWrongPort + h.engine.stats.droppedNoConnection],
  ["send_queue", (h) => h.engine.stats.sendEvicted]
]

const connectionFields: ReadonlyArray<(h: Handle) => number> = [
  observe.one,
  (h) => h.engine.stats.datagramsReceived,
  (h) => h.engine.stats.datagramsSent,
  (h) => h.engine.stats.payloadBytesDelivered,
  (h) => h.engine.stats.payloadBytesSent,
  ...connectionDrops.map(([, read]) => read)
]
const DROPS = 5

/** A client's transport is its own: what it found malformed counts with the connection. */
const clientFields: ReadonlyArray<(h: Handle) => number> = [...connectionFields, (h) => h.endpoint.transport.stats().malformed]
const MALFORMED = connectionFields.length

const listenerFields: ReadonlyArray<(l: ListenerCounts) => number> = [
  observe.one,
  (l) => l.endpoint.transport.stats().malformed,
  (l) => l.listener.stats.droppedHeader,
  (l) => l.listener.stats.droppedChecksum,
  (l) => l.endpoint.unknownPackets,
  (l) => l.listener.stats.resetsTooBusy,
  (l) => l.listener.stats.resetsBadServiceCode,
  (l) => l.listener.stats.resetsBadCookie,
  (l) => l.backlogRefused
]

/** DCCP in one registry. @internal */
export interface DccpGroup {
  readonly connect: observe.Tally<Handle>
  readonly accept: observe.Tally<Handle>
  readonly listeners: observe.Tally<ListenerCounts>
  /** Dials refused, by reason (`no_listener`, `bad_service_code`, `reset`). */
  readonly refused: { no_listener: number; bad_service_code: number; reset: number }
}

/** The DCCP group of the registry of `context`. @internal */
export const dccpGroup = (context: Context.Context<never>): DccpGroup =>
  observe.group(
    context,
    "dccp",
    (): DccpGroup => ({
      connect: new observe.Tally(clientFields),
      accept: new observe.Tally(connectionFields),
      listeners: new observe.Tally(listenerFields),
      refused: { no_listener: 0, bad_service_code: 0, reset: 0 }
    }),
    (g) => {
      const transport = "dccp"
      const both = (i: number) => g.connect.total(i) + g.accept.total(i)
      return [
        observe.series(Metrics.connectionsOpen, { transport, side: "connect" }, () => g.connect.now(0)),
        observe.series(Metrics.connectionsOpen, { transport, side: "accept" }, () => g.accept.now(0)),
        observe.series(Metrics.connectionsTotal, { transport, side: "connect" }, () => g.connect.total(0)),
        observe.series(Metrics.connectionsTotal, { transport, side: "accept" }, () => g.accept.total(0)),
        observe.series(Metrics.socketsOpen, { transport }, () => g.listeners.now(0)),
        observe.series(Metrics.datagramsTotal, { transport, direction: "recv" }, () => both(1)),
        observe.series(Metrics.datagramsTotal, { transport, direction: "sent" }, () => both(2)),
        observe.series(Metrics.bytesTotal, { transport, direction: "recv" }, () => both(3)),
        observe.series(Metrics.bytesTotal, { transport, direction: "sent" }, () => both(4)),
        ...connectionDrops.map(([reason], i) =>
          observe.series(Metrics.dropsTotal, { transport, reason }, () =>
            both(DROPS + i) + (reason === "header" ? g.listeners.total(2) : reason === "checksum" ? g.listeners.total(3) : 0))
        ),
        observe.series(Metrics.dropsTotal, { transport, reason: "malformed" }, () => g.connect.total(MALFORMED) + g.listeners.total(1)),
        observe.series(Metrics.dropsTotal, { transport, reason: "no_connection" }, () => g.listeners.total(4)),
        observe.series(Metrics.connectionsRefusedTotal, { transport, side: "accept", reason: "too_busy" }, () => g.listeners.total(5)),
        observe.series(Metrics.connectionsRefusedTotal, { transport, side: "accept", reason: "bad_service_code" }, () => g.listeners.total(6)),
        observe.series(Metrics.connectionsRefusedTotal, { transport, side: "accept", reason: "bad_cookie" }, () => g.listeners.total(7)),
        observe.series(Metrics.connectionsRefusedTotal, { transport, side: "accept", reason: "backlog" }, () => g.listeners.total(8)),
        ...(["no_listener", "bad_service_code", "reset"] as const).map((reason) =>
          observe.series(Metrics.connectionsRefusedTotal, { transport, side: "connect", reason }, () => g.refused[reason])
        )
      ]
    }
  )

/** What the connection gauges read: `rttMs` and `cwnd` as `info` reports them. */
export interface Figures {
  readonly rttMs: number | undefined
  readonly cwnd: number | undefined
}

/**
 * Counts an established connection in `tally` and gives it its RTT and
 * congestion-window gauges (the latter when its CCID has a window) in the
 * registry of `context`, until the Scope closes.
 *
 * @internal
 */
export const established = (
  context: Context.Context<never>,
  tally: observe.Tally<Handle>,
  handle: Handle,
  side: "connect" | "accept",
  local: string,
  peer: string,
  figures: () => Figures
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    yield* observe.joinScoped(tally, handle)
    const attributes = { side, local, peer }
    const registrations: Array<Metric.Registration> = [
      observe.register(context, observe.series(Metrics.dccpRttSeconds, attributes, () => (figures().rttMs ?? Number.NaN) / 1000))
    ]
    if (figures().cwnd !== undefined) {
      registrations.push(observe.register(context, observe.series(Metrics.dccpCwndPackets, attributes, () => figures().cwnd ?? Number.NaN)))
    }
    yield* Effect.addFinalizer(() => Effect.sync(() => registrations.forEach((r) => r.remove())))
  })
