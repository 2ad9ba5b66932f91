/**
 * What a connection negotiates (RFC 4340 §6.4) and when: the feature settings
 * it starts with, the features its CCIDs depend on (§10; Linux
 * `dccp_feat_ccid_deps`), the server's own Changes once the Request settled
 * the CCIDs, and the NN values a running CCID asks for. The reconciliation
 * itself is `Features.ts`; this is the connection's glue around it.
 *
 * @since 0.2.0
 */
import type { CcidDependency, FeatureRequest } from "../Ccid.ts"
import type { ConnectionConfig } from "../Config.ts"
import { Feature, type FeatureNegotiation, type FeatureSetting } from "../Features.ts"
import type { Role } from "../State.ts"

/**
 * The CCIDs a connection offers for our half-connection (`tx`) or the peer's
 * (`rx`), in order of preference: the configured ones this endpoint
 * implements, else CCID 2.
 *
 * @since 0.2.0
 * @category negotiation
 */
export const ccidPreference = (config: ConnectionConfig, end: "tx" | "rx"): ReadonlyArray<number> => {
  const configured = (end === "tx" ? config.txCcids : config.rxCcids) ?? config.ccids
  const list = configured.filter((id) => config.ccidRegistry.has(id))
  return list.length > 0 ? list : [2]
}

/** Whether partial checksum coverage is possible: native DCCP only (RFC 6773 forbids it over UDP). */
const partialCoverage = (config: ConnectionConfig): boolean => config.encapsulation === "ip"

/**
 * What an endpoint proposes and accepts at connection start (§6.4).
 *
 * @since 0.2.0
 * @category negotiation
 */
export const initialSettings = (role: Role, config: ConnectionConfig): Array<FeatureSetting> => {
  const client = role === "client"
  const tx = ccidPreference(config, "tx")
  const rx = ccidPreference(config, "rx")
  const settings: Array<FeatureSetting> = [
    // CCID for each half-connection (F/us is ours, RFC 4340 §10); a client asks, a server answers.
    { feature: Feature.CCID, end: "local", preference: tx, propose: client, mandatory: false },
    { feature: Feature.CCID, end: "remote", preference: rx, propose: client, mandatory: false },
    // This engine never sends short sequence numbers but can receive them.
    { feature: Feature.AllowShortSeqnos, end: "local", preference: [0, 1], propose: false, mandatory: false },
    { feature: Feature.AllowShortSeqnos, end: "remote", preference: [0, 1], propose: false, mandatory: false },
    { feature: Feature.EcnIncapable, end: "remote", preference: [1, 0], propose: false, mandatory: false },
    { feature: Feature.SendAckVector, end: "local", preference: [1, 0], propose: false, mandatory: false },
    { feature: Feature.SendAckVector, end: "remote", preference: [1, 0], propose: false, mandatory: false },
    { feature: Feature.SendNdpCount, end: "remote", preference: [0, 1], propose: false, mandatory: false },
    { feature: Feature.CheckDataChecksum, end: "remote", preference: [0, 1], propose: false, mandatory: false }
  ]
  const own = ownProposals(config)
  settings.push(...own)
  if (!own.some((s) => s.feature === Feature.EcnIncapable)) {
    settings.push({ feature: Feature.EcnIncapable, end: "local", preference: [0, 1], propose: false, mandatory: false })
  }
  if (!own.some((s) => s.feature === Feature.SendNdpCount)) {
    settings.push({ feature: Feature.SendNdpCount, end: "local", preference: [0, 1], propose: false, mandatory: false })
  }
  if (!own.some((s) => s.feature === Feature.CheckDataChecksum)) {
    settings.push({ feature: Feature.CheckDataChecksum, end: "local", preference: [0, 1], propose: false, mandatory: false })
  }
  if (!partialCoverage(config)) {
    // RFC 6773: over UDP only full coverage.
    settings.push({ feature: Feature.MinimumChecksumCoverage, end: "local", preference: [0], propose: false, mandatory: false })
    settings.push({ feature: Feature.MinimumChecksumCoverage, end: "remote", preference: [0], propose: false, mandatory: false })
  }
  if (client) {
    // Like Linux's dccp_feat_finalise_settings: a half-connection with one
    // CCID knows its dependencies up front and asks for them in the Request.
    settings.push(...dependencySettings(config, tx.length === 1 ? tx[0] : undefined, rx.length === 1 ? rx[0] : undefined))
  }
  return settings
}

/** Changes an endpoint sends at connection start regardless of role. */
const ownProposals = (config: ConnectionConfig): Array<FeatureSetting> => {
  const out: Array<FeatureSetting> = []
  if (config.ecnIncapable) {
    // §12.1: an endpoint that cannot report ECN marks must say so, or the
    // peer could send ECN-capable packets whose marks would go unreported.
    // A single value, Mandatory, exactly as Linux proposes it.
    out.push({ feature: Feature.EcnIncapable, end: "local", preference: [1], propose: true, mandatory: true })
  }
  if (config.sequenceWindow !== 100) {
    out.push({ feature: Feature.SequenceWindow, end: "local", preference: [config.sequenceWindow], propose: true, mandatory: false })
  }
  if (config.sendNdpCount) {
    out.push({ feature: Feature.SendNdpCount, end: "local", preference: [1, 0], propose: true, mandatory: false })
  }
  if (config.checkDataChecksum) {
    out.push({ feature: Feature.CheckDataChecksum, end: "local", preference: [1, 0], propose: true, mandatory: false })
  }
  const min = config.minimumChecksumCoverage
  if (partialCoverage(config) && min > 0) {
    // Linux registers RECV_CSCOV n as the list [n..15].
    const list = Array.from({ length: 16 - min }, (_, i) => min + i)
    out.push({ feature: Feature.MinimumChecksumCoverage, end: "local", preference: list, propose: true, mandatory: false })
  }
  return out
}

/**
 * Features the chosen CCIDs need: ours as HC-sender (`tx`), the peer's (`rx`).
 *
 * @since 0.2.0
 * @category negotiation
 */
export const dependencySettings = (config: ConnectionConfig, tx: number | undefined, rx: number | undefined): Array<FeatureSetting> => {
  const out: Array<FeatureSetting> = []
  const add = (deps: ReadonlyArray<CcidDependency>) => {
    for (const d of deps) {
      if (out.some((s) => s.feature === d.feature && s.end === d.end)) continue
      out.push({ feature: d.feature, end: d.end, preference: [d.value], propose: true, mandatory: d.mandatory })
    }
  }
  const txFactory = tx === undefined ? undefined : config.ccidRegistry.get(tx)
  const rxFactory = rx === undefined ? undefined : config.ccidRegistry.get(rx)
  if (txFactory !== undefined) add(txFactory.senderDependencies)
  if (rxFactory !== undefined) add(rxFactory.receiverDependencies)
  return out
}

/**
 * After the Request's options: the server proposes what the negotiated CCIDs
 * need (Linux `dccp_feat_server_ccid_dependencies`) unless the client already
 * settled it.
 *
 * @since 0.2.0
 * @category negotiation
 */
export const proposeServerFeatures = (features: FeatureNegotiation, config: ConnectionConfig): void => {
  const tx = features.value(Feature.CCID, "local")
  const rx = features.value(Feature.CCID, "remote")
  for (const s of dependencySettings(config, tx, rx)) {
    if (features.value(s.feature, s.end) !== s.preference[0] && !features.hasPendingChange(s.feature, s.end)) {
      features.propose(s.feature, s.end, s.preference, s.mandatory)
    }
  }
}

/**
 * Proposes the NN values a CCID asked for (Change L), skipping those already
 * in force.
 *
 * @since 0.2.0
 * @category negotiation
 */
export const proposeCcidRequests = (features: FeatureNegotiation, requests: ReadonlyArray<FeatureRequest>): void => {
  for (const r of requests) {
    if (features.value(r.feature, "local") === r.value && !features.hasPendingChange(r.feature, "local")) continue
    features.propose(r.feature, "local", [r.value], false)
  }
}
