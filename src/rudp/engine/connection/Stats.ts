/**
 * The counters of a connection: everything the engine did, and every received
 * packet it dropped, by reason.
 *
 * @since 0.2.0
 */
import type { Guarantee } from "../../Guarantee.ts"
import type { HeaderError } from "../Packet.ts"

/**
 * Why a received packet was dropped.
 *
 * @since 0.2.0
 * @category models
 */
export type PacketDrop =
  | HeaderError
  | "unknown-cid"
  | "duplicate"
  | "malformed"
  | "flow-control"
  | "not-ready"
  | "unsupported-version"
  | "stale-hello"
  | "closed"
  | "unauthenticated"

/**
 * Counters of everything the engine did.
 *
 * @since 0.2.0
 * @category models
 */
export interface EngineStats {
  datagramsReceived: number
  datagramsSent: number
  bytesReceived: number
  bytesSent: number
  /** Received packets dropped, by reason. */
  dropped: Record<PacketDrop, number>
  /** Messages accepted by `send`, by tier. */
  messagesSent: Record<Guarantee, number>
  /** Packets declared lost (RFC 9002 §6.1). */
  packetsLost: number
  /** None/Order messages (or fragments) in lost packets: never resent. */
  lossyLost: number
  /** Delivery fragments sent again. */
  retransmissions: number
  /** Second copies of retransmissions, sent when nothing new was waiting. */
  redundantRetransmissions: number
  /** Second copies of new Delivery fragments bundled into a later packet, sent when nothing else was waiting (`redundantBundling`). */
  bundledCopies: number
  /** Times the receive window doubled (`maxReceiveWindow`). */
  receiveWindowGrowths: number
  /** Probe timeouts that fired. */
  ptoCount: number
  acksSent: number
  pingsSent: number
  /** Version negotiation packets sent. */
  versionNegotiations: number
  /** Messages queued before the handshake that the peer's maximum message size refused. */
  droppedTooLarge: number
  /** RFC 9002 §7.6 persistent congestion detected. */
  persistentCongestion: number
  /** Client: Retry packets taken. */
  retries: number
  /** Server: times the anti-amplification limit held a packet back. */
  amplificationLimited: number
  /** Encryption: key updates this end started, and the peer's it followed (RFC 9001 §6). */
  keyUpdatesInitiated: number
  keyUpdatesFollowed: number
  /** Encryption: packets that failed authentication, over all keys (the integrity limit counts these). */
  authenticationFailures: number
  /** Path MTU discovery: probes sent and lost, raises of the datagram size, falls back to the base (black holes). */
  mtuProbesSent: number
  mtuProbesLost: number
  mtuIncreases: number
  mtuBlackHoles: number
}

/**
 * Fresh counters, all zero.
 *
 * @since 0.2.0
 * @category constructors
 */
export const newStats = (): EngineStats => ({
  datagramsReceived: 0,
  datagramsSent: 0,
  bytesReceived: 0,
  bytesSent: 0,
  dropped: {
    "too-short": 0,
    tag: 0,
    "fixed-bit": 0,
    "reserved-bits": 0,
    length: 0,
    "cid-length": 0,
    "unknown-type": 0,
    "unknown-cid": 0,
    duplicate: 0,
    malformed: 0,
    "flow-control": 0,
    "not-ready": 0,
    "unsupported-version": 0,
    "stale-hello": 0,
    closed: 0,
    unauthenticated: 0
  },
  messagesSent: { None: 0, Order: 0, Delivery: 0 },
  packetsLost: 0,
  lossyLost: 0,
  retransmissions: 0,
  redundantRetransmissions: 0,
  bundledCopies: 0,
  receiveWindowGrowths: 0,
  ptoCount: 0,
  acksSent: 0,
  pingsSent: 0,
  versionNegotiations: 0,
  droppedTooLarge: 0,
  persistentCongestion: 0,
  retries: 0,
  amplificationLimited: 0,
  keyUpdatesInitiated: 0,
  keyUpdatesFollowed: 0,
  authenticationFailures: 0,
  mtuProbesSent: 0,
  mtuProbesLost: 0,
  mtuIncreases: 0,
  mtuBlackHoles: 0
})
