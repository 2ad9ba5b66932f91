/**
 * The small-paced workload in virtual time (test/rudp/harness.ts): 4,000 ×
 * 100 B Delivery messages at 2,000 msg/s, 10 ms each way, the loss given;
 * prints latency p50 / p99 / max and the wire ratio per seed (no CPU noise:
 * what the protocol's own choices cost). Usage: npx tsx bench/diag/rudp-paced.ts [loss] [seeds]
 */
import { makePair, numbered, numberOf } from "../../test/rudp/harness.ts"

const loss = Number(process.argv[2] ?? "0.05")
const seeds = Number(process.argv[3] ?? "5")
const COUNT = 4000, SIZE = 100
for (let seed = 1; seed <= seeds; seed++) {
  const pair = makePair({ seed, conditions: { latency: "10 millis", loss }, b: { role: "server" } })
  let fwd = 0
  const orig = pair.net.transmit.bind(pair.net)
  ;(pair.net as { transmit: typeof orig }).transmit = (from, to, bytes, opts) => {
    if (from === "a") fwd += bytes.length + 28
    return orig(from, to, bytes, opts)
  }
  pair.runUntil(() => pair.a.engine.isConnected && pair.b.engine.isConnected)
  const t0 = pair.net.now()
  const sentAt: Array<number> = []
  for (let i = 0; i < COUNT; i++) {
    pair.net.schedule(t0 + i * 0.5 - pair.net.now(), () => {
      sentAt[i] = pair.net.now()
      pair.send(pair.a, numbered(i, SIZE), "Delivery")
      pair.pump()
    })
  }
  const lat: Array<number> = []
  let seen = 0
  pair.runUntil(() => {
    for (; seen < pair.b.received.length; seen++) lat.push(pair.net.now() - sentAt[numberOf(pair.b.received[seen]!.payload)]!)
    return pair.b.received.length >= COUNT
  })
  lat.sort((x, y) => x - y)
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(1)
  console.log(JSON.stringify({ seed, loss, p50: q(0.5), p99: q(0.99), max: q(1), wire: +(fwd / (COUNT * SIZE)).toFixed(3), redundant: pair.a.engine.stats.redundantRetransmissions, retransmissions: pair.a.engine.stats.retransmissions }))
}
