/**
 * Packet assembly: which packet goes out next (a version negotiation, the
 * CLOSE, a HELLO, or a short packet of ACK, MAX_DATA, retransmissions, new
 * messages, second copies and PING, in that order), how it is sealed (CRC-32,
 * or the AEAD with header protection), and what is recorded of it for loss
 * recovery. RFC 9000 §8.1's anti-amplification limit is checked first.
 *
 * @since 0.2.0
 */
import type { Writer } from "../Bytes.ts"
import { FrameType, writeAck, writeClose, writeMaxData, writeMessage } from "../Frame.ts"
import { MESSAGE_CHARGE } from "../Inbox.ts"
import type { OutMessage } from "../Outbox.ts"
import { type LongType, patchLength, seal, SUPPORTED_VERSIONS, TAG_BYTES, VERSION_1, writeLongHeader, writeShortHeader, writeVersionNegotiation } from "../Packet.ts"
import { writeParams } from "../Params.ts"
import type { SentPacket } from "../Recovery.ts"
import { sendsData } from "../State.ts"
import { pnLength } from "./ConnectionIds.ts"
import type { ConnectionState } from "./ConnectionState.ts"
import { aeadLimit, params } from "./Handshake.ts"

/**
 * RFC 9000 §8.1: before a server has proof of its peer's address, it sends at
 * most this many times the bytes it received from it.
 *
 * @since 0.2.0
 * @category constants
 */
export const AMPLIFICATION_FACTOR = 3

/** Below this many bytes of room no packet is worth building (a short header, an ACK and the AEAD tag fit). */
const MIN_PACKET = 64

/** A short header, an ACK frame and the AEAD tag, about (for `nextPacketSize`). */
const PACKET_OVERHEAD = 64

/**
 * Writes the next datagram into `buf` (at least the MTU long) and returns its
 * length, or 0 when there is nothing to send now.
 *
 * @since 0.2.0
 * @category sending
 */
export function pollTransmitInto(c: ConnectionState, now: number, buf: Uint8Array): number {
  let space = buf.length
  // RFC 9000 §8.1: to an address not yet proven, at most three times what it sent us. The limit
  // bounds the bytes of the packet as built, not the largest packet the datagram size allows: a
  // Handshake answer of a few hundred bytes goes at once even when the MTU is larger than 3 × the Initial.
  if (!c.addressValidated) {
    space = Math.min(space, AMPLIFICATION_FACTOR * c.stats.bytesReceived - c.stats.bytesSent)
    if (space < MIN_PACKET) {
      c.stats.amplificationLimited++
      return 0
    }
  }
  const room = Math.min(space, c.mtu)
  // A graceful close whose data was all acknowledged sends its CLOSE now.
  if (c.state === "flushing") c.checkFlushed(now)
  if (c.versionNegotiationPending !== undefined) {
    const w = c.writer.reset(buf, 0, buf.length)
    const vn = c.versionNegotiationPending
    const n = writeVersionNegotiation(w, vn.dcid, vn.scid, SUPPORTED_VERSIONS)
    c.versionNegotiationPending = undefined
    c.stats.versionNegotiations++
    if (n > 0) return count(c, n)
  }
  if (c.closePending) return count(c, buildClose(c, now, buf, room))
  const state = c.state
  if (state === "closed" || state === "closing" || state === "draining") return 0
  if (c.helloPending) return count(c, buildHello(c, now, buf, room))
  if (!sendsData(state)) return 0
  // (A key past its confidentiality limit seals nothing more: buildShort ends the connection.)
  if (state === "established" && c.keys?.exhausted !== true) {
    const probe = c.pmtu.probeDue(now)
    // A path MTU probe goes when the window has room for it (RFC 9000 §14.4); else data goes first.
    if (probe > 0 && probe <= space && c.bytesInFlight + probe <= c.cc.window()) {
      const n = buildProbe(c, now, buf, probe)
      if (n > 0) return count(c, n, true)
    }
  }
  // RFC 9002 §6.2.4 probes go at the base size: after a black hole they still get through.
  const n = buildShort(c, now, buf, c.probes > 0 ? Math.min(room, c.pmtu.base) : room)
  // Out of data with room in the window: rate samples from now on say little about the path.
  if (n === 0 && c.outbox.queue.length === 0 && c.outbox.retransmit.length === 0 && c.bytesInFlight < c.cc.window()) {
    c.deliveryRate.markAppLimited(c.bytesInFlight)
  }
  return count(c, n)
}

/**
 * Writes up to `bufs.length` datagrams, one into each of `bufs` (each at least
 * the MTU long), their lengths into `lengths`; returns how many (0: nothing to
 * send now). Encrypted, the header protection of the whole batch is computed
 * in one call once its packets are sealed, before they are handed out.
 *
 * @since 0.2.0
 * @category sending
 */
export function pollTransmitBatch(c: ConnectionState, now: number, bufs: ReadonlyArray<Uint8Array>, lengths: Array<number>): number {
  const keys = c.keys
  let n = 0
  if (keys !== undefined) keys.deferMasks = true
  try {
    while (n < bufs.length) {
      const len = pollTransmitInto(c, now, bufs[n]!)
      if (len === 0) break
      lengths[n++] = len
    }
  } finally {
    if (keys !== undefined) {
      keys.deferMasks = false
      keys.protectHeaders()
    }
  }
  return n
}

/** Counts a datagram sent; all but probes pay toward the next path MTU probe. */
function count(c: ConnectionState, n: number, probe = false): number {
  if (n > 0) {
    c.stats.datagramsSent++
    c.stats.bytesSent += n
    if (!probe) c.pmtu.onSent(n)
  }
  return n
}

/** Writes an ACK frame if one is owed; returns whether it did. */
function writeAckIfDirty(c: ConnectionState, w: Writer, now: number, p: SentPacket): boolean {
  if (!c.ackDirty) return false
  const rs = c.received
  if (!writeAck(w, rs.lo, rs.hi, c.ackFloor, now - c.largestReceivedAt)) return false
  p.ackLargest = c.largestReceived
  c.ackDirty = false
  c.ackNow = false
  c.unackedEliciting = 0
  c.timers.clear("ack")
  c.stats.acksSent++
  return true
}

function buildClose(c: ConnectionState, now: number, buf: Uint8Array, room: number): number {
  c.closePending = false
  c.closeTransmitted = true
  const w = c.writer.reset(buf, 0, room)
  w.end -= c.shortTag
  const pn = c.takePn()
  let lengthAt = -1, pnOffset = -1, headerEnd = 0
  if (c.peerCid !== undefined && c.peer !== undefined && c.confirmed) {
    pnOffset = writeShortHeader(w, c.peerCid, pn, 4)
    headerEnd = w.pos
  } else {
    lengthAt = writeLongHeader(w, c.answering ? "Handshake" : "Initial", VERSION_1, c.peerCid ?? c.initialDcid, c.localCid, c.token, pn, 4)
    // A long packet needs a HELLO: send ours (the peer may not have it).
    writeHello(c, w)
  }
  // What we received is acknowledged with the CLOSE: a peer closing gracefully waits for it.
  if (c.ackDirty) {
    const rs = c.received
    writeAck(w, rs.lo, rs.hi, c.ackFloor, now - c.largestReceivedAt)
  }
  writeClose(w, c.closeCode, c.closeText)
  if (!w.ok) return 0
  if (lengthAt >= 0) patchLength(buf, lengthAt, w.pos + TAG_BYTES)
  if (pnOffset >= 0) return protect(c, w, pnOffset, 4, headerEnd, pn)
  return seal(buf, 0, w.pos, pn)
}

/** Seals a short packet: the CRC-32 tag, or (encrypted) the AEAD and header protection. */
function protect(c: ConnectionState, w: Writer, pnOffset: number, pnLength: number, headerEnd: number, pn: number): number {
  if (c.keys === undefined) return seal(w.buf, 0, w.pos, pn)
  // The header-protection sample starts 4 bytes after the packet number: pad short payloads.
  while (w.pos - pnOffset < 4) w.u8(FrameType.PADDING)
  return c.keys.seal(w.buf, pnOffset, pnLength, headerEnd, w.pos, pn)
}

function writeHello(c: ConnectionState, w: Writer): void {
  w.u8(FrameType.HELLO)
  const lengthAt = w.pos
  w.varintWithLength(0, 2)
  const start = w.pos
  writeParams(w, params(c))
  const n = w.pos - start
  w.buf[lengthAt] = 0x40 | ((n >>> 8) & 0x3f)
  w.buf[lengthAt + 1] = n & 0xff
}

function buildHello(c: ConnectionState, now: number, buf: Uint8Array, room: number): number {
  c.helloPending = false
  const type: LongType = c.answering ? "Handshake" : "Initial"
  const w = c.writer.reset(buf, 0, room)
  w.end -= TAG_BYTES
  const pn = c.takePn()
  const p = c.sent.make()
  p.pn = pn
  const lengthAt = writeLongHeader(w, type, VERSION_1, c.peerCid ?? c.initialDcid, c.localCid, c.token, pn, 4)
  writeHello(c, w)
  writeAckIfDirty(c, w, now, p)
  // Initials fill the datagram to 1200 bytes (or the MTU): a path that drops them is found at once.
  if (type === "Initial") w.zeros(Math.max(0, Math.min(1200, c.config.mtu) - TAG_BYTES - w.pos))
  if (!w.ok) {
    // It did not fit what the amplification limit leaves: it goes when the peer has sent more.
    c.helloPending = true
    c.stats.amplificationLimited++
    return giveBack(c, p)
  }
  patchLength(buf, lengthAt, w.pos + TAG_BYTES)
  const n = seal(buf, 0, w.pos, pn)
  p.hello = true
  recordSent(c, now, p, n, true)
  return n
}

/** The short packet `openShort` began: its number, record and header offsets (one at a time, so no object per packet). */
const opened = { pn: 0, p: undefined as unknown as SentPacket, pnBytes: 0, pnOffset: 0, headerEnd: 0 }

/** Begins a short packet of at most `size` bytes in `buf` (the tag's room kept): returns the writer at its first frame. */
function openShort(c: ConnectionState, buf: Uint8Array, size: number): Writer {
  const w = c.writer.reset(buf, 0, size)
  w.end -= c.shortTag
  const pn = c.takePn()
  const p = c.sent.make()
  p.pn = pn
  opened.pn = pn
  opened.p = p
  opened.pnBytes = pnLength(pn, c.largestAcked)
  opened.pnOffset = writeShortHeader(w, c.peerCid!, pn, opened.pnBytes)
  opened.headerEnd = w.pos
  return w
}

/** A packet begun and not sent: its number and record go back; returns 0 (nothing to send). */
function giveBack(c: ConnectionState, p: SentPacket): number {
  c.nextPn--
  c.sent.remove(p)
  return 0
}

/**
 * A path MTU probe (RFC 9000 §14.4): a short packet of exactly `size` bytes, a PING padded with PADDING.
 * Its loss is not congestion (`LossRecovery`), and it carries nothing that would need resending.
 */
function buildProbe(c: ConnectionState, now: number, buf: Uint8Array, size: number): number {
  const w = openShort(c, buf, size)
  const { pn, p, pnBytes, pnOffset, headerEnd } = opened
  w.u8(FrameType.PING)
  w.zeros(w.end - w.pos)
  if (!w.ok) return giveBack(c, p)
  p.probe = true
  c.pmtu.onProbeSent(size)
  c.stats.mtuProbesSent++
  const n = protect(c, w, pnOffset, pnBytes, headerEnd, pn)
  recordSent(c, now, p, n, true)
  return n
}

/**
 * The room the window and the pacer must have for the next data packet: a full datagram at the base size
 * (as before discovery), and above it no more than what is queued — a few small messages need not wait for
 * room for a 9,000-byte datagram they would not fill.
 */
function nextPacketSize(c: ConnectionState): number {
  const base = c.pmtu.base, mtu = c.mtu
  if (mtu <= base) return mtu
  const o = c.outbox
  if (o.retransmit.length > 0) return mtu
  return Math.max(base, Math.min(mtu, o.queuedBytes + 4 * o.queue.length + PACKET_OVERHEAD))
}

/** What could go into a data packet now besides an ACK. */
function hasContent(c: ConnectionState, now: number): boolean {
  if (c.pingPending || c.maxDataPending || c.probes > 0 || c.outbox.retransmit.length > 0) return true
  const head = c.outbox.queue.peek()
  if (head === undefined) return false
  if (!congestionAllows(c, now)) return false
  return !(head.tier === "Delivery" && head.sentFragments === 0 && c.deliverySent >= c.peerMaxData)
}

function congestionAllows(c: ConnectionState, now: number): boolean {
  const cc = c.cc
  const size = nextPacketSize(c)
  if (c.bytesInFlight + size > cc.window()) return false
  const at = cc.nextSendTime(now, size)
  if (at !== undefined && at > now) {
    c.timers.setEarliest("pace", at)
    return false
  }
  return true
}

function buildShort(c: ConnectionState, now: number, buf: Uint8Array, room: number): number {
  const content = hasContent(c, now)
  const ackDue = c.ackDirty && (c.ackNow || (c.timers.get("ack") ?? Number.POSITIVE_INFINITY) <= now)
  if (!content && !ackDue) return 0
  const keys = c.keys
  if (keys !== undefined) {
    // RFC 9001 §6: new keys well before the confidentiality limit, once the peer has the current ones.
    if (keys.maybeUpdate(c.largestAcked)) c.stats.keyUpdatesInitiated++
    if (keys.exhausted) {
      aeadLimit(c, now, `the sending key sealed ${keys.sealed} packets, the confidentiality limit, and could not be updated`)
      return 0
    }
  }
  const w = openShort(c, buf, room)
  const { pn, p, pnBytes, pnOffset, headerEnd } = opened
  writeAckIfDirty(c, w, now, p)
  let eliciting = writeMaxDataIfPending(c, w, p, now)
  const probing = c.probes > 0
  // Retransmissions first, then new messages, while they fit.
  c.prev.clear()
  // Second copies owed from earlier packets (those queued by this packet go in a later one).
  const owed = c.redundant.length
  if (writeRetransmissions(c, w, now, p, probing)) eliciting = true
  if (writeNewMessages(c, w, now, p, probing)) eliciting = true
  if (eliciting) writeSecondCopies(c, w, p, owed)
  if (c.pingPending || (probing && !eliciting)) {
    w.u8(FrameType.PING)
    if (w.ok) {
      c.pingPending = false
      c.stats.pingsSent++
      eliciting = true
    }
  }
  // Nothing fitted after all: give the packet number back.
  if (w.pos === headerEnd || !w.ok) return giveBack(c, p)
  if (c.probes > 0 && eliciting) c.probes--
  const n = protect(c, w, pnOffset, pnBytes, headerEnd, pn)
  recordSent(c, now, p, n, eliciting)
  return n
}

/**
 * MAX_DATA, when the receive window was opened again; returns whether it went in. An update due
 * within two round trips of the last one doubles the window first (up to `maxReceiveWindow`): the
 * application reads as fast as the peer sends, and the window is what holds the peer back.
 */
function writeMaxDataIfPending(c: ConnectionState, w: Writer, p: SentPacket, now: number): boolean {
  if (!c.maxDataPending) return false
  const window = c.inbox.window
  const grew = now - c.lastMaxDataAt < 2 * c.rtt.smoothed && c.inbox.growWindow(c.config.maxReceiveWindow)
  const limit = c.inbox.maxData()
  writeMaxData(w, limit)
  if (!w.ok) {
    // It goes in a later packet: grow then, once per update sent.
    c.inbox.window = window
    return false
  }
  if (grew) c.stats.receiveWindowGrowths++
  c.maxDataPending = false
  c.maxDataSent = limit
  c.lastMaxDataAt = now
  p.maxData = limit
  return true
}

/** Fragments queued for retransmission, while they fit (and the window allows); returns whether any went in. */
function writeRetransmissions(c: ConnectionState, w: Writer, now: number, p: SentPacket, probing: boolean): boolean {
  const o = c.outbox, prev = c.prev
  let eliciting = false
  while (o.retransmit.length > 0 && (probing || congestionAllows(c, now))) {
    const m = o.retransmit.peek()!, i = o.retransmitFragment.peek()!
    if (m.isAcked(i)) {
      o.retransmit.shift()
      o.retransmitFragment.shift()
      m.setQueued(i, false)
      continue
    }
    if (!writeMessage(w, m, m.fragment(i), m.data(i), prev)) break
    o.retransmit.shift()
    o.retransmitFragment.shift()
    m.setQueued(i, false)
    m.noteSent(i, now)
    carry(p, m, i)
    c.stats.retransmissions++
    eliciting = true
    // Nothing new waits (an application sending at its own pace): the retransmission goes twice, in
    // this packet and the next, so that one more loss does not cost another round trip. A sender with
    // a queue (a bulk transfer) sends it once: its bytes go to new data.
    if (o.queue.length === 0) oweSecondCopy(c, m, i, true)
  }
  return eliciting
}

/** Queues a second copy of fragment `i` of `m` for the next packet that goes anyway (at most 64 owed). */
function oweSecondCopy(c: ConnectionState, m: OutMessage, i: number, retransmitted: boolean): void {
  if (!c.config.redundantBundling || c.redundant.length >= 64) return
  c.redundant.push(m)
  c.redundantFragment.push(i)
  c.redundantRetransmitted.push(retransmitted)
}

/** New messages (their next fragments), while they fit and flow and congestion control allow; returns whether any went in. */
function writeNewMessages(c: ConnectionState, w: Writer, now: number, p: SentPacket, probing: boolean): boolean {
  const o = c.outbox, prev = c.prev
  const first = p.items
  let eliciting = false
  while (o.queue.length > 0 && (probing || congestionAllows(c, now))) {
    const m = o.queue.peek()!
    const i = m.sentFragments
    const starting = i === 0 && m.tier === "Delivery"
    if (starting && c.deliverySent >= c.peerMaxData) {
      c.flowBlocked = true
      break
    }
    if (!writeMessage(w, m, m.fragment(i), m.data(i), prev)) break
    if (starting) c.deliverySent += m.payload.length + MESSAGE_CHARGE
    m.sentFragments++
    m.noteSent(i, now)
    if (m.tier === "Delivery") carry(p, m, i)
    else p.lossy++
    eliciting = true
    if (m.sentFragments === m.fragCount) {
      o.queue.shift()
      o.queuedBytes -= m.payload.length
    }
  }
  // A thin stream (nothing waits behind what this packet carries): its new Delivery fragments go again in
  // the next packet that leaves anyway, so one lost packet does not cost a round trip (redundant bundling).
  if (o.queue.length === 0) for (let k = first; k < p.items; k++) oweSecondCopy(c, p.messages[k]!, p.fragments[k]!, false)
  return eliciting
}

/**
 * Second copies of earlier retransmissions (see `writeRetransmissions`) fill the room a packet that goes
 * anyway has left: they never make a packet of their own, so they cost no datagram headers.
 */
function writeSecondCopies(c: ConnectionState, w: Writer, p: SentPacket, owed: number): void {
  const rq = c.redundant, rf = c.redundantFragment, rr = c.redundantRetransmitted, prev = c.prev
  while (owed > 0) {
    owed--
    const m = rq.peek()!, i = rf.peek()!
    if (!m.isAcked(i) && !m.isQueued(i)) {
      if (!writeMessage(w, m, m.fragment(i), m.data(i), prev)) break
      carry(p, m, i)
      if (rr.peek()!) c.stats.redundantRetransmissions++
      else c.stats.bundledCopies++
    }
    rq.shift()
    rf.shift()
    rr.shift()
  }
}

function carry(p: SentPacket, m: OutMessage, i: number): void {
  p.messages[p.items] = m
  p.fragments[p.items++] = i
}

function recordSent(c: ConnectionState, now: number, p: SentPacket, size: number, eliciting: boolean): void {
  p.time = now
  p.size = size
  p.ackEliciting = eliciting
  p.inFlight = eliciting
  c.sent.push(p)
  if (eliciting) {
    c.deliveryRate.onSent(p, now, c.bytesInFlight)
    c.bytesInFlight += size
    c.ackElicitingInFlight++
    // QUIC §10.1: sending an ack-eliciting packet restarts the idle timer if none was sent since the last receipt.
    if (c.lastAckElicitingSent <= c.lastPacketAt) c.lastSendOrReceive = now
    c.lastAckElicitingSent = now
    c.cc.onPacketSent(now, size, c.bytesInFlight)
  } else if (p.ackLargest < 0) {
    // Neither eliciting nor an ACK: nothing will ever acknowledge it; forget it.
    c.sent.remove(p)
    return
  }
  c.afterInput(now)
}
