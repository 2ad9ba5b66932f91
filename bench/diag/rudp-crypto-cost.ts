/**
 * CPU per message of two engines in one process (no sockets, no Effect):
 * 300,000 × 100 B Delivery messages from one to the other, encryption off,
 * AES-256-GCM or ChaCha20-Poly1305, a fixed window. What encryption costs the
 * engine alone (seal, header protection, open, for data and acknowledgement
 * packets). Usage: npx tsx bench/diag/rudp-crypto-cost.ts off|aes-256-gcm|chacha20-poly1305 [batch]
 * (`batch`: both engines drained with pollTransmitBatch, 32 datagrams at a time, as the driver does —
 * one header-protection call per batch; without it, pollTransmitInto per datagram)
 * (node --import tsx --cpu-prof … for a profile).
 */
import { makeConfig } from "../../src/rudp/engine/Config.ts"
import { RudpEngine } from "../../src/rudp/engine/Connection.ts"
const enc = process.argv[2] === "off" ? undefined : { psk: "0123456789abcdef0123", cipher: process.argv[2] as "aes-256-gcm" }
let seed = 1
const random = () => (seed = (seed * 48271) % 2147483647)
const a = new RudpEngine(0, makeConfig({ random, encryption: enc, congestion: "none", window: 1 << 24, receiveWindow: 1 << 26 }))
const b = new RudpEngine(0, makeConfig({ random, role: "server", encryption: enc, congestion: "none", window: 1 << 24, receiveWindow: 1 << 26 }))
const buf = new Uint8Array(2048)
const batched = process.argv[3] === "batch"
const bufs = Array.from({ length: 32 }, () => new Uint8Array(2048)), lengths: Array<number> = []
/** Moves everything `from` has to `to`; returns whether anything moved. */
const move = (from: RudpEngine, to: RudpEngine): boolean => {
  let any = false
  const timed = from === a
  for (;;) {
    const t = timed ? performance.now() : 0
    const n = batched ? from.pollTransmitBatch(now, bufs, lengths) : from.pollTransmitInto(now, buf)
    if (timed) transmitMs += performance.now() - t
    if (n === 0) return any
    any = true
    if (batched) for (let i = 0; i < n; i++) to.handleDatagram(now, bufs[i]!.subarray(0, lengths[i]!))
    else to.handleDatagram(now, buf.subarray(0, n))
  }
}
/** Milliseconds the sending engine spent writing (and sealing) its datagrams. */
let transmitMs = 0
let now = 0
const pump = () => {
  for (let k = 0; k < 50; k++) {
    let any = move(a, b)
    if (move(b, a)) any = true
    while (b.pollMessage() !== undefined) any = true
    if (!any) break
  }
}
pump()
for (let i = 0; i < 20 && !(a.isConnected && b.isConnected); i++) { now += 1; a.handleTimeout(now); b.handleTimeout(now); pump() }
if (!a.isConnected || !b.isConnected) throw new Error("the handshake did not complete")
const payload = new Uint8Array(100)
const N = 300000
const t0 = process.cpuUsage()
for (let i = 0; i < N; i++) {
  if (typeof a.send(now, payload, "Delivery") !== "number") { now += 0.01; pump(); a.send(now, payload, "Delivery") }
  if (i % 64 === 63) { now += 0.01; pump() }
}
pump()
const u = process.cpuUsage(t0)
console.log(process.argv[2], batched ? "batch" : "single", ((u.user + u.system) / N).toFixed(3), "µs CPU per message (both engines);",
  ((transmitMs * 1000) / a.stats.datagramsSent).toFixed(2), "µs per datagram in the sender's transmit;", a.stats.datagramsSent, "datagrams,", b.stats.datagramsSent, "acknowledgements")
