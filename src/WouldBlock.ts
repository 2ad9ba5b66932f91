/**
 * `WouldBlock` is what a non-blocking operation returns when it cannot proceed
 * now (`EAGAIN`). It is one shared symbol, so returning it allocates nothing: a
 * busy loop may hit it millions of times a second. It is not an error — wait for
 * the next readiness event (or let the reactor do it) and try again.
 *
 * @since 0.1.0
 */
import { WouldBlock as sentinel } from "./sys/call.ts"

/**
 * @since 0.1.0
 * @category models
 */
export type WouldBlock = typeof sentinel

/**
 * @since 0.1.0
 * @category constants
 */
export const WouldBlock: WouldBlock = sentinel

/**
 * @since 0.1.0
 * @category guards
 */
export const isWouldBlock = (u: unknown): u is WouldBlock => u === sentinel
