/**
 * `"aimd"`: NewReno after RFC 9002 §7 — the additive-increase,
 * multiplicative-decrease controller the rudp crate ruled out.
 *
 * - slow start (§7.3.1): the window grows by the bytes acknowledged until the
 *   first loss or `ssthresh`;
 * - congestion avoidance (§7.3.3): one datagram per window of acknowledged
 *   bytes;
 * - a loss of a packet sent after the current recovery period began halves the
 *   window (`kLossReductionFactor` 0.5) and starts a new recovery period; the
 *   window does not grow on acknowledgements of packets sent before it began
 *   (§7.3.2);
 * - persistent congestion (§7.6) drops the window to the minimum, two
 *   datagrams.
 *
 * Paced (§7.7) at 1.25 × cwnd / smoothed RTT.
 *
 * @since 0.2.0
 */
import { type CongestionFactory, initialWindow, Pacer } from "./Congestion.ts"

/**
 * RFC 9002 kLossReductionFactor.
 *
 * @since 0.2.0
 * @category constants
 */
export const LOSS_REDUCTION = 0.5

/**
 * A NewReno controller for one connection.
 *
 * @since 0.2.0
 * @category constructors
 */
export const newReno: CongestionFactory = (initialMtu, initialRtt) => {
  let mtu = initialMtu
  let minWindow = 2 * mtu
  let cwnd = initialWindow(mtu)
  let ssthresh = Number.POSITIVE_INFINITY
  let recoveryStart = Number.NEGATIVE_INFINITY
  let avoidanceCredit = 0
  let congestionEvents = 0
  let persistentEvents = 0
  let srtt = initialRtt
  const pacer = new Pacer(mtu, cwnd)
  const repace = (): void => pacer.setRate((1.25 * cwnd) / Math.max(srtt, 0.05))
  repace()
  return {
    name: "aimd",
    window: () => cwnd,
    pacingRate: () => pacer.rate,
    nextSendTime: (now, bytes) => pacer.nextSendTime(now, bytes),
    onPacketSent: (now, bytes) => pacer.onSent(now, bytes),
    onAck: (_now, s) => {
      srtt = s.rtt.smoothed
      // §7.3.2: no growth on packets sent before the recovery period began; none when app-limited.
      if (s.largestAckedSentAt > recoveryStart && !s.appLimited) {
        if (cwnd < ssthresh) cwnd += s.ackedBytes
        else {
          avoidanceCredit += s.ackedBytes
          while (avoidanceCredit >= cwnd) {
            avoidanceCredit -= cwnd
            cwnd += mtu
          }
        }
      }
      repace()
    },
    onPacketsLost: (now, _bytes, lastLostSentAt, persistent) => {
      if (lastLostSentAt > recoveryStart) {
        recoveryStart = now
        ssthresh = Math.max(minWindow, Math.floor(cwnd * LOSS_REDUCTION))
        cwnd = ssthresh
        avoidanceCredit = 0
        congestionEvents++
      }
      if (persistent) {
        cwnd = minWindow
        persistentEvents++
      }
      repace()
    },
    stats: () => ({
      cwnd,
      ssthresh: ssthresh === Number.POSITIVE_INFINITY ? -1 : ssthresh,
      pacingRate: pacer.rate,
      pacingBurst: pacer.burst,
      congestionEvents,
      persistentCongestion: persistentEvents
    }),
    // RFC 9002 §7.2: the minimum window follows the datagram size; the window never sits below it.
    setMtu: (m) => {
      mtu = m
      minWindow = 2 * m
      if (cwnd < minWindow) cwnd = minWindow
      if (ssthresh < minWindow) ssthresh = minWindow
      pacer.setMtu(m)
      repace()
    }
  }
}
