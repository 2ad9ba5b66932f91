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
 * - **Key update** (RFC 9001 §6). Each direction has a secret; its packet key
 *   and IV are derived from it, and the next generation's secret from it with
 *   the label "rudp v1 ku" (the header-protection key stays). The key phase
 *   bit of the short header (under header protection) names the generation's
 *   parity. An end updates its sending keys after `keyUpdateAfter` packets
 *   (well before AES-GCM's confidentiality limit of 2^23 packets per key,
 *   RFC 9001 §6.6) once the peer acknowledged a packet of the current phase;
 *   the peer follows when a packet of the other phase opens under its next
 *   receive keys. The previous receive keys open packets numbered before the
 *   switch (reordered ones) for 3 × PTO after it. Packets failing authentication are counted over
 *   all keys; past the integrity limit the connection ends.
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
 * RFC 9001 §6.6 confidentiality limit: packets one key may seal. AES-GCM's is
 * 2^23; ChaCha20-Poly1305's (2^62) is out of reach.
 *
 * @since 0.2.0
 * @category constants
 */
export const CONFIDENTIALITY_LIMIT: Readonly<Record<Cipher, number>> = { "aes-256-gcm": 2 ** 23, "chacha20-poly1305": 2 ** 62 }

/**
 * RFC 9001 §6.6 integrity limit: packets failing authentication, over all keys
 * of a connection, before it must end.
 *
 * @since 0.2.0
 * @category constants
 */
export const INTEGRITY_LIMIT: Readonly<Record<Cipher, number>> = { "aes-256-gcm": 2 ** 52, "chacha20-poly1305": 2 ** 36 }

/**
 * Packets sealed with one key before the sender updates it (default): half of
 * AES-GCM's confidentiality limit.
 *
 * @since 0.2.0
 * @category constants
 */
export const KEY_UPDATE_AFTER = 2 ** 22

/**
 * The key phase bit of a short header's first byte.
 *
 * @since 0.2.0
 * @category constants
 */
export const KEY_PHASE_BIT = 0x04

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
  /** Packets sealed with one key before a key update (default `KEY_UPDATE_AFTER`). */
  readonly keyUpdateAfter: number
  /** Packets failing authentication before the connection ends (default `INTEGRITY_LIMIT` of the cipher). */
  readonly integrityLimit: number
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

const EMPTY = new Uint8Array(0)

/** What one direction uses: one generation of keys. */
class DirectionKeys {
  readonly cipher: Cipher
  /** This generation's secret: the next one's is derived from it. */
  readonly secret: Uint8Array
  readonly key: Uint8Array
  readonly iv: Uint8Array
  readonly #hp: HeaderProtection
  readonly #nonce = new Uint8Array(12)
  readonly #options = { authTagLength: AEAD_TAG_BYTES }
  constructor(cipher: Cipher, secret: Uint8Array, hp: HeaderProtection) {
    this.cipher = cipher
    this.secret = secret
    const keyIv = hkdf(secret, EMPTY, text("rudp v1 packet"), 32 + 12)
    this.key = keyIv.subarray(0, 32)
    this.iv = keyIv.subarray(32, 44)
    this.#hp = hp
  }

  /** The next generation (RFC 9001 §6.1): a secret derived from this one, the same header protection. */
  next(): DirectionKeys {
    return new DirectionKeys(this.cipher, hkdf(this.secret, EMPTY, text("rudp v1 ku"), 32), this.#hp)
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

  mask(sample: Uint8Array): Uint8Array {
    return this.#hp.mask(sample)
  }

  /** The masks of `count` samples laid end to end in `samples`: mask `i` at `16 × i` of the result. */
  masks(samples: Uint8Array, count: number): Uint8Array {
    return this.#hp.masks(samples, count)
  }

  /** Seals `buf[payloadStart, payloadEnd)` in place, the tag after it, `buf[0, payloadStart)` as associated data. */
  seal(buf: Uint8Array, payloadStart: number, payloadEnd: number, pn: number): void {
    const c = createCipheriv(this.cipher as "aes-256-gcm", this.key, this.nonce(pn), this.#options)
    c.setAAD(buf.subarray(0, payloadStart))
    buf.set(c.update(buf.subarray(payloadStart, payloadEnd)), payloadStart)
    c.final()
    buf.set(c.getAuthTag(), payloadEnd)
  }

  /** Opens `buf[payloadStart, ctEnd)` in place with the tag at `ctEnd`; whether it was authentic. */
  open(buf: Uint8Array, payloadStart: number, ctEnd: number, pn: number): boolean {
    try {
      const d = createDecipheriv(this.cipher as "aes-256-gcm", this.key, this.nonce(pn), this.#options)
      d.setAAD(buf.subarray(0, payloadStart))
      d.setAuthTag(buf.subarray(ctEnd, ctEnd + AEAD_TAG_BYTES))
      const plain = d.update(buf.subarray(payloadStart, ctEnd))
      d.final()
      buf.set(plain, payloadStart)
      return true
    } catch {
      return false
    }
  }
}

/** A direction's header protection (RFC 9001 §5.4): its key outlives key updates. */
class HeaderProtection {
  readonly #hp: Uint8Array
  readonly #ecb: ReturnType<typeof createCipheriv> | undefined
  readonly #zeros = new Uint8Array(5)
  constructor(cipher: Cipher, hp: Uint8Array) {
    this.#hp = hp
    if (cipher === "aes-256-gcm") {
      const ecb = createCipheriv("aes-256-ecb", hp, null)
      ecb.setAutoPadding(false)
      this.#ecb = ecb
    }
  }

  /** The 5-byte mask of a 16-byte sample (RFC 9001 §5.4.3 and §5.4.4). */
  mask(sample: Uint8Array): Uint8Array {
    if (this.#ecb !== undefined) return this.#ecb.update(sample)
    return createCipheriv("chacha20", this.#hp, sample).update(this.#zeros)
  }

  /**
   * The masks of `count` 16-byte samples laid end to end: with AES, one ECB
   * call for all of them (ECB encrypts each block alone, so mask `i` is the
   * block at `16 × i`, as `mask` of that sample would give); ChaCha20 needs a
   * cipher per sample (the sample is its counter and nonce).
   */
  masks(samples: Uint8Array, count: number): Uint8Array {
    if (this.#ecb !== undefined) return this.#ecb.update(samples.subarray(0, count * SAMPLE_BYTES))
    const out = new Uint8Array(count * SAMPLE_BYTES)
    for (let i = 0; i < count; i++) out.set(this.mask(samples.subarray(i * SAMPLE_BYTES, (i + 1) * SAMPLE_BYTES)), i * SAMPLE_BYTES)
    return out
  }
}

/** Sealed packets whose header protection waits for the end of a batch (`PacketKeys.deferMasks`). */
class PendingMasks {
  readonly packets: Array<Uint8Array> = []
  readonly pnOffsets: Array<number> = []
  readonly pnLengths: Array<number> = []
  samples = new Uint8Array(32 * SAMPLE_BYTES)
  count = 0

  add(buf: Uint8Array, pnOffset: number, pnLength: number): void {
    const i = this.count++
    if (this.samples.length < this.count * SAMPLE_BYTES) {
      const grown = new Uint8Array(2 * this.samples.length)
      grown.set(this.samples)
      this.samples = grown
    }
    this.samples.set(buf.subarray(pnOffset + 4, pnOffset + 4 + SAMPLE_BYTES), i * SAMPLE_BYTES)
    this.packets[i] = buf
    this.pnOffsets[i] = pnOffset
    this.pnLengths[i] = pnLength
  }
}

/** Applies a header-protection mask (at `at` of `mask`) to a packet's first byte and packet number. */
const applyMask = (buf: Uint8Array, pnOffset: number, pnLength: number, mask: Uint8Array, at: number): void => {
  buf[0]! ^= mask[at]! & 0x1f
  for (let i = 0; i < pnLength; i++) buf[pnOffset + i]! ^= mask[at + 1 + i]!
}

/**
 * The packet protection of an established connection, with its key updates
 * (RFC 9001 §6).
 *
 * @since 0.2.0
 * @category models
 */
export class PacketKeys {
  /** The sending keys, their phase bit, packets sealed with them, and the first packet number they sealed (−1: none yet). */
  send: DirectionKeys
  sendPhase = 0
  sealed = 0
  sendPhaseStart = -1
  /** The receiving keys and their phase bit, the first packet number they opened after a switch, the previous and next generations. */
  receive: DirectionKeys
  receivePhase = 0
  receivePhaseStart = 0
  previous: DirectionKeys | undefined = undefined
  /** Until when the previous receive keys are kept (RFC 9001 §6.5: about 3 × PTO after the switch). */
  previousUntil = 0
  #next: DirectionKeys | undefined = undefined
  /** Key updates: initiated by this end, and followed (the peer's). */
  initiated = 0
  followed = 0
  /** Packets that failed authentication, over all keys. */
  failures = 0
  /**
   * While set, `seal` leaves the header unprotected and queues it: the
   * sender's batch then protects every header at once (`protectHeaders`),
   * before any of its datagrams leaves.
   */
  deferMasks = false
  readonly #pending = new PendingMasks()
  readonly keyUpdateAfter: number
  readonly integrityLimit: number
  readonly confidentialityLimit: number
  constructor(send: DirectionKeys, receive: DirectionKeys, config: EncryptionConfig) {
    this.send = send
    this.receive = receive
    this.keyUpdateAfter = config.keyUpdateAfter
    this.integrityLimit = config.integrityLimit
    this.confidentialityLimit = CONFIDENTIALITY_LIMIT[config.cipher]
  }

  /** Whether the sending keys sealed all the packets they may (the connection must end). */
  get exhausted(): boolean {
    return this.sealed >= this.confidentialityLimit
  }

  /** Whether the integrity limit was passed (the connection must end). */
  get integrityExceeded(): boolean {
    return this.failures > this.integrityLimit
  }

  /**
   * Updates the sending keys when they sealed `keyUpdateAfter` packets and the
   * peer acknowledged one of them (`largestAcked`): it has the current keys,
   * so it can follow (RFC 9001 §6.1). Returns whether it updated.
   */
  maybeUpdate(largestAcked: number): boolean {
    if (this.sealed < this.keyUpdateAfter || this.sendPhaseStart < 0 || largestAcked < this.sendPhaseStart) return false
    this.#updateSend()
    this.initiated++
    return true
  }

  #updateSend(): void {
    this.send = this.send.next()
    this.sendPhase ^= 1
    this.sealed = 0
    this.sendPhaseStart = -1
  }

  /**
   * Seals `buf[payloadStart, payloadEnd)` in place (the tag is written after
   * it) with the header `buf[0, payloadStart)` — its key phase bit set here —
   * as associated data, then masks the header. Returns the packet's end.
   */
  seal(buf: Uint8Array, pnOffset: number, pnLength: number, payloadStart: number, payloadEnd: number, pn: number): number {
    const k = this.send
    buf[0] = (buf[0]! & ~KEY_PHASE_BIT) | (this.sendPhase === 1 ? KEY_PHASE_BIT : 0)
    k.seal(buf, payloadStart, payloadEnd, pn)
    this.sealed++
    if (this.sendPhaseStart < 0) this.sendPhaseStart = pn
    const end = payloadEnd + AEAD_TAG_BYTES
    // The sample (ciphertext from 4 bytes after the packet number's start) is not changed by the mask.
    if (this.deferMasks) this.#pending.add(buf, pnOffset, pnLength)
    else applyMask(buf, pnOffset, pnLength, k.mask(buf.subarray(pnOffset + 4, pnOffset + 4 + SAMPLE_BYTES)), 0)
    return end
  }

  /**
   * Protects the headers `seal` deferred (`deferMasks`), with one call for
   * all of their masks. The header-protection key outlives key updates, so
   * one batch may span one.
   */
  protectHeaders(): void {
    const p = this.#pending
    if (p.count === 0) return
    const masks = this.send.masks(p.samples, p.count)
    for (let i = 0; i < p.count; i++) applyMask(p.packets[i]!, p.pnOffsets[i]!, p.pnLengths[i]!, masks, i * SAMPLE_BYTES)
    p.packets.fill(EMPTY, 0, p.count)
    p.count = 0
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
   * (unmasked) header before it as associated data, under the keys its key
   * phase bit names: the current ones; the previous ones for a packet numbered
   * before the last switch, until `retainMs` after it; else the next ones — and
   * when those open it, the receiving keys move on, and the sending keys follow
   * if this end had not updated them first. Returns the plaintext's end, or −1
   * when the packet is not authentic (counted).
   */
  open(buf: Uint8Array, payloadStart: number, end: number, pn: number, now: number, retainMs: number): number {
    const ctEnd = end - AEAD_TAG_BYTES
    if (ctEnd < payloadStart) {
      this.failures++
      return -1
    }
    const phase = (buf[0]! & KEY_PHASE_BIT) === 0 ? 0 : 1
    if (phase === this.receivePhase) {
      if (this.receive.open(buf, payloadStart, ctEnd, pn)) return ctEnd
    } else if (pn < this.receivePhaseStart) {
      if (this.previous !== undefined && now > this.previousUntil) this.previous = undefined
      if (this.previous?.open(buf, payloadStart, ctEnd, pn) === true) return ctEnd
    } else {
      const next = this.#next ??= this.receive.next()
      if (next.open(buf, payloadStart, ctEnd, pn)) {
        this.previous = this.receive
        this.previousUntil = now + retainMs
        this.receive = next
        this.#next = undefined
        this.receivePhase = phase
        this.receivePhaseStart = pn
        if (this.sendPhase !== phase) {
          this.#updateSend()
          this.followed++
        }
        return ctEnd
      }
    }
    this.failures++
    return -1
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
      const theirs = Object.keys(CIPHER_ID).find((name) => CIPHER_ID[name as Cipher] === peer.cipher) ?? `cipher ${peer.cipher}`
      return { incompatible: `the peer's cipher (${theirs}) is not this end's ${this.config.cipher}: configure the same \`cipher\` on both ends` }
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
    // Per direction: the first generation's secret and the header-protection key.
    const prk = hkdf(shared, secret, concat(text("rudp v1 keys"), a, b, Uint8Array.of(peer.cipher)), 2 * (32 + 32))
    const cipher = this.config.cipher
    const keysOf = (at: number) => new DirectionKeys(cipher, prk.slice(at, at + 32), new HeaderProtection(cipher, prk.slice(at + 32, at + 64)))
    const ka = keysOf(0), kb = keysOf(64)
    return aFirst ? new PacketKeys(ka, kb, this.config) : new PacketKeys(kb, ka, this.config)
  }
}
