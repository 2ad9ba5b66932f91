/**
 * The receive pipeline's checks, in the order `RudpEngine.handleDatagram`
 * runs them: remove the header protection of an encrypted short packet, find
 * whether the packet is addressed to this connection, authenticate it (the
 * AEAD, or the CRC-32 tag) and drop duplicates, then record its receipt (the
 * receive history and when to acknowledge). A packet that fails a check is
 * counted in `stats.dropped` and nothing of it is read; what the frames of an
 * accepted packet do is the state machine's (`../Connection.ts`).
 *
 * @since 0.2.0
 */
import { decodeTruncated } from "../Bytes.ts"
import { type Header, verifyTag } from "../Packet.ts"
import { sameBytes } from "./ConnectionIds.ts"
import type { ConnectionState } from "./ConnectionState.ts"
import type { PacketDrop } from "./Stats.ts"
import { aeadLimit } from "./Handshake.ts"

/**
 * Encrypted short packet: removes the header protection (into a reused copy)
 * before anything is read. Returns the bytes to parse, or `undefined` when the
 * packet was dropped.
 *
 * @since 0.2.0
 * @category receiving
 */
export function removeHeaderProtection(c: ConnectionState, bytes: Uint8Array): Uint8Array | undefined {
  if (c.handshake === undefined || bytes.length === 0 || (bytes[0]! & 0x80) !== 0) return bytes
  if (c.keys === undefined) return void c.stats.dropped["not-ready"]++
  const copy = c.rxCopy !== undefined && c.rxCopy.length >= bytes.length ? c.rxCopy : (c.rxCopy = new Uint8Array(Math.max(bytes.length, c.config.mtu)))
  if (c.keys.unmask(bytes, 1 + c.config.cidLength, copy) < 0) return void c.stats.dropped["too-short"]++
  return copy.subarray(0, bytes.length)
}

/**
 * A long packet of a version we do not speak: dropped; an Initial big enough
 * to be a real client's is answered with a version negotiation (RFC 9000
 * §17.2.1: our answer swaps the ids of the Initial).
 *
 * @since 0.2.0
 * @category receiving
 */
export function onUnsupportedVersion(c: ConnectionState, h: Header, length: number): void {
  c.stats.dropped["unsupported-version"]++
  if (h.type === "Initial" && length >= Math.min(1200, c.config.mtu)) {
    c.versionNegotiationPending = { dcid: h.scid.slice(), scid: h.dcid.slice() }
  }
}

/**
 * Whether a (version 1, non-Retry) packet is this connection's: a long one
 * names our id (an Initial may name any: its sender does not know ours yet)
 * and the peer's; a short one names our id, after the peer's HELLO, with a key
 * phase only when encrypted. Counts the drop when not.
 *
 * @since 0.2.0
 * @category receiving
 */
export function isAddressedHere(c: ConnectionState, h: Header): boolean {
  const refused = addressingDrop(c, h)
  if (refused === undefined) return true
  c.stats.dropped[refused]++
  return false
}

const addressingDrop = (c: ConnectionState, h: Header): PacketDrop | undefined => {
  if (h.form === "long") {
    if (h.type !== "Initial" && !h.dcidIs(c.localCid)) return "unknown-cid"
    if (c.peerCid !== undefined && !sameBytes(h.scid, c.peerCid)) return "stale-hello"
    return undefined
  }
  if (!h.dcidIs(c.localCid)) return "unknown-cid"
  if (c.peer === undefined) return "not-ready"
  if (h.keyPhase !== 0 && c.keys === undefined) return "reserved-bits"
  return undefined
}

/**
 * Decodes the packet number and authenticates the packet: the AEAD for an
 * encrypted short packet (past the integrity limit the connection ends), else
 * the CRC-32 tag over the full packet number; a packet already received is a
 * duplicate. Returns the packet number, or −1 when the packet was dropped.
 *
 * @since 0.2.0
 * @category receiving
 */
export function authenticate(c: ConnectionState, now: number, h: Header, bytes: Uint8Array): number {
  const pn = decodeTruncated(h.pnTruncated, h.pnLength, c.largestReceived + 1)
  // The tag covers the full packet number: a wrongly decoded (very late) packet fails here.
  if (pn < 0) return dropped(c, "tag")
  if (h.form === "short" && c.keys !== undefined) {
    // The AEAD: a modified, forged or misnumbered packet fails here (nothing of it is read).
    const keys = c.keys
    // RFC 9001 §6.5: the previous keys open reordered packets for 3 × PTO after a switch.
    const end = keys.open(bytes, h.payloadStart, bytes.length, pn, now, 3 * c.ptoBase())
    c.stats.keyUpdatesFollowed = keys.followed
    if (end < 0) {
      c.stats.dropped.tag++
      c.stats.authenticationFailures = keys.failures
      // RFC 9001 §6.6: past the integrity limit, the keys may be forgeable: end the connection.
      if (keys.integrityExceeded) aeadLimit(c, now, `${keys.failures} packets failed authentication, past the integrity limit of ${keys.integrityLimit}`)
      return -1
    }
    h.payloadEnd = end
  } else if (!verifyTag(bytes, pn)) return dropped(c, "tag")
  if (c.received.has(pn)) return dropped(c, "duplicate")
  return pn
}

/** Counts a dropped packet; returns −1 (no packet number). */
const dropped = (c: ConnectionState, reason: PacketDrop): number => {
  c.stats.dropped[reason]++
  return -1
}

/**
 * Packet `pn` is accepted: it joins the receive history, proves the peer's
 * address (only the address's owner answers our HELLO), restarts the idle
 * timer, and schedules its acknowledgement (at once for a long packet, a gap,
 * every `ackEvery` packets or while flushing; else by `maxAckDelay`).
 *
 * @since 0.2.0
 * @category receiving
 */
export function recordReceipt(c: ConnectionState, now: number, h: Header, pn: number, ackEliciting: boolean): void {
  const long = h.form === "long"
  c.received.add(pn)
  c.packetsAccepted++
  if (!c.addressValidated && (!long || h.type === "Handshake")) c.addressValidated = true
  if (pn > c.largestReceived) {
    c.largestReceived = pn
    c.largestReceivedAt = now
  }
  c.ackDirty = true
  c.lastPacketAt = now
  c.lastSendOrReceive = now
  if (ackEliciting) {
    c.unackedEliciting++
    const inOrder = pn === c.largestReceived && c.received.has(pn - 1)
    if (long || !inOrder || c.unackedEliciting >= c.config.ackEvery || c.state === "flushing") c.ackNow = true
    else c.timers.setEarliest("ack", now + c.config.maxAckDelay)
  }
}
