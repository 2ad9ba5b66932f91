/**
 * The connected datagram I/O a reliable-UDP `Endpoint` runs on (the rudp
 * crate's `UdpLike`, with mio's readiness split). Anything with these four
 * members will do: `MemoryDatagram.UdpLike` and `SimNet.pair()` from
 * `effect-mio/testing`, a test's plain object, or our UDP socket through
 * `fromUdpSocket` / `connect` here.
 *
 * - `send(payload)` hands one datagram to the network and does not wait; a
 *   datagram the network loses is lost silently. The payload may be reused by
 *   the caller once the Effect completes.
 * - `tryRecv(buffer)` copies the next datagram into `buffer` and returns its
 *   length, or `undefined` when none is queued.
 * - `readable` waits until a datagram is queued (spurious wake-ups allowed).
 *
 * Our UDP socket also offers a synchronous fast path (`FastPath`): batches
 * through `recvmmsg`/`sendmmsg` with no Effect per datagram. An `Endpoint`
 * uses it when it is there.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as check from "../internal/check.ts"
import { IoError, make as ioError } from "../IoError.ts"
import * as Resolver from "../net/Resolver.ts"
import * as SocketAddress from "../net/SocketAddress.ts"
import * as UdpSocket from "../net/UdpSocket.ts"
import { Reactor } from "../reactor/Reactor.ts"
import { WouldBlock } from "../WouldBlock.ts"
import { sendAll } from "./internal/SendBatch.ts"

/**
 * @since 0.2.0
 * @category models
 */
export interface UdpLike<E = unknown> {
  readonly send: (payload: Uint8Array) => Effect.Effect<void, E>
  readonly tryRecv: (buffer: Uint8Array) => Effect.Effect<number | undefined, E>
  readonly readable: Effect.Effect<void, E>
}

/**
 * The key of the synchronous fast path on a `UdpLike`.
 *
 * @since 0.2.0
 * @category type ids
 */
export const FastPathId = "~effect-mio/rudp/UdpLike/FastPath" as const

/**
 * Synchronous batched datagram I/O (no Effect per datagram).
 *
 * @since 0.2.0
 * @category models
 */
export interface FastPath<E> {
  /** Sends `datagrams[0, count)`; datagrams the socket cannot take now are dropped (and counted). */
  readonly sendMany: (datagrams: ReadonlyArray<Uint8Array>, count: number) => E | undefined
  /**
   * Receives what is queued, handing each datagram (a view valid during the
   * call) to `onDatagram`; returns how many, or the error.
   */
  readonly recvMany: (onDatagram: (bytes: Uint8Array) => void) => number | E
  /** Counters: datagrams dropped at send (socket buffer full, or larger than the interface carries), truncated at receive, ICMP refusals. */
  readonly stats: () => { readonly sendDropped: number; readonly truncated: number; readonly refused: number }
  /** The largest datagram received whole (the receive slots' size): an endpoint announces it and never sets its `mtu` above it. */
  readonly maxDatagram: number
  /** The largest UDP payload the route to the peer carries (its path MTU less IP and UDP headers), once connected; else `undefined`. */
  readonly pathLimit: () => number | undefined
}

/**
 * A `UdpLike` with the fast path.
 *
 * @since 0.2.0
 * @category models
 */
export interface FastUdpLike<E> extends UdpLike<E> {
  readonly [FastPathId]: FastPath<E>
}

/**
 * `true` for a `UdpLike` carrying the fast path.
 *
 * @since 0.2.0
 * @category guards
 */
export const hasFastPath = <E>(u: UdpLike<E>): u is FastUdpLike<E> => FastPathId in u

/**
 * Datagrams per `recvmmsg`/`sendmmsg` of the fast path.
 *
 * @since 0.2.0
 * @category constants
 */
export const BATCH = 32

/**
 * The receive slot of our sockets when no `maxDatagram` is given: the default
 * `maxMtu` of an endpoint (8,952), so path MTU discovery can reach it.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_MAX_DATAGRAM = 8952

/** IPv4 + UDP headers, IPv6 + UDP headers. */
const IPV4_UDP_HEADERS = 28
const IPV6_UDP_HEADERS = 48

const slotOf = (maxDatagram: number | undefined): number => Math.max(2048, maxDatagram ?? DEFAULT_MAX_DATAGRAM)

/**
 * The connected `UdpLike` of a UDP socket the caller owns (already connected to
 * the peer), driven by the `Reactor` in context for the Scope's lifetime.
 *
 * An ICMP "port unreachable" for an earlier datagram (the peer is not up yet,
 * or gone) surfaces on a connected socket as `ConnectionRefused`; it is counted
 * and otherwise ignored, as a lost datagram would be: the endpoint's timers
 * decide when the peer is gone. A datagram longer than the socket's batch
 * slots is dropped as truncated: `maxDatagram` says how long they are (the
 * socket's `batch.bufferSize`; default 65,507, the size of a socket made
 * without one). The socket gets Don't Fragment (`setPathMtuDiscovery("probe")`):
 * an endpoint's path MTU probes are lost when too large, never fragmented.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromUdpSocket = (
  socket: UdpSocket.UdpSocket,
  options?: { readonly maxDatagram?: number | undefined }
): Effect.Effect<FastUdpLike<IoError>, IoError, Reactor | Scope.Scope> => make(socket, undefined, options?.maxDatagram ?? 65507)

const make = (
  socket: UdpSocket.UdpSocket,
  /** Set for a socket that connects to its first sender (`listen`). */
  learn: { peer: SocketAddress.SocketAddress | undefined; foreign: number } | undefined,
  maxDatagram: number
): Effect.Effect<FastUdpLike<IoError>, IoError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor
    const registration = yield* reactor.register(socket)
    // Best effort: a socket family without the option still works, with the kernel's fragmentation.
    socket.setPathMtuDiscovery("probe")
    const headers = (socket.localAddr() as { _tag?: string })._tag === "InetAddressV6" ? IPV6_UDP_HEADERS : IPV4_UDP_HEADERS
    const pathLimit = (): number | undefined => {
      if (learn !== undefined && learn.peer === undefined) return undefined
      const mtu = socket.pathMtu()
      return typeof mtu === "number" && mtu > headers ? mtu - headers : undefined
    }
    let sendDropped = 0, truncated = 0, refused = 0
    /**
     * `listen`: connects to the first sender; `false` for a datagram from anyone
     * else. Once connected the kernel drops other senders' datagrams, so only
     * those queued before the connect are compared (`checking`).
     */
    let checking = learn !== undefined
    let peerKey = ""
    const admit = (from: SocketAddress.SocketAddress): boolean | IoError => {
      if (!checking) return true
      if (learn!.peer === undefined) {
        const e = socket.connect(from)
        if (e !== undefined) return e
        learn!.peer = from
        peerKey = SocketAddress.format(from)
        return true
      }
      if (SocketAddress.format(from) === peerKey) return true
      learn!.foreign++
      return false
    }
    /** After the batch in which the socket connected, the kernel filters. */
    const settled = (): void => {
      if (learn?.peer !== undefined) checking = false
    }
    const outgoing: Array<{ payload: Uint8Array }> = []
    const sendOne = (payload: Uint8Array): IoError | undefined => {
      const r = socket.send(payload)
      if (typeof r === "number") return undefined
      // Larger than the interface carries (a path MTU probe): lost, as the path would lose it.
      if (r === WouldBlock || r.kind === "MessageTooLarge") {
        sendDropped++
        return undefined
      }
      if (r.kind === "ConnectionRefused") {
        refused++
        return undefined
      }
      return r
    }
    const fast: FastPath<IoError> = {
      sendMany: (datagrams, count) => {
        if (count === 1) return sendOne(datagrams[0]!)
        while (outgoing.length < count) outgoing.push({ payload: datagrams[0]! })
        let at = 0
        while (at < count) {
          const n = Math.min(BATCH, count - at)
          for (let i = 0; i < n; i++) outgoing[i]!.payload = datagrams[at + i]!
          const r = sendAll(socket, outgoing, n)
          if (typeof r === "number") sendDropped += r
          else if (r.kind === "ConnectionRefused") refused++
          else return r
          at += n
        }
        return undefined
      },
      recvMany: (onDatagram) => {
        let total = 0
        for (;;) {
          const batch = socket.recvBatch(BATCH)
          if (batch === WouldBlock) return total
          if (batch instanceof IoError) {
            if (batch.kind === "ConnectionRefused") {
              refused++
              continue
            }
            return batch
          }
          for (let i = 0; i < batch.length; i++) {
            const d = batch[i]!
            if (d.truncated) truncated++
            else {
              const ok = admit(d.address)
              if (ok instanceof IoError) return ok
              if (ok) onDatagram(d.payload)
            }
          }
          total += batch.length
          settled()
          // A short batch emptied the socket: a later datagram raises a new readiness event.
          if (batch.length < BATCH) return total
        }
      },
      stats: () => ({ sendDropped, truncated, refused }),
      maxDatagram,
      pathLimit
    }
    const self: FastUdpLike<IoError> = {
      [FastPathId]: fast,
      send: (payload) =>
        Effect.suspend(() => {
          const e = sendOne(payload)
          return e === undefined ? Effect.void : Effect.fail(e)
        }),
      tryRecv: (buffer) =>
        Effect.suspend(() => {
          for (;;) {
            if (!checking) {
              const n = socket.recv(buffer)
              if (typeof n === "number") return Effect.succeed(n)
              if (n === WouldBlock) return Effect.succeed(undefined)
              if (n.kind === "ConnectionRefused") {
                refused++
                continue
              }
              return Effect.fail(n)
            }
            const r = socket.recvFrom(buffer)
            if (r === WouldBlock) {
              // The queue is empty: whatever arrives from now on passed the kernel's filter.
              settled()
              return Effect.succeed(undefined)
            }
            if (r instanceof IoError) {
              if (r.kind === "ConnectionRefused") {
                refused++
                continue
              }
              return Effect.fail(r)
            }
            const ok = admit(r[1])
            if (ok instanceof IoError) return Effect.fail(ok)
            if (ok) return Effect.succeed(r[0])
          }
        }),
      readable: registration.readable
    }
    return self
  })

/**
 * Options of `listen`.
 *
 * @since 0.2.0
 * @category models
 */
export interface ListenOptions {
  /** The local address (`"127.0.0.1:7000"`; port 0 for any). */
  readonly bind: SocketAddress.Input
  readonly maxDatagram?: number | undefined
  readonly recvBufferSize?: number | undefined
  readonly sendBufferSize?: number | undefined
}

/**
 * Binds a UDP socket that connects to the first peer that sends to it (a
 * one-peer server: pair it with an endpoint of role `"server"`, which sends
 * nothing before it hears from its peer). Datagrams from other addresses are
 * dropped and counted (`foreign`). The socket closes with the Scope.
 *
 * @since 0.2.0
 * @category constructors
 */
export const listen = (options: ListenOptions): Effect.Effect<
  FastUdpLike<IoError> & { readonly socket: UdpSocket.UdpSocket; readonly localAddress: SocketAddress.SocketAddress; readonly peer: () => SocketAddress.SocketAddress | undefined; readonly foreign: () => number },
  IoError,
  Reactor | Scope.Scope
> =>
  Effect.gen(function*() {
    const problem = check.requiredObject("UdpLike.listen options", options)
    if (problem !== undefined) return yield* Effect.fail(ioError("InvalidInput", "bind", problem))
    const socket = yield* UdpSocket.bind(options.bind, {
      recvBufferSize: options.recvBufferSize ?? 4 * 1024 * 1024,
      sendBufferSize: options.sendBufferSize ?? 4 * 1024 * 1024,
      batch: { size: BATCH, bufferSize: slotOf(options.maxDatagram) }
    })
    const localAddress = socket.localAddr()
    if (localAddress instanceof IoError) return yield* Effect.fail(localAddress)
    const learn = { peer: undefined as SocketAddress.SocketAddress | undefined, foreign: 0 }
    const udp = yield* make(socket, learn, slotOf(options.maxDatagram))
    return { ...udp, socket, localAddress, peer: () => learn.peer, foreign: () => learn.foreign }
  })

/**
 * Options of `connect`.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectOptions {
  /** The peer's address. */
  readonly peer: SocketAddress.Input
  /** The local address (default: the wildcard of the peer's family, port 0). */
  readonly bind?: SocketAddress.Input | undefined
  /** Largest datagram to receive (default 8,952, an endpoint's default `maxMtu`; at least 2,048). */
  readonly maxDatagram?: number | undefined
  /** `SO_RCVBUF` / `SO_SNDBUF` (default 4 MiB each, capped by the system's maximum). */
  readonly recvBufferSize?: number | undefined
  readonly sendBufferSize?: number | undefined
}

/**
 * Binds a UDP socket, connects it to `peer` and makes it a `UdpLike`; the
 * socket closes with the Scope.
 *
 * @since 0.2.0
 * @category constructors
 */
export const connect = (options: ConnectOptions): Effect.Effect<FastUdpLike<IoError> & { readonly socket: UdpSocket.UdpSocket }, IoError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const problem = check.requiredObject("UdpLike.connect options", options)
    if (problem !== undefined) return yield* Effect.fail(ioError("InvalidInput", "connect", problem))
    // a host name: its first IPv4 address, else its first (of the family of `bind` when that is an IP
    // literal), as Udp.make picks; nothing tells a datagram socket that another address would answer
    const bound = options.bind === undefined ? undefined : SocketAddress.classify(options.bind, "bind")
    const family = bound === undefined || bound instanceof IoError || bound instanceof SocketAddress.HostName ? undefined : Resolver.familyOf(bound)
    const peers = yield* Resolver.resolve(options.peer, "connect", { family, inet: true })
    const peer = peers.find((a) => a._tag === "InetAddressV4") ?? peers[0]
    const socket = yield* UdpSocket.bind(options.bind ?? (peer._tag === "InetAddressV6" ? "[::]:0" : "0.0.0.0:0"), {
      recvBufferSize: options.recvBufferSize ?? 4 * 1024 * 1024,
      sendBufferSize: options.sendBufferSize ?? 4 * 1024 * 1024,
      batch: { size: BATCH, bufferSize: slotOf(options.maxDatagram) }
    })
    const e = socket.connect(peer)
    if (e !== undefined) return yield* Effect.fail(e)
    const udp = yield* make(socket, undefined, slotOf(options.maxDatagram))
    return { ...udp, socket }
  })

/**
 * Two of our UDP sockets on loopback, bound and connected to each other (for
 * examples, tests and benchmarks).
 *
 * @since 0.2.0
 * @category constructors
 */
export const loopbackPair = (options?: { readonly maxDatagram?: number | undefined }): Effect.Effect<
  readonly [FastUdpLike<IoError> & { readonly socket: UdpSocket.UdpSocket }, FastUdpLike<IoError> & { readonly socket: UdpSocket.UdpSocket }],
  IoError,
  Reactor | Scope.Scope
> =>
  Effect.gen(function*() {
    const batch = { size: BATCH, bufferSize: slotOf(options?.maxDatagram) }
    const sizes = { recvBufferSize: 4 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024, batch }
    const a = yield* UdpSocket.bind("127.0.0.1:0", sizes)
    const b = yield* UdpSocket.bind("127.0.0.1:0", sizes)
    const addrA = a.localAddr(), addrB = b.localAddr()
    if (addrA instanceof IoError) return yield* Effect.fail(addrA)
    if (addrB instanceof IoError) return yield* Effect.fail(addrB)
    const ea = a.connect(addrB)
    if (ea !== undefined) return yield* Effect.fail(ea)
    const eb = b.connect(addrA)
    if (eb !== undefined) return yield* Effect.fail(eb)
    const ua = yield* make(a, undefined, batch.bufferSize)
    const ub = yield* make(b, undefined, batch.bufferSize)
    return [{ ...ua, socket: a }, { ...ub, socket: b }] as const
  })
