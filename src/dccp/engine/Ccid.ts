/**
 * The pluggable congestion-control interface (RFC 4340 §10). A connection has
 * two half-connections: ours, where this endpoint is the HC-sender and runs a
 * `CcidSender`, and the peer's, where it is the HC-receiver and runs a
 * `CcidReceiver`. The CCID of each half is negotiated with the CCID feature;
 * the engine looks the number up in a `CcidRegistry` and builds the pair.
 *
 * The interface is shaped so that a rate-based CCID (CCID 3, RFC 4342) fits
 * without engine changes: `sendTime` may return a time in the future
 * (pacing), `ccval` supplies the window counter, option hooks carry CCID
 * options 128–255 (§10.3), `receiver` decides when feedback is due, and
 * feature dependencies are declared per CCID.
 *
 * The RFC 4340 mechanisms every CCID shares stay in the engine: Ack Vectors
 * (§11.4) are recorded and sent by the engine whenever Send Ack Vector is on,
 * and their contents are passed to the sender as `Feedback`.
 *
 * @since 0.1.0
 */
import type { FeatureEnd } from "./Features.ts"
import type { OptionWriter } from "./Options.ts"
import type { PacketType } from "./Packet.ts"

/**
 * What the engine tells a CCID about the connection, read on demand.
 *
 * @since 0.1.0
 * @category models
 */
export interface CcidContext {
  /** Maximum packet size: the largest application payload (RFC 4340 §14). */
  readonly mps: () => number
  /** Ack Ratio/us: the ratio the peer uses to acknowledge our data (§11.3). */
  readonly localAckRatio: () => number
  /** Ack Ratio/peer: the ratio we use to acknowledge the peer's data. */
  readonly remoteAckRatio: () => number
  /** Sequence Window/us (W', bounds the acknowledgements we accept). */
  readonly localSequenceWindow: () => number
  /** Sequence Window/peer (W, bounds the sequence numbers we accept). */
  readonly remoteSequenceWindow: () => number
  /** The greatest sequence number this endpoint has sent. */
  readonly gss: () => number
  /** A round-trip time measured during the handshake, in ms, if any. */
  readonly handshakeRtt: () => number | undefined
}

/**
 * What the engine passes to the sender for every valid packet from the peer
 * (after step 8 of RFC 4340 §8.5).
 *
 * The engine reuses one object (and the buffers its fields view) for every
 * packet: it is valid only during the call; copy what must outlive it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Feedback {
  readonly type: PacketType
  /** The peer's 48-bit sequence number. */
  readonly seq: number
  /** The 48-bit Acknowledgement Number, if the type carries one. */
  readonly ack: number | undefined
  /** Concatenated Ack Vector cells (§11.4), anchored at `ack`. */
  readonly ackVector: Uint8Array | undefined
  /** Data Dropped blocks (§11.7), anchored at `ack`. */
  readonly dataDropped: Uint8Array | undefined
  /** Elapsed Time (§13.2) or the Timestamp Echo's elapsed time, in ms. */
  readonly elapsedMs: number | undefined
  /** Whether the packet carried Slow Receiver (§11.6). */
  readonly slowReceiver: boolean
  /** NDP Count (§7.7): non-data packets the peer sent just before this one. */
  readonly ndpCount: number | undefined
  /** Whether the packet carried application data. */
  readonly carriesData: boolean
}

/**
 * A feature value a CCID wants this endpoint to propose (an NN Change L such as
 * Ack Ratio or Sequence Window).
 *
 * @since 0.1.0
 * @category models
 */
export interface FeatureRequest {
  readonly feature: number
  readonly value: number
}

/**
 * What a CCID made of one of its options (RFC 4340 §10.3): processed, not
 * understood (ignored, or Reset(Mandatory Error) after Mandatory), or invalid
 * for its type — a wrong length — which is an Option Error (Reset 5), as in
 * Linux.
 *
 * @since 0.2.0
 * @category models
 */
export type OptionVerdict = "ok" | "unknown" | "invalid"

/**
 * The HC-sender side of a CCID.
 *
 * @since 0.1.0
 * @category models
 */
export interface CcidSender {
  readonly id: number
  /**
   * When the next data packet may be sent: a time ≤ `now` means now, a later
   * time paces the sender, `Infinity` means wait for feedback.
   */
  sendTime(now: number): number
  /** A data-carrying packet with this sequence number and payload size left. */
  onDataSent(now: number, seq: number, payloadBytes: number): void
  /** A valid packet from the peer passed option processing. */
  onFeedback(now: number, feedback: Feedback): void
  /** The CCID's own deadline (e.g. the retransmission timeout), if any. */
  nextTimeout(): number | undefined
  onTimeout(now: number): void
  /** CCVal for the next data packet (RFC 4340 §5.1). */
  ccval(now: number): number
  /** NN feature values the CCID wants proposed; drained by the engine. */
  takeFeatureRequests(): Array<FeatureRequest>
  /** An option 192–255 from the HC-receiver, on a packet of `packetType`. */
  handleOption(type: number, data: Uint8Array, packetType: PacketType): OptionVerdict
  /** Writes options 128–191 on a packet this endpoint sends. */
  writeOptions(writer: OptionWriter, packetType: PacketType, now: number): void
  /** Figures for `info()`: cwnd, pipe, rtt, … */
  info(): Readonly<Record<string, number>>
}

/**
 * When the HC-receiver should acknowledge: not on account of this packet, as
 * soon as possible, or no later than `at`.
 *
 * @since 0.1.0
 * @category models
 */
export type AckDecision =
  | { readonly kind: "none" }
  | { readonly kind: "now" }
  | { readonly kind: "by"; readonly at: number }

/**
 * The two decisions without a time, shared (a receiver returns them per packet without allocating).
 *
 * @since 0.2.0
 * @category constants
 */
export const ACK_NONE: AckDecision = { kind: "none" }
/**
 * @since 0.2.0
 * @category constants
 */
export const ACK_NOW: AckDecision = { kind: "now" }

/**
 * What the receiver learns about one packet of the peer's half-connection.
 * Like {@link Feedback}, one reused object, valid only during the call.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReceivedPacket {
  readonly type: PacketType
  readonly seq: number
  readonly carriesData: boolean
  readonly payloadBytes: number
  readonly ccval: number
  /** Whether the packet arrived out of order or after a gap. */
  readonly outOfOrder: boolean
  /** NDP Count (RFC 4340 §7.7): non-data packets the peer sent just before this one. */
  readonly ndpCount: number | undefined
}

/**
 * The HC-receiver side of a CCID.
 *
 * @since 0.1.0
 * @category models
 */
export interface CcidReceiver {
  readonly id: number
  onPacketReceived(now: number, packet: ReceivedPacket): AckDecision
  /** A packet carrying an acknowledgement went out. */
  onAckSent(now: number): void
  /** An option 128–191 from the HC-sender, on a packet of `packetType`. */
  handleOption(type: number, data: Uint8Array, packetType: PacketType): OptionVerdict
  /** Writes options 192–255 on acknowledgements. */
  writeOptions(writer: OptionWriter, packetType: PacketType, now: number): void
  /**
   * The smallest delay, in 10 µs units, that acknowledgements report with
   * Elapsed Time (RFC 4340 §13.2): CCID 2 skips delays under 1 ms, CCID 3
   * reports every one (its sender's RTT samples depend on it).
   */
  readonly elapsedTimeFrom: number
  /** Figures for `info()`. */
  info(): Readonly<Record<string, number>>
}

/**
 * A feature another half of the connection must have for this CCID to work,
 * e.g. CCID 2 needs Send Ack Vector = 1 at the HC-receiver (RFC 4341 §4).
 * `end` is seen from the endpoint that runs the CCID's sender (for
 * `senderDependencies`) or receiver (for `receiverDependencies`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CcidDependency {
  readonly feature: number
  readonly end: FeatureEnd
  readonly value: number
  readonly mandatory: boolean
}

/**
 * How to build one CCID.
 *
 * @since 0.1.0
 * @category models
 */
export interface CcidFactory {
  readonly id: number
  readonly name: string
  readonly sender: (context: CcidContext, now: number) => CcidSender
  readonly receiver: (context: CcidContext, now: number) => CcidReceiver
  readonly senderDependencies: ReadonlyArray<CcidDependency>
  readonly receiverDependencies: ReadonlyArray<CcidDependency>
}

/**
 * The CCIDs an endpoint implements, by number.
 *
 * @since 0.1.0
 * @category models
 */
export type CcidRegistry = ReadonlyMap<number, CcidFactory>
