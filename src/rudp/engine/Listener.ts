/**
 * The sans-IO side of an endpoint server: many connections on one socket.
 * `route(now, bytes, from)` decides where a datagram goes — to the connection
 * its destination id names, to a new connection, or nowhere — and answers
 * what needs no connection statelessly (`pollTransmit`): a Retry with a token
 * bound to the source address, a refusal when the server is full, a version
 * negotiation. An unverified source costs the server no state: with `retry:
 * "always"` (the default) a connection is made only for an Initial carrying a
 * valid token, and no stateless answer is larger than the datagram it answers
 * (the Initial it answers is at least 1,200 bytes; the answers are under 100).
 *
 * Connection ids of a server are 8 bytes, chosen by the server (the Retry
 * names the id the connection will have). The table keys them by their first
 * six bytes, which the server keeps unique.
 *
 * @since 0.2.0
 */
import { Writer } from "./Bytes.ts"
import { FrameType } from "./Frame.ts"
import { Header, parseHeader, patchLength, seal, SUPPORTED_VERSIONS, TAG_BYTES, verifyTag, VERSION_1, writeLongHeader, writeVersionNegotiation } from "./Packet.ts"
import { mint, type TokenError, verify } from "./Token.ts"

/**
 * Bytes of a server's connection ids.
 *
 * @since 0.2.0
 * @category constants
 */
export const SERVER_CID_LENGTH = 8

/**
 * @since 0.2.0
 * @category models
 */
export interface ListenerConfig {
  /** Connections at once; an Initial past this is refused (CLOSE code 4 in a Retry packet). */
  readonly maxPeers: number
  /** `"always"`: a Retry before any state (default); `"never"`: a connection for every valid Initial. */
  readonly retry: "always" | "never"
  /** The HMAC key of retry tokens (32 random bytes). */
  readonly tokenKey: Uint8Array
  /** How long a token is good for (ms). */
  readonly tokenLifetime: number
  /** Smallest Initial accepted (the client pads to 1,200 bytes or its MTU). */
  readonly minInitial: number
  readonly random: () => number
}

/**
 * Where a datagram goes.
 *
 * @since 0.2.0
 * @category models
 */
export type Route<P> =
  | { readonly kind: "peer"; readonly peer: P }
  /** A new connection: its id and whether the source proved its address (a token). */
  | { readonly kind: "new"; readonly cid: Uint8Array; readonly validated: boolean; readonly odcid: Uint8Array }
  | { readonly kind: "drop"; readonly reason: ListenerDrop }

/**
 * Why the listener dropped a datagram.
 *
 * @since 0.2.0
 * @category models
 */
export type ListenerDrop =
  | "header"
  | "tag"
  | "unknown-cid"
  | "initial-too-short"
  | "unsupported-version"
  | "retry-sent"
  | "refused"
  | TokenError

/**
 * Counters of a listener.
 *
 * @since 0.2.0
 * @category models
 */
export interface ListenerStats {
  datagrams: number
  routed: number
  accepted: number
  retriesSent: number
  refusals: number
  versionNegotiations: number
  /** Bytes of stateless answers, and of the datagrams they answered. */
  statelessBytesOut: number
  statelessBytesIn: number
  dropped: Record<ListenerDrop, number>
}

interface Entry<P> {
  readonly cid: Uint8Array
  readonly peer: P
}

/** The table key of an 8-byte id at `at` in `b`: its first six bytes as a number. */
const keyAt = (b: Uint8Array, at: number): number =>
  ((b[at]! * 256 + b[at + 1]!) * 256 + b[at + 2]!) * 16777216 + ((b[at + 3]! << 16) | (b[at + 4]! << 8) | b[at + 5]!)

const sameAt = (b: Uint8Array, at: number, cid: Uint8Array): boolean => {
  for (let i = 0; i < cid.length; i++) if (b[at + i] !== cid[i]) return false
  return true
}

const hex = (b: Uint8Array): string => {
  let s = ""
  for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16)
  return s
}

const textEncoder = new TextEncoder()

/**
 * The routing table and stateless answers of an endpoint server.
 *
 * @since 0.2.0
 * @category engine
 */
export class Listener<P> {
  readonly config: ListenerConfig
  readonly stats: ListenerStats = {
    datagrams: 0,
    routed: 0,
    accepted: 0,
    retriesSent: 0,
    refusals: 0,
    versionNegotiations: 0,
    statelessBytesOut: 0,
    statelessBytesIn: 0,
    dropped: {
      header: 0,
      tag: 0,
      "unknown-cid": 0,
      "initial-too-short": 0,
      "unsupported-version": 0,
      "retry-sent": 0,
      refused: 0,
      "token-malformed": 0,
      "token-forged": 0,
      "token-expired": 0
    }
  }
  readonly #byCid = new Map<number, Entry<P>>()
  /** Without retry: the id a client's Initials are addressed to, until the connection ends. */
  readonly #byOdcid = new Map<string, P>()
  readonly #odcidOf = new Map<P, string>()
  readonly #header = new Header()
  readonly #out: Array<{ readonly bytes: Uint8Array; readonly to: unknown }> = []
  readonly #writer = new Writer(new Uint8Array(0))

  constructor(config: ListenerConfig) {
    this.config = config
  }

  /** Connections in the table. */
  get size(): number {
    return this.#byCid.size
  }

  /** A fresh connection id no connection of this server has (by its first six bytes). */
  newCid(): Uint8Array {
    for (;;) {
      const cid = new Uint8Array(SERVER_CID_LENGTH)
      for (let i = 0; i < SERVER_CID_LENGTH; i += 4) {
        const r = this.config.random()
        for (let k = 0; k < 4; k++) cid[i + k] = (r >>> (8 * k)) & 0xff
      }
      if (!this.#byCid.has(keyAt(cid, 0))) return cid
    }
  }

  /** Adds a connection made for a `"new"` route. */
  add(cid: Uint8Array, peer: P, odcid: Uint8Array | undefined): void {
    this.#byCid.set(keyAt(cid, 0), { cid, peer })
    if (odcid !== undefined && this.config.retry === "never") {
      const k = hex(odcid)
      this.#byOdcid.set(k, peer)
      this.#odcidOf.set(peer, k)
    }
    this.stats.accepted++
  }

  /** Removes a connection (it ended). */
  remove(cid: Uint8Array, peer: P): void {
    const k = keyAt(cid, 0)
    if (this.#byCid.get(k)?.peer === peer) this.#byCid.delete(k)
    const o = this.#odcidOf.get(peer)
    if (o !== undefined) {
      this.#odcidOf.delete(peer)
      if (this.#byOdcid.get(o) === peer) this.#byOdcid.delete(o)
    }
  }

  /** The connection an id names, if any. */
  lookup(cid: Uint8Array): P | undefined {
    const e = this.#byCid.get(keyAt(cid, 0))
    return e !== undefined && sameAt(cid, 0, e.cid) ? e.peer : undefined
  }

  /**
   * Where the datagram `bytes` from `from` goes. `addressKey(from)` names the
   * source for tokens (called only for Initials without a connection).
   */
  route<A>(now: number, bytes: Uint8Array, from: A, addressKey: (a: A) => string): Route<P> {
    this.stats.datagrams++
    const n = bytes.length
    if (n >= 1 + SERVER_CID_LENGTH + 1 + TAG_BYTES && (bytes[0]! & 0xc0) === 0x40) {
      // A short header: the destination id follows the first byte.
      const e = this.#byCid.get(keyAt(bytes, 1))
      if (e !== undefined && sameAt(bytes, 1, e.cid)) {
        this.stats.routed++
        return { kind: "peer", peer: e.peer }
      }
      return this.#drop("unknown-cid")
    }
    const h = this.#header
    if (parseHeader(bytes, SERVER_CID_LENGTH, h) !== undefined || h.form !== "long") return this.#drop("header")
    if (h.version !== VERSION_1) return this.#versionNegotiation(bytes, from)
    if (h.dcidLength === SERVER_CID_LENGTH) {
      const e = this.#byCid.get(keyAt(bytes, h.dcidAt))
      if (e !== undefined && sameAt(bytes, h.dcidAt, e.cid)) {
        this.stats.routed++
        return { kind: "peer", peer: e.peer }
      }
    }
    if (h.type !== "Initial") return this.#drop("unknown-cid")
    if (this.config.retry === "never") {
      const p = this.#byOdcid.get(hex(h.dcid))
      if (p !== undefined) {
        this.stats.routed++
        return { kind: "peer", peer: p }
      }
    }
    if (n < this.config.minInitial) return this.#drop("initial-too-short")
    // A handshake's packet numbers are 4 bytes on the wire: the truncated number is the number.
    if (!verifyTag(bytes, h.pnTruncated)) return this.#drop("tag")
    if (this.#byCid.size >= this.config.maxPeers) {
      this.#answer(this.#refusal(h, `the server is full (maxPeers ${this.config.maxPeers})`), n, from)
      this.stats.refusals++
      return this.#drop("refused")
    }
    const odcid = h.dcid.slice()
    if (h.token.length > 0) {
      const cid = verify(this.config.tokenKey, addressKey(from), h.token, now, this.config.tokenLifetime)
      if (cid === "token-expired") {
        // An authentic token the server read too late (it fell behind a burst of Initials): the
        // client takes one Retry only, so without an answer it would repeat this Initial until its
        // handshake timed out. A refusal (no state, smaller than the Initial) ends its attempt now.
        this.#answer(this.#refusal(h, "the Retry token expired before the server read it (the server is behind): connect again"), n, from)
        return this.#drop(cid)
      }
      if (typeof cid === "string") return this.#drop(cid)
      // A token names the id its Retry gave; the client addresses its new Initial to it.
      if (!sameAt(h.dcid, 0, cid) || h.dcidLength !== SERVER_CID_LENGTH) return this.#drop("token-forged")
      return { kind: "new", cid, validated: true, odcid }
    }
    if (this.config.retry === "always") {
      const cid = this.newCid()
      this.#answer(this.#retry(h, cid, mint(this.config.tokenKey, addressKey(from), cid, now)), n, from)
      this.stats.retriesSent++
      return this.#drop("retry-sent")
    }
    return { kind: "new", cid: this.newCid(), validated: false, odcid }
  }

  /** The next stateless answer and its destination (the `from` given to `route`). */
  pollTransmit(): { readonly bytes: Uint8Array; readonly to: unknown } | undefined {
    return this.#out.shift()
  }

  /** Stateless answers waiting. */
  get pending(): number {
    return this.#out.length
  }

  #drop(reason: ListenerDrop): Route<P> {
    this.stats.dropped[reason]++
    return { kind: "drop", reason }
  }

  #answer(bytes: Uint8Array | undefined, answering: number, to: unknown): void {
    if (bytes === undefined || bytes.length > answering) return
    // Bounded: a flood cannot queue answers without end (the driver drains them after each batch).
    if (this.#out.length >= 4096) return
    this.stats.statelessBytesOut += bytes.length
    this.stats.statelessBytesIn += answering
    this.#out.push({ bytes, to })
  }

  #versionNegotiation(bytes: Uint8Array, from: unknown): Route<P> {
    const h = this.#header
    if (h.form === "long" && h.type === "Initial" && bytes.length >= this.config.minInitial) {
      const buf = new Uint8Array(64 + 4 * SUPPORTED_VERSIONS.length)
      const w = this.#writer.reset(buf, 0, buf.length)
      const n = writeVersionNegotiation(w, h.scid, h.dcid, SUPPORTED_VERSIONS)
      if (n > 0) {
        this.#answer(buf.slice(0, n), bytes.length, from)
        this.stats.versionNegotiations++
      }
    }
    return this.#drop("unsupported-version")
  }

  /** A Retry packet: RETRY frame (the client's original destination id, the token), maybe a CLOSE. */
  #retryPacket(h: Header, scid: Uint8Array, token: Uint8Array, close: Uint8Array | undefined): Uint8Array | undefined {
    const buf = new Uint8Array(200 + (close?.length ?? 0))
    const w = this.#writer.reset(buf, 0, buf.length - TAG_BYTES)
    const lengthAt = writeLongHeader(w, "Retry", VERSION_1, h.scid, scid, undefined, 0, 4)
    w.u8(FrameType.RETRY)
    w.u8(h.dcidLength)
    w.bytes(h.dcid)
    w.varint(token.length)
    w.bytes(token)
    if (close !== undefined) {
      w.u8(FrameType.CLOSE)
      w.varint(4)
      w.varint(close.length)
      w.bytes(close)
    }
    if (!w.ok) return undefined
    patchLength(buf, lengthAt, w.pos + TAG_BYTES)
    return buf.slice(0, seal(buf, 0, w.pos, 0))
  }

  #retry(h: Header, cid: Uint8Array, token: Uint8Array): Uint8Array | undefined {
    return this.#retryPacket(h, cid, token, undefined)
  }

  #refusal(h: Header, reason: string): Uint8Array | undefined {
    return this.#retryPacket(h, new Uint8Array(0), new Uint8Array(0), textEncoder.encode(reason))
  }
}
