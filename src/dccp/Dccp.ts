/**
 * DCCP (RFC 4340) connections as Effect resources: the sans-IO engine in
 * `engine/`, driven by the reactor over a transport —
 *
 * - `"udp"` (default): DCCP-UDP per RFC 6773, unprivileged;
 * - `"raw"`: native DCCP, IP protocol 33, wire-compatible with kernel stacks
 *   (needs `CAP_NET_RAW`);
 * - `"kernel"`: the kernel's own `SOCK_DCCP`, where the kernel still has it
 *   (Linux ≤ 6.15); elsewhere the call fails with kind `Unsupported`.
 *
 * `connect` resolves when the handshake completes (the client may send from
 * PARTOPEN); `listen` gives a server whose `accept` yields each connection once
 * its handshake is done. A socket sends and receives whole datagrams, is
 * unreliable by design (CCID 2 or CCID 3 congestion control, no retransmission
 * of data), and closes gracefully with its Scope. `layerServer` and `layerSocket`
 * provide the same as the `DccpServer` and `DccpSocket` services. Addresses may
 * be host names (resolved through Effect's `AddressResolver`, see `Resolver`).
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { webcrypto } from "node:crypto"
import * as check from "../internal/check.ts"
import * as observe from "../internal/observe.ts"
import { IoError } from "../IoError.ts"
import * as Resolver from "../net/Resolver.ts"
import * as SocketAddress from "../net/SocketAddress.ts"
import * as Timer from "../poll/Timer.ts"
import { Reactor } from "../reactor/Reactor.ts"
import { type ConnectionConfig, makeConfig } from "./engine/Config.ts"
import { type ConnectionStats, DccpEngine } from "./engine/Connection.ts"
import { DccpListener, type ListenerStats, makeListenerConfig } from "./engine/Listener.ts"
import type { QueuePolicy } from "./engine/SendQueue.ts"
import type { State } from "./engine/State.ts"
import * as DccpError from "./DccpError.ts"
import { Endpoint, Handle } from "./internal/Endpoint.ts"
import * as metrics from "./internal/metrics.ts"
import { connectOptions, listenOptions } from "./internal/options.ts"
import { runServer } from "./internal/runServer.ts"
import * as Kernel from "./transport/Kernel.ts"
import * as RawTransport from "./transport/Raw.ts"
import type { Peer, Transport } from "./transport/Transport.ts"
import { familyOf } from "./transport/Transport.ts"
import * as UdpTransport from "./transport/Udp.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Dccp"

/**
 * A DCCP service code: a number, or up to four ASCII characters (`"ECHO"`).
 *
 * @since 0.1.0
 * @category models
 */
export type ServiceCode = number | string

/**
 * A congestion control (RFC 4340 §10): 2 is TCP-like (RFC 4341), 3 is
 * TCP-Friendly Rate Control (RFC 4342) — smooth rates for streaming media and
 * VoIP. A list gives an order of preference (`[3, 2]`); the server's order
 * wins (§6.3.1).
 *
 * @since 0.2.0
 * @category models
 */
export type CcidChoice = 2 | 3 | ReadonlyArray<2 | 3>

/**
 * Options shared by `connect` and `listen`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommonOptions {
  /** `"udp"` (RFC 6773, default), `"raw"` (IP protocol 33) or `"kernel"` (`SOCK_DCCP`). */
  readonly transport?: "udp" | "raw" | "kernel" | undefined
  /**
   * The congestion control for both half-connections: 2 or 3, or a preference
   * list. Default: a client asks for 2; a server accepts 2 or 3, preferring 2
   * (as Linux does).
   */
  readonly ccid?: CcidChoice | undefined
  /** The CCID of the half-connection this endpoint sends on, when it differs from `ccid` (Linux `DCCP_SOCKOPT_TX_CCID`). */
  readonly txCcid?: CcidChoice | undefined
  /** The CCID of the half-connection this endpoint receives on (Linux `DCCP_SOCKOPT_RX_CCID`). */
  readonly rxCcid?: CcidChoice | undefined
  /** Path MTU for the maximum packet size (default 1500). */
  readonly pathMtu?: number | undefined
  /** Send queue length in datagrams, like Linux's `tx_qlen` (default 5). */
  readonly txQueueLength?: number | undefined
  /** `"simple"` (FIFO, default) or `"prio"` (highest priority first, lowest dropped). */
  readonly queuePolicy?: QueuePolicy | undefined
  /**
   * Received datagrams kept until `recv` takes them (default 1024). The excess is
   * dropped, counted (`info.receiveDropped`) and reported to the peer with Data
   * Dropped "Receive Buffer", which its CCID takes as congestion.
   */
  readonly receiveQueue?: number | undefined
  /** The socket's kernel receive buffer in bytes (`SO_RCVBUF`; udp and raw; default: the system's). */
  readonly kernelReceiveBufferSize?: number | undefined
  /** The socket's kernel send buffer in bytes (`SO_SNDBUF`; udp and raw; default: the system's). */
  readonly kernelSendBufferSize?: number | undefined
  /** Partial checksum coverage for sent data (CsCov, 1–15; raw only). */
  readonly sendChecksumCoverage?: number | undefined
  /** Minimum checksum coverage accepted (raw only). */
  readonly minimumChecksumCoverage?: number | undefined
  /** TIMEWAIT length (default 60 s, as Linux); held only while the socket's Scope is open. */
  readonly timewait?: Duration.Input | undefined
  /** How long closing the Scope waits for a graceful close before aborting (default 3 s). */
  readonly closeTimeout?: Duration.Input | undefined
  /** A seeded random source, for tests: the default is cryptographic. */
  readonly random?: (() => number) | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions extends CommonOptions {
  /** The server: `"10.0.0.2:5001"`, `"[fd00::2]:5001"`. For DCCP-UDP the port is the UDP port. */
  readonly address: SocketAddress.Input
  /** DCCP-UDP only: the server's DCCP port, when it differs from its UDP port. */
  readonly dccpPort?: number | undefined
  readonly serviceCode: ServiceCode
  /** Local address (DCCP-UDP: IP and UDP port; raw: the IP, port ignored). */
  readonly bind?: SocketAddress.Input | undefined
  /** Give up the handshake after this long (default: the engine's Request retransmissions, ~2 min). */
  readonly connectTimeout?: Duration.Input | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListenOptions extends CommonOptions {
  /** Where to listen: for DCCP-UDP the UDP address; for raw the IP and the DCCP port. */
  readonly address: SocketAddress.Input
  /** DCCP-UDP only: the DCCP port served (default: the UDP port). */
  readonly dccpPort?: number | undefined
  /** The service codes offered (1 to 32); a Request for another gets Reset(Bad Service Code). */
  readonly serviceCodes: ReadonlyArray<ServiceCode>
  /** The server closes with Close and holds TIMEWAIT itself (Linux `SERVER_TIMEWAIT`). */
  readonly serverTimewait?: boolean | undefined
  /** Accepted connections waiting for `accept` (default 64; beyond that new ones are reset). */
  readonly backlog?: number | undefined
  /** Answer DCCP packets for other ports with Reset(No Connection) (default: true over UDP, false over raw). */
  readonly resetUnknown?: boolean | undefined
}

/**
 * The CCID 3 sender's state, as Linux's `tfrc_tx_info` (`DCCP_SOCKOPT_CCID_TX_INFO`)
 * reports it, in plain units: rates in bytes per second (Linux gives X and
 * X_recv in 64ths), times in milliseconds (Linux: microseconds), p as a
 * fraction (Linux: millionths).
 *
 * @since 0.2.0
 * @category models
 */
export interface TfrcTxInfo {
  /** The allowed sending rate X. */
  readonly x: number
  /** The receive rate the receiver last reported (RFC 4342 §8.3). */
  readonly xRecv: number
  /** X_Bps from the throughput equation (`Infinity` while p = 0; Linux keeps its last value). */
  readonly xCalc: number
  /** The loss event rate the receiver last reported. */
  readonly p: number
  readonly rttMs: number
  /** t_RTO of the nofeedback timer, max(4R, 200 ms) (`NaN` before the first feedback). */
  readonly rtoMs: number
  /** The inter-packet interval s/X. */
  readonly ipiMs: number
}

/**
 * The CCID 3 receiver's state, as Linux's `tfrc_rx_info` (`DCCP_SOCKOPT_CCID_RX_INFO`).
 *
 * @since 0.2.0
 * @category models
 */
export interface TfrcRxInfo {
  /** The receive rate last reported to the sender, bytes per second. */
  readonly xRecv: number
  /** The RTT the receiver estimates from the sender's window counters (`NaN` before one). */
  readonly rttMs: number
  /** The loss event rate last reported. */
  readonly p: number
}

/**
 * What `info` reports about a connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface DccpInfo {
  readonly state: State
  readonly role: "client" | "server"
  readonly transport: "udp" | "raw" | "kernel"
  /** Maximum payload of one datagram. */
  readonly mps: number
  readonly txCcid: number
  readonly rxCcid: number
  /** The sending CCID's smoothed RTT, or the handshake RTT before the first sample. */
  readonly rttMs: number | undefined
  /** CCID 2's congestion window, in packets. */
  readonly cwnd: number | undefined
  /** Loss events the sending CCID reacted to (CCID 3: rises of p), and packets CCID 2 counted lost. */
  readonly lossEvents: number
  readonly lostPackets: number
  /** CCID 3 as the sending CCID: its TFRC state (`undefined` otherwise). */
  readonly tfrcTx?: TfrcTxInfo | undefined
  /** CCID 3 as the receiving CCID: its TFRC state (`undefined` otherwise). */
  readonly tfrcRx?: TfrcRxInfo | undefined
  readonly sendQueueLength: number
  /** Datagrams dropped because `recv` did not keep up. */
  readonly receiveDropped: number
  readonly stats: Readonly<ConnectionStats>
}

/**
 * A DCCP connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface DccpSocket {
  readonly [TypeId]: typeof TypeId
  readonly localAddress: SocketAddress.SocketAddress
  readonly remoteAddress: SocketAddress.SocketAddress
  readonly serviceCode: number
  /** Sends one datagram (at most MPS bytes); waits while the send queue is full. */
  readonly send: (datagram: Uint8Array | string) => Effect.Effect<void, DccpError.DccpError>
  /** The next datagram; fails with kind `Closed` once the connection has ended and all were taken. */
  readonly recv: Effect.Effect<Uint8Array, DccpError.DccpError>
  /** Received datagrams; ends on a graceful close, fails on a reset or timeout. */
  readonly datagrams: Stream.Stream<Uint8Array, DccpError.DccpError>
  /** Closes gracefully (Close/CloseReq, then Reset), waiting for the close to complete. */
  readonly close: Effect.Effect<void, DccpError.DccpError>
  readonly info: Effect.Effect<DccpInfo>
}

/**
 * A DCCP listener.
 *
 * @since 0.1.0
 * @category models
 */
export interface DccpServer {
  readonly [TypeId]: typeof TypeId
  readonly address: SocketAddress.SocketAddress
  readonly port: number
  /** The next connection whose handshake completed; it closes gracefully with the Scope. */
  readonly accept: Effect.Effect<DccpSocket, DccpError.DccpError, Scope.Scope>
  /** Accepts forever, running `handler` for each connection in its own fiber. */
  readonly run: <R, E, _>(handler: (socket: DccpSocket) => Effect.Effect<_, E, R>) => Effect.Effect<never, DccpError.DccpError, R>
  readonly stats: () => ServerStats
}

/**
 * A listener's counters, and the state it holds: connections and their peers
 * only. A source that sends garbage or Requests answered with Init Cookies
 * leaves nothing behind (docs/reliability.md).
 *
 * @since 0.2.0
 * @category models
 */
export interface ServerStats extends Readonly<ListenerStats> {
  /** Connections the driver holds: accepted or waiting in the backlog, until finished. */
  readonly connections: number
  /** Distinct peers of those connections. */
  readonly peers: number
  /** Packets for no port or flow of this listener. */
  readonly unknownPackets: number
  /** Datagrams the transport dropped: not DCCP, or cut. */
  readonly malformed: number
}

/**
 * A connection as a service: what `layerSocket` provides.
 *
 * @since 0.2.0
 * @category services
 */
export const DccpSocket: Context.Service<DccpSocket, DccpSocket> = Context.Service<DccpSocket>("effect-mio/Dccp/DccpSocket")

/**
 * A listener as a service: what `layerServer` provides.
 *
 * @since 0.2.0
 * @category services
 */
export const DccpServer: Context.Service<DccpServer, DccpServer> = Context.Service<DccpServer>("effect-mio/Dccp/DccpServer")

const encoder = new TextEncoder()

/**
 * A service code from its number or its ASCII name (`"ECHO"` = 0x4543484f).
 *
 * @since 0.1.0
 * @category constructors
 */
export const serviceCode = (code: ServiceCode): number | DccpError.DccpError => serviceCodeOf(code, "a service code")

/** `serviceCode`, with the option that gave the code named in the error. */
const serviceCodeOf = (code: unknown, name: string): number | DccpError.DccpError => {
  if (typeof code === "number") {
    return Number.isInteger(code) && code >= 0 && code < 0xffffffff
      ? code
      : DccpError.make("InvalidInput", `${name} is an integer from 0 to 2^32 - 2, not ${check.show(code)}`)
  }
  if (typeof code !== "string" || code.length < 1 || code.length > 4 || !/^[\x20-\x7e]+$/.test(code)) {
    return DccpError.make(
      "InvalidInput",
      `${name} is an integer from 0 to 2^32 - 2 or 1 to 4 printable ASCII characters, not ${check.show(code)}`
    )
  }
  let n = 0
  for (let i = 0; i < 4; i++) n = n * 256 + (i < code.length ? code.charCodeAt(i) : 0x20)
  return n
}

const cryptoRandom = (): (() => number) => {
  const buf = new Uint32Array(64)
  let i = buf.length
  return () => {
    if (i === buf.length) {
      webcrypto.getRandomValues(buf)
      i = 0
    }
    return buf[i++]!
  }
}

/** A CCID choice as a preference list. */
const ccidList = (c: CcidChoice | undefined): ReadonlyArray<number> | undefined => (c === undefined ? undefined : typeof c === "number" ? [c] : c)

const engineConfig = (
  o: CommonOptions,
  role: "client" | "server",
  encapsulation: "udp" | "ip",
  timewaitMs: number
): ConnectionConfig | DccpError.DccpError => {
  const mtu = o.pathMtu ?? 1500
  const qlen = o.txQueueLength ?? 5
  return makeConfig({
    random: o.random ?? cryptoRandom(),
    // A server takes what the client asks for, preferring CCID 2 (Linux's default).
    ccids: ccidList(o.ccid) ?? (role === "server" ? [2, 3] : [2]),
    txCcids: ccidList(o.txCcid),
    rxCcids: ccidList(o.rxCcid),
    encapsulation,
    pathMtu: mtu,
    txQueueLength: qlen,
    queuePolicy: o.queuePolicy ?? "simple",
    sendCsCov: o.sendChecksumCoverage ?? 0,
    minimumChecksumCoverage: o.minimumChecksumCoverage ?? 0,
    timewaitMs
  })
}


/** Opens the transport and its timer, and starts their loops in the Scope. */
const openEndpoint = (transport: Effect.Effect<Transport, IoError, Reactor | Scope.Scope>) =>
  Effect.gen(function*() {
    const reactor = yield* Reactor
    const t = yield* Effect.mapError(transport, DccpError.fromIo)
    const timer = yield* Effect.mapError(Timer.unregistered(), DccpError.fromIo)
    const timerRegistration = yield* Effect.mapError(reactor.register(timer), DccpError.fromIo)
    const endpoint = new Endpoint(t, timer, timerRegistration)
    yield* Effect.forkScoped(Effect.catch(t.receive(endpoint.onPacket, endpoint.onUnreachable, endpoint.onBatchEnd), () => Effect.void))
    yield* Effect.forkScoped(endpoint.timerLoop())
    return endpoint
  })

const usedPorts = new Set<number>()
/** An ephemeral DCCP port for a raw client (the kernel allocates none for raw sockets). */
const ephemeralPort = (random: () => number): number => {
  for (;;) {
    const p = 32768 + (random() % 28232)
    if (!usedPorts.has(p)) {
      usedPorts.add(p)
      return p
    }
  }
}

/** The peer of a connection as errors name it: its address and DCCP port. */
const peerName = (handle: Handle): string => {
  const a = handle.peer.address
  return SocketAddress.isInet(a) && a.port === 0
    ? SocketAddress.format(NetAddress.inetAddressUnsafe(a.address, handle.engine.path.remotePort))
    : SocketAddress.format(a)
}

/** What `info` reports (and the RTT and window gauges read). */
const infoOf = (handle: Handle, role: "client" | "server", transportKind: "udp" | "raw"): DccpInfo => {
  const engine = handle.engine
  const i = engine.info()
  const s = i.sender
  const r = i.receiver
  const srtt = s?.srttMs
  return {
    state: i.state,
    role,
    transport: transportKind,
    mps: i.mps,
    txCcid: i.txCcid,
    rxCcid: i.rxCcid,
    rttMs: srtt !== undefined && !Number.isNaN(srtt) ? srtt : i.handshakeRttMs,
    cwnd: s?.cwnd,
    lossEvents: s?.congestionEvents ?? 0,
    lostPackets: s?.lostPackets ?? 0,
    tfrcTx: s !== undefined && i.txCcid === 3 ? tfrcTx(s) : undefined,
    tfrcRx: r !== undefined && i.rxCcid === 3 ? { xRecv: r["xRecv"]!, rttMs: r["rttMs"]!, p: r["p"]! } : undefined,
    sendQueueLength: i.sendQueueLength,
    receiveDropped: handle.receiveDropped,
    stats: { ...engine.stats }
  }
}

/** The socket the application sees for a connection handle. */
const makeSocket = (handle: Handle, transportKind: "udp" | "raw", role: "client" | "server", local: SocketAddress.SocketAddress, code: number): DccpSocket => {
  const { engine, endpoint } = handle
  const peer = peerName(handle)
  const ended = () => DccpError.withAddress(handle.error(), peer)
  const send = (datagram: Uint8Array | string): Effect.Effect<void, DccpError.DccpError> =>
    Effect.suspend(() => {
      if (!(datagram instanceof Uint8Array || typeof datagram === "string")) {
        return Effect.fail(DccpError.make("InvalidInput", `datagram is a Uint8Array or a string, not ${check.show(datagram)}`))
      }
      const bytes = typeof datagram === "string" ? encoder.encode(datagram) : datagram
      // The queue holds what the CCID has not taken yet: let it take what it can first.
      if (engine.sendQueueFull) endpoint.makeRoom(handle)
      const r = engine.send(performance.now(), bytes)
      switch (r) {
        case "queued":
          endpoint.afterSend(handle)
          return Effect.void
        case "queue-full":
          // Backpressure, like a blocking send on a full tx queue: wait for room.
          return Effect.flatMap(handle.writable, () => send(bytes))
        case "too-large":
          return Effect.fail(
            DccpError.withAddress(DccpError.make("MessageTooLarge", `${bytes.length} bytes exceed the maximum packet size ${engine.mps}`), peer)
          )
        case "closed":
          return Effect.fail(ended())
      }
    })
  // After a graceful close `recv` fails with kind Closed; after a reset or timeout with that error.
  const recv = Effect.mapError(handle.inbox.take, (e) => DccpError.withAddress(e, peer))
  const close = Effect.suspend(() => {
    if (handle.reason === undefined && !handle.peerClosing) {
      engine.close(performance.now())
      endpoint.afterInput(handle)
    }
    return Effect.flatMap(Deferred.await(handle.finished), (reason) =>
      reason.kind === "closed" ? Effect.void : Effect.fail(ended()))
  }).pipe(observe.span("Dccp.close", "internal", () => spanAttributes(role, local, peer)))
  const info = Effect.sync(() => infoOf(handle, role, transportKind))
  return {
    [TypeId]: TypeId,
    localAddress: local,
    remoteAddress: handle.peer.address,
    serviceCode: code,
    send,
    recv,
    datagrams: Stream.mapError(Stream.fromPull(Effect.succeed(handle.inbox.pull)), (e) => DccpError.withAddress(e, peer)),
    close,
    info
  }
}

/** A connection's span attributes. */
const spanAttributes = (role: "client" | "server", local: SocketAddress.SocketAddress, peer: string): Record<string, unknown> => ({
  "network.transport": "dccp",
  "dccp.role": role,
  ...observe.addressAttributes("network.local", SocketAddress.format(local)),
  ...observe.addressAttributes("network.peer", peer)
})

/** `tfrc_tx_info` from the CCID 3 sender's figures. */
const tfrcTx = (s: Readonly<Record<string, number>>): TfrcTxInfo => ({
  x: s["x"]!,
  xRecv: s["xRecv"]!,
  xCalc: s["xCalc"]!,
  p: s["p"]!,
  rttMs: s["rttMs"]!,
  rtoMs: s["rtoMs"]!,
  ipiMs: s["ipiMs"]!
})

/** The transport's kernel buffer sizes, where given. */
const buffers = (options: CommonOptions): { recvBufferSize?: number; sendBufferSize?: number } => ({
  ...(options.kernelReceiveBufferSize === undefined ? {} : { recvBufferSize: options.kernelReceiveBufferSize }),
  ...(options.kernelSendBufferSize === undefined ? {} : { sendBufferSize: options.kernelSendBufferSize })
})

/** Closes gracefully within `timeout`, else aborts. */
const release = (handle: Handle, socket: DccpSocket, timeout: number) =>
  Effect.suspend(() => {
    if (handle.reason !== undefined) return Effect.void
    return socket.close.pipe(
      Effect.timeoutOption(timeout),
      Effect.flatMap((o) =>
        Option.isSome(o) ? Effect.void : Effect.sync(() => {
          handle.engine.abort(performance.now())
          handle.endpoint.afterInput(handle)
        })
      ),
      Effect.ignore
    )
  })

/**
 * Connects to a DCCP server; the connection closes gracefully with the Scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect: (options: ConnectOptions) => Effect.Effect<DccpSocket, DccpError.DccpError, Reactor | Scope.Scope> = Effect.fn(
  "Dccp.connect",
  { kind: "client" }
)(function*(options: ConnectOptions) {
  const resolved = connectOptions(options)
  if (resolved instanceof DccpError.DccpError) return yield* Effect.fail(resolved)
  const code = serviceCodeOf(options.serviceCode, "serviceCode")
  if (code instanceof DccpError.DccpError) return yield* Effect.fail(code)
  const kind = options.transport ?? "udp"
  if (kind === "kernel") return yield* Kernel.connect(options, code)
  // A host name's addresses are tried in order, each handshake in a Scope of its own.
  const remotes = yield* Effect.mapError(Resolver.resolve(options.address, "connect", { inet: true }), DccpError.fromIo)
  const socket = yield* Resolver.firstThatWorksScoped(remotes, (remote) => connectTo(options, resolved, code, kind, remote))
  yield* Effect.annotateCurrentSpan(spanAttributes("client", socket.localAddress, SocketAddress.format(socket.remoteAddress)))
  return socket
})

const connectTo = (
  options: ConnectOptions,
  resolved: Exclude<ReturnType<typeof connectOptions>, DccpError.DccpError>,
  code: number,
  kind: "udp" | "raw",
  remote: SocketAddress.SocketAddress
): Effect.Effect<DccpSocket, DccpError.DccpError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const family = familyOf(remote)
    if (family === undefined) {
      return yield* Effect.fail(DccpError.make("InvalidInput", `connect: ${check.show(options.address)} is not an IPv4 or IPv6 address`))
    }
    const config = engineConfig(options, "client", kind === "udp" ? "udp" : "ip", resolved.timewaitMs)
    if (config instanceof DccpError.DccpError) return yield* Effect.fail(config)
    const remoteIp = SocketAddress.isInet(remote) ? remote : undefined
    const bind = yield* localAddress(options.bind, family)
    const endpoint = yield* openEndpoint(
      kind === "udp"
        ? UdpTransport.make({ connect: remote, ...(bind === undefined ? {} : { bind }), ...buffers(options) })
        : RawTransport.make({
          family,
          connect: remoteIp === undefined ? "" : formatIp(remoteIp),
          ...(bind === undefined ? {} : { bind: ipOf(bind) }),
          ...buffers(options)
        })
    )
    const transport = endpoint.transport
    const local = transport.localAddress
    const localPort = kind === "udp" ? ("port" in local ? local.port : 0) : ephemeralPort(config.random)
    if (kind === "raw") yield* Effect.addFinalizer(() => Effect.sync(() => usedPorts.delete(localPort)))
    const remotePort = options.dccpPort ?? (remoteIp?.port ?? 0)
    if (!Number.isInteger(remotePort) || remotePort < 1 || remotePort > 65535) {
      return yield* Effect.fail(DccpError.make("InvalidInput", `a DCCP port is 1 to 65535, not ${remotePort}`))
    }
    const peer: Peer = {
      ip: UdpTransport.ipBytes(remote),
      udpPort: kind === "udp" ? remoteIp?.port ?? 0 : 0,
      key: kind === "udp" ? SocketAddress.format(remote) : remoteIp === undefined ? "" : formatIp(remoteIp),
      address: kind === "udp" ? remote : rawAddress(remote)
    }
    const localIp = UdpTransport.ipBytes(local)
    const context = yield* Effect.context<never>()
    const counted = metrics.dccpGroup(context)
    const engine = DccpEngine.connect(performance.now(), {
      path: { family, localAddress: localIp, remoteAddress: peer.ip, localPort, remotePort, transportKey: peer.key },
      serviceCode: code,
      config
    })
    const capacity = resolved.receiveQueue
    const handle = new Handle(engine, peer, endpoint, capacity)
    endpoint.client = handle
    endpoint.clientLocalPort = localPort
    endpoint.clientRemotePort = remotePort
    const socket = makeSocket(handle, kind, "client", local, code)
    yield* Effect.addFinalizer(() => release(handle, socket, resolved.closeTimeoutMs))
    endpoint.afterInput(handle)
    const handshake = Deferred.await(handle.connected)
    const timed = resolved.connectTimeoutMs === undefined
      ? handshake
      : Effect.timeoutOrElse(handshake, {
        duration: resolved.connectTimeoutMs,
        orElse: () =>
          Effect.suspend(() => {
            engine.abort(performance.now())
            endpoint.afterInput(handle)
            return Effect.fail(DccpError.make("TimedOut", "the handshake did not complete in time"))
          })
      })
    yield* Effect.mapError(timed, (e) => {
      const refusal = e.kind === "ConnectionRefused" ? "no_listener" : e.kind === "BadServiceCode" ? "bad_service_code" : e.kind === "Reset" ? "reset" : undefined
      if (refusal !== undefined) counted.refused[refusal]++
      return DccpError.withAddress(e, peerName(handle))
    }).pipe(observe.span("Dccp.handshake", "client", () => spanAttributes("client", local, peerName(handle))))
    yield* metrics.established(context, counted.connect, handle, "connect", SocketAddress.format(local), peerName(handle), () =>
      infoOf(handle, "client", kind))
    return socket
  })

/**
 * Listens for DCCP connections until the Scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const listen: (options: ListenOptions) => Effect.Effect<DccpServer, DccpError.DccpError, Reactor | Scope.Scope> = Effect.fn(
  "Dccp.listen"
)(function*(options: ListenOptions) {
  const server = yield* listenWith(options)
  yield* Effect.annotateCurrentSpan({
    "network.transport": "dccp",
    ...observe.addressAttributes("server", SocketAddress.format(server.address)),
    "dccp.port": server.port
  })
  return server
})

const listenWith = (options: ListenOptions): Effect.Effect<DccpServer, DccpError.DccpError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const resolved = listenOptions(options)
    if (resolved instanceof DccpError.DccpError) return yield* Effect.fail(resolved)
    const codes: Array<number> = []
    for (const [i, c] of options.serviceCodes.entries()) {
      const n = serviceCodeOf(c, `serviceCodes[${i}]`)
      if (n instanceof DccpError.DccpError) return yield* Effect.fail(n)
      codes.push(n)
    }
    const kind = options.transport ?? "udp"
    if (kind === "kernel") return yield* Kernel.listen(options, codes)
    const at = yield* Effect.mapError(Resolver.resolveFirst(options.address, "bind", { inet: true }), DccpError.fromIo)
    const family = familyOf(at)
    if (family === undefined || !SocketAddress.isInet(at)) {
      return yield* Effect.fail(DccpError.make("InvalidInput", `bind: ${check.show(options.address)} is not an IPv4 or IPv6 address`))
    }
    const connection = engineConfig(options, "server", kind === "udp" ? "udp" : "ip", resolved.timewaitMs)
    if (connection instanceof DccpError.DccpError) return yield* Effect.fail(connection)
    const ip = formatIp(at)
    const endpoint = yield* openEndpoint(
      kind === "udp"
        ? UdpTransport.make({ bind: at, ...buffers(options) })
        : RawTransport.make({ family, ...(ip === "0.0.0.0" || ip === "::" ? {} : { bind: ip }), ...buffers(options) })
    )
    const local = endpoint.transport.localAddress
    const port = options.dccpPort ?? (kind === "udp" ? ("port" in local ? local.port : 0) : at.port)
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return yield* Effect.fail(DccpError.make("InvalidInput", `a DCCP listener needs a port from 1 to 65535, not ${port}`))
    }
    const listener = new DccpListener(makeListenerConfig({
      port,
      serviceCodes: codes,
      connection: { ...connection, serverTimewait: options.serverTimewait ?? false }
    }))
    endpoint.listener = listener
    endpoint.resetUnknown = options.resetUnknown ?? kind === "udp"
    const backlog = yield* Queue.make<Handle, DccpError.DccpError>({ capacity: resolved.backlog, strategy: "dropping" })
    const context = yield* Effect.context<never>()
    const counted = metrics.dccpGroup(context)
    const listenerCounts: metrics.ListenerCounts = { listener, endpoint, backlogRefused: 0 }
    yield* observe.joinScoped(counted.listeners, listenerCounts)
    endpoint.receiveCapacity = resolved.receiveQueue
    endpoint.incoming = (handle) => {
      if (!Queue.offerUnsafe(backlog, handle)) {
        listenerCounts.backlogRefused++
        handle.engine.abort(performance.now())
      }
    }
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        const t = performance.now()
        endpoint.incoming = undefined
        // Connections nobody accepted end with the listener, and so does `accept`.
        for (let r = Queue.takeUnsafe(backlog); r !== undefined && r._tag === "Success"; r = Queue.takeUnsafe(backlog)) {
          r.value.engine.abort(t)
        }
        Queue.failCauseUnsafe(backlog, Cause.fail(DccpError.make("Closed", "the listener is closed")))
        listener.close(t)
        endpoint.flush(t)
      })
    )
    const accept: DccpServer["accept"] = Effect.flatMap(Queue.take(backlog), (handle) =>
      Effect.gen(function*() {
        const socket = makeSocket(handle, kind, "server", local, handle.engine.serviceCode)
        yield* Effect.addFinalizer(() => release(handle, socket, resolved.closeTimeoutMs))
        yield* metrics.established(context, counted.accept, handle, "accept", SocketAddress.format(local), peerName(handle), () =>
          infoOf(handle, "server", kind))
        return socket
      }).pipe(observe.span("Dccp.accept", "server", () => ({
        ...spanAttributes("server", local, peerName(handle)),
        "dccp.handshake_rtt_ms": handle.engine.info().handshakeRttMs
      }))))
    return {
      [TypeId]: TypeId,
      address: local,
      port,
      accept,
      run: (handler) => runServer(accept, handler),
      stats: (): ServerStats => ({
        ...listener.stats,
        connections: endpoint.connections.size,
        peers: endpoint.livePeers.size,
        unknownPackets: endpoint.unknownPackets,
        malformed: endpoint.transport.stats().malformed
      })
    } satisfies DccpServer
  })

/**
 * `listen` as a Layer of the `DccpServer` service: the listener lives as long
 * as the Layer (the Scope it is built in), like `Tcp.layerServer`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerServer = (options: ListenOptions): Layer.Layer<DccpServer, DccpError.DccpError, Reactor> =>
  Layer.effect(DccpServer, listen(options))

/**
 * `connect` as a Layer of the `DccpSocket` service: the Layer is built once
 * the handshake completes, and its Scope closing closes the connection
 * gracefully, like `Tcp.layerSocket`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSocket = (options: ConnectOptions): Layer.Layer<DccpSocket, DccpError.DccpError, Reactor> =>
  Layer.effect(DccpSocket, connect(options))

const formatIp = (a: SocketAddress.SocketAddress): string =>
  a._tag === "InetAddressV4" || a._tag === "InetAddressV6" ? NetAddress.formatIp(a.address) : SocketAddress.format(a)

/**
 * A client's `bind` option with a host name resolved (in the remote's family);
 * an IP alone (raw transport) is kept as it is.
 */
const localAddress = (bind: SocketAddress.Input | undefined, family: "ipv4" | "ipv6") =>
  bind === undefined || !(SocketAddress.classify(bind, "bind") instanceof SocketAddress.HostName)
    ? Effect.succeed(bind)
    : Effect.mapError(Resolver.resolveFirst(bind, "bind", { family: family === "ipv6" ? "IPv6" : "IPv4" }), DccpError.fromIo)

/** The IP of a raw transport's `bind` option: an IP address alone, or with a port (ignored). */
const ipOf = (input: SocketAddress.Input): string => {
  const a = SocketAddress.parse(input)
  return a instanceof IoError ? String(input).replace(/^\[(.*)\]$/, "$1") : formatIp(a)
}

/** A raw socket's address for a peer: its IP, port 0. */
const rawAddress = (a: SocketAddress.SocketAddress): SocketAddress.SocketAddress =>
  SocketAddress.isInet(a) ? NetAddress.inetAddressUnsafe(a.address, 0) : a

