/**
 * Init Cookies (RFC 4340 §8.1.4): everything a listener needs to create the
 * connection when the handshake Ack arrives, sealed with a MAC, so that a
 * listener under a Request flood keeps no per-Request state.
 *
 * Contents: a version, the time of issue (ms of the driver's clock, modulo
 * 2^32), ISS, ISR, the Service Code, and the feature-negotiation options of
 * the Request. Feature negotiation is a pure function of the listener's
 * settings and those options, so replaying them reproduces the exact
 * negotiation state the Response announced. The MAC is HMAC-SHA-256 keyed
 * with the listener's secret, truncated to 16 bytes, over the contents and the
 * flow (addresses and ports), so a cookie is useless from another address.
 * HMAC is computed by `node:crypto`, which is pure computation: same secret
 * and input, same cookie.
 *
 * The whole cookie must fit one option: 253 bytes (§5.8). A Request whose
 * feature options do not fit is handled statefully instead.
 *
 * @since 0.1.0
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { MAX_OPTION_VALUE } from "./Options.ts"

const VERSION = 1
const MAC_BYTES = 16
/** version(1) issuedAt(4) ISS(6) ISR(6) service(4) optionsLength(1) */
const FIXED_BYTES = 22

/**
 * What a cookie carries.
 *
 * @since 0.1.0
 * @category models
 */
export interface CookieContents {
  /** When the Response was sent, in ms of the driver's clock modulo 2^32. */
  readonly issuedAt: number
  readonly iss: number
  readonly isr: number
  readonly serviceCode: number
  /** The Change/Confirm options of the Request, as received. */
  readonly requestOptions: Uint8Array
}

/**
 * The largest `requestOptions` a cookie can carry.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_COOKIE_OPTIONS = MAX_OPTION_VALUE - FIXED_BYTES - MAC_BYTES

const put48 = (out: Uint8Array, o: number, v: number): void => {
  let x = v
  for (let i = 5; i >= 0; i--) {
    out[o + i] = x % 256
    x = Math.floor(x / 256)
  }
}

const get48 = (b: Uint8Array, o: number): number => {
  let v = 0
  for (let i = 0; i < 6; i++) v = v * 256 + b[o + i]!
  return v
}

const put32 = (out: Uint8Array, o: number, v: number): void => {
  out[o] = (v >>> 24) & 0xff
  out[o + 1] = (v >>> 16) & 0xff
  out[o + 2] = (v >>> 8) & 0xff
  out[o + 3] = v & 0xff
}

const get32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!)

const mac = (secret: Uint8Array, flow: Uint8Array, body: Uint8Array): Uint8Array => {
  const h = createHmac("sha256", secret)
  h.update(flow)
  h.update(body)
  return new Uint8Array(h.digest().subarray(0, MAC_BYTES))
}

/**
 * Seals a cookie, or returns `undefined` when the contents do not fit.
 *
 * @since 0.1.0
 * @category encoding
 */
export const sealCookie = (secret: Uint8Array, flow: Uint8Array, contents: CookieContents): Uint8Array | undefined => {
  if (contents.requestOptions.length > MAX_COOKIE_OPTIONS) return undefined
  const body = new Uint8Array(FIXED_BYTES + contents.requestOptions.length)
  body[0] = VERSION
  put32(body, 1, contents.issuedAt >>> 0)
  put48(body, 5, contents.iss)
  put48(body, 11, contents.isr)
  put32(body, 17, contents.serviceCode >>> 0)
  body[21] = contents.requestOptions.length
  body.set(contents.requestOptions, FIXED_BYTES)
  const out = new Uint8Array(body.length + MAC_BYTES)
  out.set(body)
  out.set(mac(secret, flow, body), body.length)
  return out
}

/**
 * Opens a cookie: checks its MAC for this flow and its age at `now`
 * (at most `lifetimeMs`), and returns the contents, or `undefined`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const openCookie = (
  secret: Uint8Array,
  flow: Uint8Array,
  cookie: Uint8Array,
  now: number,
  lifetimeMs: number
): CookieContents | undefined => {
  if (cookie.length < FIXED_BYTES + MAC_BYTES || cookie[0] !== VERSION) return undefined
  const optionsLength = cookie[21]!
  if (cookie.length !== FIXED_BYTES + optionsLength + MAC_BYTES) return undefined
  const body = cookie.subarray(0, FIXED_BYTES + optionsLength)
  const expected = mac(secret, flow, body)
  if (!timingSafeEqual(expected, cookie.subarray(body.length))) return undefined
  const issuedAt = get32(cookie, 1)
  const age = (Math.floor(now) - issuedAt) >>> 0
  if (age > lifetimeMs) return undefined
  return {
    issuedAt,
    iss: get48(cookie, 5),
    isr: get48(cookie, 11),
    serviceCode: get32(cookie, 17),
    requestOptions: cookie.slice(FIXED_BYTES, FIXED_BYTES + optionsLength)
  }
}
