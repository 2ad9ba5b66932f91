/**
 * The sans-IO reliable-UDP engine: wire format, ordering rules, loss recovery
 * and the connection engine that `Endpoint` drives (exported for advanced
 * users and tests, like `DccpEngine`).
 *
 * @since 0.2.0
 */

/**
 * @since 0.2.0
 * @category modules
 */
export * as Bytes from "./Bytes.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Config from "./Config.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Congestion from "./Congestion.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Bbr from "./Bbr.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as NewReno from "./NewReno.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as DeliveryRate from "./DeliveryRate.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Connection from "./Connection.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Crypto from "./Crypto.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Listener from "./Listener.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Token from "./Token.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Frame from "./Frame.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Inbox from "./Inbox.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Packet from "./Packet.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Params from "./Params.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Payload from "./Payload.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as RangeSet from "./RangeSet.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Recovery from "./Recovery.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as State from "./State.ts"
/**
 * @since 0.2.0
 * @category modules
 */
export * as Timers from "./Timers.ts"

/**
 * The connection engine.
 *
 * @since 0.2.0
 * @category engine
 */
export { RudpEngine } from "./Connection.ts"

/**
 * Validates an engine configuration.
 *
 * @since 0.2.0
 * @category constructors
 */
export { makeConfig } from "./Config.ts"
