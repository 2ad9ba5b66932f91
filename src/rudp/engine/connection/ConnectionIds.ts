/**
 * Connection ids and packet numbers as bytes: a random id, the comparison of
 * two ids, and how many bytes of a packet number the peer needs.
 *
 * @since 0.2.0
 */

/**
 * Bytes of a packet number that the receiver decodes unambiguously (RFC 9000 §17.1).
 *
 * @since 0.2.0
 * @category utils
 */
export const pnLength = (pn: number, largestAcked: number): number => {
  const unacked = largestAcked < 0 ? pn + 1 : pn - largestAcked
  return unacked < 0x40 ? 1 : unacked < 0x4000 ? 2 : unacked < 0x400000 ? 3 : 4
}

/**
 * A connection id of `length` random bytes.
 *
 * @since 0.2.0
 * @category constructors
 */
export const randomCid = (random: () => number, length: number): Uint8Array => {
  const cid = new Uint8Array(length)
  for (let i = 0; i < length; i += 4) {
    const r = random()
    for (let k = 0; k < 4 && i + k < length; k++) cid[i + k] = (r >>> (8 * k)) & 0xff
  }
  return cid
}

/**
 * Whether two ids are the same bytes.
 *
 * @since 0.2.0
 * @category utils
 */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
