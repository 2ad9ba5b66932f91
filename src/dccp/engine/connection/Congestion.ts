/**
 * The CCID plumbing of one connection (RFC 4340 §10): the HC-sender and
 * HC-receiver built for the negotiated CCIDs when the connection activates
 * its features, what each packet tells them, their options (§10.3), and the
 * two timers they drive — the sender's own deadline (`ccid`) and the pacing
 * of queued data (`pace`).
 *
 * @since 0.2.0
 */
import type {
  AckDecision,
  CcidContext,
  CcidReceiver,
  CcidRegistry,
  CcidSender,
  FeatureRequest,
  Feedback,
  OptionVerdict,
  ReceivedPacket
} from "../Ccid.ts"
import type { OptionWriter } from "../Options.ts"
import type { PacketType } from "../Packet.ts"
import type { Timers } from "../Timers.ts"

const NO_REQUESTS: ReadonlyArray<FeatureRequest> = []

/**
 * The two half-connections' congestion controllers.
 *
 * @since 0.2.0
 * @category models
 */
export class Congestion {
  sender: CcidSender | undefined = undefined
  receiver: CcidReceiver | undefined = undefined

  /** Builds the CCIDs negotiated for our half-connection (`tx`) and the peer's (`rx`). */
  activate(now: number, context: CcidContext, registry: CcidRegistry, tx: number, rx: number): void {
    this.sender = registry.get(tx)?.sender(context, now)
    this.receiver = registry.get(rx)?.receiver(context, now)
  }

  /** The connection is gone: both controllers with it. */
  clear(): void {
    this.sender = undefined
    this.receiver = undefined
  }

  /** NN values the sender wants proposed. */
  takeRequests(): ReadonlyArray<FeatureRequest> {
    return this.sender === undefined ? NO_REQUESTS : this.sender.takeFeatureRequests()
  }

  /** The sender's retransmission timeout in ms, once it has one. */
  rtoMs(): number | undefined {
    const rto = this.sender?.info()["rtoMs"]
    return rto !== undefined && Number.isFinite(rto) ? rto : undefined
  }

  /** A valid packet from the peer, for the HC-sender. */
  feedback(now: number, feedback: Feedback): void {
    this.sender?.onFeedback(now, feedback)
  }

  /** A valid packet from the peer, for the HC-receiver: when to acknowledge it. */
  received(now: number, packet: ReceivedPacket): AckDecision | undefined {
    return this.receiver?.onPacketReceived(now, packet)
  }

  /** A CCID option from the peer (§10.3): 128–191 for our HC-receiver, 192–255 for our HC-sender. */
  handleOption(type: number, data: Uint8Array, packetType: PacketType): OptionVerdict {
    const ccid = type < 192 ? this.receiver : this.sender
    return ccid === undefined ? "unknown" : ccid.handleOption(type, data, packetType)
  }

  /** Both CCIDs' options on a packet carrying an acknowledgement. */
  writeOptions(w: OptionWriter, type: PacketType, now: number): void {
    this.sender?.writeOptions(w, type, now)
    this.receiver?.writeOptions(w, type, now)
  }

  /**
   * Keeps the `ccid` timer at the sender's deadline, and the `pace` timer at
   * the time queued data may go when the sender paces it.
   */
  syncTimers(timers: Timers, clock: number, queued: boolean): void {
    const deadline = this.sender?.nextTimeout()
    if (deadline === undefined) timers.clear("ccid")
    else timers.set("ccid", deadline)
    if (this.sender !== undefined && queued) {
      const at = this.sender.sendTime(clock)
      if (Number.isFinite(at) && at > clock) timers.set("pace", at)
      else timers.clear("pace")
    } else {
      timers.clear("pace")
    }
  }
}
