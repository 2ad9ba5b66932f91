/**
 * Opt-in encryption of a connection (docs/rudp.md, "Encryption"): every
 * primitive comes from `node:crypto` (OpenSSL); nothing here is hand-written
 * cryptography.
 *
 * - **Key exchange.** Each end draws an ephemeral X25519 key pair (from the
 *   engine's random source) and sends its public key in its HELLO. Both derive
 *   the shared secret, and from it with HKDF-SHA-256 — salted with the
 *   authentication secret — a key, an IV and a header-protection key for each
 *   direction. The directions are named by the ephemeral public keys (the
 *   smaller one is side A), so two symmetric ends (the crate's pair of
 *   clients) agree without roles.
 * - **Authentication.** The authentication secret is a pre-shared key, or
 *   the X25519 product of the two ends' static key pairs (each HELLO then
 *   carries its static public key; an end checks it against the key it
 *   expects). Each HELLO carries an HMAC-SHA-256, under a key derived from
 *   that secret, of its ephemeral public key and cipher: an end without the
 *   secret can neither forge a HELLO nor compute the session keys.
 * - **Packets.** After the handshake every (short-header) packet is sealed
 *   with an AEAD — ChaCha20-Poly1305 (default) or AES-256-GCM — whose nonce is
 *   the IV XOR the full packet number and whose associated data is the
 *   header; its 16-byte tag replaces the CRC-32. Header protection masks the
 *   low 5 bits of the first byte and the packet number with a mask computed
 *   from a sample of the ciphertext (RFC 9001 §5.4: AES-ECB, or the ChaCha20
 *   block function).
 *
 * @since 0.2.0
 */
import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject, timingSafeEqual } from "node:crypto"

/**
 * The AEAD of a connection.
 *
 * @since 0.2.0
 * @category models
 */
export type Cipher = "chacha20-poly1305" | "aes-256-gcm"

/**
 * Cipher ids on the wire (HELLO parameter 0x21).
 *
 * @since 0.2.0
 * @category constants
 */
export const CIPHER_ID: Readonly<Record<Cipher, number>> = { "chacha20-poly1305": 1, "aes-256-gcm": 2 }

/**
 * Bytes of the AEAD tag.
 *
 * @since 0.2.0
 * @category constants
 */
export const AEAD_TAG_BYTES = 16

/**
 * Bytes of the header-protection sample.
 *
 * @since 0.2.0
 * @category constants
 */
export const SAMPLE_BYTES = 16

/**
 * How an endpoint authenticates its peer.
 *
 * @since 0.2.0
 * @category models
 */
export type Authentication =
  /** A key both ends know (at least 16 bytes). */
  | { readonly psk: Uint8Array }
  /**
   * This end's static X25519 private key (32 raw bytes), and the peer's static
   * public key it expects (32 raw bytes; absent: any peer key, the peer then
   * stays anonymous — the TLS server-only model).
   */
  | { readonly privateKey: Uint8Array; readonly peerPublicKey?: Uint8Array | undefined }

/**
 * A validated encryption configuration.
 *
 * @since 0.2.0
 * @category models
 */
export interface EncryptionConfig {
  readonly cipher: Cipher
  readonly authentication: Authentication
}

const PKCS8_X25519 = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])
const SPKI_X25519 = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00])

const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/**
 * An X25519 private key from 32 raw bytes.
 *
 * @since 0.2.0
 * @category utils
 */
export const privateKeyOf = (raw: Uint8Array): KeyObject => createPrivateKey({ key: Buffer.from(concat(PKCS8_X25519, raw)), format: "der", type: "pkcs8" })

/**
 * An X25519 public key from 32 raw bytes.
 *
 * @since 0.2.0
 * @category utils
 */
export const publicKeyOf = (raw: Uint8Array): KeyObject => createPublicKey({ key: Buffer.from(concat(SPKI_X25519, raw)), format: "der", type: "spki" })

/**
 * The 32 raw bytes of the public key of a private key.
 *
 * @since 0.2.0
 * @category utils
 */
export const rawPublicKey = (privateKey: KeyObject): Uint8Array => {
  const der = createPublicKey(privateKey).export({ format: "der", type: "spki" })
  return new Uint8Array(der.subarray(der.length - 32))
}

/**
 * A new X25519 key pair as raw bytes (`randomBytes` supplies the private key),
 * for `encryption: { privateKey }`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const keyPair = (randomBytes: Uint8Array): { readonly privateKey: Uint8Array; readonly publicKey: Uint8Array } => {
  if (randomBytes.length !== 32) throw new RangeError("an X25519 private key is 32 bytes")
  return { privateKey: randomBytes.slice(), publicKey: rawPublicKey(privateKeyOf(randomBytes)) }
}

const compare = (a: Uint8Array, b: Uint8Array): number => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

const hkdf = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array =>
  new Uint8Array(hkdfSync("sha256", ikm, salt, info, length))

/** What one direction uses. */
class DirectionKeys {
  readonly key: Uint8Array
  readonly iv: Uint8Array
  readonly hp: Uint8Array
  readonly #nonce = new Uint8Array(12)
  readonly #hpEcb: ReturnType<typeof createCipheriv> | undefined
  readonly #zeros = new Uint8Array(5)
  readonly cipher: Cipher
  constructor(cipher: Cipher, key: Uint8Array, iv: Uint8Array, hp: Uint8Array) {
    this.cipher = cipher
    this.key = key
    this.iv = iv
    this.hp = hp
    if (cipher === "aes-256-gcm") {
      const ecb = createCipheriv("aes-256-ecb", hp, null)
      ecb.setAutoPadding(false)
      this.#hpEcb = ecb
    }
  }

  nonce(pn: number): Uint8Array {
    const n = this.#nonce
    n.set(this.iv)
    // The packet number, big-endian, XORed into the IV's last 8 bytes.
    let v = pn
    for (let i = 11; i >= 4; i--) {
      n[i]! ^= v % 256
      v = Math.floor(v / 256)
    }
    return n
  }

  /** The 5-byte header-protection mask of a 16-byte sample (RFC 9001 §5.4.3 and §5.4.4). */
  mask(sample: Uint8Array): Uint8Array {
    if (this.#hpEcb !== undefined) return this.#hpEcb.update(sample)
    return createCipheriv("chacha20", this.hp, sample).update(this.#zeros)
  }
}

/**
 * The packet protection of an established connection.
 *
 * @since 0.2.0
 * @category models
 */
export class PacketKeys {
  readonly send: DirectionKeys
  readonly receive: DirectionKeys
  constructor(send: DirectionKeys, receive: DirectionKeys) {
    this.send = send
    this.receive = receive
  }

  /**
   * Seals `buf[payloadStart, payloadEnd)` in place (the tag is written after
   * it) with the header `buf[0, payloadStart)` as associated data, then masks
   * the header. Returns the packet's end.
   */
  seal(buf: Uint8Array, pnOffset: number, pnLength: number, payloadStart: number, payloadEnd: number, pn: number): number {
    const k = this.send
    const c = createCipheriv(k.cipher as "aes-256-gcm", k.key, k.nonce(pn), { authTagLength: AEAD_TAG_BYTES })
    c.setAAD(buf.subarray(0, payloadStart))
    const out = c.update(buf.subarray(payloadStart, payloadEnd))
    buf.set(out, payloadStart)
    c.final()
    buf.set(c.getAuthTag(), payloadEnd)
    const end = payloadEnd + AEAD_TAG_BYTES
    const mask = k.mask(buf.subarray(pnOffset + 4, pnOffset + 4 + SAMPLE_BYTES))
    buf[0]! ^= mask[0]! & 0x1f
    for (let i = 0; i < pnLength; i++) buf[pnOffset + i]! ^= mask[1 + i]!
    return end
  }

  /**
   * Removes the header protection of `packet` into `out` (a copy): returns the
   * packet number's length, or −1 when the packet is too short to sample.
   */
  unmask(packet: Uint8Array, pnOffset: number, out: Uint8Array): number {
    if (packet.length < pnOffset + 4 + SAMPLE_BYTES) return -1
    out.set(packet)
    const mask = this.receive.mask(packet.subarray(pnOffset + 4, pnOffset + 4 + SAMPLE_BYTES))
    out[0]! ^= mask[0]! & 0x1f
    const pnLength = (out[0]! & 0x03) + 1
    for (let i = 0; i < pnLength; i++) out[pnOffset + i]! ^= mask[1 + i]!
    return pnLength
  }

  /**
   * Opens `buf[payloadStart, end)` (ciphertext and tag) in place, with the
   * header before it as associated data. Returns the plaintext's end, or −1
   * when the packet is not authentic.
   */
  open(buf: Uint8Array, payloadStart: number, end: number, pn: number): number {
    const k = this.receive
    const ctEnd = end - AEAD_TAG_BYTES
    if (ctEnd < payloadStart) return -1
    try {
      const d = createDecipheriv(k.cipher as "aes-256-gcm", k.key, k.nonce(pn), { authTagLength: AEAD_TAG_BYTES })
      d.setAAD(buf.subarray(0, payloadStart))
      d.setAuthTag(buf.subarray(ctEnd, end))
      const plain = d.update(buf.subarray(payloadStart, ctEnd))
      d.final()
      buf.set(plain, payloadStart)
      return ctEnd
    } catch {
      return -1
    }
  }
}

/**
 * One end's handshake secrets: its ephemeral key pair and its authentication.
 *
 * @since 0.2.0
 * @category models
 */
export class Handshake {
  readonly config: EncryptionConfig
  readonly ephemeralPublic: Uint8Array
  readonly #ephemeral: KeyObject
  readonly #static: KeyObject | undefined
  readonly staticPublic: Uint8Array | undefined

  constructor(config: EncryptionConfig, ephemeralPrivate: Uint8Array) {
    this.config = config
    this.#ephemeral = privateKeyOf(ephemeralPrivate)
    this.ephemeralPublic = rawPublicKey(this.#ephemeral)
    const auth = config.authentication
    if ("privateKey" in auth) {
      this.#static = privateKeyOf(auth.privateKey)
      this.staticPublic = rawPublicKey(this.#static)
    }
  }

  /** The authentication secret with a peer whose static key is `peerStatic` (key-pair mode). */
  #authSecret(peerStatic: Uint8Array | undefined): Uint8Array | string {
    const auth = this.config.authentication
    if ("psk" in auth) return auth.psk
    if (peerStatic === undefined || peerStatic.length !== 32) return "the peer sent no static public key"
    if (auth.peerPublicKey !== undefined && (peerStatic.length !== auth.peerPublicKey.length || !timingSafeEqual(peerStatic, auth.peerPublicKey))) {
      return "the peer's static public key is not the one expected"
    }
    try {
      return new Uint8Array(diffieHellman({ privateKey: this.#static!, publicKey: publicKeyOf(peerStatic) }))
    } catch {
      return "the peer's static public key is not an X25519 key"
    }
  }

  /** The HELLO's MAC over an ephemeral key and a cipher, under the authentication secret. */
  static mac(secret: Uint8Array, ephemeral: Uint8Array, cipher: number): Uint8Array {
    const key = hkdf(secret, text("rudp v1 hello"), text("mac"), 32)
    return new Uint8Array(createHmac("sha256", key).update(ephemeral).update(Uint8Array.of(cipher)).digest())
  }

  /** This end's HELLO MAC (key-pair mode: toward a peer whose static key is not known yet, over the static DH with it). */
  ownMac(peerStatic: Uint8Array | undefined): Uint8Array | undefined {
    const secret = this.#authSecret(peerStatic)
    return typeof secret === "string" ? undefined : Handshake.mac(secret, this.ephemeralPublic, CIPHER_ID[this.config.cipher])
  }

  /**
   * Checks the peer's HELLO and derives the packet keys, or says what is
   * wrong (an `Incompatible` cipher, or a failed authentication).
   */
  complete(peer: { readonly ephemeral: Uint8Array; readonly cipher: number; readonly mac: Uint8Array; readonly staticKey?: Uint8Array | undefined }):
    | PacketKeys
    | { readonly incompatible: string }
    | { readonly unauthenticated: string }
  {
    if (peer.cipher !== CIPHER_ID[this.config.cipher]) {
      return { incompatible: `the peer's cipher (${peer.cipher}) is not this end's ${this.config.cipher}` }
    }
    const secret = this.#authSecret(peer.staticKey)
    if (typeof secret === "string") return { unauthenticated: secret }
    const expected = Handshake.mac(secret, peer.ephemeral, peer.cipher)
    if (peer.mac.length !== expected.length || !timingSafeEqual(peer.mac, expected)) {
      return { unauthenticated: "the peer's HELLO is not authenticated by the shared secret (a wrong key)" }
    }
    let shared: Uint8Array
    try {
      shared = new Uint8Array(diffieHellman({ privateKey: this.#ephemeral, publicKey: publicKeyOf(peer.ephemeral) }))
    } catch {
      return { unauthenticated: "the peer's ephemeral key is not an X25519 key" }
    }
    const aFirst = compare(this.ephemeralPublic, peer.ephemeral) < 0
    const [a, b] = aFirst ? [this.ephemeralPublic, peer.ephemeral] : [peer.ephemeral, this.ephemeralPublic]
    const prk = hkdf(shared, secret, concat(text("rudp v1 keys"), a, b, Uint8Array.of(peer.cipher)), 2 * (32 + 12 + 32))
    const keysOf = (at: number) => new DirectionKeys(this.config.cipher, prk.slice(at, at + 32), prk.slice(at + 32, at + 44), prk.slice(at + 44, at + 76))
    const ka = keysOf(0), kb = keysOf(76)
    return aFirst ? new PacketKeys(ka, kb) : new PacketKeys(kb, ka)
  }
}
