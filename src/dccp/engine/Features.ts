/**
 * Feature negotiation (RFC 4340 §6): the feature table of §6.4, server-priority
 * (SP) and non-negotiable (NN) reconciliation (§6.3), Change and Confirm
 * processing (§6.6), retransmitted Changes and de-duplicated Confirms.
 *
 * Naming: a feature has a value at each endpoint. `"local"` is F/us — the
 * value located at this endpoint — and `"remote"` is F/peer. A received
 * Change L(F) asks to change F/peer and is answered with Confirm R; a received
 * Change R(F) asks to change F/us and is answered with Confirm L (§6.1, §6.2).
 *
 * Behaviour that matters for Linux 6.1 (net/dccp/feat.c, and measured):
 * - Linux repeats an unconfirmed Change on every packet it sends, in any state,
 *   even on Close. Each received Change queues one Confirm; a second Change
 *   for the same feature before the Confirm went out replaces it, so Confirms
 *   are never duplicated within a packet.
 * - A Linux client activates its features when the Response arrives and fails
 *   the connection if any of its Changes is still unconfirmed; a Linux server
 *   does the same when the handshake Ack arrives. So every Change in a
 *   Request is confirmed in the Response, and every Change in a Response is
 *   confirmed on the client's first Ack — and on every Ack it repeats while in
 *   PARTOPEN, since Linux never retransmits a Response on its own.
 * - Linux answers an SP Change it has no preference for by accepting the
 *   peer's value, and after the handshake it only processes NN options. A
 *   pending Change of ours is therefore considered satisfied when the peer's
 *   own Change for the same feature reconciles to the value we asked for.
 *
 * @since 0.1.0
 */
import { type DccpOption, type OptionFailure, optionFailure, OptionType, type OptionWriter, readUintBytes, uintBytes } from "./Options.ts"

/**
 * Feature numbers (RFC 4340 §6.4).
 *
 * @since 0.1.0
 * @category constants
 */
export const Feature = {
  CCID: 1,
  AllowShortSeqnos: 2,
  SequenceWindow: 3,
  EcnIncapable: 4,
  AckRatio: 5,
  SendAckVector: 6,
  SendNdpCount: 7,
  MinimumChecksumCoverage: 8,
  CheckDataChecksum: 9,
  /** CCID 3 (RFC 4342 §8.4): the HC-receiver sends Loss Event Rate options; located at the HC-receiver. */
  SendLossEventRate: 192
} as const

/**
 * Which endpoint's value of a feature is meant: F/us or F/peer.
 *
 * @since 0.1.0
 * @category models
 */
export type FeatureEnd = "local" | "remote"

/**
 * The static description of a feature (RFC 4340 §6.4, Table 4).
 *
 * @since 0.1.0
 * @category models
 */
export interface FeatureSpec {
  readonly number: number
  readonly name: string
  readonly rule: "SP" | "NN"
  readonly initial: number
  /** "Req'd": every implementation must understand it (§6.4). */
  readonly required: boolean
  readonly isValid: (value: number) => boolean
  /** Bytes used to send an NN value (Linux `dccp_feat_valid_nn_length`). */
  readonly nnLength: number
}

const isBoolean = (v: number): boolean => v === 0 || v === 1

/**
 * The features this engine understands: RFC 4340's nine and CCID 3's Send
 * Loss Event Rate (RFC 4342 §8.4; Linux's table has the same ten). Sequence
 * Window must lie in 32..2^46−1 (§7.5.2); Ack Ratio is a 16-bit value (§11.3)
 * and 0 is accepted because Linux sends it for CCID 3.
 *
 * @since 0.1.0
 * @category constants
 */
export const FEATURES: ReadonlyMap<number, FeatureSpec> = new Map<number, FeatureSpec>([
  [1, { number: 1, name: "CCID", rule: "SP", initial: 2, required: true, isValid: (v) => v >= 0 && v <= 255, nnLength: 0 }],
  [2, { number: 2, name: "Allow Short Seqnos", rule: "SP", initial: 0, required: true, isValid: isBoolean, nnLength: 0 }],
  [3, {
    number: 3,
    name: "Sequence Window",
    rule: "NN",
    initial: 100,
    required: true,
    isValid: (v) => v >= 32 && v <= 2 ** 46 - 1,
    nnLength: 6
  }],
  [4, { number: 4, name: "ECN Incapable", rule: "SP", initial: 0, required: false, isValid: isBoolean, nnLength: 0 }],
  [5, { number: 5, name: "Ack Ratio", rule: "NN", initial: 2, required: false, isValid: (v) => v >= 0 && v <= 0xffff, nnLength: 2 }],
  [6, { number: 6, name: "Send Ack Vector", rule: "SP", initial: 0, required: false, isValid: isBoolean, nnLength: 0 }],
  [7, { number: 7, name: "Send NDP Count", rule: "SP", initial: 0, required: false, isValid: isBoolean, nnLength: 0 }],
  [8, {
    number: 8,
    name: "Minimum Checksum Coverage",
    rule: "SP",
    initial: 0,
    required: false,
    isValid: (v) => v >= 0 && v <= 15,
    nnLength: 0
  }],
  [9, { number: 9, name: "Check Data Checksum", rule: "SP", initial: 0, required: false, isValid: isBoolean, nnLength: 0 }],
  [192, { number: 192, name: "Send Loss Event Rate", rule: "SP", initial: 0, required: false, isValid: isBoolean, nnLength: 0 }]
])

/**
 * Server-priority reconciliation (§6.3.1): the first entry of the server's
 * preference list that also occurs in the client's, or `undefined`.
 *
 * @since 0.1.0
 * @category negotiation
 */
export const reconcileServerPriority = (
  serverList: ArrayLike<number>,
  clientList: ArrayLike<number>
): number | undefined => {
  for (let s = 0; s < serverList.length; s++) {
    for (let c = 0; c < clientList.length; c++) {
      if (serverList[s] === clientList[c]) return serverList[s]
    }
  }
  return undefined
}

/**
 * What this endpoint wants for one feature end: the SP preference list
 * (most preferred first; values not listed are refused) or the NN value, and
 * whether to send a Change at connection start.
 *
 * @since 0.1.0
 * @category models
 */
export interface FeatureSetting {
  readonly feature: number
  readonly end: FeatureEnd
  readonly preference: ReadonlyArray<number>
  readonly propose: boolean
  readonly mandatory: boolean
}

interface PendingChange {
  readonly preference: ReadonlyArray<number>
  readonly mandatory: boolean
  transmissions: number
  /** When the last counted transmission was sent. */
  countedAt: number
}

interface PendingConfirm {
  /** Undefined for an empty Confirm (§6.6.7). */
  readonly value: ReadonlyArray<number> | undefined
  /** Sent at least once (only retained Confirms are sent more than once). */
  sent: boolean
}

const key = (feature: number, end: FeatureEnd): number => feature * 2 + (end === "local" ? 0 : 1)
const keyFeature = (k: number): number => k >> 1

/** Every feature end's initial value, by `key`. */
const INITIAL_VALUES: Float64Array = (() => {
  const values = new Float64Array(512)
  for (const [feature, spec] of FEATURES) {
    values[key(feature, "local")] = spec.initial
    values[key(feature, "remote")] = spec.initial
  }
  return values
})()
const keyEnd = (k: number): FeatureEnd => ((k & 1) === 0 ? "local" : "remote")

/**
 * The outcome of one received feature option: nothing to do, or the connection
 * must be reset with this code and data (§6.6.7–§6.6.9, §5.8.2).
 *
 * @since 0.1.0
 * @category models
 */
export type NegotiationResult = OptionFailure | undefined

/**
 * The feature values of one connection and the negotiation in flight.
 *
 * @since 0.1.0
 * @category negotiation
 */
export class FeatureNegotiation {
  private readonly role: "client" | "server"
  /** Current values by `key(feature, end)` (features are one byte), from the initial ones; 0 for unknown features. */
  private readonly values = Float64Array.from(INITIAL_VALUES)
  private readonly preferences = new Map<number, ReadonlyArray<number>>()
  private readonly changes = new Map<number, PendingChange>()
  private readonly confirms = new Map<number, PendingConfirm>()
  private ccidFrozen = false
  /** How many times a Change is sent before it is given up (§6.6.3 leaves this to the implementation). */
  readonly maxChangeTransmissions: number

  constructor(role: "client" | "server", settings: ReadonlyArray<FeatureSetting>, maxChangeTransmissions = 16) {
    this.role = role
    this.maxChangeTransmissions = maxChangeTransmissions
    for (const s of settings) {
      this.preferences.set(key(s.feature, s.end), s.preference)
      if (s.propose) this.propose(s.feature, s.end, s.preference, s.mandatory)
    }
  }

  /** The current value of a known feature end (its initial value until negotiated). */
  value(feature: number, end: FeatureEnd): number {
    return this.values[key(feature, end)] ?? 0
  }

  /** Sets a value directly (used when rebuilding a connection from an Init Cookie). */
  setValue(feature: number, end: FeatureEnd, value: number): void {
    this.values[key(feature, end)] = value
  }

  /** The SP preference list used for a feature end. */
  preference(feature: number, end: FeatureEnd): ReadonlyArray<number> {
    const configured = this.preferences.get(key(feature, end))
    if (configured !== undefined) return configured
    const spec = FEATURES.get(feature)
    if (spec === undefined) return []
    // Without a configured preference every valid value is acceptable, the
    // current one first (Linux accepts the peer's value in this case).
    if (feature === Feature.MinimumChecksumCoverage) return Array.from({ length: 16 }, (_, i) => i)
    const current = this.value(feature, end)
    return spec.isValid(1 - current) && isBoolean(current) ? [current, 1 - current] : [current]
  }

  /**
   * After the handshake the CCID of a half-connection cannot change any more
   * (the engine does not swap congestion controllers mid-flight).
   */
  freezeCcid(): void {
    this.ccidFrozen = true
  }

  /**
   * Queues a Change for a feature end: an SP preference list, or for an NN
   * feature (only F/us may be changed, §6.3.2) a one-element list with the new
   * value. Replaces any earlier Change for the same feature end.
   */
  propose(feature: number, end: FeatureEnd, preference: ReadonlyArray<number>, mandatory = false): void {
    const spec = FEATURES.get(feature)
    if (spec === undefined || preference.length === 0) return
    if (spec.rule === "NN" && end !== "local") return
    this.changes.set(key(feature, end), { preference: [...preference], mandatory, transmissions: 0, countedAt: 0 })
    if (spec.rule === "SP") this.preferences.set(key(feature, end), [...preference])
  }

  /** Whether a Change is waiting for its Confirm. */
  hasPendingChange(feature: number, end: FeatureEnd): boolean {
    return this.changes.has(key(feature, end))
  }

  /** Whether any Change or Confirm is waiting to be sent. */
  get hasOutstanding(): boolean {
    return this.confirms.size > 0 || this.changes.size > 0
  }

  /** Whether any Confirm is waiting to be sent. */
  get hasPendingConfirms(): boolean {
    return this.confirms.size > 0
  }

  /** Whether any Change is still unconfirmed. */
  get hasPendingChanges(): boolean {
    return this.changes.size > 0
  }

  /** Forgets queued Confirms (their options were already sent, e.g. in a stateless Response). */
  discardConfirms(): void {
    this.confirms.clear()
  }

  /**
   * Forgets the Confirms that were already sent: the client repeats them
   * until it enters OPEN and no longer (Linux `dccp_set_state`: "Client
   * retransmits all Confirm options until entering OPEN"). Confirms queued
   * by the packet that opened the connection stay.
   */
  discardSentConfirms(): void {
    for (const [k, c] of this.confirms) if (c.sent) this.confirms.delete(k)
  }

  /** Counts one transmission of every pending Change (sent in a stateless Response). */
  markChangesSent(): void {
    for (const change of this.changes.values()) change.transmissions++
  }

  /**
   * Writes the queued Confirms, then every unconfirmed Change, into `writer`.
   * Confirms are sent once (Linux "send Confirm options only once"), unless
   * `retainConfirms` is set: the client keeps repeating them in PARTOPEN.
   * A Change that has been sent `maxChangeTransmissions` times is dropped:
   * the feature keeps its old value. Sends less than `spacingMs` (the
   * retransmission timeout) after the last counted one are not counted: a
   * Change rides on every packet, and a sender with a full window sends many
   * packets in the round trip before the Confirm can be back — one
   * transmission, not many. Returns false when something did not fit.
   */
  writeOptions(writer: OptionWriter, retainConfirms: boolean, now = 0, spacingMs = 0): boolean {
    let complete = true
    for (const [k, confirm] of this.confirms) {
      const feature = keyFeature(k)
      // Confirm L answers a Change R (about F/us); Confirm R answers a Change L.
      const confirmEnd = keyEnd(k) === "local" ? "L" : "R"
      if (writer.addFeature("Confirm", confirmEnd, feature, confirm.value ?? [])) {
        confirm.sent = true
        if (!retainConfirms) this.confirms.delete(k)
      } else {
        complete = false
      }
    }
    for (const [k, change] of this.changes) {
      const feature = keyFeature(k)
      const spec = FEATURES.get(feature)
      if (spec === undefined) continue
      const bytes = spec.rule === "NN" ? uintBytes(change.preference[0]!, spec.nnLength) : change.preference
      if (writer.addFeature("Change", keyEnd(k) === "local" ? "L" : "R", feature, bytes, change.mandatory)) {
        if (change.transmissions === 0 || now - change.countedAt >= spacingMs) {
          change.transmissions++
          change.countedAt = now
          if (change.transmissions >= this.maxChangeTransmissions) this.changes.delete(k)
        }
      } else {
        complete = false
      }
    }
    return complete
  }

  /**
   * Processes one received Change or Confirm option (RFC 4340 §6.6). Returns
   * the Reset to send when negotiation fails in a way that ends the
   * connection.
   */
  receive(option: Extract<DccpOption, { kind: "Change" | "Confirm" }>, mandatory: boolean, rawValue: Uint8Array): NegotiationResult {
    return option.kind === "Change"
      ? this.receiveChange(option.end, option.feature, option.value, mandatory, rawValue)
      : this.receiveConfirm(option.end, option.feature, option.value, mandatory, rawValue)
  }

  private receiveChange(
    end: "L" | "R",
    feature: number,
    value: Uint8Array,
    mandatory: boolean,
    rawValue: Uint8Array
  ): NegotiationResult {
    // Change L is about the sender's value (F/peer); Change R about ours (F/us).
    const ourEnd: FeatureEnd = end === "L" ? "remote" : "local"
    const k = key(feature, ourEnd)
    const changeType = end === "L" ? OptionType.ChangeL : OptionType.ChangeR
    const spec = FEATURES.get(feature)
    const refuse = (): NegotiationResult => {
      // §6.6.7: an unknown feature or an invalid value gets an empty Confirm;
      // after Mandatory the connection is reset instead (§6.6.9).
      if (mandatory) return optionFailure(6, changeType, rawValue)
      this.confirms.set(k, { value: undefined, sent: false })
      return undefined
    }
    if (spec === undefined || value.length === 0) return refuse()

    if (spec.rule === "NN") {
      // §6.3.2: only the feature location may change an NN feature (Change L),
      // and the remote MUST accept any valid value.
      if (end === "R" || value.length > 6) return refuse()
      const v = readUintBytes(value)
      if (!spec.isValid(v)) return refuse()
      this.values[k] = v
      this.confirms.set(k, { value: uintBytes(v, spec.nnLength), sent: false })
      return undefined
    }

    // SP (§6.3.1): the server's preference list wins.
    const ours = this.preference(feature, ourEnd)
    let result = this.role === "server" ? reconcileServerPriority(ours, value) : reconcileServerPriority(value, ours)
    if (result !== undefined && !spec.isValid(result)) result = undefined
    const current = this.value(feature, ourEnd)
    if (feature === Feature.CCID && this.ccidFrozen && result !== current) result = undefined
    if (result === undefined) {
      // No shared value: the feature keeps its value (§6.3.1); after Mandatory
      // the connection is reset with Mandatory Error (§6.6.9).
      if (mandatory) return optionFailure(6, changeType, rawValue)
      result = current
    }
    this.values[k] = result
    this.confirms.set(k, { value: [result, ...ours], sent: false })
    const pending = this.changes.get(k)
    if (pending !== undefined && pending.preference[0] === result) this.changes.delete(k)
    return undefined
  }

  private receiveConfirm(
    end: "L" | "R",
    feature: number,
    value: Uint8Array,
    mandatory: boolean,
    rawValue: Uint8Array
  ): NegotiationResult {
    // Confirm L answers our Change R (F/peer); Confirm R answers our Change L (F/us).
    const ourEnd: FeatureEnd = end === "L" ? "remote" : "local"
    const k = key(feature, ourEnd)
    const confirmType = end === "L" ? OptionType.ConfirmL : OptionType.ConfirmR
    const spec = FEATURES.get(feature)
    const fail = (): NegotiationResult => optionFailure(mandatory ? 6 : 5, confirmType, rawValue)
    const pending = this.changes.get(k)
    if (spec === undefined) return mandatory ? fail() : undefined
    // A Confirm nobody asked for (a duplicate, or one for an older Change) is ignored.
    if (pending === undefined) return undefined

    if (value.length === 0) {
      // §6.6.7: the peer does not understand the feature. Features every
      // implementation must understand cannot be refused.
      if (spec.required) return fail()
      this.changes.delete(k)
      return undefined
    }

    if (spec.rule === "NN") {
      // A Confirm for a value other than the one now proposed answers an
      // earlier Change; keep waiting for the current one.
      if (value.length <= 6 && readUintBytes(value) === pending.preference[0]) {
        this.values[k] = pending.preference[0]!
        this.changes.delete(k)
      }
      return undefined
    }

    // SP Confirm: the chosen value, then the sender's preference list (§6.3.1).
    const chosen = value[0]!
    const theirs = value.length > 1 ? value.subarray(1) : value.subarray(0, 1)
    const expected = this.role === "server"
      ? reconcileServerPriority(pending.preference, theirs)
      : reconcileServerPriority(theirs, pending.preference)
    // With no shared value the peer confirms the value the feature keeps (§6.3.1).
    const keptValue = expected === undefined && chosen === this.value(feature, ourEnd)
    if (!spec.isValid(chosen) || (!keptValue && (!pending.preference.includes(chosen) || expected !== chosen))) {
      // §6.6.8: a Confirm for a value we did not offer, or not the result of
      // reconciling the two lists, is an Option Error (Linux does the same).
      return fail()
    }
    this.values[k] = chosen
    this.changes.delete(k)
    return undefined
  }
}
