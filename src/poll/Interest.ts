/**
 * `Interest` is the readiness a source is registered for (mio's `Interest`):
 * `READABLE`, `WRITABLE` and, on Linux, `PRIORITY`, combined with `add`.
 * An empty interest cannot be built: `remove` returns `undefined` instead.
 *
 * Registration maps them to epoll exactly as mio does: `READABLE` →
 * `EPOLLIN | EPOLLRDHUP`, `WRITABLE` → `EPOLLOUT`, `PRIORITY` → `EPOLLPRI`.
 *
 * @since 0.1.0
 */
import * as Brand from "effect/Brand"
import { EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDHUP } from "../sys/constants.ts"

/**
 * @since 0.1.0
 * @category models
 */
export type Interest = number & Brand.Brand<"effect-mio/Interest">

const READABLE_BIT = 0b1
const WRITABLE_BIT = 0b10
const PRIORITY_BIT = 0b1_0000
const ALL = READABLE_BIT | WRITABLE_BIT | PRIORITY_BIT

/**
 * @since 0.1.0
 * @category constants
 */
export const READABLE = READABLE_BIT as Interest

/**
 * @since 0.1.0
 * @category constants
 */
export const WRITABLE = WRITABLE_BIT as Interest

/**
 * Out-of-band / priority data (`EPOLLPRI`). Linux only, as in mio.
 *
 * @since 0.1.0
 * @category constants
 */
export const PRIORITY = PRIORITY_BIT as Interest

/**
 * The union of two interests.
 *
 * @since 0.1.0
 * @category combinators
 */
export const add = (self: Interest, other: Interest): Interest => (self | other) as Interest

/**
 * `self` without `other`, or `undefined` when nothing would be left.
 *
 * @since 0.1.0
 * @category combinators
 */
export const remove = (self: Interest, other: Interest): Interest | undefined => {
  const left = self & ~other
  return left === 0 ? undefined : (left as Interest)
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isInterest = (u: unknown): u is Interest =>
  typeof u === "number" && Number.isInteger(u) && u > 0 && (u & ~ALL) === 0

/**
 * @since 0.1.0
 * @category predicates
 */
export const isReadable = (self: Interest): boolean => (self & READABLE_BIT) !== 0

/**
 * @since 0.1.0
 * @category predicates
 */
export const isWritable = (self: Interest): boolean => (self & WRITABLE_BIT) !== 0

/**
 * @since 0.1.0
 * @category predicates
 */
export const isPriority = (self: Interest): boolean => (self & PRIORITY_BIT) !== 0

/**
 * mio's `Debug` text: `"READABLE | WRITABLE"`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (self: Interest): string => {
  const parts: Array<string> = []
  if (isReadable(self)) parts.push("READABLE")
  if (isWritable(self)) parts.push("WRITABLE")
  if (isPriority(self)) parts.push("PRIORITY")
  return parts.join(" | ")
}

/**
 * The epoll bits for an interest, without trigger flags.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toEpoll = (self: Interest): number => {
  let bits = 0
  if (self & READABLE_BIT) bits |= EPOLLIN | EPOLLRDHUP
  if (self & WRITABLE_BIT) bits |= EPOLLOUT
  if (self & PRIORITY_BIT) bits |= EPOLLPRI
  return bits
}
