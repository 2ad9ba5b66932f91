/**
 * The `info()` snapshot of a connection: its state, RTT, what is in flight and
 * queued on both sides, flow control, the congestion controller's figures and
 * the counters.
 *
 * @since 0.2.0
 */
import type { Guarantee } from "../../Guarantee.ts"
import type { PathMtuPhase } from "../PathMtu.ts"
import type { State } from "../State.ts"
import type { ConnectionState } from "./ConnectionState.ts"
import type { EngineStats } from "./Stats.ts"

/**
 * A snapshot of the connection for `info()`.
 *
 * @since 0.2.0
 * @category models
 */
export interface EngineInfo {
  readonly state: State
  readonly role: "client" | "server"
  /** RTT figures in milliseconds (`undefined` before the first sample). */
  readonly rtt: { readonly smoothed: number; readonly variance: number; readonly min: number; readonly latest: number } | undefined
  readonly bytesInFlight: number
  readonly packetsInFlight: number
  /** Messages waiting for their first transmission, and their bytes. */
  readonly sendQueue: { readonly messages: number; readonly bytes: number }
  /** Delivery messages sent and not yet fully acknowledged. */
  readonly unacked: number
  /** Fragments waiting to be sent again. */
  readonly retransmitQueue: number
  /** Messages released and not yet read, and messages waiting for earlier Delivery ones. */
  readonly received: { readonly ready: number; readonly waiting: number; readonly fragments: number }
  /** Flow control: what the peer allows us, what we used, what we allow it. */
  readonly flow: { readonly peerMaxData: number; readonly sent: number; readonly maxData: number; readonly window: number; readonly blocked: boolean }
  /** The datagram size in use (path MTU discovery raises it from the base). */
  readonly mtu: number
  /** Path MTU discovery: the base (both ends' `mtu`), the bound (`maxMtu`, the peer's, the route's) and where the search stands. */
  readonly pmtu: { readonly base: number; readonly limit: number; readonly phase: PathMtuPhase; readonly probing: number }
  readonly maxMessageSize: number
  /** Whether packets are sealed with an AEAD (encryption negotiated). */
  readonly encrypted: boolean
  readonly congestion: Readonly<Record<string, number>>
  readonly stats: EngineStats
  readonly inbox: { readonly released: Readonly<Record<Guarantee, number>>; readonly drops: Readonly<Record<string, number>> }
}

/**
 * The snapshot of `c` now (the engine settles its timers first).
 *
 * @since 0.2.0
 * @category constructors
 */
export function engineInfo(c: ConnectionState): EngineInfo {
  const o = c.outbox
  return {
    state: c.state,
    role: c.config.role,
    rtt: c.rtt.samples === 0 ? undefined : { smoothed: c.rtt.smoothed, variance: c.rtt.variance, min: c.rtt.min, latest: c.rtt.latest },
    bytesInFlight: c.bytesInFlight,
    packetsInFlight: c.ackElicitingInFlight,
    sendQueue: { messages: o.queue.length, bytes: o.queuedBytes },
    unacked: o.unacked.size,
    retransmitQueue: o.retransmit.length,
    received: { ready: c.inbox.ready.length, waiting: c.inbox.waitingCount(), fragments: c.inbox.reassembly.size },
    flow: { peerMaxData: c.peerMaxData, sent: c.deliverySent, maxData: c.maxDataSent, window: c.inbox.window, blocked: c.flowBlocked },
    mtu: c.mtu,
    pmtu: { base: c.pmtu.base, limit: c.pmtu.limit, phase: c.pmtu.phase, probing: c.pmtu.probeSize },
    maxMessageSize: c.maxMessageSize,
    encrypted: c.keys !== undefined,
    congestion: { ...c.cc.stats(), delivered: c.deliveryRate.delivered },
    stats: c.stats,
    inbox: { released: c.inbox.released, drops: { ...c.inbox.drops } }
  }
}
