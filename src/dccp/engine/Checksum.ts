/**
 * DCCP checksums: the Internet checksum over an IPv4 or IPv6 pseudo-header with
 * partial coverage (RFC 4340 §9.1, §9.2), and CRC-32c for the Data Checksum
 * option (RFC 4340 §9.3).
 *
 * The pseudo-header always carries protocol 33 and the length of the *whole*
 * DCCP packet, even when CsCov limits the checksum to a prefix of it
 * (RFC 4340 §9.1; confirmed against Linux 6.1 and tshark).
 *
 * @since 0.1.0
 */

/**
 * The IP protocol number of DCCP.
 *
 * @since 0.1.0
 * @category constants
 */
export const IPPROTO_DCCP = 33

/**
 * The addresses the checksum pseudo-header is built from, as the driver sees
 * them for this packet: `source` is the sender's address, `destination` the
 * receiver's. For DCCP over UDP (RFC 6773) they are the UDP leg's addresses.
 *
 * @since 0.1.0
 * @category models
 */
export type PseudoHeader =
  | { readonly family: "ipv4"; readonly source: Uint8Array; readonly destination: Uint8Array }
  | { readonly family: "ipv6"; readonly source: Uint8Array; readonly destination: Uint8Array }

/** Adds the big-endian 16-bit words of `bytes[start, end)` to `sum` (odd tail padded with zero). */
const addWords = (sum: number, bytes: Uint8Array, start: number, end: number): number => {
  let i = start
  const even = end - ((end - start) & 1)
  for (; i < even; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!
  if (i < end) sum += bytes[i]! << 8
  return sum
}

/** Folds a wide sum into 16 bits with end-around carry. */
const fold = (sum: number): number => {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000)
  return sum
}

/**
 * The RFC 1071 Internet checksum of `bytes`: the one's complement of the one's
 * complement sum of its 16-bit words.
 *
 * @since 0.1.0
 * @category checksums
 */
export const internetChecksum = (bytes: Uint8Array): number => ~fold(addWords(0, bytes, 0, bytes.length)) & 0xffff

/**
 * The unfolded sum of the pseudo-header for a DCCP packet of `length` bytes.
 *
 * IPv4 (RFC 4340 §9.1): source, destination, zero, protocol 33, 16-bit length.
 * IPv6 (RFC 2460 §8.1): source, destination, 32-bit length, three zero bytes,
 * next header 33.
 *
 * @since 0.1.0
 * @category checksums
 */
export const pseudoHeaderSum = (pseudo: PseudoHeader, length: number): number => {
  let sum = addWords(0, pseudo.source, 0, pseudo.source.length)
  sum = addWords(sum, pseudo.destination, 0, pseudo.destination.length)
  if (pseudo.family === "ipv4") return sum + IPPROTO_DCCP + (length & 0xffff)
  return sum + Math.floor(length / 0x10000) + (length & 0xffff) + IPPROTO_DCCP
}

/**
 * The number of bytes the checksum covers (RFC 4340 §9.2): everything when
 * CsCov is 0, else the header and options plus (CsCov − 1) × 4 bytes of data.
 * Returns `undefined` when that is longer than the packet: such a packet is
 * dropped in step 1 of the receive pseudocode (§8.5; Linux does the same).
 *
 * @since 0.1.0
 * @category checksums
 */
export const coverageLength = (headerBytes: number, cscov: number, packetLength: number): number | undefined => {
  if (cscov === 0) return packetLength
  const covered = headerBytes + (cscov - 1) * 4
  return covered > packetLength ? undefined : covered
}

/** Byte offset of the Checksum field in the generic header. */
const CHECKSUM_OFFSET = 6

/**
 * Computes the DCCP checksum of `packet` (its Checksum field is treated as zero)
 * over the pseudo-header and its first `coverage` bytes.
 *
 * @since 0.1.0
 * @category checksums
 */
export const computeDccpChecksum = (pseudo: PseudoHeader, packet: Uint8Array, coverage: number): number =>
  computeDccpChecksumAt(pseudo, packet, 0, packet.length, coverage)

/**
 * `computeDccpChecksum` of the `length`-byte packet at `offset` in `bytes`.
 *
 * @since 0.2.0
 * @category checksums
 */
export const computeDccpChecksumAt = (
  pseudo: PseudoHeader,
  bytes: Uint8Array,
  offset: number,
  length: number,
  coverage: number
): number => {
  let sum = pseudoHeaderSum(pseudo, length)
  sum = addWords(sum, bytes, offset, offset + CHECKSUM_OFFSET)
  sum = addWords(sum, bytes, offset + CHECKSUM_OFFSET + 2, offset + coverage)
  return ~fold(sum) & 0xffff
}

/**
 * Writes the DCCP checksum into `packet` (bytes 6–7).
 *
 * @since 0.1.0
 * @category checksums
 */
export const writeDccpChecksum = (pseudo: PseudoHeader, packet: Uint8Array, coverage: number): void =>
  writeDccpChecksumAt(pseudo, packet, 0, packet.length, coverage)

/**
 * `writeDccpChecksum` for the `length`-byte packet at `offset` in `bytes`.
 *
 * @since 0.2.0
 * @category checksums
 */
export const writeDccpChecksumAt = (
  pseudo: PseudoHeader,
  bytes: Uint8Array,
  offset: number,
  length: number,
  coverage: number
): void => {
  const c = computeDccpChecksumAt(pseudo, bytes, offset, length, coverage)
  bytes[offset + CHECKSUM_OFFSET] = c >>> 8
  bytes[offset + CHECKSUM_OFFSET + 1] = c & 0xff
}

/**
 * Whether the checksum stored in `packet` is correct for the first `coverage`
 * bytes. Summing the stored checksum together with everything it covers must
 * give 0xFFFF.
 *
 * @since 0.1.0
 * @category checksums
 */
export const verifyDccpChecksum = (pseudo: PseudoHeader, packet: Uint8Array, coverage: number): boolean => {
  const sum = addWords(pseudoHeaderSum(pseudo, packet.length), packet, 0, coverage)
  return fold(sum) === 0xffff
}

/** CRC-32c (Castagnoli), reflected polynomial 0x82F63B78, one table for all calls. */
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/**
 * CRC-32c of `bytes` (RFC 3309 / RFC 4960 appendix B), the function the Data
 * Checksum option carries (RFC 4340 §9.3).
 *
 * @since 0.1.0
 * @category checksums
 */
export const crc32c = (bytes: Uint8Array): number => {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = CRC32C_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
