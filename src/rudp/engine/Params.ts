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
 * | 0x05 | maxDatagram | varint: the largest datagram it accepts (bytes) |
 * | 0x06 | initialIds | three varints: its first set id, Delivery id and fragment id |
 * | 0x07 | heartbeat | varint: milliseconds between its keep-alive PINGs |
 * | 0x20–0x2f | reserved for encryption (key share, cipher suites) |
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
  heartbeat: 0x07
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
  let maxMessageSize = -1, initialMaxData = -1, maxAckDelay = -1, idleTimeout = -1, maxDatagram = -1, heartbeat = -1
  let initialSet = -1, initialDelivery = -1, initialFragment = -1
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
  return { maxMessageSize, initialMaxData, maxAckDelay, idleTimeout, maxDatagram, initialSet, initialDelivery, initialFragment, heartbeat }
}

/**
 * The largest first id an endpoint may announce (2^48): a connection then has
 * 2^53 − 2^48 ids left, more than it can use.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_INITIAL_ID = 2 ** 48
