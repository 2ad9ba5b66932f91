/**
 * Bad inputs of the reactor, the effect/socket adapters (Tcp, Unix, Udp, the
 * TLS upgrade) and DCCP.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as NetAddress from "effect/net/NetAddress"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Dccp from "../../../src/dccp/Dccp.ts"
import * as SocketAddress from "../../../src/net/SocketAddress.ts"
import * as TcpListener from "../../../src/net/TcpListener.ts"
import * as IdleStrategy from "../../../src/reactor/IdleStrategy.ts"
import * as Reactor from "../../../src/reactor/Reactor.ts"
import * as Tcp from "../../../src/socket/Tcp.ts"
import * as Udp from "../../../src/socket/Udp.ts"
import * as Unix from "../../../src/socket/Unix.ts"
import { type Case, each, eachNaming, type Group } from "./harness.ts"
import { notAddressParts, notBooleans, notDurations, notInetAddresses, notIntegers, notOptions, notUnixPaths } from "./values.ts"

interface AdapterFixture {
  readonly tcpAt: string
  readonly dir: string
  readonly reader: DatagramSocket.Reader
  readonly writer: DatagramSocket.Writer
  readonly dccpServer: Dccp.DccpServer
  readonly dccpClient: Dccp.DccpSocket
}

const fixture = Effect.gen(function*() {
  const listener = yield* TcpListener.bind("127.0.0.1:0")
  const tcpAt = SocketAddress.format(listener.localAddr() as SocketAddress.SocketAddress)
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "mio-bad-"))),
    (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
  )
  const udp = yield* Udp.make({ bind: "127.0.0.1:0" })
  const reader = yield* udp.reader
  const writer = yield* udp.writer
  const dccpServer = yield* Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [1] })
  const dccpClient = yield* Dccp.connect({ address: `127.0.0.1:${dccpServer.port}`, serviceCode: 1 })
  return { tcpAt, dir, reader, writer, dccpServer, dccpClient } satisfies AdapterFixture
})

const any = <A>(u: unknown): A => u as A

const reactorCases: Array<Case<AdapterFixture>> = [
  ...each<AdapterFixture>("Reactor.make backoff spins", "spins", [-1, Number.NaN, 1.5, "16", Infinity], (_, v) =>
    Reactor.make(IdleStrategy.backoff({ spins: any(v) }))),
  ...each<AdapterFixture>("Reactor.make backoff yields", "yields", [-1, Number.NaN, "64"], (_, v) =>
    Reactor.make(IdleStrategy.backoff({ yields: any(v) }))),
  ...each<AdapterFixture>("Reactor.make spinWith budgetMicros", "budgetMicros", [-1, Number.NaN, "20", Infinity], (_, v) =>
    Reactor.make(IdleStrategy.spinWith({ budgetMicros: any(v) }))),
  ...each<AdapterFixture>("Reactor.make spinWith inPlaceMicros", "inPlaceMicros", [-5, Number.NaN, {}], (_, v) =>
    Reactor.make(IdleStrategy.spinWith({ inPlaceMicros: any(v) }))),
  ...each<AdapterFixture>("Reactor.make block sliceMillis", "sliceMillis", [0, -1, Number.NaN, "2", 1e7], (_, v) =>
    Reactor.make(IdleStrategy.block({ sliceMillis: any(v) }))),
  ...eachNaming<AdapterFixture>("Reactor.make strategy", "strategy", [
    [null, "null"],
    ["park", `"park"`],
    [{}, "{}"],
    [{ _tag: "Warp" }, `{"_tag":"Warp"}`]
  ], (_, v) => Reactor.make(any(v))),
  ...eachNaming<AdapterFixture>("Reactor.make handmade strategy", "sliceMillis", [
    [{ _tag: "Block", sliceMillis: Infinity }, "Infinity"],
    [{ _tag: "Block" }, "undefined"]
  ], (_, v) => Reactor.make(any(v))),
  ...eachNaming<AdapterFixture>("Reactor.make handmade strategy", "budgetMicros", [[{ _tag: "Spin", inPlaceMicros: 5 }, "undefined"]], (_, v) =>
    Reactor.make(any(v))),
  ...each<AdapterFixture>("Reactor.layerBackoff spins", "spins", [-1, Number.NaN, "x"], (_, v) =>
    Layer.build(Reactor.layerBackoff({ spins: any(v) }))),
  ...each<AdapterFixture>("Reactor.layerBlock sliceMillis", "sliceMillis", [0, Number.NaN], (_, v) =>
    Layer.build(Reactor.layerBlock({ sliceMillis: any(v) }))),
  ...each<AdapterFixture>("Reactor.register source", "source", [null, {}, 42], (_, v) => Reactor.register(any(v)))
]

/** Tcp.connect with options, then the reader (where the connection is made). */
const tcpConnect = (f: AdapterFixture, o: Record<string, unknown>) =>
  Effect.flatMap(Tcp.connect(f.tcpAt, o as Tcp.ConnectOptions), (s) => s.reader)

const readerOptionCases = (label: string, run: (f: AdapterFixture, o: Record<string, unknown>) => unknown) => [
  ...each<AdapterFixture>(`${label} chunkSize`, "chunkSize", [0, -1, 2 ** 30, ...notIntegers], (f, v) => run(f, { chunkSize: v })),
  ...each<AdapterFixture>(`${label} maxChunksPerPull`, "maxChunksPerPull", [0, 5000, Number.NaN, "16"], (f, v) => run(f, { maxChunksPerPull: v })),
  ...each<AdapterFixture>(`${label} tlsServer`, "tlsServer", notBooleans, (f, v) => run(f, { tlsServer: v }))
]

/** A client connection's reader upgraded with `options` (checked before any handshake). */
const upgrade = (f: AdapterFixture, options: unknown) =>
  Effect.flatMap(Tcp.connect(f.tcpAt), (s) => Effect.flatMap(s.reader, (r) => r.upgrade(any(options))))

const tlsCases: Array<Case<AdapterFixture>> = [
  ...each<AdapterFixture>("upgrade options", "options", notOptions, upgrade),
  ...each<AdapterFixture>("upgrade servername", "servername", ["", 42, null, {}, "x".repeat(256)], (f, v) => upgrade(f, { servername: v })),
  ...each<AdapterFixture>("upgrade alpnProtocols", "alpnProtocols", ["h2", [""], [42], {}, ["x".repeat(256)]], (f, v) =>
    upgrade(f, { alpnProtocols: v })),
  ...each<AdapterFixture>("upgrade cert", "cert", [42, [], {}, [null]], (f, v) => upgrade(f, { cert: v })),
  ...each<AdapterFixture>("upgrade ca", "ca", [42, [], true, [7]], (f, v) => upgrade(f, { ca: v })),
  ...each<AdapterFixture>("upgrade requestCert", "requestCert", notBooleans, (f, v) => upgrade(f, { requestCert: v })),
  ...each<AdapterFixture>("upgrade rejectUnauthorized", "rejectUnauthorized", notBooleans, (f, v) => upgrade(f, { rejectUnauthorized: v })),
  // Secrets are described, never shown.
  ...eachNaming<AdapterFixture>("upgrade key", "key", [
    ["-----BEGIN PRIVATE KEY-----", "not a string"],
    [42, "not a number"],
    [[], "not an array"],
    [null, "not null"]
  ], (f, v) => upgrade(f, { key: v })),
  ...eachNaming<AdapterFixture>("upgrade passphrase", "passphrase", [["open sesame", "not a string"], [1, "not a number"]], (f, v) =>
    upgrade(f, { passphrase: v }))
]

const tcpCases: Array<Case<AdapterFixture>> = [
  ...each<AdapterFixture>("Tcp.connect address", "connect", notInetAddresses, (_, v) => Tcp.connect(any(v))),
  ...each<AdapterFixture>("Tcp.connect address parts", "connect", notAddressParts, (_, v) => Tcp.connect(any(v))),
  ...each<AdapterFixture>("Tcp.layerSocket address parts", "connect", notAddressParts.slice(0, 3), (_, v) => Layer.build(Tcp.layerSocket(any(v)))),
  ...each<AdapterFixture>("Tcp.connect options", "options", notOptions, (f, v) => Effect.flatMap(Tcp.connect(f.tcpAt, any(v)), (s) => s.reader)),
  ...each<AdapterFixture>("Tcp.connect openTimeout", "openTimeout", notDurations, (f, v) => tcpConnect(f, { openTimeout: v })),
  ...each<AdapterFixture>("Tcp.connect disconnectedWrites", "disconnectedWrites", ["never", 1, true], (f, v) => tcpConnect(f, { disconnectedWrites: v })),
  ...readerOptionCases("Tcp.connect", tcpConnect),
  ...each<AdapterFixture>("Tcp.connect ttl", "ttl", [-1, 0, 256, Number.NaN], (f, v) => tcpConnect(f, { ttl: v })),
  ...each<AdapterFixture>("Tcp.connect nodelay", "nodelay", notBooleans.slice(0, 2), (f, v) => tcpConnect(f, { nodelay: v })),
  ...eachNaming<AdapterFixture>("Tcp.connect keepalive", "keepalive", [
    [{ idle: "garbage" }, `keepalive idle is a duration from 1 to 32767 seconds, not "garbage"`],
    [{ count: 0 }, "keepalive count is an integer from 1 to 127, not 0"],
    ["on", `"on"`]
  ], (f, v) => tcpConnect(f, { keepalive: v })),
  ...each<AdapterFixture>("Tcp.connect linger", "linger", ["x", -1], (f, v) => tcpConnect(f, { linger: v })),
  ...each<AdapterFixture>("Tcp.connect bind", "bind", ["garbage", { _tag: "InetAddressV4" }], (f, v) => tcpConnect(f, { bind: v })),
  ...each<AdapterFixture>("Tcp.listen address", "bind", notInetAddresses.slice(0, 5), (_, v) => Tcp.listen(any(v))),
  ...each<AdapterFixture>("Tcp.listen address parts", "bind", notAddressParts, (_, v) => Tcp.listen(any(v))),
  ...each<AdapterFixture>("Tcp.listen options", "options", notOptions, (_, v) => Tcp.listen("127.0.0.1:0", any(v))),
  ...each<AdapterFixture>("Tcp.listen backlog", "backlog", [-1, Number.NaN, "1"], (_, v) => Tcp.listen("127.0.0.1:0", { backlog: any(v) })),
  ...each<AdapterFixture>("Tcp.listen reusePort", "reusePort", ["yes"], (_, v) => Tcp.listen("127.0.0.1:0", { reusePort: any(v) })),
  ...readerOptionCases("Tcp.listen", (_, o) => Tcp.listen("127.0.0.1:0", o)),
  ...each<AdapterFixture>("Tcp.listen connection", "connection", ["x", 42, null], (_, v) => Tcp.listen("127.0.0.1:0", { connection: any(v) })),
  ...each<AdapterFixture>("Tcp.listen connection.ttl", "connection.ttl", [-1, 0, "64"], (_, v) =>
    Tcp.listen("127.0.0.1:0", { connection: { ttl: any(v) } })),
  ...each<AdapterFixture>("Tcp.listen connection.nodelay", "connection.nodelay", ["yes"], (_, v) =>
    Tcp.listen("127.0.0.1:0", { connection: { nodelay: any(v) } })),
  ...each<AdapterFixture>("Tcp.listen connection.linger", "connection.linger", ["garbage", {}], (_, v) =>
    Tcp.listen("127.0.0.1:0", { connection: { linger: any(v) } })),
  ...each<AdapterFixture>("Tcp.listen connection.recvBufferSize", "connection.recvBufferSize", [0, Number.NaN], (_, v) =>
    Tcp.listen("127.0.0.1:0", { connection: { recvBufferSize: any(v) } })),
  ...each<AdapterFixture>("Tcp.layerSocket openTimeout", "openTimeout", ["garbage"], (f, v) =>
    Layer.build(Tcp.layerSocket(f.tcpAt, { openTimeout: any(v) })))
]

const unixConnect = (f: AdapterFixture, o: Record<string, unknown>) =>
  Effect.flatMap(Unix.connect(join(f.dir, "nobody.sock"), o as Unix.ConnectOptions), (s) => s.reader)

const unixCases: Array<Case<AdapterFixture>> = [
  ...each<AdapterFixture>("Unix.connect address", "connect", notUnixPaths, (_, v) => Effect.flatMap(Unix.connect(any(v)), (s) => s.reader)),
  ...each<AdapterFixture>("Unix.connect host name", "connect", ["localhost:80", { host: "localhost", port: 80 }], (_, v) => Unix.connect(any(v))),
  ...each<AdapterFixture>("Unix.connect openTimeout", "openTimeout", notDurations, (f, v) => unixConnect(f, { openTimeout: v })),
  ...each<AdapterFixture>("Unix.connect options", "options", notOptions, (f, v) => Unix.connect(join(f.dir, "x.sock"), any(v))),
  ...readerOptionCases("Unix.connect", unixConnect),
  ...each<AdapterFixture>("Unix.listen address", "bind", notUnixPaths.slice(0, 6), (_, v) => Unix.listen(any(v))),
  ...each<AdapterFixture>("Unix.listen backlog", "backlog", [-1, Number.NaN], (f, v) => Unix.listen(join(f.dir, "b.sock"), { backlog: any(v) })),
  ...readerOptionCases("Unix.listen", (f, o) => Unix.listen(join(f.dir, "r.sock"), o))
]

/** Udp.make with options, then the reader (where the socket is bound). */
const udpMake = (o: Record<string, unknown>) => Effect.flatMap(Udp.make(o as Udp.Options), (s) => s.reader)
const at = (o: Record<string, unknown>) => ({ bind: "127.0.0.1:0", ...o })

const udpCases: Array<Case<AdapterFixture>> = [
  ...each<AdapterFixture>("Udp.make options", "options", notOptions, (_, v) => udpMake(any(v))),
  ...each<AdapterFixture>("Udp.make bind", "bind", notInetAddresses, (_, v) => udpMake({ bind: v })),
  ...each<AdapterFixture>("Udp.make peer", "peer", ["garbage", { _tag: "InetAddressV4" }, 42], (_, v) => udpMake(at({ peer: v }))),
  ...each<AdapterFixture>("Udp.make peer parts", "peer", notAddressParts.filter((p) => !("path" in (p as object))), (_, v) => udpMake(at({ peer: v }))),
  ...each<AdapterFixture>("Udp.make connect parts", "connect", notAddressParts.slice(0, 5), (_, v) => udpMake(at({ connect: v }))),
  // NodeDatagramSocket's bind leaves out the address or the port; a bad one is still refused.
  ...each<AdapterFixture>("Udp.make bind parts", "bind", [{ address: "127.0.0.1", port: -1 }, { address: null, port: 1 }, { port: "0" }, { host: "bad..name", port: 0 }], (_, v) =>
    udpMake({ bind: v })),
  ...each<AdapterFixture>("Udp.make connect", "connect", ["garbage", { _tag: "InetAddressV6" }], (_, v) => udpMake(at({ connect: v }))),
  ...each<AdapterFixture>("Udp.make reuseAddress", "reuseAddress", notBooleans.slice(0, 2), (_, v) => udpMake(at({ reuseAddress: v }))),
  ...each<AdapterFixture>("Udp.make reusePort", "reusePort", ["yes"], (_, v) => udpMake(at({ reusePort: v }))),
  ...each<AdapterFixture>("Udp.make ipv6Only", "ipv6Only", ["yes"], (_, v) => udpMake({ bind: "[::1]:0", ipv6Only: v })),
  ...each<AdapterFixture>("Udp.make broadcast", "broadcast", ["yes"], (_, v) => udpMake(at({ broadcast: v }))),
  ...each<AdapterFixture>("Udp.make kernelReceiveBufferSize", "kernelReceiveBufferSize", [0, Number.NaN, "1"], (_, v) =>
    udpMake(at({ kernelReceiveBufferSize: v }))),
  ...each<AdapterFixture>("Udp.make kernelSendBufferSize", "kernelSendBufferSize", [-1, Number.NaN], (_, v) =>
    udpMake(at({ kernelSendBufferSize: v }))),
  ...each<AdapterFixture>("Udp.make ttl", "ttl", [0, 256, Number.NaN, "64"], (_, v) => udpMake(at({ ttl: v }))),
  ...each<AdapterFixture>("Udp.make multicast", "multicast", ["x", 42], (_, v) => udpMake(at({ multicast: v }))),
  ...each<AdapterFixture>("Udp.make multicast.interface", "multicast.interface", [
    "nosuchif0",
    -1,
    {},
    NetAddress.ipv6Loopback,
    NetAddress.inetAddressUnsafe(NetAddress.ipv4Loopback, 0)
  ], (_, v) =>
    udpMake(at({ multicast: { interface: v } }))),
  ...each<AdapterFixture>("Udp.make multicast.ttl", "multicast.ttl", [-1, 256, Number.NaN], (_, v) => udpMake(at({ multicast: { ttl: v } }))),
  ...each<AdapterFixture>("Udp.make multicast.loopback", "multicast.loopback", ["yes", 1], (_, v) => udpMake(at({ multicast: { loopback: v } }))),
  ...each<AdapterFixture>("Udp.make receiveBuffer", "receiveBuffer", ["x", 42], (_, v) => udpMake(at({ receiveBuffer: v }))),
  ...each<AdapterFixture>("Udp.make receiveBuffer.capacity", "receiveBuffer.capacity", [-1, 1.5, "8", null], (_, v) =>
    udpMake(at({ receiveBuffer: { capacity: v } }))),
  ...each<AdapterFixture>("Udp.make receiveBuffer.strategy", "receiveBuffer.strategy", ["suspend", 1], (_, v) =>
    udpMake(at({ receiveBuffer: { strategy: v } }))),
  ...each<AdapterFixture>("Udp.make onError", "onError", [42, "log"], (_, v) => udpMake(at({ onError: v }))),
  ...each<AdapterFixture>("Udp.make batch", "batch", ["x", 42], (_, v) => udpMake(at({ batch: v }))),
  ...each<AdapterFixture>("Udp.make batch.size", "batch.size", [0, -1, Number.NaN, "64", 2000], (_, v) => udpMake(at({ batch: { size: v } }))),
  ...each<AdapterFixture>("Udp.make batch.sendBytes", "batch.sendBytes", [0, Number.NaN], (_, v) => udpMake(at({ batch: { sendBytes: v } }))),
  ...each<AdapterFixture>("Udp.make maxDatagramSize", "maxDatagramSize", [-1, Number.NaN, "1000", 1.5], (_, v) => udpMake(at({ maxDatagramSize: v }))),
  ...each<AdapterFixture>("Udp.layer ttl", "ttl", [-1], (_, v) =>
    Layer.build(Udp.layer(at({ ttl: v }) as Udp.Options))),
  // A reader's multicast membership: Effect's NetAddress values, and garbage.
  ...each<AdapterFixture>("reader.joinMulticast group", "group", [
    "239.1.2.3",
    null,
    {},
    NetAddress.ipv4Loopback,
    NetAddress.inetAddressUnsafe(NetAddress.ipv4Loopback, 1)
  ], (f, v) => f.reader.joinMulticast({ group: any<NetAddress.MulticastAddress>(v) })),
  ...each<AdapterFixture>("reader.joinMulticast interface", "interface", [
    -1,
    1.5,
    {},
    "eth0",
    NetAddress.ipv6Loopback,
    NetAddress.inetAddressUnsafe(NetAddress.ipv4Loopback, 0)
  ], (f, v) => f.reader.joinMulticast({ group: any<NetAddress.MulticastAddress>(NetAddress.ipFromStringUnsafe("239.1.2.3")), interface: any<number>(v) })),
  ...each<AdapterFixture>("writer.write payload", "payload", [42, null, {}], (f, v) =>
    f.writer.write({ payload: any(v), address: NetAddress.inetAddressUnsafe(NetAddress.ipv4Loopback, 9) })),
  ...each<AdapterFixture>("writer.write address", "address", ["127.0.0.1:9", { _tag: "InetAddressV4" }, 42], (f, v) =>
    f.writer.write({ payload: new Uint8Array(1), address: any(v) }))
]

const dccpConnect = (o: Record<string, unknown>) =>
  Dccp.connect({ address: "127.0.0.1:1", serviceCode: 1, ...o } as unknown as Dccp.ConnectOptions)
const dccpListen = (o: Record<string, unknown>) =>
  Dccp.listen({ address: "127.0.0.1:0", serviceCodes: [1], ...o } as unknown as Dccp.ListenOptions)

const dccpCases: Array<Case<AdapterFixture>> = [
  ...each<AdapterFixture>("Dccp.connect options", "options", [undefined, ...notOptions], (_, v) => Dccp.connect(any(v))),
  ...each<AdapterFixture>("Dccp.connect address", "connect", notInetAddresses, (_, v) => dccpConnect({ address: v })),
  ...each<AdapterFixture>("Dccp.connect address parts", "connect", notAddressParts, (_, v) => dccpConnect({ address: v })),
  ...each<AdapterFixture>("Dccp.layerSocket address parts", "connect", notAddressParts.slice(0, 3), (_, v) =>
    Layer.build(Dccp.layerSocket({ address: any(v), serviceCode: 1 }))),
  ...each<AdapterFixture>("Dccp.connect serviceCode", "serviceCode", [null, {}, -1, 2 ** 32, 1.5, "TOOLONG", "", "\u00e9", undefined], (_, v) =>
    dccpConnect({ serviceCode: v })),
  ...each<AdapterFixture>("Dccp.connect bind", "bind", ["garbage", { _tag: "InetAddressV4" }, "/tmp/x.sock"], (_, v) => dccpConnect({ bind: v })),
  ...each<AdapterFixture>("Dccp.connect pathMtu", "pathMtu", [100, 70000, Number.NaN, "1500"], (_, v) => dccpConnect({ pathMtu: v })),
  ...each<AdapterFixture>("Dccp.connect txQueueLength", "txQueueLength", [0, Number.NaN, "5"], (_, v) => dccpConnect({ txQueueLength: v })),
  ...each<AdapterFixture>("Dccp.connect sendChecksumCoverage", "sendChecksumCoverage", [16, -1, "1"], (_, v) =>
    dccpConnect({ sendChecksumCoverage: v })),
  ...each<AdapterFixture>("Dccp.connect minimumChecksumCoverage", "minimumChecksumCoverage", [16, Number.NaN], (_, v) =>
    dccpConnect({ minimumChecksumCoverage: v })),
  ...each<AdapterFixture>("Dccp.connect kernelReceiveBufferSize", "kernelReceiveBufferSize", [0, Number.NaN, "1"], (_, v) =>
    dccpConnect({ kernelReceiveBufferSize: v })),
  ...each<AdapterFixture>("Dccp.connect kernelSendBufferSize", "kernelSendBufferSize", [-1, 2 ** 31], (_, v) =>
    dccpConnect({ kernelSendBufferSize: v })),
  ...each<AdapterFixture>("Dccp.connect connectTimeout", "connectTimeout", [{}, null, true, "-5 seconds"], (_, v) =>
    dccpConnect({ connectTimeout: v })),
  ...each<AdapterFixture>("Dccp.connect timewait", "timewait", [-1, Number.NaN], (_, v) => dccpConnect({ timewait: v })),
  ...each<AdapterFixture>("Dccp.connect ccid", "ccid", ["2", 0, null], (_, v) => dccpConnect({ ccid: v })),
  ...each<AdapterFixture>("Dccp.connect dccpPort", "dccpPort", [0, -1, Number.NaN, "5001"], (_, v) => dccpConnect({ dccpPort: v })),
  ...each<AdapterFixture>("Dccp.listen options", "options", [undefined, ...notOptions], (_, v) => Dccp.listen(any(v))),
  ...each<AdapterFixture>("Dccp.listen address", "bind", notInetAddresses, (_, v) => dccpListen({ address: v })),
  ...each<AdapterFixture>("Dccp.listen address parts", "bind", notAddressParts, (_, v) => dccpListen({ address: v })),
  ...each<AdapterFixture>("Dccp.layerServer backlog", "backlog", [-1, "x"], (_, v) =>
    Layer.build(Dccp.layerServer({ address: "127.0.0.1:0", serviceCodes: [1], backlog: any(v) }))),
  ...eachNaming<AdapterFixture>("Dccp.listen serviceCodes", "serviceCodes", [
    [[], "[]"],
    [null, "null"],
    [[null], "serviceCodes[0]"],
    [[1, "TOOLONG"], `"TOOLONG"`],
    [Array(33).fill(1), "1 to 32"]
  ], (_, v) => dccpListen({ serviceCodes: v })),
  ...each<AdapterFixture>("Dccp.listen pathMtu", "pathMtu", [575, "x"], (_, v) => dccpListen({ pathMtu: v })),
  ...each<AdapterFixture>("Dccp.listen dccpPort", "dccpPort", [0, 70000, "1"], (_, v) => dccpListen({ dccpPort: v })),
  ...each<AdapterFixture>("Dccp.listen resetUnknown", "resetUnknown", ["yes", 1], (_, v) => dccpListen({ resetUnknown: v })),
  ...each<AdapterFixture>("Dccp.listen closeTimeout", "closeTimeout", ["garbage", {}], (_, v) => dccpListen({ closeTimeout: v })),
  ...each<AdapterFixture>("Dccp.listen random", "random", ["seeded", 1], (_, v) => dccpListen({ random: v })),
  ...each<AdapterFixture>("Dccp.listen transport kernel", "backlog", [-1], (_, v) => dccpListen({ transport: "kernel", backlog: v })),
  ...each<AdapterFixture>("Dccp.serviceCode", "service code", [null, {}, -1, "TOOLONG"], (_, v) => Dccp.serviceCode(any(v))),
  ...each<AdapterFixture>("dccpSocket.send datagram", "datagram", [42, null, {}, [1, 2]], (f, v) => f.dccpClient.send(any(v)))
]

/** @internal */
export const adapterGroups: ReadonlyArray<Group<AdapterFixture, Reactor.Reactor>> = [
  { name: "reactor", fixture, cases: reactorCases },
  { name: "tcp adapter", fixture, cases: tcpCases },
  { name: "unix adapter", fixture, cases: unixCases },
  { name: "tls upgrade", fixture, cases: tlsCases },
  { name: "udp adapter", fixture, cases: udpCases },
  { name: "dccp", fixture, cases: dccpCases }
]
