/**
 * Transport parameters, carried by the HELLO frame of the handshake as
 * (id varint, length varint, value) triples. Unknown ids are skipped, so a
 * later version (or part 2's encryption) adds parameters without breaking
 * version 1 peers. Ids:
 *
 * | id | parameter | value |
 * |---|---|---|
 * | 0x01 | maxMessageSize | varint: the largest message this endpoint accepts (bytes) |
 * | 0x02 | initialMaxData | varint: its receive window for Delivery payload (bytes) |
 * | 0x03 | maxAckDelay | varint: milliseconds it may hold an acknowledgement |
 * | 0x04 | idleTimeout | varint: milliseconds of silence after which it gives the peer up |
 * | 0x05 | maxDatagram | varint: the largest datagram it receives (bytes): the bound of path MTU discovery |
 * | 0x06 | initialIds | three varints: its first set id, Delivery id and fragment id |
 * | 0x07 | heartbeat | varint: milliseconds between its keep-alive PINGs |
 * | 0x08 | baseDatagram | varint: its configured `mtu`, the size it knows its path carries (absent: `maxDatagram`) |
 * | 0x20 | ephemeral X25519 public key (32 bytes; encryption) |
 * | 0x21 | cipher: 1 ChaCha20-Poly1305, 2 AES-256-GCM (varint; encryption) |
 * | 0x22 | HMAC-SHA-256 of the ephemeral key and cipher under the authentication secret (32 bytes) |
 * | 0x23 | static X25519 public key (32 bytes; key-pair authentication) |
 * | 0x24–0x2f | reserved for encryption |
 * | 0x30–0x3f | reserved for congestion control and pacing |
 *
 * @since 0.2.0
 */
import { Reader, varintLength, type Writer } from "./Bytes.ts"

/**
 * @since 0.2.0
 * @category models
 */
export interface Params {
  readonly maxMessageSize: number
  readonly initialMaxData: number
  readonly maxAckDelay: number
  readonly idleTimeout: number
  readonly maxDatagram: number
  readonly initialSet: number
  readonly initialDelivery: number
  readonly initialFragment: number
  readonly heartbeat: number
  /** The peer's configured datagram size, known to be safe (the base of path MTU discovery). */
  readonly baseDatagram: number
  /** Encryption: the key share, cipher, HELLO MAC and (key-pair mode) static key; absent without encryption. */
  readonly crypto?: CryptoParams | undefined
}

/**
 * The encryption parameters of a HELLO.
 *
 * @since 0.2.0
 * @category models
 */
export interface CryptoParams {
  readonly ephemeral: Uint8Array
  readonly cipher: number
  readonly mac: Uint8Array
  readonly staticKey?: Uint8Array | undefined
}

/**
 * Parameter ids.
 *
 * @since 0.2.0
 * @category constants
 */
export const ParamId = {
  maxMessageSize: 0x01,
  initialMaxData: 0x02,
  maxAckDelay: 0x03,
  idleTimeout: 0x04,
  maxDatagram: 0x05,
  initialIds: 0x06,
  heartbeat: 0x07,
  baseDatagram: 0x08,
  ephemeralKey: 0x20,
  cipher: 0x21,
  helloMac: 0x22,
  staticKey: 0x23
} as const

const one = (w: Writer, id: number, v: number): void => {
  w.varint(id)
  w.varint(varintLength(v))
  w.varint(v)
}

/**
 * Writes the parameters (the HELLO frame's body).
 *
 * @since 0.2.0
 * @category codecs
 */
export const writeParams = (w: Writer, p: Params): void => {
  one(w, ParamId.maxMessageSize, p.maxMessageSize)
  one(w, ParamId.initialMaxData, p.initialMaxData)
  one(w, ParamId.maxAckDelay, p.maxAckDelay)
  one(w, ParamId.idleTimeout, p.idleTimeout)
  one(w, ParamId.maxDatagram, p.maxDatagram)
  w.varint(ParamId.initialIds)
  w.varint(varintLength(p.initialSet) + varintLength(p.initialDelivery) + varintLength(p.initialFragment))
  w.varint(p.initialSet)
  w.varint(p.initialDelivery)
  w.varint(p.initialFragment)
  one(w, ParamId.heartbeat, p.heartbeat)
  one(w, ParamId.baseDatagram, p.baseDatagram)
  const c = p.crypto
  if (c !== undefined) {
    bytes(w, ParamId.ephemeralKey, c.ephemeral)
    one(w, ParamId.cipher, c.cipher)
    bytes(w, ParamId.helloMac, c.mac)
    if (c.staticKey !== undefined) bytes(w, ParamId.staticKey, c.staticKey)
  }
}

const bytes = (w: Writer, id: number, v: Uint8Array): void => {
  w.varint(id)
  w.varint(v.length)
  w.bytes(v)
}

/**
 * The smallest values a peer may announce; below them the handshake fails
 * (a window smaller than a datagram, say, could never make progress).
 *
 * @since 0.2.0
 * @category constants
 */
export const MIN_DATAGRAM = 256

const sub = new Reader(new Uint8Array(0))

/**
 * Reads parameters from `r` up to `end`. Returns the parameters, or a string
 * naming what is wrong.
 *
 * @since 0.2.0
 * @category codecs
 */
export const readParams = (r: Reader, end: number): Params | string => {
  const seen = new Set<number>()
  let maxMessageSize = -1, initialMaxData = -1, maxAckDelay = -1, idleTimeout = -1, maxDatagram = -1, heartbeat = -1, baseDatagram = -1
  let initialSet = -1, initialDelivery = -1, initialFragment = -1
  let ephemeral: Uint8Array | undefined, cipher = -1, mac: Uint8Array | undefined, staticKey: Uint8Array | undefined
  while (r.pos < end && r.ok) {
    const id = r.varint()
    const length = r.varint()
    if (!r.ok || r.pos + length > end) return "truncated parameter"
    if (seen.has(id)) return `parameter ${id} given twice`
    seen.add(id)
    const v = sub.reset(r.buf, r.pos, r.pos + length)
    switch (id) {
      case ParamId.maxMessageSize:
        maxMessageSize = v.varint()
        break
      case ParamId.initialMaxData:
        initialMaxData = v.varint()
        break
      case ParamId.maxAckDelay:
        maxAckDelay = v.varint()
        break
      case ParamId.idleTimeout:
        idleTimeout = v.varint()
        break
      case ParamId.maxDatagram:
        maxDatagram = v.varint()
        break
      case ParamId.initialIds:
        initialSet = v.varint()
        initialDelivery = v.varint()
        initialFragment = v.varint()
        break
      case ParamId.heartbeat:
        heartbeat = v.varint()
        break
      case ParamId.baseDatagram:
        baseDatagram = v.varint()
        break
      case ParamId.ephemeralKey:
        ephemeral = v.bytes(32).slice()
        break
      case ParamId.cipher:
        cipher = v.varint()
        break
      case ParamId.helloMac:
        mac = v.bytes(32).slice()
        break
      case ParamId.staticKey:
        staticKey = v.bytes(32).slice()
        break
      default:
        // unknown: skipped (forward compatible)
        v.pos = v.end
    }
    if (!v.ok || v.pos !== v.end) return `malformed parameter ${id}`
    r.pos += length
  }
  if (!r.ok || r.pos !== end) return "truncated parameters"
  if (maxMessageSize < 1) return "maxMessageSize missing"
  if (initialMaxData < 1) return "initialMaxData missing"
  if (maxAckDelay < 0 || maxAckDelay > 16384) return "maxAckDelay missing or over 16384 ms"
  if (idleTimeout < 1) return "idleTimeout missing"
  if (maxDatagram < MIN_DATAGRAM) return `maxDatagram missing or under ${MIN_DATAGRAM}`
  if (initialSet < 0 || initialDelivery < 0 || initialFragment < 0) return "initialIds missing"
  if (Math.max(initialSet, initialDelivery, initialFragment) > MAX_INITIAL_ID) return "initialIds too large"
  if (heartbeat < 1) return "heartbeat missing"
  // A peer that does not send it (an earlier build) meant its maxDatagram as its configured size.
  if (baseDatagram < 0) baseDatagram = maxDatagram
  if (baseDatagram < MIN_DATAGRAM || baseDatagram > maxDatagram) return `baseDatagram under ${MIN_DATAGRAM} or over maxDatagram`
  const some = ephemeral !== undefined || cipher >= 0 || mac !== undefined || staticKey !== undefined
  if (some && (ephemeral === undefined || cipher < 0 || mac === undefined)) return "encryption parameters incomplete"
  const base = { maxMessageSize, initialMaxData, maxAckDelay, idleTimeout, maxDatagram, initialSet, initialDelivery, initialFragment, heartbeat, baseDatagram }
  return some ? { ...base, crypto: { ephemeral: ephemeral!, cipher, mac: mac!, staticKey } } : base
}

/**
 * The largest first id an endpoint may announce (2^48): a connection then has
 * 2^53 − 2^48 ids left, more than it can use.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_INITIAL_ID = 2 ** 48
