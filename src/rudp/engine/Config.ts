/**
 * Engine configuration: every tunable with its default, and the validation
 * that turns a bad value into a message naming it (the driver makes that a
 * typed error). All durations are milliseconds, all sizes bytes.
 *
 * @since 0.2.0
 */
import { bbr } from "./Bbr.ts"
import { type CongestionFactory, fixedWindow } from "./Congestion.ts"
import { type Cipher, CONFIDENTIALITY_LIMIT, type EncryptionConfig, INTEGRITY_LIMIT, KEY_UPDATE_AFTER } from "./Crypto.ts"
import { newReno } from "./NewReno.ts"
import { MAX_CID } from "./Packet.ts"
import { MAX_INITIAL_ID, MIN_DATAGRAM } from "./Params.ts"

/**
 * Uniformly distributed unsigned 32-bit integers. The driver passes a
 * cryptographic source; tests pass a seeded one, so a run is reproducible.
 *
 * @since 0.2.0
 * @category models
 */
export type RandomSource = () => number

/**
 * The crate's resend policy (`resend_predicate(id_distance, age)`): resend a
 * `Delivery` fragment when it returns `true`. `idDistance` counts the Delivery
 * messages sent after this one; `ageMs` is the time since it was last sent.
 *
 * @since 0.2.0
 * @category models
 */
export type ResendPredicate = (idDistance: number, ageMs: number) => boolean

/**
 * The three predicates the crate ships (`rudp::resend_predicates`).
 *
 * @since 0.2.0
 * @category constants
 */
export const ResendPredicates: {
  /** Resend at 1 s of age, or earlier the further behind it is (`age_ms + 8·id_distance ≥ 1000`). The crate's default. */
  readonly mediumCombination: ResendPredicate
  /** Resend every 200 ms. */
  readonly twoHundredMillis: ResendPredicate
  /** Resend once 20 newer messages were sent. */
  readonly twentyIds: ResendPredicate
} = {
  mediumCombination: (idDistance, ageMs) => ageMs >= 1000 || ageMs + 8 * idDistance >= 1000,
  twoHundredMillis: (_idDistance, ageMs) => ageMs >= 200,
  twentyIds: (idDistance) => idDistance >= 20
}

/**
 * The controllers that ship.
 *
 * @since 0.2.0
 * @category models
 */
export type CongestionName = "bbr" | "aimd" | "none"

/**
 * @since 0.2.0
 * @category models
 */
export interface ConfigInput {
  /** `"client"` sends its HELLO at once (both ends of a pair may be clients); `"server"` waits for one. Default `"client"`. */
  readonly role?: "client" | "server" | undefined
  /**
   * The datagram size the path is known to carry (default 1200; 256–65507): the connection starts with
   * it (the smaller of both ends' is used) and never goes below it. Path MTU discovery raises the size in
   * use from there, up to `maxMtu`.
   */
  readonly mtu?: number | undefined
  /**
   * The largest datagram path MTU discovery may reach, and the largest this end receives (its HELLO's
   * `maxDatagram`): default 8,952 (a 9,000-byte jumbo frame less IPv6 and UDP headers), at least `mtu`.
   * `maxMtu: mtu` turns discovery off. The driver lowers it to what the socket receives and the route allows.
   */
  readonly maxMtu?: number | undefined
  /** Largest message (default 64 KiB; up to 16 MiB). Longer messages are fragmented to the MTU. */
  readonly maxMessageSize?: number | undefined
  /** Receive window for `Delivery` payload advertised to the peer at first (default 1 MiB). */
  readonly receiveWindow?: number | undefined
  /**
   * How far the receive window may grow (default 16 MiB, and at least
   * `receiveWindow`). A window update due again within two round trips of the
   * last one means the window, not the reader, holds the peer back: the window
   * doubles, up to this (Chromium QUIC's flow-control auto-tuning). It grows
   * only while the application reads as fast as data arrives.
   */
  readonly maxReceiveWindow?: number | undefined
  /** Bytes of messages waiting to be sent before `send` refuses (default 1 MiB; one message is always accepted into an empty queue). */
  readonly sendQueueBytes?: number | undefined
  /** Messages waiting to be sent before `send` refuses (default 65,536). */
  readonly sendQueueMessages?: number | undefined
  /** Bytes in flight for the fixed-window controller `"none"` (default 1 MiB). */
  readonly window?: number | undefined
  /**
   * The congestion controller: `"bbr"` (default: a delivery-rate controller),
   * `"aimd"` (NewReno, RFC 9002 §7), `"none"` (the fixed `window`), or a
   * factory of your own. Every one of them paces.
   */
  readonly congestion?: CongestionName | CongestionFactory | undefined
  /** Longest this end holds an acknowledgement (default 5 ms). */
  readonly maxAckDelay?: number | undefined
  /** Ack-eliciting packets received before an acknowledgement goes out at once (default 2). */
  readonly ackEvery?: number | undefined
  /**
   * Redundant bundling for thin streams (default `true`): a `Delivery`
   * fragment sent while nothing else waits to be sent (an application sending
   * at its own pace) goes again, as filler, in the next packet that leaves
   * anyway — one lost packet then costs no round trip. It costs bytes (at
   * most one more copy of such a fragment), never a packet; a queue behind
   * the fragment (a bulk transfer) turns it off by itself.
   */
  readonly redundantBundling?: boolean | undefined
  /** Silence after which the peer is given up (default 10 s); the larger of both ends' values and 3 × PTO applies. */
  readonly idleTimeout?: number | undefined
  /** A PING goes out when nothing ack-eliciting was sent for this long (default 1 s). */
  readonly heartbeat?: number | undefined
  /** RTT assumed before the first sample (default 333 ms, RFC 9002 §6.2.2). */
  readonly initialRtt?: number | undefined
  /** How long a graceful close may spend delivering what is outstanding (default 10 s). */
  readonly closeTimeout?: number | undefined
  /** How long an incomplete None/Order message waits for its fragments (default 3 s). */
  readonly fragmentTimeout?: number | undefined
  /** None/Order messages delivered and not yet read, before new ones are dropped (default 4096). */
  readonly readyLimit?: number | undefined
  /** Bytes of Order messages and None/Order fragments held while waiting (default 1 MiB). */
  readonly lossyBudget?: number | undefined
  /** Length of connection ids (default 8; 0–20). */
  readonly cidLength?: number | undefined
  /** Opt-in: the crate's resend policy instead of RFC 9002 loss detection for Delivery data. */
  readonly resend?: ResendPredicate | undefined
  /** How often the resend predicate is consulted (default 10 ms). */
  readonly resendScan?: number | undefined
  /** First ids this end uses (default 0): set id, Delivery id, fragment id, packet number (< 2^32). */
  readonly initialIds?: {
    readonly set?: number | undefined
    readonly delivery?: number | undefined
    readonly fragment?: number | undefined
    readonly packet?: number | undefined
  } | undefined
  /**
   * Opt-in encryption: an X25519 exchange authenticated by a pre-shared key
   * (`psk`, at least 16 bytes) or by static key pairs (`privateKey`, 32 bytes,
   * and `peerPublicKey`, the key the peer must prove it holds), and an AEAD
   * on every packet (`cipher`, default AES-256-GCM with key updates).
   */
  readonly encryption?: EncryptionInput | undefined
  readonly random: RandomSource
}

/**
 * The encryption option.
 *
 * @since 0.2.0
 * @category models
 */
export type EncryptionInput =
  | ({ readonly psk: Uint8Array | string } & EncryptionTuning)
  | ({ readonly privateKey: Uint8Array; readonly peerPublicKey?: Uint8Array | undefined } & EncryptionTuning)

/**
 * The cipher and the key-update limits of the encryption option.
 *
 * @since 0.2.0
 * @category models
 */
export interface EncryptionTuning {
  /** The AEAD (default AES-256-GCM, with key updates; ChaCha20-Poly1305 selectable). */
  readonly cipher?: Cipher | undefined
  /** Packets sealed with one key before this end updates it (default 2^22; at most half the cipher's confidentiality limit). */
  readonly keyUpdateAfter?: number | undefined
  /** Packets failing authentication before the connection ends (default RFC 9001 §6.6's limit of the cipher). */
  readonly integrityLimit?: number | undefined
}

/**
 * A validated configuration.
 *
 * @since 0.2.0
 * @category models
 */
export interface Config {
  readonly role: "client" | "server"
  readonly mtu: number
  readonly maxMtu: number
  readonly maxMessageSize: number
  readonly receiveWindow: number
  readonly maxReceiveWindow: number
  readonly sendQueueBytes: number
  readonly sendQueueMessages: number
  /** Makes the controller of a connection. */
  readonly congestion: CongestionFactory
  readonly congestionName: string
  readonly maxAckDelay: number
  readonly ackEvery: number
  readonly redundantBundling: boolean
  readonly idleTimeout: number
  readonly heartbeat: number
  readonly initialRtt: number
  readonly closeTimeout: number
  readonly fragmentTimeout: number
  readonly readyLimit: number
  readonly lossyBudget: number
  readonly cidLength: number
  readonly resend: ResendPredicate | undefined
  readonly resendScan: number
  readonly initialSet: number
  readonly initialDelivery: number
  readonly initialFragment: number
  readonly initialPacket: number
  readonly encryption: EncryptionConfig | undefined
  readonly random: RandomSource
}

/**
 * Largest message size a configuration may allow (16 MiB).
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_MESSAGE_SIZE = 16 * 1024 * 1024

/**
 * Largest UDP payload over IPv4.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_DATAGRAM = 65507

/**
 * The defaults.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaults = {
  mtu: 1200,
  maxMtu: 8952,
  maxMessageSize: 64 * 1024,
  receiveWindow: 1024 * 1024,
  maxReceiveWindow: 16 * 1024 * 1024,
  sendQueueBytes: 1024 * 1024,
  sendQueueMessages: 65536,
  window: 1024 * 1024,
  congestion: "bbr" as CongestionName,
  maxAckDelay: 5,
  ackEvery: 2,
  redundantBundling: true,
  idleTimeout: 10_000,
  heartbeat: 1_000,
  initialRtt: 333,
  closeTimeout: 10_000,
  fragmentTimeout: 3_000,
  readyLimit: 4096,
  lossyBudget: 1024 * 1024,
  cidLength: 8,
  resendScan: 10
} as const

/**
 * A value as an error message shows it: strings and objects as JSON.
 *
 * @internal
 */
export const shown = (v: unknown): string => {
  if (typeof v === "string") return JSON.stringify(v)
  if (typeof v === "function") return "a function"
  if (typeof v === "object" && v !== null) {
    try {
      return JSON.stringify(v) ?? String(v)
    } catch {
      return Object.prototype.toString.call(v)
    }
  }
  return String(v)
}

// `undefined` takes the default; anything else (null included) must be a valid value.
const int = (name: string, v: number | undefined, fallback: number, min: number, max: number): number => {
  const x = v === undefined ? fallback : v
  if (!Number.isSafeInteger(x) || x < min || x > max) throw new RangeError(`${name} is an integer from ${min} to ${max}, not ${shown(v)}`)
  return x
}

const ms = (name: string, v: number | undefined, fallback: number, min: number, max: number): number => {
  const x = v === undefined ? fallback : v
  if (typeof x !== "number" || !Number.isFinite(x) || x < min || x > max) {
    throw new RangeError(`${name} is a number of milliseconds from ${min} to ${max}, not ${shown(v)}`)
  }
  return x
}

const bool = (name: string, v: boolean | undefined, fallback: boolean): boolean => {
  const x = v === undefined ? fallback : v
  if (typeof x !== "boolean") throw new RangeError(`${name} is true or false, not ${shown(v)}`)
  return x
}

const isBytes = (v: unknown, min: number, max: number): v is Uint8Array => v instanceof Uint8Array && v.length >= min && v.length <= max

const encryptionOf = (e: EncryptionInput | undefined, role: "client" | "server"): EncryptionConfig | undefined => {
  if (e === undefined) return undefined
  if (typeof e !== "object" || e === null) throw new RangeError(`encryption is { psk } or { privateKey, peerPublicKey? }, not ${String(e)}`)
  const cipher = e.cipher ?? "aes-256-gcm"
  if (cipher !== "chacha20-poly1305" && cipher !== "aes-256-gcm") {
    throw new RangeError(`encryption.cipher is "chacha20-poly1305" or "aes-256-gcm", not ${JSON.stringify(cipher)}`)
  }
  const limits = {
    keyUpdateAfter: int("encryption.keyUpdateAfter", e.keyUpdateAfter, KEY_UPDATE_AFTER, 16, CONFIDENTIALITY_LIMIT[cipher] / 2),
    integrityLimit: int("encryption.integrityLimit", e.integrityLimit, Math.min(INTEGRITY_LIMIT[cipher], Number.MAX_SAFE_INTEGER), 1, INTEGRITY_LIMIT[cipher])
  }
  if ("psk" in e) {
    const psk = typeof e.psk === "string" ? new TextEncoder().encode(e.psk) : e.psk
    if (!isBytes(psk, 16, 1024)) throw new RangeError("encryption.psk is 16 to 1024 bytes (a Uint8Array or a string), not shorter or another type")
    return { cipher, authentication: { psk: psk.slice() }, ...limits }
  }
  if ("privateKey" in e) {
    if (!isBytes(e.privateKey, 32, 32)) throw new RangeError("encryption.privateKey is 32 bytes (a raw X25519 private key)")
    if (e.peerPublicKey !== undefined && !isBytes(e.peerPublicKey, 32, 32)) throw new RangeError("encryption.peerPublicKey is 32 bytes (a raw X25519 public key)")
    // A client speaks first: its HELLO is authenticated toward the key it expects.
    if (e.peerPublicKey === undefined && role === "client") throw new RangeError("encryption.peerPublicKey is required of a client (role \"client\") with a key pair")
    return { cipher, authentication: { privateKey: e.privateKey.slice(), peerPublicKey: e.peerPublicKey?.slice() }, ...limits }
  }
  throw new RangeError("encryption is { psk } or { privateKey, peerPublicKey? }: neither psk nor privateKey was given")
}

const receiveWindowsOf = (input: ConfigInput, mtu: number): { receiveWindow: number; maxReceiveWindow: number } => {
  const receiveWindow = int("receiveWindow", input.receiveWindow, defaults.receiveWindow, mtu, 2 ** 40)
  const fallback = Math.max(defaults.maxReceiveWindow, receiveWindow)
  return { receiveWindow, maxReceiveWindow: int("maxReceiveWindow", input.maxReceiveWindow, fallback, receiveWindow, 2 ** 40) }
}

const congestionOf = (input: ConfigInput, mtu: number): { congestion: CongestionFactory; congestionName: string } => {
  const window = int("window", input.window, defaults.window, 2 * mtu, 2 ** 40)
  const c = input.congestion === undefined ? defaults.congestion : input.congestion
  if (typeof c === "function") return { congestion: c, congestionName: "custom" }
  switch (c) {
    case "bbr":
      return { congestion: bbr, congestionName: c }
    case "aimd":
      return { congestion: newReno, congestionName: c }
    case "none":
      return { congestion: fixedWindow(window), congestionName: c }
  }
  throw new RangeError(`congestion is "bbr", "aimd", "none" or a factory function, not ${shown(c)}`)
}

/**
 * Validates `input` and fills the defaults. Throws a `RangeError` naming the
 * bad field (`makeConfigEither` returns it instead).
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeConfig = (input: ConfigInput): Config => {
  if (typeof input.random !== "function") throw new RangeError("random is a function returning 32-bit unsigned integers")
  const role = input.role ?? "client"
  if (role !== "client" && role !== "server") throw new RangeError(`role is "client" or "server", not ${String(role)}`)
  const mtu = int("mtu", input.mtu, defaults.mtu, MIN_DATAGRAM, MAX_DATAGRAM)
  const ids = input.initialIds ?? {}
  const day = 86_400_000
  return {
    role,
    mtu,
    maxMtu: int("maxMtu", input.maxMtu, Math.max(mtu, defaults.maxMtu), mtu, MAX_DATAGRAM),
    maxMessageSize: int("maxMessageSize", input.maxMessageSize, defaults.maxMessageSize, 1, MAX_MESSAGE_SIZE),
    ...receiveWindowsOf(input, mtu),
    sendQueueBytes: int("sendQueueBytes", input.sendQueueBytes, defaults.sendQueueBytes, 1, 2 ** 40),
    sendQueueMessages: int("sendQueueMessages", input.sendQueueMessages, defaults.sendQueueMessages, 1, 2 ** 30),
    ...congestionOf(input, mtu),
    maxAckDelay: ms("maxAckDelay", input.maxAckDelay, defaults.maxAckDelay, 0, 16384),
    ackEvery: int("ackEvery", input.ackEvery, defaults.ackEvery, 1, 1024),
    redundantBundling: bool("redundantBundling", input.redundantBundling, defaults.redundantBundling),
    idleTimeout: ms("idleTimeout", input.idleTimeout, defaults.idleTimeout, 1, day),
    heartbeat: ms("heartbeat", input.heartbeat, defaults.heartbeat, 1, day),
    initialRtt: ms("initialRtt", input.initialRtt, defaults.initialRtt, 0.001, 60_000),
    closeTimeout: ms("closeTimeout", input.closeTimeout, defaults.closeTimeout, 0, day),
    fragmentTimeout: ms("fragmentTimeout", input.fragmentTimeout, defaults.fragmentTimeout, 1, day),
    readyLimit: int("readyLimit", input.readyLimit, defaults.readyLimit, 1, 2 ** 30),
    lossyBudget: int("lossyBudget", input.lossyBudget, defaults.lossyBudget, 0, 2 ** 40),
    cidLength: int("cidLength", input.cidLength, defaults.cidLength, 0, MAX_CID),
    resend: input.resend,
    resendScan: ms("resendScan", input.resendScan, defaults.resendScan, 1, 60_000),
    initialSet: int("initialIds.set", ids.set, 0, 0, MAX_INITIAL_ID),
    initialDelivery: int("initialIds.delivery", ids.delivery, 0, 0, MAX_INITIAL_ID),
    initialFragment: int("initialIds.fragment", ids.fragment, 0, 0, MAX_INITIAL_ID),
    initialPacket: int("initialIds.packet", ids.packet, 0, 0, 2 ** 32 - 1),
    encryption: encryptionOf(input.encryption, role),
    random: input.random
  }
}
