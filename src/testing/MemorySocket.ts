/**
 * Stream transports on a `SimNet`: Effect's `Socket` and `SocketServer`
 * services over in-memory connections, for tests that swap the real TCP
 * layers for these and change nothing else.
 *
 * A connection is two byte streams with TCP's contract, not WebSocket's:
 * bytes arrive in order, exactly once, but chunk boundaries are not kept
 * (a pull returns every chunk that has arrived since the last one). Each
 * direction has a window (`window`, default 64 KiB): a `write` waits while
 * the bytes written but not yet pulled by the peer reach it, so a reader
 * that stops pulling stops its writer (end-to-end backpressure).
 *
 * Over a `SimNet` link, a stream sees the link's latency, jitter (order kept)
 * and bandwidth, and stalls while the link is blocked (`dropAll`,
 * partition) until it is healed — what TCP's retransmissions would achieve.
 * Loss, duplication, reordering, corruption and the MTU do not apply: a
 * stream over a lossy link would need a retransmission protocol, and the
 * point of these sockets is to test the application above it. Writes travel
 * in segments of at most 64 KiB. Connecting takes one round trip (SYN,
 * SYN-ACK), and each segment is in the trace with its label (`SYN`, `DATA`,
 * `FIN`, `RST`, `CLOSE`) and ports.
 *
 * The `Socket` contract, as Effect's own adapters honour it:
 * - acquiring `reader` dials (a client socket dials anew on every
 *   acquisition, so `Effect.retry` reconnects); a server-side socket adopts
 *   its accepted connection once;
 * - `pull` fails with `SocketError(SocketCloseError)` once the peer has
 *   closed its side and every byte was pulled (code 1000, or the peer's
 *   `CloseEvent` code); it never returns "done";
 * - closing the reader's scope closes the connection (after the bytes already
 *   written) and fails a suspended `pull` (code 1006);
 * - a client's (and a `pair` socket's) writer is detached from the
 *   connection: writes wait while there is none; a server-side socket is
 *   connected from the start, as `Tcp.listen`'s are: its writer works before
 *   a reader is acquired, and fails once the connection is closed; releasing the writer's
 *   scope half-closes (the peer's `pull` fails with code 1000 while this side
 *   can still read);
 * - `write(new CloseEvent(code, reason))` closes both directions at once;
 *   the local and the peer's `pull` fail with that code;
 * - writing after a half-close, or to a peer that has closed and refused the
 *   data, fails with `SocketWriteError`;
 * - dialing an address where nothing listens fails the reader acquisition
 *   with `SocketOpenError` (connection refused); TLS upgrade is unsupported.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Latch from "effect/Latch"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import * as check from "../internal/check.ts"
import * as C from "../sys/constants.ts"
import { endpointProblem, type EndpointInput, inet, invalidInput, resolveEndpoint } from "./internal/address.ts"
import * as errors from "./internal/errors.ts"
import { hostProblem } from "./Network.ts"
import type * as Network from "./Network.ts"
import { SimNet } from "./SimNet.ts"

/**
 * @since 0.1.0
 * @category type IDs
 */
export const TypeId = "~effect-mio/testing/MemorySocket" as const

/**
 * @since 0.1.0
 * @category type IDs
 */
export type TypeId = typeof TypeId

/**
 * `true` for a socket made by this module.
 *
 * @since 0.1.0
 * @category guards
 */
export const isMemorySocket = (u: unknown): u is Socket.Socket => Socket.isSocket(u) && TypeId in u

/**
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions {
  /**
   * The listener: `"server:80"`, `"10.0.0.2:80"`, `"127.0.0.1:80"`, `{ host, port }` or an `InetAddress`
   * (a `SocketServer`'s `address`); a Unix path is refused when dialing.
   */
  readonly to: EndpointInput | NetAddress.SocketAddress
  /** The client's host; default `"local"`. */
  readonly host?: string | undefined
  /** Bytes in flight or unread per direction before `write` waits; default 65,536. */
  readonly window?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListenOptions {
  /** The host to listen on (every address of it, 127.0.0.1 included); default `"local"`. */
  readonly host?: string | undefined
  /** The port; default 0 (ephemeral). */
  readonly port?: number | undefined
  /** Connections waiting for `run` beyond which new ones are refused; default 128. */
  readonly backlog?: number | undefined
  /** Window of accepted connections; default 65,536. */
  readonly window?: number | undefined
}

const segmentSize = 64 * 1024
const encoder = new TextEncoder()
const empty = new Uint8Array(0)

type OutState = "open" | "shut" | "reset"

interface Side {
  readonly net: SimNet
  readonly host: Network.Host
  readonly port: number
  window: number
  peer: Side
  readonly inbox: Queue.Queue<Uint8Array, Socket.SocketError>
  inboxBytes: number
  /** Bytes this side wrote that the peer has not pulled (or discarded) yet. */
  unacked: number
  readonly writable: Latch.Latch
  out: OutState
  reader: "new" | "open" | "closed"
  /** Set once a RST was sent for data arriving after close. */
  refused: boolean
}

const closeError = (code: number, reason?: string): Socket.SocketError =>
  new Socket.SocketError({
    reason: reason === undefined
      ? new Socket.SocketCloseError({ code })
      : new Socket.SocketCloseError({ code, closeReason: reason })
  })

const writeError = (message: string): Socket.SocketError => errors.writeError(errors.simulated(C.EPIPE, "send", undefined, message))

const openError = (errno: number, address: string, detail?: string): Socket.SocketError =>
  errors.openError(errors.simulated(errno, "connect", address, detail))

/** A bad option: an open error whose cause is an `InvalidInput` `IoError`, as the real adapters report it. */
const invalidOption = (problem: string): Socket.SocketError => errors.openError(invalidInput("connect", problem))

const invalidListenOption = (problem: string): SocketServer.SocketServerError =>
  errors.serverOpenError(invalidInput("listen", problem))

/** Bytes in flight per direction: at least one segment's worth is not required, but a positive count is. */
const windowProblem = (window: unknown): string | undefined => check.integer("window", window, 1, Number.MAX_SAFE_INTEGER)

const hostOption = (name: string, host: unknown): string | undefined => {
  if (host === undefined) return undefined
  const bad = hostProblem(host)
  return bad === undefined ? undefined : `${name}: ${bad}`
}

// Queues are made by the fiber that dials or pairs, never with `runSync`: a
// queue wakes its takers through the dispatcher of the fiber that made it,
// which under a test clock must be the clock's tracking scheduler.
const makeInbox = Queue.unbounded<Uint8Array, Socket.SocketError>()

const makeSide = (
  net: SimNet,
  host: Network.Host,
  port: number,
  window: number,
  inbox: Queue.Queue<Uint8Array, Socket.SocketError>
): Side => {
  const side = {
    net,
    host,
    port,
    window,
    peer: undefined as unknown as Side,
    inbox,
    inboxBytes: 0,
    unacked: 0,
    writable: Latch.makeUnsafe(true),
    out: "open" as OutState,
    reader: "new" as const,
    refused: false
  }
  return side as Side
}

/**
 * Sends a segment from `from` to its peer; `arrive` runs at the peer when it
 * arrives, with the network's copy of the bytes (the writer may reuse its buffer).
 */
const segment = (
  from: Side,
  kind: string,
  payload: Uint8Array,
  arrive: (to: Side, payload: Uint8Array) => void
): void => {
  const to = from.peer
  from.net.withNetworkUnsafe((network) =>
    network.transmitReliable(from.host.name, to.host.name, payload, `${kind} :${from.port}->:${to.port}`, {
      deliver: (bytes) => arrive(to, bytes)
    })
  )
}

const credit = (side: Side, bytes: number): void => {
  side.unacked -= bytes
  if (side.unacked < side.window) side.writable.openUnsafe()
}

/** The peer refused our data or reset the connection: writes fail, reads end. */
const reset = (side: Side): void => {
  side.out = "reset"
  side.writable.openUnsafe()
  Queue.failCauseUnsafe(side.inbox, Cause.fail(closeError(1006)))
}

const sendReset = (from: Side): void => segment(from, "RST", empty, reset)

const onData = (to: Side, bytes: Uint8Array): void => {
  if (to.reader === "closed") {
    // the application closed: the bytes are discarded and the sender told
    credit(to.peer, bytes.length)
    if (!to.refused) {
      to.refused = true
      sendReset(to)
    }
    return
  }
  to.inboxBytes += bytes.length
  Queue.offerUnsafe(to.inbox, bytes)
}

const onFin = (to: Side): void => {
  Queue.failCauseUnsafe(to.inbox, Cause.fail(closeError(1000)))
}

const shut = (side: Side): void => {
  if (side.out !== "open") return
  side.out = "shut"
  // a write waiting for window space fails instead of waiting forever
  side.writable.openUnsafe()
  segment(side, "FIN", empty, onFin)
}

/** The application closed this side: unread bytes are discarded, a FIN follows the written ones. */
const close = (side: Side): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (side.reader === "closed") return Effect.void
    side.reader = "closed"
    const unread = side.inboxBytes
    side.inboxBytes = 0
    if (unread > 0) credit(side.peer, unread)
    shut(side)
    // a suspended pull fails; a later one sees `reader === "closed"`
    Queue.failCauseUnsafe(side.inbox, Cause.fail(closeError(1006)))
    return Effect.void
  })

const write = (side: Side, chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> =>
  Effect.suspend(() => {
    if (Socket.isCloseEvent(chunk)) {
      const { code, reason } = chunk
      if (side.out !== "reset") {
        side.out = "reset"
        segment(side, `CLOSE ${code}`, empty, (to) => {
          to.out = "reset"
          to.writable.openUnsafe()
          Queue.failCauseUnsafe(to.inbox, Cause.fail(closeError(code, reason)))
        })
        side.writable.openUnsafe()
      }
      Queue.failCauseUnsafe(side.inbox, Cause.fail(closeError(code, reason)))
      return Effect.void
    }
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk
    const send: Effect.Effect<void, Socket.SocketError> = Effect.suspend(() => {
      if (side.out !== "open") {
        return Effect.fail(writeError(side.out === "shut" ? "write after end" : "the connection is closed"))
      }
      if (side.unacked >= side.window) return Latch.whenOpen(side.writable, send)
      for (let offset = 0; offset < bytes.length; offset += segmentSize) {
        const piece = bytes.subarray(offset, Math.min(bytes.length, offset + segmentSize))
        side.unacked += piece.length
        segment(side, "DATA", piece, onData)
      }
      if (side.unacked >= side.window) side.writable.closeUnsafe()
      return Effect.void
    })
    return bytes.length === 0 ? Effect.void : send
  })

const pull = (side: Side): Effect.Effect<readonly [Uint8Array, ...Array<Uint8Array>], Socket.SocketError> =>
  Effect.suspend(() =>
    side.reader === "closed"
      ? Effect.fail(closeError(1006))
      : Effect.map(Queue.takeAll(side.inbox), (chunks) => {
        let bytes = 0
        for (const c of chunks) bytes += c.length
        side.inboxBytes -= bytes
        credit(side.peer, bytes)
        return chunks
      })
  )

/**
 * A `Socket` whose every reader acquisition runs `open` for a connection. A
 * server-side socket is given its `accepted` side: connected from the start, as
 * `Tcp.listen`'s are — its writer works before (or without) a reader, and once
 * the connection is closed its writes fail rather than wait for another.
 */
const makeSocket = (open: Effect.Effect<Side, Socket.SocketError, Scope.Scope>, accepted?: Side): Socket.Socket => {
  let current: Side | undefined = accepted
  const connected = Latch.makeUnsafe(accepted !== undefined)
  const reader = Effect.gen(function*() {
    const side = yield* open
    side.reader = "open"
    current = side
    connected.openUnsafe()
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (current === side && accepted === undefined) {
          current = undefined
          connected.closeUnsafe()
        }
      })
    )
    const reader: Socket.Reader = { pull: pull(side), upgrade: Socket.SocketUpgradeError.unsupported }
    return reader
  })
  const writeCurrent = (chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> =>
    Effect.suspend(() =>
      current === undefined ? Latch.whenOpen(connected, writeCurrent(chunk)) : write(current, chunk)
    )
  const writer: Socket.Writer = {
    write: writeCurrent,
    writeAll: (chunks) => Effect.forEach(chunks, writeCurrent, { discard: true })
  }
  const socket = Socket.make({
    reader,
    writer: Effect.acquireRelease(
      Effect.succeed(writer),
      () =>
        Effect.sync(() => {
          if (current !== undefined) shut(current)
        })
    )
  })
  return Object.assign(socket, { [TypeId]: TypeId })
}

/** Adopts an established side once; its scope closes it. */
const adopt = (side: Side): Effect.Effect<Side, Socket.SocketError, Scope.Scope> =>
  Effect.suspend(() =>
    side.reader !== "new"
      ? Effect.fail(closeError(1000))
      : Effect.as(Effect.addFinalizer(() => close(side)), side)
  )

interface Listener {
  /** Takes the server side of a connection (made by the client); `false` refuses it. */
  readonly accept: (server: Side) => boolean
}

/**
 * A client `Socket` on the `SimNet` in context; every reader acquisition
 * dials `to` from an ephemeral port of `host`. A bad option (`to`, `host`,
 * `window`) fails here with `SocketOpenError` whose cause is an `IoError` of
 * kind `InvalidInput`, as `Tcp.connect` reports it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ConnectOptions): Effect.Effect<Socket.Socket, Socket.SocketError, SimNet> =>
  SimNet.use((net) =>
    Effect.suspend(() => {
      const bad = check.requiredObject("options", options) ?? check.first(
        typeof options.to === "object" && options.to !== null && "_tag" in options.to && options.to._tag === "UnixPathAddress"
          ? undefined
          : endpointProblem("to", options.to),
        hostOption("host", options.host),
        windowProblem(options.window)
      )
      return bad === undefined ? Effect.sync(() => connecting(net, options)) : Effect.fail(invalidOption(bad))
    })
  )

/** The client socket of `make`, for checked options. */
const connecting = (net: SimNet, options: ConnectOptions): Socket.Socket => {
  const window = options.window ?? 65_536
  const dial = Effect.gen(function*() {
    const established = Deferred.makeUnsafe<void, Socket.SocketError>()
    const clientInbox = yield* makeInbox
    const serverInbox = yield* makeInbox
    const to = options.to
    if (typeof to === "object" && "_tag" in to && to._tag === "UnixPathAddress") {
      return yield* openError(C.ENOENT, to.path, "Unix paths are not simulated")
    }
    const client = net.withNetworkUnsafe((network) => {
      const host = network.host(options.host ?? "local")
      const target = resolveEndpoint(network, to)
      const owner = {}
      const port = network.bind("tcp", host.name, 0, owner)
      if (port === undefined) return openError(C.EADDRNOTAVAIL, host.name, "no ephemeral port left")
      const side = makeSide(net, host, port, window, clientInbox)
      const serverHost = network.route(host, target.ip)
      // the server's side, handed to the listener when the SYN arrives
      side.peer = makeSide(net, serverHost ?? host, target.port, window, serverInbox)
      side.peer.peer = side
      return { side, owner, serverHost, target }
    })
    if (client instanceof Socket.SocketError) return yield* client
    const { side, owner, serverHost, target } = client
    yield* Effect.addFinalizer(() =>
      Effect.andThen(
        close(side),
        Effect.sync(() => net.withNetworkUnsafe((n) => n.unbind("tcp", side.host.name, side.port, owner)))
      )
    )
    if (serverHost === undefined) {
      return yield* openError(C.ECONNREFUSED, `${target.ip}:${target.port}`, "no such host")
    }
    const refuse = (to: Side) => {
      reset(to)
      Deferred.doneUnsafe(established, Effect.fail(openError(C.ECONNREFUSED, `${target.ip}:${target.port}`)))
    }
    segment(side, "SYN", empty, (server) =>
      net.withNetworkUnsafe((network) => {
        const listener = network.bound("tcp", server.host.name, target.port) as Listener | undefined
        if (listener === undefined || !listener.accept(server)) return segment(server, "RST", empty, refuse)
        segment(server, "SYN-ACK", empty, (to) => {
          // a client that gave up while connecting resets the accepted side
          if (to.reader === "closed") return sendReset(to)
          Deferred.doneUnsafe(established, Effect.void)
        })
      }))
    yield* Deferred.await(established)
    return side
  })
  return makeSocket(dial)
}

/**
 * A `SocketServer` listening on `host:port` of the `SimNet` in context until
 * the scope closes. Connections wait (up to `backlog`) until `run` takes
 * them; `run` gives each to `handler` in its own fiber, logs and swallows
 * handler failures, and interrupting `run` interrupts the handlers (closing
 * their connections). A connection whose handler ends without acquiring the
 * reader is closed. When the listener closes, waiting connections are reset
 * and `run` fails with `SocketServerError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const listen = (
  options: ListenOptions = {}
): Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, SimNet | Scope.Scope> =>
  Effect.gen(function*() {
    const net = yield* SimNet
    const bad = check.requiredObject("options", options) ?? check.first(
      hostOption("host", options.host),
      check.integer("port", options.port, 0, 65535),
      check.integer("backlog", options.backlog, 0, Number.MAX_SAFE_INTEGER),
      windowProblem(options.window)
    )
    if (bad !== undefined) return yield* Effect.fail(invalidListenOption(bad))
    const window = options.window ?? 65_536
    const backlog = options.backlog ?? 128
    const pending = yield* Queue.unbounded<Side, SocketServer.SocketServerError>()
    let waiting = 0
    let closed = false
    const listener: Listener = {
      accept: (server) => {
        if (closed || waiting >= backlog) return false
        server.window = window
        waiting++
        Queue.offerUnsafe(pending, server)
        return true
      }
    }
    const bound = yield* Effect.acquireRelease(
      Effect.sync(() =>
        net.withNetworkUnsafe((network) => {
          const host = network.host(options.host ?? "local")
          const port = network.bind("tcp", host.name, options.port ?? 0, listener)
          return port === undefined ? { host, port: options.port ?? 0, ok: false } : { host, port, ok: true }
        })
      ),
      ({ host, ok, port }) =>
        Effect.gen(function*() {
          closed = true
          if (ok) net.withNetworkUnsafe((network) => network.unbind("tcp", host.name, port, listener))
          const left = yield* Queue.clear(pending).pipe(Effect.catch(() => Effect.succeed([])))
          for (const side of left) sendReset(side)
          yield* Queue.fail(
            pending,
            new SocketServer.SocketServerError({
              reason: new SocketServer.SocketServerUnknownError({ cause: new Error("the listener is closed") })
            })
          )
        })
    )
    if (!bound.ok) {
      return yield* errors.serverOpenError(errors.simulated(C.EADDRINUSE, "listen", `${bound.host.ip}:${bound.port}`))
    }
    const run = <R, E, _>(
      handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>
    ): Effect.Effect<never, SocketServer.SocketServerError, R> =>
      Effect.scoped(Effect.gen(function*() {
        const fibers = yield* FiberSet.make<unknown, never>()
        while (true) {
          const side = yield* Queue.take(pending)
          waiting--
          const handle = Effect.suspend(() => handler(makeSocket(adopt(side), side))).pipe(
            Effect.catchCause((cause) =>
              Cause.hasInterruptsOnly(cause)
                ? Effect.void
                : Effect.logError("Unhandled error in SocketServer", cause)
            ),
            Effect.ensuring(Effect.suspend(() => side.reader === "new" ? close(side) : Effect.void))
          )
          yield* FiberSet.run(fibers, handle)
        }
      }))
    return SocketServer.SocketServer.of({ address: inet(bound.host.ip, bound.port), run })
  })

/**
 * Two connected sockets, each adopting one end of one connection (like
 * `socketpair(2)`): on hosts `a` and `b` (default `"a"` and `"b"`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const pair = (options?: {
  readonly a?: string | undefined
  readonly b?: string | undefined
  readonly window?: number | undefined
}): Effect.Effect<readonly [Socket.Socket, Socket.Socket], Socket.SocketError, SimNet | Scope.Scope> =>
  Effect.gen(function*() {
    const net = yield* SimNet
    const bad = check.object("options", options) ?? check.first(
      hostOption("a", options?.a),
      hostOption("b", options?.b),
      windowProblem(options?.window)
    )
    if (bad !== undefined) return yield* Effect.fail(invalidOption(bad))
    const window = options?.window ?? 65_536
    const owners = [{}, {}] as const
    const inboxA = yield* makeInbox
    const inboxB = yield* makeInbox
    const [a, b] = net.withNetworkUnsafe((network) => {
      const hostA = network.host(options?.a ?? "a")
      const hostB = network.host(options?.b ?? "b")
      const a = makeSide(net, hostA, network.bind("tcp", hostA.name, 0, owners[0])!, window, inboxA)
      const b = makeSide(net, hostB, network.bind("tcp", hostB.name, 0, owners[1])!, window, inboxB)
      a.peer = b
      b.peer = a
      return [a, b] as const
    })
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        yield* close(a)
        yield* close(b)
        net.withNetworkUnsafe((network) => {
          network.unbind("tcp", a.host.name, a.port, owners[0])
          network.unbind("tcp", b.host.name, b.port, owners[1])
        })
      })
    )
    return [makeSocket(adopt(a)), makeSocket(adopt(b))] as const
  })

/**
 * A client `Socket` layer dialing `options.to`, on the `SimNet` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: ConnectOptions): Layer.Layer<Socket.Socket, Socket.SocketError, SimNet> =>
  Layer.effect(Socket.Socket)(make(options))

/**
 * A `SocketServer` layer listening on the `SimNet` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = (
  options: ListenOptions = {}
): Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, SimNet> =>
  Layer.effect(SocketServer.SocketServer)(listen(options))
