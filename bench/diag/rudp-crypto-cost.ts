/**
 * CPU per message of two engines in one process (no sockets, no Effect):
 * 300,000 × 100 B Delivery messages from one to the other, encryption off,
 * AES-256-GCM or ChaCha20-Poly1305, a fixed window. What encryption costs the
 * engine alone (seal, header protection, open, for data and acknowledgement
 * packets). Usage: npx tsx bench/diag/rudp-crypto-cost.ts off|aes-256-gcm|chacha20-poly1305
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
let now = 0
const pump = () => {
  for (let k = 0; k < 50; k++) {
    let any = false
    for (let n = a.pollTransmitInto(now, buf); n > 0; n = a.pollTransmitInto(now, buf)) { b.handleDatagram(now, buf.subarray(0, n)); any = true }
    for (let n = b.pollTransmitInto(now, buf); n > 0; n = b.pollTransmitInto(now, buf)) { a.handleDatagram(now, buf.subarray(0, n)); any = true }
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
console.log(process.argv[2], ((u.user + u.system) / N).toFixed(3), "µs CPU per message (both engines)", a.stats.datagramsSent, b.stats.datagramsSent)
