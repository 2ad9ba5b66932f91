/**
 * Bad inputs of the socket floor: addresses, constructors and their options,
 * every option setter, buffers, multicast, batches, Unix paths, raw and kernel
 * DCCP sockets.
 */
import * as Effect from "effect/Effect"
import * as NetAddress from "effect/net/NetAddress"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as DccpKernel from "../../../src/net/DccpKernel.ts"
import * as Pipe from "../../../src/net/Pipe.ts"
import * as RawSocket from "../../../src/net/RawSocket.ts"
import * as Resolver from "../../../src/net/Resolver.ts"
import * as SocketAddress from "../../../src/net/SocketAddress.ts"
import * as TcpListener from "../../../src/net/TcpListener.ts"
import * as TcpStream from "../../../src/net/TcpStream.ts"
import * as UdpSocket from "../../../src/net/UdpSocket.ts"
import * as UnixDatagram from "../../../src/net/UnixDatagram.ts"
import * as UnixListener from "../../../src/net/UnixListener.ts"
import * as UnixStream from "../../../src/net/UnixStream.ts"
import { type Case, each, eachNaming, type Group, shown } from "./harness.ts"
import {
  hostNames,
  notAddresses,
  notAddressParts,
  notBooleans,
  notDurations,
  notInetAddresses,
  notIntegers,
  notOptions,
  notUnixPaths
} from "./values.ts"

interface NetFixture {
  readonly listenAt: string
  readonly stream: TcpStream.TcpStream
  readonly udp: UdpSocket.UdpSocket
  readonly udp6: UdpSocket.UdpSocket
  readonly unixStream: UnixStream.UnixStream
  readonly unixDatagram: UnixDatagram.UnixDatagram
  readonly sender: Pipe.Sender
  readonly receiver: Pipe.Receiver
  readonly dir: string
}

const fixture = Effect.gen(function*() {
  const listener = yield* TcpListener.bind("127.0.0.1:0")
  const listenAt = SocketAddress.format(listener.localAddr() as SocketAddress.SocketAddress)
  const stream = yield* TcpStream.connect(listenAt)
  const udp = yield* UdpSocket.bind("127.0.0.1:0")
  const udp6 = yield* UdpSocket.bind("[::1]:0")
  const [unixStream] = yield* UnixStream.pair()
  const unixDatagram = yield* UnixDatagram.unbound()
  const [sender, receiver] = yield* Pipe.make()
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "mio-bad-"))),
    (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
  )
  return { listenAt, stream, udp, udp6, unixStream, unixDatagram, sender, receiver, dir } satisfies NetFixture
})

const any = <A>(u: unknown): A => u as A
const bytes = new Uint8Array(8)

/** An address case: the message names the operation and the value. */
const addressCases = (label: string, syscall: string, values: ReadonlyArray<unknown>, run: (f: NetFixture, v: unknown) => unknown) =>
  each<NetFixture>(label, syscall, values, run)

/** An integer option with its range: below, above, and every non-integer. */
const intCases = (
  label: string,
  option: string,
  min: number,
  max: number,
  run: (f: NetFixture, v: unknown) => unknown,
  extra: ReadonlyArray<unknown> = []
): Array<Case<NetFixture>> => each<NetFixture>(label, option, [min - 1, max + 1, ...notIntegers, ...extra], run)

/** `UdpSocket.fromFd` on a fresh socket: adopted on success, closed here on failure. */
const adoptedUdp = (options: Parameters<typeof UdpSocket.fromFd>[1]) =>
  Effect.suspend(() => {
    const u = UdpSocket.bindUnscoped("127.0.0.1:0") as UdpSocket.UdpSocket
    return UdpSocket.fromFd(u.fd, options).pipe(Effect.tapError(() => Effect.sync(() => u.close())))
  })

const notBuffers: ReadonlyArray<unknown> = ["bytes", 42, null, {}, [1, 2, 3]]
/** Not arrays of buffers, with what the message names: the argument, or its bad element. */
const notBufferLists: ReadonlyArray<readonly [unknown, string]> = [["bytes", `"bytes"`], [null, "null"], [[bytes, "x"], `buffers[1]`], [[42], "buffers[0]"]]

/** Options every IP socket constructor takes. */
const ipSocketOptionCases = (label: string, run: (f: NetFixture, o: Record<string, unknown>) => unknown) => [
  ...each<NetFixture>(`${label} options`, "options", notOptions, (f, v) => run(f, any(v))),
  ...each<NetFixture>(`${label} reuseAddr`, "reuseAddr", notBooleans, (f, v) => run(f, { reuseAddr: v })),
  ...each<NetFixture>(`${label} reusePort`, "reusePort", notBooleans.slice(0, 2), (f, v) => run(f, { reusePort: v })),
  ...each<NetFixture>(`${label} onlyV6`, "onlyV6", ["yes", 0], (f, v) => run(f, { onlyV6: v })),
  ...each<NetFixture>(`${label} recvBufferSize`, "recvBufferSize", [0, -1, Number.NaN, "4096", 2 ** 31], (f, v) => run(f, { recvBufferSize: v }))
]

const streamSetterCases = (label: string, get: (f: NetFixture) => TcpStream.TcpStream | UnixStream.UnixStream): Array<Case<NetFixture>> => [
  ...intCases(`${label}.setRecvBufferSize`, "SO_RCVBUF", 1, 2 ** 31 - 1, (f, v) => get(f).setRecvBufferSize(any(v))),
  ...intCases(`${label}.setSendBufferSize`, "SO_SNDBUF", 1, 2 ** 31 - 1, (f, v) => get(f).setSendBufferSize(any(v))),
  ...each<NetFixture>(`${label}.setReuseAddr`, "SO_REUSEADDR", notBooleans, (f, v) => get(f).setReuseAddr(any(v))),
  ...each<NetFixture>(`${label}.setReusePort`, "SO_REUSEPORT", notBooleans, (f, v) => get(f).setReusePort(any(v))),
  ...each<NetFixture>(`${label}.shutdown`, "shutdown", ["sideways", 1, null], (f, v) => get(f).shutdown(any(v))),
  ...each<NetFixture>(`${label}.read`, "buffer", notBuffers, (f, v) => get(f).read(any(v))),
  ...each<NetFixture>(`${label}.write`, "buffer", notBuffers, (f, v) => get(f).write(any(v))),
  ...each<NetFixture>(`${label}.peek`, "buffer", notBuffers.slice(0, 3), (f, v) => get(f).peek(any(v))),
  ...eachNaming<NetFixture>(`${label}.readv`, "buffers", notBufferLists, (f, v) => get(f).readv(any(v))),
  ...eachNaming<NetFixture>(`${label}.writev`, "buffers", notBufferLists, (f, v) => get(f).writev(any(v)))
]

const tcpCases: Array<Case<NetFixture>> = [
  ...addressCases("TcpListener.bind", "bind", notInetAddresses, (_, v) => TcpListener.bind(any(v))),
  ...ipSocketOptionCases("TcpListener.bind", (_, o) => TcpListener.bind("127.0.0.1:0", o)),
  ...each<NetFixture>("TcpListener.bind backlog", "backlog", [-1, Number.NaN, 1.5, "128", null, 2 ** 31], (_, v) =>
    TcpListener.bind("127.0.0.1:0", { backlog: any(v) })),
  ...each<NetFixture>("TcpListener.bindUnscoped backlog", "backlog", [-1, "128"], (_, v) =>
    TcpListener.bindUnscoped("127.0.0.1:0", { backlog: any(v) })),
  ...addressCases("TcpStream.connect", "connect", notInetAddresses, (_, v) => TcpStream.connect(any(v))),
  ...addressCases("TcpStream.connect bind", "bind", notAddresses.slice(0, 8), (f, v) => TcpStream.connect(f.listenAt, { bind: any(v) })),
  ...each<NetFixture>("TcpStream.connect options", "options", notOptions, (f, v) => TcpStream.connect(f.listenAt, any(v))),
  ...each<NetFixture>("TcpStream.connect nodelay", "nodelay", notBooleans, (f, v) => TcpStream.connect(f.listenAt, { nodelay: any(v) })),
  ...each<NetFixture>("TcpStream.connect ttl", "ttl", [0, 256, -1, Number.NaN, "64"], (f, v) => TcpStream.connect(f.listenAt, { ttl: any(v) })),
  ...each<NetFixture>("TcpStream.connect tos", "tos", [-1, 256, Number.NaN, "0"], (f, v) => TcpStream.connect(f.listenAt, { tos: any(v) })),
  ...each<NetFixture>("TcpStream.connect linger", "linger", notDurations, (f, v) => TcpStream.connect(f.listenAt, { linger: any(v) })),
  ...each<NetFixture>("TcpStream.connect recvBufferSize", "recvBufferSize", [0, Number.NaN, "1"], (f, v) =>
    TcpStream.connect(f.listenAt, { recvBufferSize: any(v) })),
  ...each<NetFixture>("TcpStream.connect sendBufferSize", "sendBufferSize", [-1, Number.NaN, "1"], (f, v) =>
    TcpStream.connect(f.listenAt, { sendBufferSize: any(v) })),
  ...each<NetFixture>("TcpStream.connect keepalive", "keepalive", ["yes", 1, null], (f, v) => TcpStream.connect(f.listenAt, { keepalive: any(v) })),
  ...each<NetFixture>("TcpStream.connectUnscoped ttl", "ttl", [-1, "64"], (f, v) => TcpStream.connectUnscoped(f.listenAt, { ttl: any(v) })),
  // Setters of a connected stream.
  ...streamSetterCases("TcpStream", (f) => f.stream),
  ...intCases("TcpStream.setTtl", "TTL", 1, 255, (f, v) => f.stream.setTtl(any(v))),
  ...intCases("TcpStream.setTos", "TOS", 0, 255, (f, v) => f.stream.setTos(any(v))),
  ...each<NetFixture>("TcpStream.setNodelay", "TCP_NODELAY", notBooleans, (f, v) => f.stream.setNodelay(any(v))),
  ...each<NetFixture>("TcpStream.setLinger", "SO_LINGER", [...notDurations, "x", 2 ** 40 * 1000], (f, v) => f.stream.setLinger(any(v))),
  ...each<NetFixture>("TcpStream.setKeepalive", "keepalive", ["yes", 0, null, 42], (f, v) => f.stream.setKeepalive(any(v))),
  ...each<NetFixture>("TcpStream.setKeepalive idle", "keepalive idle", [...notDurations, "10 days"], (f, v) =>
    f.stream.setKeepalive({ idle: any(v) })),
  ...each<NetFixture>("TcpStream.setKeepalive interval", "keepalive interval", ["garbage", -1, Number.NaN, {}, 0], (f, v) =>
    f.stream.setKeepalive({ interval: any(v) })),
  ...each<NetFixture>("TcpStream.setKeepalive count", "keepalive count", [0, 128, Number.NaN, "3", 1.5], (f, v) =>
    f.stream.setKeepalive({ count: any(v) })),
  ...eachNaming<NetFixture>("TcpStream.setOnlyV6 on IPv4", "IPV6_V6ONLY", [[true, "IPv6 sockets"]], (f, v) => f.stream.setOnlyV6(any(v))),
  ...each<NetFixture>("TcpStream.writeOob", "buffer", notBuffers.slice(0, 3), (f, v) => f.stream.writeOob(any(v))),
  ...each<NetFixture>("TcpStream.fromFd", "fd", [-1, Number.NaN, "3", null, 2 ** 40], (_, v) => TcpStream.fromFd(any(v))),
  ...each<NetFixture>("TcpListener.fromFd", "fd", [-1, "3"], (_, v) => TcpListener.fromFd(any(v)))
]

const udpCases: Array<Case<NetFixture>> = [
  ...addressCases("UdpSocket.bind", "bind", notInetAddresses, (_, v) => UdpSocket.bind(any(v))),
  ...ipSocketOptionCases("UdpSocket.bind", (_, o) => UdpSocket.bind("127.0.0.1:0", o)),
  ...each<NetFixture>("UdpSocket.bind broadcast", "broadcast", notBooleans, (_, v) => UdpSocket.bind("127.0.0.1:0", { broadcast: any(v) })),
  ...each<NetFixture>("UdpSocket.bind sendBufferSize", "sendBufferSize", [0, Number.NaN], (_, v) => UdpSocket.bind("127.0.0.1:0", { sendBufferSize: any(v) })),
  ...each<NetFixture>("UdpSocket.bind ttl", "ttl", [0, 256, "64"], (_, v) => UdpSocket.bind("127.0.0.1:0", { ttl: any(v) })),
  ...each<NetFixture>("UdpSocket.bind tos", "tos", [-1, 256, Number.NaN], (_, v) => UdpSocket.bind("127.0.0.1:0", { tos: any(v) })),
  ...each<NetFixture>("UdpSocket.bind batch", "batch", ["x", 42, null], (_, v) => UdpSocket.bind("127.0.0.1:0", { batch: any(v) })),
  ...each<NetFixture>("UdpSocket.bind batch.size", "batch.size", [0, -1, 1025, Number.NaN, "64", 1.5], (_, v) =>
    UdpSocket.bind("127.0.0.1:0", { batch: { size: any(v) } })),
  ...each<NetFixture>("UdpSocket.bind batch.bufferSize", "batch.bufferSize", [0, 65537, Number.NaN, "2048"], (_, v) =>
    UdpSocket.bind("127.0.0.1:0", { batch: { bufferSize: any(v) } })),
  ...each<NetFixture>("UdpSocket.bind batch.sendBytes", "batch.sendBytes", [100, 2 ** 25, Number.NaN, "1"], (_, v) =>
    UdpSocket.bind("127.0.0.1:0", { batch: { sendBytes: any(v) } })),
  ...each<NetFixture>("UdpSocket.bindUnscoped ttl", "ttl", [-1], (_, v) => UdpSocket.bindUnscoped("127.0.0.1:0", { ttl: any(v) })),
  ...each<NetFixture>("UdpSocket.fromFd batch.size", "batch.size", [0, Number.NaN], (_, v) => adoptedUdp({ batch: { size: any(v) } })),
  // Methods of a bound socket.
  ...addressCases("udp.sendTo", "sendto", notAddresses, (f, v) => f.udp.sendTo(bytes, any(v))),
  ...addressCases("udp.connect", "connect", notAddresses.slice(0, 10), (f, v) => f.udp.connect(any(v))),
  ...each<NetFixture>("udp.sendTo buffer", "buffer", notBuffers, (f, v) => f.udp.sendTo(any(v), "127.0.0.1:9")),
  ...each<NetFixture>("udp.recvFrom buffer", "buffer", notBuffers.slice(0, 3), (f, v) => f.udp.recvFrom(any(v))),
  ...each<NetFixture>("udp.peekFrom buffer", "buffer", notBuffers.slice(0, 2), (f, v) => f.udp.peekFrom(any(v))),
  ...each<NetFixture>("udp.send buffer", "buffer", notBuffers.slice(0, 2), (f, v) => f.udp.send(any(v))),
  ...each<NetFixture>("udp.recv buffer", "buffer", notBuffers.slice(0, 2), (f, v) => f.udp.recv(any(v))),
  ...intCases("udp.setTtl", "TTL", 1, 255, (f, v) => f.udp.setTtl(any(v))),
  ...intCases("udp6.setTtl", "hop limit", 1, 255, (f, v) => f.udp6.setTtl(any(v))),
  ...intCases("udp.setTos", "TOS", 0, 255, (f, v) => f.udp.setTos(any(v))),
  ...intCases("udp6.setTos", "traffic class", 0, 255, (f, v) => f.udp6.setTos(any(v))),
  ...intCases("udp.setMulticastTtl", "multicast TTL", 0, 255, (f, v) => f.udp.setMulticastTtl(any(v))),
  ...intCases("udp6.setMulticastTtl", "multicast hops", 0, 255, (f, v) => f.udp6.setMulticastTtl(any(v))),
  ...each<NetFixture>("udp.setBroadcast", "SO_BROADCAST", notBooleans, (f, v) => f.udp.setBroadcast(any(v))),
  ...each<NetFixture>("udp.setMulticastLoop", "IP_MULTICAST_LOOP", notBooleans, (f, v) => f.udp.setMulticastLoop(any(v))),
  ...each<NetFixture>("udp6.setMulticastLoop", "IPV6_MULTICAST_LOOP", notBooleans.slice(0, 2), (f, v) => f.udp6.setMulticastLoop(any(v))),
  ...each<NetFixture>("udp6.setOnlyV6", "IPV6_V6ONLY", notBooleans.slice(0, 2), (f, v) => f.udp6.setOnlyV6(any(v))),
  ...each<NetFixture>("udp.setGro", "UDP_GRO", notBooleans, (f, v) => f.udp.setGro(any(v))),
  ...each<NetFixture>("udp.recvBatch max", "max", [0, -1, Number.NaN, "5", 1.5], (f, v) => f.udp.recvBatch(any(v))),
  ...eachNaming<NetFixture>("udp.sendBatch datagrams", "datagrams", [
    ["x", `"x"`],
    [null, "null"],
    [42, "42"],
    [[null], "datagrams[0]"],
    [[{ payload: bytes, address: "127.0.0.1:9" }, {}], "datagrams[1]"],
    [[{ payload: "x" }], `{"payload":"x"}`]
  ], (f, v) => f.udp.sendBatch(any(v))),
  ...addressCases("udp.sendBatch address", "sendmmsg", ["garbage", { _tag: "InetAddressV4" }], (f, v) =>
    f.udp.sendBatch([{ payload: bytes, address: any(v) }])),
  ...each<NetFixture>("udp.sendSegments segmentSize", "segment size", [0, -1, 65508, Number.NaN, "100"], (f, v) =>
    f.udp.sendSegments(bytes, any(v), "127.0.0.1:9")),
  ...each<NetFixture>("udp.sendSegments payload", "buffer", notBuffers.slice(0, 3), (f, v) => f.udp.sendSegments(any(v), 4, "127.0.0.1:9")),
  // Multicast: groups and interfaces, including Effect's NetAddress values.
  ...each<NetFixture>("udp.joinMulticast group", "group", ["10.0.0.1", "garbage", 42, null, {}, NetAddress.ipv4Loopback, "ff02::1"], (f, v) =>
    f.udp.joinMulticast(any(v))),
  ...each<NetFixture>(
    "udp.joinMulticast interface",
    "interface",
    ["nosuchif0", -1, 1.5, Number.NaN, {}, NetAddress.ipv6Loopback, NetAddress.inetAddressUnsafe(NetAddress.ipv4Loopback, 0)],
    (f, v) => f.udp.joinMulticast("239.1.2.3", any(v))
  ),
  ...each<NetFixture>("udp6.joinMulticast interface", "interface", ["nosuchif0", -1, NetAddress.ipv6Loopback, {}], (f, v) =>
    f.udp6.joinMulticast("ff02::1:3", any(v))),
  ...each<NetFixture>("udp.leaveMulticast group", "group", ["10.0.0.1", null], (f, v) => f.udp.leaveMulticast(any(v))),
  ...each<NetFixture>("udp.setMulticastInterface", "interface", ["nosuchif0", -1, null, {}, NetAddress.ipv6Loopback], (f, v) =>
    f.udp.setMulticastInterface(any(v))),
  ...each<NetFixture>("udp6.setMulticastInterface", "interface", ["nosuchif0", 1.5, NetAddress.ipv6Loopback], (f, v) =>
    f.udp6.setMulticastInterface(any(v)))
]

const unixCases: Array<Case<NetFixture>> = [
  ...addressCases("UnixListener.bind", "bind", notUnixPaths, (_, v) => UnixListener.bind(any(v))),
  ...each<NetFixture>("UnixListener.bind backlog", "backlog", [-1, Number.NaN, "8", 2 ** 31], (f, v) =>
    UnixListener.bind(join(f.dir, `l-${shown(v).length}`), { backlog: any(v) })),
  ...each<NetFixture>("UnixListener.bind unlinkOnClose", "unlinkOnClose", ["yes", 0], (f, v) =>
    UnixListener.bind(join(f.dir, "l-unlink"), { unlinkOnClose: any(v) })),
  ...each<NetFixture>("UnixListener.bind options", "options", notOptions, (f, v) => UnixListener.bind(join(f.dir, "l-opt"), any(v))),
  ...addressCases("UnixStream.connect", "connect", notUnixPaths, (_, v) => UnixStream.connect(any(v))),
  ...addressCases("UnixDatagram.bind", "bind", notUnixPaths, (_, v) => UnixDatagram.bind(any(v))),
  ...each<NetFixture>("UnixDatagram.bind unlinkOnClose", "unlinkOnClose", ["yes"], (f, v) =>
    UnixDatagram.bind(join(f.dir, "d-unlink"), { unlinkOnClose: any(v) })),
  ...addressCases("unixDatagram.sendTo", "sendto", notUnixPaths, (f, v) => f.unixDatagram.sendTo(bytes, any(v))),
  ...addressCases("unixDatagram.connect", "connect", notUnixPaths.slice(0, 6), (f, v) => f.unixDatagram.connect(any(v))),
  ...each<NetFixture>("unixDatagram.sendTo buffer", "buffer", notBuffers.slice(0, 3), (f, v) => f.unixDatagram.sendTo(any(v), "@x")),
  ...each<NetFixture>("unixDatagram.recvFrom buffer", "buffer", notBuffers.slice(0, 2), (f, v) => f.unixDatagram.recvFrom(any(v))),
  ...streamSetterCases("UnixStream", (f) => f.unixStream),
  ...each<NetFixture>("UnixStream.fromFd", "fd", [-1, "3"], (_, v) => UnixStream.fromFd(any(v))),
  // Pipes
  ...each<NetFixture>("pipe.write", "buffer", notBuffers, (f, v) => f.sender.write(any(v))),
  ...eachNaming<NetFixture>("pipe.writev", "buffers", notBufferLists, (f, v) => f.sender.writev(any(v))),
  ...each<NetFixture>("pipe.read", "buffer", notBuffers, (f, v) => f.receiver.read(any(v))),
  ...eachNaming<NetFixture>("pipe.readv", "buffers", notBufferLists.slice(0, 3), (f, v) => f.receiver.readv(any(v))),
  ...each<NetFixture>("pipe.setNonblocking", "nonblocking", notBooleans, (f, v) => f.sender.setNonblocking(any(v)))
]

const addressApiCases: Array<Case<NetFixture>> = [
  ...addressCases("SocketAddress.parse", "address", notAddresses, (_, v) => SocketAddress.parse(any(v))),
  // Issue 14: address parts, and host names where nothing can wait for a lookup.
  ...addressCases("SocketAddress.parse parts", "address", notAddressParts, (_, v) => SocketAddress.parse(any(v))),
  ...addressCases("SocketAddress.parse host name", "address", hostNames, (_, v) => SocketAddress.parse(any(v))),
  ...addressCases("SocketAddress.classify parts", "connect", notAddressParts, (_, v) => SocketAddress.classify(any(v), "connect")),
  ...addressCases("Resolver.resolve", "connect", [...notAddresses, ...notAddressParts], (_, v) => Resolver.resolve(any(v), "connect")),
  ...addressCases("Resolver.resolve inet", "connect", ["/tmp/x.sock", "@name", { path: "/tmp/x.sock" }], (_, v) =>
    Resolver.resolve(any(v), "connect", { inet: true })),
  ...addressCases("TcpListener.bind parts", "bind", notAddressParts, (_, v) => TcpListener.bind(any(v))),
  ...addressCases("TcpListener.bindUnscoped host name", "bind", hostNames, (_, v) => TcpListener.bindUnscoped(any(v))),
  ...addressCases("TcpStream.connect parts", "connect", notAddressParts, (_, v) => TcpStream.connect(any(v))),
  ...addressCases("TcpStream.connectUnscoped host name", "connect", hostNames, (_, v) => TcpStream.connectUnscoped(any(v))),
  ...addressCases("TcpStream.connect bind parts", "bind", notAddressParts.slice(0, 6), (f, v) => TcpStream.connect(f.listenAt, { bind: any(v) })),
  ...addressCases("UdpSocket.bind parts", "bind", notAddressParts, (_, v) => UdpSocket.bind(any(v))),
  ...addressCases("UdpSocket.bindUnscoped host name", "bind", hostNames, (_, v) => UdpSocket.bindUnscoped(any(v))),
  ...addressCases("udp.sendTo parts", "sendto", notAddressParts, (f, v) => f.udp.sendTo(bytes, any(v))),
  ...addressCases("udp.sendTo host name", "sendto", hostNames, (f, v) => f.udp.sendTo(bytes, any(v))),
  ...addressCases("udp.connect host name", "connect", hostNames, (f, v) => f.udp.connect(any(v))),
  ...addressCases("udp.sendBatch host name", "sendmmsg", hostNames, (f, v) => f.udp.sendBatch([{ payload: bytes, address: any(v) }])),
  ...addressCases("unixDatagram.sendTo host name", "sendto", hostNames, (f, v) => f.unixDatagram.sendTo(bytes, any(v))),
  ...addressCases("UnixListener.bind host name", "bind", hostNames, (_, v) => UnixListener.bind(any(v))),
  ...addressCases("UnixStream.connect parts", "connect", notAddressParts.slice(-2), (_, v) => UnixStream.connect(any(v))),
  ...addressCases("RawSocket.open connect parts", "connect", notAddressParts.slice(0, 4), (_, v) =>
    RawSocket.open({ family: "ipv4", protocol: 253, connect: any(v) })),
  ...addressCases("DccpKernel.connect parts", "connect", notAddressParts.slice(0, 4), (_, v) => DccpKernel.connect(any(v), { serviceCodes: [1] })),
  ...addressCases("SocketAddress.resolve", "bind", notAddresses, (_, v) => SocketAddress.resolve(any(v), "bind")),
  ...eachNaming<NetFixture>("SocketAddress.resolve abstract", "bind", [
    [SocketAddress.abstract("z".repeat(200)), "an abstract name has at most 107 bytes, not 200"],
    [{ _tag: "UnixAbstractAddress", bytes: 42 }, `{"_tag":"UnixAbstractAddress","bytes":42}`],
    [SocketAddress.abstract(any(42)), "is not a socket address"]
  ], (_, v) => SocketAddress.resolve(any(v), "bind"))
]

const rawCases: Array<Case<NetFixture>> = [
  ...each<NetFixture>("RawSocket.open options", "options", [undefined, ...notOptions], (_, v) => RawSocket.open(any(v))),
  ...each<NetFixture>("RawSocket.open family", "family", ["ipx", 4, null], (_, v) => RawSocket.open({ family: any(v), protocol: 253 })),
  ...each<NetFixture>("RawSocket.open protocol", "protocol", [0, 255, -1, Number.NaN, "17", 1.5], (_, v) =>
    RawSocket.open({ family: "ipv4", protocol: any(v) })),
  ...addressCases("RawSocket.open bind", "bind", ["garbage", 42, "[::1]:0", { _tag: "InetAddressV4" }], (_, v) =>
    RawSocket.open({ family: "ipv4", protocol: 253, bind: any(v) })),
  ...addressCases("RawSocket.open connect", "connect", ["garbage", { _tag: "InetAddressV6" }], (_, v) =>
    RawSocket.open({ family: "ipv4", protocol: 253, connect: any(v) })),
  ...each<NetFixture>("RawSocket.open recvBufferSize", "recvBufferSize", [0, Number.NaN], (_, v) =>
    RawSocket.open({ family: "ipv4", protocol: 253, recvBufferSize: any(v) })),
  ...each<NetFixture>("RawSocket.open sendBufferSize", "sendBufferSize", [-1, "1"], (_, v) =>
    RawSocket.open({ family: "ipv4", protocol: 253, sendBufferSize: any(v) })),
  ...each<NetFixture>("RawSocket.open batch.size", "batch.size", [0, Number.NaN], (_, v) =>
    RawSocket.open({ family: "ipv4", protocol: 253, batch: { size: any(v) } })),
  ...each<NetFixture>("RawSocket.openUnscoped protocol", "protocol", [300], (_, v) => RawSocket.openUnscoped({ family: "ipv4", protocol: any(v) }))
]

const kernelDccp = (o: Record<string, unknown>) => ({ serviceCodes: [1], ...o }) as unknown as DccpKernel.Options

const dccpKernelCases: Array<Case<NetFixture>> = [
  ...each<NetFixture>("DccpKernel.connect options", "options", [undefined, ...notOptions], (_, v) => DccpKernel.connect("127.0.0.1:1", any(v))),
  ...addressCases("DccpKernel.connect", "connect", notInetAddresses.slice(0, 4), (_, v) => DccpKernel.connect(any(v), kernelDccp({}))),
  ...eachNaming<NetFixture>("DccpKernel.connect serviceCodes", "serviceCodes", [
    [[], "[]"],
    ["ECHO", `"ECHO"`],
    [null, "null"],
    [[-1], "serviceCodes[0]"],
    [[1, 2 ** 32], "serviceCodes[1]"],
    [[1.5], "1.5"],
    [Array(33).fill(1), "1 to 32"]
  ], (_, v) => DccpKernel.connect("127.0.0.1:1", kernelDccp({ serviceCodes: v }))),
  ...eachNaming<NetFixture>("DccpKernel.connect ccids", "ccids", [["2", `"2"`], [[256], "256"], [[2, -1], "ccids[1]"], [[Number.NaN], "NaN"], [null, "null"]], (_, v) =>
    DccpKernel.connect("127.0.0.1:1", kernelDccp({ ccids: v }))),
  ...each<NetFixture>("DccpKernel.connect sendChecksumCoverage", "sendChecksumCoverage", [16, -1, Number.NaN, "1"], (_, v) =>
    DccpKernel.connect("127.0.0.1:1", kernelDccp({ sendChecksumCoverage: v }))),
  ...each<NetFixture>("DccpKernel.connect recvChecksumCoverage", "recvChecksumCoverage", [16, Number.NaN], (_, v) =>
    DccpKernel.connect("127.0.0.1:1", kernelDccp({ recvChecksumCoverage: v }))),
  ...each<NetFixture>("DccpKernel.connect queuePolicy", "queuePolicy", ["fifo", 1], (_, v) =>
    DccpKernel.connect("127.0.0.1:1", kernelDccp({ queuePolicy: v }))),
  ...each<NetFixture>("DccpKernel.connect txQueueLength", "txQueueLength", [-1, Number.NaN, "5"], (_, v) =>
    DccpKernel.connect("127.0.0.1:1", kernelDccp({ txQueueLength: v }))),
  ...each<NetFixture>("DccpKernel.listen backlog", "backlog", [-1, Number.NaN, "5", 2 ** 31], (_, v) =>
    DccpKernel.listen("127.0.0.1:0", { serviceCodes: [1], backlog: any(v) })),
  ...each<NetFixture>("DccpKernel.listen serviceCodes", "serviceCodes", [[], null], (_, v) =>
    DccpKernel.listen("127.0.0.1:0", kernelDccp({ serviceCodes: v })))
]

/** @internal */
export const netGroups: ReadonlyArray<Group<NetFixture, never>> = [
  { name: "tcp", fixture, cases: tcpCases },
  { name: "udp", fixture, cases: udpCases },
  { name: "unix and pipes", fixture, cases: unixCases },
  { name: "addresses", fixture, cases: addressApiCases },
  { name: "raw", fixture, cases: rawCases },
  { name: "kernel dccp", fixture, cases: dccpKernelCases }
]
