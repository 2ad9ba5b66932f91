/**
 * Acknowledgements and loss (RFC 9002): an ACK frame acknowledges sent
 * packets (an RTT sample, a delivery-rate sample for the congestion
 * controller), packets are declared lost by packet or time threshold
 * (§6.1, with persistent congestion, §7.6), a probe timeout sends probes
 * (§6.2), and the crate's opt-in resend policy queues what its predicate
 * names. Lost Delivery fragments are queued for retransmission; None and Order
 * ones are counted and never resent.
 *
 * @since 0.2.0
 */
import type { AckFrame } from "../Frame.ts"
import { PACKET_THRESHOLD, PERSISTENT_CONGESTION_THRESHOLD, type SentPacket } from "../Recovery.ts"
import { sendsData } from "../State.ts"
import type { ConnectionState } from "./ConnectionState.ts"

/**
 * An ACK frame: the newly acknowledged packets (an RTT sample from the
 * largest, a delivery-rate sample, the congestion controller told), then loss
 * detection; the probe count starts again.
 *
 * @since 0.2.0
 * @category recovery
 */
export function onAck(c: ConnectionState, now: number, ack: AckFrame): void {
  const sent = c.sent
  if (ack.largest >= c.nextPn) return void c.stats.dropped.malformed++
  // Collect first: the records go back to the pool as they are processed.
  const newly = c.newlyAcked
  let count = 0
  const first = sent.firstPn(), last = sent.endPn() - 1
  let anyEliciting = false, ackedBytes = 0
  for (let k = 0; k < ack.count; k++) {
    const lo = Math.max(ack.lo[k]!, first), hi = Math.min(ack.hi[k]!, last)
    for (let pn = hi; pn >= lo; pn--) {
      const p = sent.get(pn)
      if (p === undefined) continue
      newly[count++] = p
      if (p.ackEliciting) anyEliciting = true
      if (p.inFlight) ackedBytes += p.size
    }
  }
  if (ack.largest > c.largestAcked) c.largestAcked = ack.largest
  if (count === 0) return
  const largest = newly[0]!
  if (largest.pn === ack.largest && anyEliciting) {
    const delay = c.isConnected ? Math.min(ack.delayMs, c.maxAckDelayOfPeer()) : 0
    c.rtt.update(Math.max(0, now - largest.time), delay)
  }
  const rate = c.deliveryRate
  rate.begin()
  let largestAckedSentAt = 0
  for (let i = 0; i < count; i++) {
    const p = newly[i]!
    if (p.inFlight) rate.onAcked(p, now)
    if (p.time > largestAckedSentAt) largestAckedSentAt = p.time
    packetAcked(c, now, p)
  }
  newly.fill(undefined as unknown as SentPacket, 0, count)
  if (ackedBytes > 0) {
    const sample = c.ackSample
    sample.ackedBytes = ackedBytes
    sample.rtt = c.rtt
    sample.largestAckedSentAt = largestAckedSentAt
    sample.priorDelivered = rate.priorDelivered
    sample.appLimited = rate.appLimited
    sample.deliveryRate = rate.end(now, c.rtt.min)
    sample.delivered = rate.delivered
    sample.bytesInFlight = c.bytesInFlight
    c.cc.onAck(now, sample)
  }
  detectLost(c, now)
  c.ptoCount = 0
  c.probes = 0
}

/** One packet acknowledged: what it carried is done with. */
function packetAcked(c: ConnectionState, now: number, p: SentPacket): void {
  if (p.inFlight) c.bytesInFlight -= p.size
  if (p.ackEliciting) c.ackElicitingInFlight--
  const o = c.outbox
  for (let i = 0; i < p.items; i++) {
    const m = p.messages[i]!
    if (m.ack(p.fragments[i]!) && m.done) o.unacked.settled()
  }
  if (p.ackLargest >= c.ackFloor) c.ackFloor = p.ackLargest + 1
  // Path MTU discovery: a probe acknowledged raises the size in use; a large packet acknowledged is no black hole.
  if (p.probe) {
    if (c.pmtu.onProbeAcked(now, p.size)) {
      c.stats.mtuIncreases++
      c.mtuChanged()
    }
  } else if (p.ackEliciting && p.size > c.pmtu.base) c.pmtu.onLargeAcked(p.time)
  const hello = p.hello
  c.sent.remove(p)
  if (hello && !c.confirmed) {
    c.fire("confirmed", now)
    c.maybeReady(now)
  }
}

/**
 * RFC 9002 §6.1: packets sent before the largest acknowledged are lost by
 * packet threshold or time threshold; the earliest time-threshold deadline of
 * the rest becomes `lossTime`.
 *
 * @since 0.2.0
 * @category recovery
 */
export function detectLost(c: ConnectionState, now: number): void {
  c.lossTime = 0
  const largest = c.largestAcked
  if (largest < 0) return
  const delay = c.rtt.lossDelay()
  const sent = c.sent
  let lostBytes = 0, lastLost = 0
  // RFC 9002 §7.6: a run of lost ack-eliciting packets (none acknowledged between) spanning
  // 3 × PTO is persistent congestion.
  let runStart = -1, longestRun = 0
  const end = Math.min(largest, sent.endPn() - 1)
  for (let pn = sent.firstPn(); pn <= end; pn++) {
    const p = sent.get(pn)
    if (p === undefined) {
      runStart = -1
      continue
    }
    // The same expression as the timer's deadline, so that a due timer always finds its loss.
    if (p.time + delay <= now || largest >= pn + PACKET_THRESHOLD) {
      if (p.probe) {
        // RFC 9000 §14.4: a lost probe says the size is too large, not that the path is congested.
        const size = p.size
        packetLost(c, p)
        c.stats.mtuProbesLost++
        c.pmtu.onProbeLost(now, size)
        continue
      }
      if (p.ackEliciting && p.size > c.pmtu.base && c.pmtu.onLargeLost(now, p.time)) blackHole(c)
      if (p.inFlight) lostBytes += p.size
      lastLost = p.time
      if (p.ackEliciting) {
        if (runStart < 0) runStart = p.time
        else if (p.time - runStart > longestRun) longestRun = p.time - runStart
      }
      packetLost(c, p)
    } else {
      runStart = -1
      const at = p.time + delay
      if (c.lossTime === 0 || at < c.lossTime) c.lossTime = at
    }
  }
  if (lostBytes > 0) {
    const persistent = c.rtt.samples > 0 && longestRun >= PERSISTENT_CONGESTION_THRESHOLD * c.rtt.pto(c.maxAckDelayOfPeer())
    if (persistent) c.stats.persistentCongestion++
    c.cc.onPacketsLost(now, lostBytes, lastLost, persistent)
  }
}

/** Packets larger than the base stopped getting through: back to the base (what they carried is requeued, and fits). */
function blackHole(c: ConnectionState): void {
  c.stats.mtuBlackHoles++
  c.mtuChanged()
}

function packetLost(c: ConnectionState, p: SentPacket): void {
  if (p.ackEliciting && !p.probe) c.stats.packetsLost++
  if (p.inFlight) c.bytesInFlight -= p.size
  if (p.ackEliciting) c.ackElicitingInFlight--
  c.stats.lossyLost += p.lossy
  if (c.config.resend === undefined) {
    for (let i = 0; i < p.items; i++) c.outbox.queueRetransmission(p.messages[i]!, p.fragments[i]!)
  }
  if (p.hello && !c.confirmed) c.helloPending = true
  if (p.maxData >= 0 && p.maxData >= c.maxDataSent) c.maxDataPending = true
  c.sent.remove(p)
}

/**
 * The probe timeout fired: during the handshake the HELLO goes again; after
 * it, two probes carry the oldest unacknowledged Delivery data (or a PING).
 *
 * @since 0.2.0
 * @category recovery
 */
export function onPto(c: ConnectionState): void {
  c.stats.ptoCount++
  c.ptoCount++
  if (!c.confirmed && (c.state === "handshake")) {
    c.helloPending = true
    return
  }
  if (!sendsData(c.state)) return
  // Probe with the oldest unacknowledged Delivery data, else a PING.
  c.probes = 2
  let queued = 0
  for (let pn = c.sent.firstPn(); pn < c.sent.endPn() && queued < 2; pn++) {
    const p = c.sent.get(pn)
    if (p === undefined || p.items === 0) continue
    for (let i = 0; i < p.items; i++) {
      const m = p.messages[i]!, f = p.fragments[i]!
      if (!m.isAcked(f) && !m.isQueued(f)) {
        c.outbox.queueRetransmission(m, f)
        queued++
      }
    }
  }
  if (queued === 0) c.pingPending = true
}

/**
 * The crate's resend policy (opt-in): resend what the predicate says.
 *
 * @since 0.2.0
 * @category recovery
 */
export function resendScan(c: ConnectionState, now: number): void {
  const predicate = c.config.resend
  if (predicate === undefined) return
  const newest = c.nextD - 1
  for (const m of c.outbox.unacked.values()) {
    for (let i = 0; i < m.fragCount; i++) {
      if (i >= m.sentFragments && m.sentFragments < m.fragCount) break
      if (m.isAcked(i) || m.isQueued(i)) continue
      if (predicate(newest - m.d, now - m.sentAt(i))) c.outbox.queueRetransmission(m, i)
    }
  }
}
