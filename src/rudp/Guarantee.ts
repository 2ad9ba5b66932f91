/**
 * The three per-message guarantees of reliable UDP (the rudp crate's tiers,
 * made exact). Chosen per message: one flow carries all three.
 *
 * - `None` — at most once, in any order, never resent. (The crate let
 *   duplicates through; we drop them.)
 * - `Order` — at most once, and never delivered after a later `Order` or
 *   `Delivery` message was delivered: a late one is dropped and counted.
 *   Never resent ("unreliable sequenced").
 * - `Delivery` — exactly once, in order with respect to `Order` and
 *   `Delivery` messages ("reliable ordered"): resent until acknowledged.
 *
 * Messages sent as one set (`asSet`) may be delivered in any order among
 * themselves; sets are ordered among each other, and a set is not delivered
 * past an earlier set's undelivered `Delivery` messages.
 *
 * This module is plain TypeScript (no Effect): the sans-IO engine uses it too.
 *
 * @since 0.2.0
 */

/**
 * A message's guarantee.
 *
 * @since 0.2.0
 * @category models
 */
export type Guarantee = "None" | "Order" | "Delivery"

/**
 * At most once, any order, never resent.
 *
 * @since 0.2.0
 * @category constants
 */
export const None: Guarantee = "None"

/**
 * At most once, never after a later `Order`/`Delivery` message; never resent.
 *
 * @since 0.2.0
 * @category constants
 */
export const Order: Guarantee = "Order"

/**
 * Exactly once, in order with respect to `Order` and `Delivery` messages.
 *
 * @since 0.2.0
 * @category constants
 */
export const Delivery: Guarantee = "Delivery"

/**
 * All guarantees, weakest first.
 *
 * @since 0.2.0
 * @category constants
 */
export const all: ReadonlyArray<Guarantee> = [None, Order, Delivery]

/**
 * `true` for one of the three guarantee names.
 *
 * @since 0.2.0
 * @category guards
 */
export const isGuarantee = (u: unknown): u is Guarantee => u === None || u === Order || u === Delivery

/**
 * The tier's two-bit code on the wire (docs/rudp.md, "Message frames").
 *
 * @since 0.2.0
 * @category codecs
 */
export const toCode = (g: Guarantee): 0 | 1 | 2 => g === None ? 0 : g === Order ? 1 : 2

/**
 * The guarantee of a wire code, or `undefined` for the reserved code 3.
 *
 * @since 0.2.0
 * @category codecs
 */
export const fromCode = (code: number): Guarantee | undefined =>
  code === 0 ? None : code === 1 ? Order : code === 2 ? Delivery : undefined
