/**
 * The sans-IO DCCP engine (RFC 4340, CCID 2 per RFC 4341): codecs, the state
 * table, feature negotiation, congestion control, and the connection and
 * listener engines that drivers (raw IP, UDP per RFC 6773) run.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 * @category modules
 */
export * as Ccid from "./Ccid.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Ccid2 from "./Ccid2.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Checksum from "./Checksum.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Config from "./Config.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Connection from "./Connection.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Cookie from "./Cookie.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Features from "./Features.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Listener from "./Listener.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Options from "./Options.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Packet from "./Packet.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Random from "./Random.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as ReceiveHistory from "./ReceiveHistory.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as SendQueue from "./SendQueue.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Seq from "./Seq.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as State from "./State.ts"
/**
 * @since 0.1.0
 * @category modules
 */
export * as Timers from "./Timers.ts"

/**
 * The connection engine (API name `DccpEngine`).
 *
 * @since 0.1.0
 * @category engine
 */
export { DccpEngine } from "./Connection.ts"

/**
 * The listener engine.
 *
 * @since 0.1.0
 * @category engine
 */
export { DccpListener } from "./Listener.ts"
