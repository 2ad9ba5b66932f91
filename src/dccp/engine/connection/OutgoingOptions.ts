/**
 * The options of an outgoing packet (RFC 4340 §5.8), most important first so
 * that they fit: Data Checksum (§9.3), NDP Count (§7.7), the Request's
 * Timestamp and the echo we owe (§13), Slow Receiver (§11.6), Elapsed Time
 * (§13.2), feature negotiation (§6), the Init Cookie (§8.1.4), then on
 * acknowledgements the CCIDs' options (§10.3), Data Dropped (§11.7) and the
 * Ack Vector (§11.4).
 *
 * @since 0.2.0
 */
import { crc32c } from "../Checksum.ts"
import { Feature, type FeatureNegotiation } from "../Features.ts"
import { OptionType, type OptionWriter } from "../Options.ts"
import type { PacketType } from "../Packet.ts"
import type { ReceiveHistory } from "../ReceiveHistory.ts"
import type { State } from "../State.ts"
import type { AckSchedule } from "./Acks.ts"
import type { Congestion } from "./Congestion.ts"
import type { Delivery } from "./Delivery.ts"
import type { Timestamps } from "./Timestamps.ts"

/**
 * Where the options come from: the connection's parts, and its feature
 * retransmission timer (§6.6.3).
 *
 * @since 0.2.0
 * @category models
 */
export interface OptionSources {
  readonly features: FeatureNegotiation
  readonly acks: AckSchedule
  readonly timestamps: Timestamps
  readonly delivery: Delivery
  readonly history: ReceiveHistory
  readonly congestion: Congestion
  /** How often an unconfirmed Change is counted as retransmitted, ms. */
  readonly changeSpacingMs: () => number
  /** Makes sure the feature timer will resend unconfirmed Changes. */
  readonly armFeatureTimer: () => void
}

/**
 * States in which the connection is established enough to acknowledge.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isEstablished = (state: State): boolean =>
  state === "PARTOPEN" || state === "OPEN" || state === "CLOSEREQ" || state === "CLOSING"

/**
 * Writes the options of a packet of `type` sent in `state`, acknowledging
 * `ack`, as packet `gss`. `cookie` is the Init Cookie it carries, if any.
 *
 * @since 0.2.0
 * @category sending
 */
export const writeOptions = (
  src: OptionSources,
  w: OptionWriter,
  now: number,
  type: PacketType,
  state: State,
  payload: Uint8Array,
  ack: number | undefined,
  gss: number,
  cookie: Uint8Array | undefined
): void => {
  const { features, acks, timestamps, history } = src
  const isData = type === "Data" || type === "DataAck"
  const established = isEstablished(state)
  if (isData && features.value(Feature.CheckDataChecksum, "remote") === 1) w.addDataChecksum(crc32c(payload))
  if (features.value(Feature.SendNdpCount, "local") === 1 && acks.nonDataSinceData > 0) {
    // §7.7: consecutive non-data packets sent before this one.
    w.addNdpCount(acks.nonDataSinceData)
  }
  if (type === "Request") timestamps.writeRequestTimestamp(w, now)
  if (type !== "Data") timestamps.writeEcho(w, now)
  if (src.delivery.slowReceiver && established) w.addRaw(OptionType.SlowReceiver)
  if ((type === "Ack" || type === "DataAck") && established && acks.headReceivedAt !== undefined && ack === history.head) {
    // §13.2: how long the acknowledged packet waited for this acknowledgement,
    // so that the sender can take delayed acks out of its RTT samples.
    const elapsed = Math.round((now - acks.headReceivedAt) * 100)
    if (elapsed >= (src.congestion.receiver?.elapsedTimeFrom ?? 100)) w.addElapsedTime(elapsed)
  }
  if (type !== "Data" && type !== "Reset" && type !== "Sync" && type !== "SyncAck") {
    // Feature negotiation rides on every non-Data packet (§6); Confirms
    // repeat on every PARTOPEN Ack (see Features.ts).
    const retransmitting = features.hasPendingChanges && established
    features.writeOptions(w, state === "PARTOPEN", now, retransmitting ? src.changeSpacingMs() : 0)
    if (features.hasPendingChanges && established) src.armFeatureTimer()
  }
  if (cookie !== undefined) w.addRaw(OptionType.InitCookie, cookie)
  if (established && ack !== undefined && type !== "Reset") {
    src.congestion.writeOptions(w, type, now)
    if (history.hasDrops) {
      const blocks = history.dataDroppedBlocks(ack, Math.min(253, w.remaining - 2))
      if (blocks !== undefined && blocks.length > 0) w.addRaw(OptionType.DataDropped, blocks)
    }
    if (features.value(Feature.SendAckVector, "local") === 1) {
      // §11.5: every acknowledgement carries an Ack Vector. Older cells are
      // cut when space runs out (§11.4 allows covering less).
      const room = w.remaining - 2 * Math.ceil(w.remaining / 255)
      const cells = history.ackVectorCells(ack, room)
      if (cells.length > 0 && w.addAckVector(cells) > 0) history.onAckVectorSent(gss, ack)
    }
  }
}
