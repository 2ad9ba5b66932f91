/**
 * The DCCP engine alone, in memory (no sockets, no Effect): a client engine and
 * a listener's connection exchanging packets through `transmitInto` and
 * `handleDatagram`. Diagnostic, not part of `npm run bench`.
 *
 *   npx tsx --conditions=effect-mio-source bench/diag/dccp-engine.ts rtt|oneway [ccid 2|3] [count]
 *
 * rtt: 64 B ping-pong, CPU µs per round trip (both engines). oneway: bursts of
 * five 64 B datagrams one way and the acknowledgements back, CPU µs per data
 * packet (both engines). Pin it (`taskset -c 1`) and compare runs of two
 * builds alternately; the figures move with the machine's load.
 */
import { makeConfig, type Path } from "../../src/dccp/engine/Config.ts"
import { DccpEngine } from "../../src/dccp/engine/Connection.ts"
import { DccpListener, makeListenerConfig } from "../../src/dccp/engine/Listener.ts"
import { seededRandom } from "../../src/dccp/engine/Random.ts"

const mode = process.argv[2] === "oneway" ? "oneway" : "rtt"
const ccid = process.argv[3] === "3" ? 3 : 2
const count = Number(process.argv[4] ?? (mode === "rtt" ? 200_000 : 100_000))

const LOOPBACK = Uint8Array.of(127, 0, 0, 1)
const random = seededRandom(1)
const listener = new DccpListener(
  makeListenerConfig({ port: 5001, serviceCodes: [42], connection: makeConfig({ random, ccids: [2, 3], encapsulation: "udp" }) })
)
const path: Path = { family: "ipv4", localAddress: LOOPBACK, remoteAddress: LOOPBACK, localPort: 40000, remotePort: 5001, transportKey: "k" }
const addresses = { family: "ipv4" as const, localAddress: LOOPBACK, remoteAddress: LOOPBACK, transportKey: "k" }
let now = 0
const client = DccpEngine.connect(now, { path, serviceCode: 42, config: makeConfig({ random, ccids: [ccid], encapsulation: "udp" }) })
let server: DccpEngine | undefined

const area = new Uint8Array(64 * 1024)
const toServer = (): number => {
  let n = 0
  for (let k = client.transmitInto(now, area, 0); k !== 0; k = client.transmitInto(now, area, 0)) {
    listener.handleDatagram(now, area.subarray(0, k), addresses)
    n++
  }
  return n
}
const toClient = (): number => {
  let n = 0
  for (let k = listener.transmitInto(now, area, 0); k !== 0; k = listener.transmitInto(now, area, 0)) {
    client.handleDatagram(now, area.subarray(0, k))
    n++
  }
  return n
}
const timers = (): void => {
  const c = client.pollTimeout()
  if (c !== undefined && c <= now) client.handleTimeout(now)
  const l = listener.pollTimeout()
  if (l !== undefined && l <= now) listener.handleTimeout(now)
}

// The handshake.
for (let i = 0; i < 50 && (client.state !== "OPEN" || server?.state !== "OPEN"); i++) {
  now += 1
  while (toServer() + toClient() > 0) {
    for (let e = listener.pollEvent(); e !== undefined; e = listener.pollEvent()) server = e.connection
  }
  timers()
}
if (server === undefined) throw new Error("no connection")
const peer = server
const message = new Uint8Array(64)

const rtt = (): number => {
  now += 0.03
  client.send(now, message)
  toServer()
  for (let e = peer.pollEvent(); e !== undefined; e = peer.pollEvent()) if (e.type === "data") peer.send(now, e.payload)
  toClient()
  toServer()
  while (client.pollEvent() !== undefined);
  timers()
  return 1
}
const oneway = (): number => {
  now += 0.02
  for (let i = 0; i < 5; i++) if (client.send(now, message) !== "queued") break
  const sent = toServer()
  while (peer.pollEvent() !== undefined);
  toClient()
  while (client.pollEvent() !== undefined);
  timers()
  return sent
}
const step = mode === "rtt" ? rtt : oneway

for (let i = 0; i < count / 5; i++) step()
let units = 0
const c0 = process.cpuUsage()
for (let i = 0; i < count; i++) units += step()
const cpu = process.cpuUsage(c0)
console.log(JSON.stringify({
  mode,
  ccid,
  cpu_us: +((cpu.user + cpu.system) / units).toFixed(2),
  per: mode === "rtt" ? "round trip" : "data packet",
  delivered: peer.stats.dataPacketsDelivered
}))
