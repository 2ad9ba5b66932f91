/**
 * 48-bit circular sequence-number arithmetic (RFC 4340 §3.1, §7).
 *
 * DCCP sequence and acknowledgement numbers are 48-bit and every comparison is
 * circular, modulo 2^48. A JavaScript number holds any integer up to 2^53
 * exactly, so a sequence number is a plain non-negative `number` below 2^48 and
 * no BigInt is needed. Two numbers exactly 2^47 apart are ambiguous; like Linux
 * (`dccp_delta_seqno`), `delta` resolves that case to the negative side, so
 * neither is "after" the other in `isAfter`.
 *
 * @since 0.1.0
 */

/**
 * 2^48: the modulus of every sequence-number operation.
 *
 * @since 0.1.0
 * @category constants
 */
export const SEQ_MODULUS = 2 ** 48

/** 2^47: half the space; distances of this size or more count as negative. */
const HALF = 2 ** 47

/**
 * 2^24: the modulus of a short (X=0) sequence number (RFC 4340 §7.6).
 *
 * @since 0.1.0
 * @category constants
 */
export const SHORT_SEQ_MODULUS = 2 ** 24

/**
 * Reduces any integer (negative ones included) into [0, 2^48).
 *
 * @since 0.1.0
 * @category arithmetic
 */
export const normalize = (n: number): number => {
  // Nearly every call is already in range or one modulus off: no division.
  if (n >= 0) {
    if (n < SEQ_MODULUS) return n
    if (n < 2 * SEQ_MODULUS) return n - SEQ_MODULUS
  } else if (n >= -SEQ_MODULUS) {
    return n + SEQ_MODULUS
  }
  const r = n % SEQ_MODULUS
  return r < 0 ? r + SEQ_MODULUS : r
}

/**
 * `a + n` modulo 2^48; `n` may be negative.
 *
 * @since 0.1.0
 * @category arithmetic
 */
export const add = (a: number, n: number): number => normalize(a + n)

/**
 * The signed circular distance from `a` to `b`, in (-2^47, 2^47]: positive when
 * `b` is after `a`. A distance of exactly 2^47 is reported as -2^47.
 *
 * @since 0.1.0
 * @category arithmetic
 */
export const delta = (a: number, b: number): number => {
  const d = normalize(b - a)
  return d >= HALF ? d - SEQ_MODULUS : d
}

/**
 * Whether `a` comes strictly after `b` in circular order.
 *
 * @since 0.1.0
 * @category comparisons
 */
export const isAfter = (a: number, b: number): boolean => delta(b, a) > 0

/**
 * Whether `a` comes strictly before `b` in circular order.
 *
 * @since 0.1.0
 * @category comparisons
 */
export const isBefore = (a: number, b: number): boolean => delta(a, b) > 0

/**
 * The later of two sequence numbers.
 *
 * @since 0.1.0
 * @category comparisons
 */
export const max = (a: number, b: number): number => (isAfter(b, a) ? b : a)

/**
 * Whether `low <= s <= high` in circular order, i.e. `s` lies on the arc that
 * starts at `low` and ends at `high` (Linux `between48`). An empty or inverted
 * range (`high` before `low`) contains nothing.
 *
 * @since 0.1.0
 * @category comparisons
 */
export const isBetween = (s: number, low: number, high: number): boolean => {
  const span = delta(low, high)
  if (span < 0) return false
  const offset = normalize(s - low)
  return offset <= span
}

/**
 * Extends a 24-bit short sequence or acknowledgement number to the 48-bit
 * number closest to `reference` with the same low 24 bits (RFC 4340 §7.6).
 * For sequence numbers the reference is GSR; for acknowledgement numbers this
 * engine uses GSS, because every valid ack lies in [AWL, GSS] and AWL is at
 * most W' (< 2^23) below GSS, so the closest candidate is the right one.
 *
 * @since 0.1.0
 * @category arithmetic
 */
export const extendShort = (reference: number, low24: number): number => {
  const base = reference - (reference % SHORT_SEQ_MODULUS)
  let candidate = base + low24
  const d = candidate - reference
  if (d > SHORT_SEQ_MODULUS / 2) candidate -= SHORT_SEQ_MODULUS
  else if (d < -(SHORT_SEQ_MODULUS / 2)) candidate += SHORT_SEQ_MODULUS
  return normalize(candidate)
}

/**
 * The sequence-number variables and windows of one endpoint (RFC 4340 §7.1,
 * §7.5.1). `w` is the peer's Sequence Window (it bounds the peer's sequence
 * numbers we accept) and `wLocal` ours (it bounds the acknowledgements we
 * accept); this is how Linux assigns them (`r_seq_win` for SWL/SWH, `l_seq_win`
 * for AWL).
 *
 * @since 0.1.0
 * @category models
 */
export interface SequenceWindows {
  readonly swl: number
  readonly swh: number
  readonly awl: number
  readonly awh: number
}

/**
 * The valid-sequence window for incoming packets (RFC 4340 §7.5.1):
 * `SWL = max(GSR + 1 - floor(W/4), ISR)`, `SWH = GSR + 1 + floor(3W/4)`.
 * The `max` with ISR applies only near the start of the connection: it is
 * taken while GSR is within W of ISR, as RFC 4340 §7.5.1 describes.
 *
 * @since 0.1.0
 * @category windows
 */
export const sequenceWindow = (
  gsr: number,
  isr: number,
  w: number
): { readonly swl: number; readonly swh: number } => ({
  swl: sequenceWindowLow(gsr, isr, w),
  swh: add(gsr, 1 + Math.floor((3 * w) / 4))
})

/**
 * SWL alone (see `sequenceWindow`), without allocating.
 *
 * @since 0.2.0
 * @category windows
 */
export const sequenceWindowLow = (gsr: number, isr: number, w: number): number => {
  const low = add(gsr, 1 - Math.floor(w / 4))
  const sinceStart = delta(isr, gsr)
  const nearStart = sinceStart >= 0 && sinceStart < w
  return nearStart && isAfter(isr, low) ? isr : low
}

/**
 * The valid-acknowledgement window (RFC 4340 §7.5.1):
 * `AWL = max(GSS + 1 - W', ISS)`, `AWH = GSS`.
 *
 * @since 0.1.0
 * @category windows
 */
export const ackWindow = (
  gss: number,
  iss: number,
  wLocal: number
): { readonly awl: number; readonly awh: number } => ({ awl: ackWindowLow(gss, iss, wLocal), awh: gss })

/**
 * AWL alone (see `ackWindow`), without allocating.
 *
 * @since 0.2.0
 * @category windows
 */
export const ackWindowLow = (gss: number, iss: number, wLocal: number): number => {
  const low = add(gss, 1 - wLocal)
  const sinceStart = delta(iss, gss)
  const nearStart = sinceStart >= 0 && sinceStart < wLocal
  return nearStart && isAfter(iss, low) ? iss : low
}
