/**
 * `Token` associates an event with the source that produced it (mio's `Token`).
 * It is a branded non-negative integer up to 2^53 - 1, carried in the 64-bit
 * `data` field of `epoll_event`. A slab index is the usual choice.
 *
 * @since 0.1.0
 */
import * as Brand from "effect/Brand"

/**
 * @since 0.1.0
 * @category models
 */
export type Token = number & Brand.Brand<"effect-mio/Token">

/**
 * Builds a `Token`; throws a `BrandError` for a value that is not a safe
 * non-negative integer (use `Token.result` or `Token.option` to check input).
 *
 * @since 0.1.0
 * @category constructors
 */
export const Token: Brand.Constructor<Token> = Brand.make<Token>((n) =>
  Number.isSafeInteger(n) && n >= 0 ? undefined : `a Token is an integer from 0 to 2^53 - 1, not ${n}`
)
