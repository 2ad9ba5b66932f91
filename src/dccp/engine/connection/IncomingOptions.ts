/**
 * Step 8 of RFC 4340 §8.5, first half: the options of one received packet.
 * Feature options go to the negotiation (a failure resets the connection),
 * CCID options to the CCIDs (§10.3; an unknown one after Mandatory is a
 * Mandatory Error), Timestamps are remembered for their echo, and everything
 * the CCIDs and the state machine need is gathered into `ReceivedOptions`.
 *
 * @since 0.2.0
 */
import type { FeatureNegotiation } from "../Features.ts"
import { type OptionFailure, optionFailure, type ParsedOption } from "../Options.ts"
import type { PacketType } from "../Packet.ts"
import type { Congestion } from "./Congestion.ts"
import type { TimestampEcho, Timestamps } from "./Timestamps.ts"

/**
 * What the options of one packet said, for the rest of the pipeline.
 *
 * @since 0.2.0
 * @category models
 */
export interface ReceivedOptions {
  ackVector: Uint8Array | undefined
  dataDropped: Uint8Array | undefined
  /** Elapsed Time (§13.2), or the Timestamp Echo's elapsed time, in ms. */
  elapsedMs: number | undefined
  slowReceiver: boolean
  ndpCount: number | undefined
  dataChecksum: number | undefined
  initCookie: Uint8Array | undefined
  timestampEcho: TimestampEcho | undefined
}

/**
 * Why the options call for a Reset: an option failure, or another protocol error.
 *
 * @since 0.2.0
 * @category models
 */
export type OptionsFailure = OptionFailure | { readonly resetCode: number; readonly data: ArrayLike<number> }

/**
 * A fresh, empty `ReceivedOptions`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const emptyReceivedOptions = (): ReceivedOptions => ({
  ackVector: undefined,
  dataDropped: undefined,
  elapsedMs: undefined,
  slowReceiver: false,
  ndpCount: undefined,
  dataChecksum: undefined,
  initCookie: undefined,
  timestampEcho: undefined
})

const concat = (a: Uint8Array | undefined, b: Uint8Array): Uint8Array => {
  if (a === undefined) return b
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/**
 * Processes the options of a packet of `type` received at `now` into
 * `received` (emptied first; a connection reuses one for every packet).
 * Returns the Reset to send when an option fails.
 *
 * @since 0.2.0
 * @category receiving
 */
export const processOptions = (
  now: number,
  type: PacketType,
  options: ReadonlyArray<ParsedOption>,
  features: FeatureNegotiation,
  congestion: Congestion,
  timestamps: Timestamps,
  received: ReceivedOptions
): OptionsFailure | undefined => {
  received.ackVector = undefined
  received.dataDropped = undefined
  received.elapsedMs = undefined
  received.slowReceiver = false
  received.ndpCount = undefined
  received.dataChecksum = undefined
  received.initCookie = undefined
  received.timestampEcho = undefined
  for (const parsed of options) {
    const o = parsed.option
    switch (o.kind) {
      case "Change":
      case "Confirm": {
        const failure = features.receive(o, parsed.mandatory, parsed.value)
        if (failure !== undefined) return failure
        break
      }
      case "SlowReceiver":
        received.slowReceiver = true
        break
      case "InitCookie":
        // Only a Response carries a cookie for the client to echo (§8.1.4).
        if (type === "Response") received.initCookie = o.cookie.slice()
        break
      case "NdpCount":
        received.ndpCount = o.count
        break
      case "AckVector":
        received.ackVector = concat(received.ackVector, o.cells)
        break
      case "DataDropped":
        received.dataDropped = concat(received.dataDropped, o.blocks)
        break
      case "Timestamp":
        timestamps.received(o.value, now)
        break
      case "TimestampEcho":
        received.timestampEcho = { value: o.value, elapsed: o.elapsed }
        if (o.elapsed !== undefined) received.elapsedMs = Math.max(received.elapsedMs ?? 0, o.elapsed / 100)
        break
      case "ElapsedTime":
        received.elapsedMs = Math.max(received.elapsedMs ?? 0, o.elapsed / 100)
        break
      case "DataChecksum":
        received.dataChecksum = o.crc
        break
      case "Ccid": {
        const verdict = congestion.handleOption(o.type, o.data, type)
        // A CCID option of the wrong length is an Option Error (RFC 4340 §5.8, as Linux).
        if (verdict === "invalid") return optionFailure(5, o.type, o.data)
        if (verdict === "unknown" && parsed.mandatory) return optionFailure(6, o.type, o.data)
        break
      }
      case "Unknown":
        break
    }
  }
  return undefined
}
