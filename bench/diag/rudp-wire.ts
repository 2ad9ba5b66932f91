/**
 * Bytes on the wire per delivered byte of the small-burst workload (10,000 ×
 * 100 B Delivery messages offered at t0), over two engines in virtual time
 * (test/rudp/harness.ts): 10 ms each way, the loss given, IPv4 + UDP headers
 * counted (28 bytes per datagram) as the rudp-loss benchmark's relay counts
 * them. Prints the ratio, the datagram sizes and the loss-recovery counters.
 * Usage: npx tsx bench/diag/rudp-wire.ts [loss] [seeds] [extra config JSON]
 */
import { makePair, numbered } from "../../test/rudp/harness.ts"

const loss = Number(process.argv[2] ?? "0.05")
const seeds = Number(process.argv[3] ?? "3")
const extra = JSON.parse(process.argv[4] ?? "{}")
const COUNT = 10_000, SIZE = 100
for (let seed = 1; seed <= seeds; seed++) {
  const pair = makePair({ seed, conditions: { latency: "10 millis", loss }, a: extra, b: { ...extra, role: "server" } })
  let fwdBytes = 0, fwdDatagrams = 0, revBytes = 0, revDatagrams = 0
  const sizes = new Map<number, number>()
  const orig = pair.net.transmit.bind(pair.net)
  ;(pair.net as { transmit: typeof orig }).transmit = (from, to, bytes, opts) => {
    if (from === "a") {
      fwdBytes += bytes.length + 28
      fwdDatagrams++
      const b = Math.floor(bytes.length / 100) * 100
      sizes.set(b, (sizes.get(b) ?? 0) + 1)
    } else {
      revBytes += bytes.length + 28
      revDatagrams++
    }
    return orig(from, to, bytes, opts)
  }
  pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
  const t0 = pair.net.now()
  for (let i = 0; i < COUNT; i++) pair.send(pair.a, numbered(i, SIZE), "Delivery")
  pair.pump()
  pair.runUntil(() => pair.b.received.length >= COUNT)
  const s = pair.a.engine.stats
  console.log(JSON.stringify({
    seed,
    loss,
    completion_ms: pair.net.now() - t0,
    fwd_ratio: +(fwdBytes / (COUNT * SIZE)).toFixed(4),
    rev_ratio: +(revBytes / (COUNT * SIZE)).toFixed(4),
    fwdDatagrams,
    revDatagrams,
    packetsLost: s.packetsLost,
    retransmissions: s.retransmissions,
    redundant: s.redundantRetransmissions,
    pto: s.ptoCount,
    acksSentA: s.acksSent,
    // Delivery messages the receiver already had: resends of what was not lost (spurious) or second copies.
    duplicatesAtReceiver: pair.b.engine.inbox.drops.duplicate,
    duplicatePackets: pair.b.engine.stats.dropped.duplicate,
    sizes: Object.fromEntries([...sizes].sort((x, y) => x[0] - y[0]))
  }))
}
