/**
 * The counters of one connection: everything the engine did, dropped packets
 * above all. Kept beside the connection (quinn-proto's `connection/stats.rs`):
 * the state machine only increments them.
 *
 * @since 0.1.0
 */
import type { HeaderError } from "../Packet.ts"

/**
 * Counters of everything the engine did, dropped packets above all.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionStats {
  datagramsReceived: number
  datagramsSent: number
  dataPacketsSent: number
  dataPacketsDelivered: number
  payloadBytesSent: number
  payloadBytesDelivered: number
  /** Step 1 header failures, by reason. */
  droppedHeader: Record<HeaderError, number>
  droppedChecksum: number
  droppedWrongPort: number
  droppedShortSequence: number
  droppedSequenceInvalid: number
  droppedUnexpected: number
  droppedNoConnection: number
  droppedDuplicateData: number
  /** Data older than the receive history remembers: it may have been delivered, so it is not. */
  droppedTooOldData: number
  /** Option areas cut short by a nonsensical option length (§5.8). */
  optionsTruncated: number
  /** Application data dropped, by Data Dropped drop state (§11.7). */
  dataDropped: Record<number, number>
  syncsSent: number
  syncsRateLimited: number
  resetsSent: number
  sendRefused: number
  sendEvicted: number
}

/**
 * Fresh counters, all zero.
 *
 * @since 0.2.0
 * @category constructors
 */
export const newStats = (): ConnectionStats => ({
  datagramsReceived: 0,
  datagramsSent: 0,
  dataPacketsSent: 0,
  dataPacketsDelivered: 0,
  payloadBytesSent: 0,
  payloadBytesDelivered: 0,
  droppedHeader: {
    "too-short": 0,
    "unknown-type": 0,
    "short-seq-for-type": 0,
    "data-offset-too-small": 0,
    "data-offset-too-large": 0,
    "cscov-too-large": 0
  },
  droppedChecksum: 0,
  droppedWrongPort: 0,
  droppedShortSequence: 0,
  droppedSequenceInvalid: 0,
  droppedUnexpected: 0,
  droppedNoConnection: 0,
  droppedDuplicateData: 0,
  droppedTooOldData: 0,
  optionsTruncated: 0,
  dataDropped: {},
  syncsSent: 0,
  syncsRateLimited: 0,
  resetsSent: 0,
  sendRefused: 0,
  sendEvicted: 0
})
