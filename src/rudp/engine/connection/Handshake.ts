/**
 * The handshake as the connection sees it: the peer's HELLO (its parameters,
 * and with encryption the key exchange that gives the packet keys), a
 * server's Retry (a token, or a refusal), a version negotiation, this end's
 * own parameters, and the ways a handshake fails (incompatible, not
 * authenticated, an AEAD limit reached).
 *
 * @since 0.2.0
 */
import { Reader } from "../Bytes.ts"
import { CIPHER_ID } from "../Crypto.ts"
import { FrameType, MAX_REASON } from "../Frame.ts"
import { type Header, type LongType, SUPPORTED_VERSIONS, verifyTag, VERSION_1 } from "../Packet.ts"
import type { Params } from "../Params.ts"
import { sameBytes } from "./ConnectionIds.ts"
import type { ConnectionState } from "./ConnectionState.ts"
import { CloseCode } from "./Events.ts"

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()
const retryReader = new Reader(new Uint8Array(0))

/**
 * A server's Retry: a token to send back in a new Initial (addressed to the
 * id the Retry names), or — with a CLOSE frame — a refusal. Only during our
 * handshake, only naming our id and the id our Initial used; one token only,
 * but a refusal also after it (a server that read our token too late refuses
 * the attempt rather than leave it to time out).
 *
 * @since 0.2.0
 * @category handshake
 */
export function onRetry(c: ConnectionState, now: number, h: Header, bytes: Uint8Array): void {
  if (c.config.role !== "client" || c.state !== "handshake" || c.peer !== undefined || !h.dcidIs(c.localCid)) {
    return void c.stats.dropped["unknown-type"]++
  }
  if (!verifyTag(bytes, h.pnTruncated)) return void c.stats.dropped.tag++
  const r = retryReader.reset(bytes, h.payloadStart, h.payloadEnd)
  if (r.u8() !== FrameType.RETRY) return void c.stats.dropped.malformed++
  const odcid = r.bytes(r.u8())
  const token = r.bytes(r.varint())
  if (!r.ok || !sameBytes(odcid, c.initialDcid)) return void c.stats.dropped.malformed++
  if (r.pos < r.end) {
    if (r.u8() !== FrameType.CLOSE) return void c.stats.dropped.malformed++
    const code = r.varint()
    const reason = r.bytes(Math.min(r.varint(), MAX_REASON))
    if (!r.ok || code !== CloseCode.refused) return void c.stats.dropped.malformed++
    c.reason = { kind: "refused", detail: textDecoder.decode(reason) }
    c.fire("incompatible", now)
    return
  }
  if (token.length === 0) return void c.stats.dropped.malformed++
  if (c.retried) return void c.stats.dropped["unknown-type"]++
  c.retried = true
  c.token = token.slice()
  c.initialDcid = h.scid.slice()
  c.helloPending = true
  c.stats.retries++
  c.afterInput(now)
}

/**
 * The peer's HELLO (or why its parameters did not decode): the first one gives
 * the peer's parameters, id and (encrypted) the packet keys, or ends the
 * handshake; every one fires `initial` or `handshake`.
 *
 * @since 0.2.0
 * @category handshake
 */
export function onHello(c: ConnectionState, now: number, type: LongType, scid: Uint8Array, hello: Params | string): void {
  if (typeof hello === "string") {
    if (c.peer !== undefined) return void c.stats.dropped.malformed++
    incompatible(c, now, `the peer's parameters: ${hello}`)
    return
  }
  if (c.peer === undefined) {
    if (hello.maxDatagram < 256) return incompatible(c, now, "the peer's datagram size is under 256 bytes")
    if (c.handshake !== undefined) {
      if (hello.crypto === undefined) return incompatible(c, now, "the peer does not encrypt; this end requires encryption")
      const r = c.handshake.complete(hello.crypto)
      if ("incompatible" in r) return incompatible(c, now, r.incompatible)
      if ("unauthenticated" in r) return unauthenticated(c, now, r.unauthenticated)
      c.keys = r
    } else if (hello.crypto !== undefined) return incompatible(c, now, "the peer requires encryption; this end has none configured")
    c.peer = hello
    c.peerCid = scid.slice()
    c.peerMaxData = hello.initialMaxData
    c.inbox.start(hello.initialSet, hello.initialDelivery, hello.initialFragment)
    fitQueuedToPeer(c, hello)
    // Path MTU discovery starts from the base both ends know, toward what both allow.
    c.pmtu.start(now, c.baseMtu, c.mtuLimit)
    c.mtuChanged()
  }
  if (type === "Initial") {
    c.answering = true
    c.fire("initial", now)
  } else {
    c.fire("handshake", now)
  }
  c.maybeReady(now)
}

/**
 * Messages queued before the handshake were checked against our limits; the
 * peer's may be smaller. Longer messages than it accepts are dropped (and
 * reported; `droppedTooLarge` remembers their ids); the rest are cut for its
 * datagram size. Nothing was transmitted yet, so the Delivery messages after a
 * dropped one are renumbered: a gap in the Delivery sequence would hold every
 * later Delivery and Order message at the peer forever.
 */
function fitQueuedToPeer(c: ConnectionState, peer: Params): void {
  const o = c.outbox
  c.computeFragmentSizes()
  const maxWhole = c.maxWhole, fragSize = c.fragSize
  const n = o.queue.length
  const droppedD: Array<number> = [] // ascending: the queue is in send order
  const before = (d: number): number => {
    let k = 0
    while (k < droppedD.length && droppedD[k]! < d) k++
    return k
  }
  for (let i = 0; i < n; i++) {
    const m = o.queue.shift()!
    if (m.payload.length > peer.maxMessageSize) {
      o.queuedBytes -= m.payload.length
      m.dropped = true
      if (m.tier === "Delivery") {
        o.unacked.settled()
        droppedD.push(m.d)
      }
      c.droppedTooLarge.set(m.id, peer.maxMessageSize)
      c.stats.droppedTooLarge++
      c.emit({ type: "dropped", id: m.id, reason: "too-large" })
      continue
    }
    if (droppedD.length > 0) {
      if (m.d >= 0) m.d -= before(m.d)
      if (m.dBefore >= 0) m.dBefore -= before(m.dBefore)
    }
    if (c.baseMtu < c.config.mtu) m.layout(maxWhole, fragSize, c.takeF)
    o.queue.push(m)
  }
  if (droppedD.length > 0) {
    c.nextD -= droppedD.length
    if (c.setS >= 0) c.setDBefore -= before(c.setDBefore)
  }
}

/** The peer's HELLO failed authentication: end the handshake, telling the peer (CLOSE code 5). */
function unauthenticated(c: ConnectionState, now: number, detail: string): void {
  c.stats.dropped.unauthenticated++
  c.reason = { kind: "unauthenticated", detail }
  c.closeCode = CloseCode.unauthenticated
  c.closeText = textEncoder.encode("authentication failed")
  c.fire("reject", now)
}

/**
 * RFC 9001 §6.6: a confidentiality or integrity limit was reached; the connection ends, telling the peer (CLOSE code 5).
 *
 * @since 0.2.0
 * @category handshake
 */
export function aeadLimit(c: ConnectionState, now: number, detail: string): void {
  c.reason = { kind: "unauthenticated", detail }
  c.closeCode = CloseCode.unauthenticated
  c.closeText = textEncoder.encode("AEAD limit reached")
  c.fire("abort", now)
}

function incompatible(c: ConnectionState, now: number, detail: string): void {
  c.reason = { kind: "incompatible", detail }
  c.closeCode = CloseCode.incompatible
  c.closeText = textEncoder.encode(detail)
  c.fire("incompatible", now)
}

/**
 * A version negotiation: only an answer to our own Initial counts; with no
 * version in common the connection ends (incompatible).
 *
 * @since 0.2.0
 * @category handshake
 */
export function onVersionNegotiation(c: ConnectionState, now: number, h: Header): void {
  // Only an answer to our own Initial counts: it names our id and the one we used.
  if (c.state !== "handshake" || c.peer !== undefined || !h.dcidIs(c.localCid) || !sameBytes(h.scid, c.initialDcid)) {
    return void c.stats.dropped["unsupported-version"]++
  }
  if (h.versions.some((v) => SUPPORTED_VERSIONS.includes(v))) return void c.stats.dropped["unsupported-version"]++
  const theirs = h.versions.map((v) => `0x${v.toString(16).padStart(8, "0")}`).join(", ")
  incompatible(c, now, `the peer speaks versions ${theirs}, this end 0x${VERSION_1.toString(16)}`)
}

/**
 * This end's transport parameters, as its HELLO carries them.
 *
 * @since 0.2.0
 * @category constructors
 */
export function params(c: ConnectionState): Params {
  const config = c.config
  return {
    maxMessageSize: config.maxMessageSize,
    initialMaxData: config.receiveWindow,
    maxAckDelay: Math.ceil(config.maxAckDelay),
    idleTimeout: Math.ceil(config.idleTimeout),
    maxDatagram: config.maxMtu,
    baseDatagram: config.mtu,
    initialSet: config.initialSet,
    initialDelivery: config.initialDelivery,
    initialFragment: config.initialFragment,
    heartbeat: Math.ceil(config.heartbeat),
    crypto: cryptoParams(c)
  }
}

function cryptoParams(c: ConnectionState): Params["crypto"] {
  const hs = c.handshake
  if (hs === undefined) return undefined
  const auth = hs.config.authentication
  // Key-pair mode: the MAC is keyed by the static DH with the peer (its key as configured, or as its HELLO gave it).
  const peerStatic = "privateKey" in auth ? auth.peerPublicKey ?? c.peer?.crypto?.staticKey : undefined
  const mac = hs.ownMac(peerStatic) ?? new Uint8Array(32)
  return { ephemeral: hs.ephemeralPublic, cipher: CIPHER_ID[hs.config.cipher], mac, staticKey: hs.staticPublic }
}
