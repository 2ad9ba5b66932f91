/**
 * Stateless retry tokens of the endpoint server (RFC 9000 §8.1.2 in spirit):
 * a token proves that whoever sends an Initial with it received the server's
 * Retry at that source address, so the server keeps no state for a source
 * until it has one. Layout (29 bytes):
 *
 * ```
 * version u8 (1) | issued at u32 (seconds of the server's clock) | cid (8 bytes, the id the Retry named) | HMAC-SHA-256 truncated to 16 bytes
 * ```
 *
 * The HMAC covers the version, the time, the connection id and the source
 * address (its text form, `"10.0.0.1:49152"`), under a key the server draws
 * at start: a token from another address, another server instance, with a
 * changed byte, or older than its lifetime is refused.
 *
 * @since 0.2.0
 */
import { createHmac, timingSafeEqual } from "node:crypto"

/**
 * Bytes of a token.
 *
 * @since 0.2.0
 * @category constants
 */
export const TOKEN_BYTES = 1 + 4 + 8 + 16

const TOKEN_VERSION = 1

/**
 * Why a token was refused.
 *
 * @since 0.2.0
 * @category models
 */
export type TokenError = "token-malformed" | "token-forged" | "token-expired"

const mac = (key: Uint8Array, head: Uint8Array, address: string): Buffer =>
  createHmac("sha256", key).update(head).update(address).digest().subarray(0, 16)

/**
 * A token for `address`, naming connection id `cid` (8 bytes), issued at
 * `nowMs`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const mint = (key: Uint8Array, address: string, cid: Uint8Array, nowMs: number): Uint8Array => {
  const t = new Uint8Array(TOKEN_BYTES)
  t[0] = TOKEN_VERSION
  new DataView(t.buffer).setUint32(1, Math.floor(nowMs / 1000) >>> 0)
  t.set(cid.subarray(0, 8), 5)
  t.set(mac(key, t.subarray(0, 13), address), 13)
  return t
}

/**
 * Checks a token from `address`: the connection id it names, or why it is
 * refused. `lifetimeMs` bounds its age.
 *
 * @since 0.2.0
 * @category utils
 */
export const verify = (key: Uint8Array, address: string, token: Uint8Array, nowMs: number, lifetimeMs: number): Uint8Array | TokenError => {
  if (token.length !== TOKEN_BYTES || token[0] !== TOKEN_VERSION) return "token-malformed"
  const expected = mac(key, token.subarray(0, 13), address)
  if (!timingSafeEqual(expected, token.subarray(13))) return "token-forged"
  const issued = new DataView(token.buffer, token.byteOffset, token.length).getUint32(1) * 1000
  const now = Math.floor(nowMs / 1000) * 1000
  if (now - issued > lifetimeMs || issued > now) return "token-expired"
  return token.slice(5, 13)
}
