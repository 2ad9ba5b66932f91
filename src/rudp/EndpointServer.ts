/**
 * Many reliable-UDP peers on one UDP socket: the endpoint server the rudp
 * crate planned and never built. One socket receives in batches; each
 * datagram goes to the connection its destination id names (so a peer whose
 * address changes keeps its connection); each peer is an `Endpoint` with the
 * API and combinators of a one-peer endpoint.
 *
 * ```ts
 * const server = yield* EndpointServer.make("0.0.0.0:7000", { maxPeers: 10_000 })
 * yield* server.run((peer) => Stream.runForEach(peer.messages, (m) => peer.sendPayload(Guarantee.Delivery, m)))
 * ```
 *
 * - `accept` waits for the next peer and ties its endpoint to the caller's
 *   Scope; `run(handler)` forks `handler` for every peer, each in a Scope of
 *   its own (the peer closes gracefully when its handler ends).
 * - An unverified source costs the server no state: the first Initial from an
 *   address is answered with a stateless Retry whose token is bound to that
 *   address (`retry: "always"`, the default); a connection is made only for an
 *   Initial that returns a valid token. No answer to an unverified source is
 *   larger than what it sent, and a connection sends at most three times what
 *   it received before its peer's address is proven (RFC 9000 §8.1).
 * - `maxPeers` bounds the connections; past it an Initial gets a refusal and
 *   the client's handshake fails with `RudpError` kind `Refused`.
 * - A peer silent for the idle timeout is dropped (its endpoint fails with
 *   `PeerTimedOut`); every per-peer queue is bounded and counted.
 * - One fiber drives every peer (`internal/ServerDriver.ts`): it routes each
 *   received datagram straight into its peer's engine, runs the peers' timers
 *   from one heap and sends all their output in one batch per turn. A peer's
 *   endpoint forks no fibers of its own; the server wakes the fibers waiting
 *   on its messages or its send queue.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as NetAddress from "effect/net/NetAddress"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import { randomBytes } from "node:crypto"
import { IoError } from "../IoError.ts"
import type * as SocketAddress from "../net/SocketAddress.ts"
import * as UdpSocket from "../net/UdpSocket.ts"
import type { Reactor } from "../reactor/Reactor.ts"
import { type Config as EngineConfig, shown } from "./engine/Config.ts"
import { RudpEngine } from "./engine/Connection.ts"
import { Listener, type ListenerStats, SERVER_CID_LENGTH } from "./engine/Listener.ts"
import * as Endpoint from "./Endpoint.ts"
import * as RudpMetrics from "./RudpMetrics.ts"
import { Alarm, clockMillis, Driver } from "./internal/Driver.ts"
import { type DrivenPeer, type Routing, ServerDriver } from "./internal/ServerDriver.ts"
import { fromDatagramSocket as transportOfDatagramSocket, fromUdpSocket as transportOfUdpSocket, type ServerTransport } from "./internal/ServerTransport.ts"
import { make as rudpError, type RudpError, transport } from "./RudpError.ts"
import { BATCH, FastPathId, type FastUdpLike } from "./UdpLike.ts"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-mio/rudp/EndpointServer" as const

/**
 * @since 0.2.0
 * @category guards
 */
export const isEndpointServer = (u: unknown): u is EndpointServer => typeof u === "object" && u !== null && TypeId in u

/**
 * The server's configuration: every peer's endpoint configuration (`role` is
 * always `"server"`, `cidLength` always 8) and the server's own options.
 *
 * @since 0.2.0
 * @category models
 */
export interface Config extends Omit<Endpoint.Config, "role" | "cidLength"> {
  /** Connections at once (default 16,384; 1 to 1,048,576). An Initial past it is refused (`Refused`). */
  readonly maxPeers?: number | undefined
  /** `"always"` (default): a stateless Retry before any state for a source; `"never"`: none (half-open connections then count against `maxPeers`). */
  readonly retry?: "always" | "never" | undefined
  /** How long a retry token is good for (default 10 s). */
  readonly tokenLifetime?: Duration.Input | undefined
  /** Peers made and not yet taken by `accept` (default 1,024); past it a new peer is aborted and counted. */
  readonly backlog?: number | undefined
  /** The server drives its peers: `"reactor"` (the default) is the only value. */
  readonly drive?: "reactor" | undefined
}

/**
 * Counters of a server.
 *
 * @since 0.2.0
 * @category models
 */
export interface ServerStats {
  /** Peers connected or connecting now. */
  readonly peers: number
  /** Peers made, ended, aborted for a full backlog. */
  readonly peersMade: number
  readonly peersEnded: number
  readonly backlogDrops: number
  /** Peers whose address changed (the connection id routed them). */
  readonly migrations: number
  readonly datagramsIn: number
  readonly datagramsOut: number
  /** Datagrams the socket could not take now (its buffer was full), GSO sends, truncated receptions. */
  readonly sendDropped: number
  readonly gsoSends: number
  readonly truncated: number
  /** The listener's routing, stateless answers and drops by reason. */
  readonly listener: ListenerStats
}

/**
 * @since 0.2.0
 * @category models
 */
export interface EndpointServer {
  readonly [TypeId]: typeof TypeId
  /** The socket's address (`"127.0.0.1:7000"`). */
  readonly localAddress: string
  /** Waits for the next peer; its endpoint closes (gracefully) with the caller's Scope. */
  readonly accept: Effect.Effect<Endpoint.Endpoint, RudpError, Scope.Scope>
  /**
   * Runs `handler` for every peer, each in a fiber and a Scope of its own (the
   * peer closes gracefully when its handler ends). Runs until the server's
   * Scope closes or the transport fails.
   */
  readonly run: <E, R>(handler: (peer: Endpoint.Endpoint) => Effect.Effect<void, E, R | Scope.Scope>) => Effect.Effect<never, RudpError, R>
  readonly stats: Effect.Effect<ServerStats>
  /** The endpoints of the peers connected now. */
  readonly peers: Effect.Effect<ReadonlyArray<Endpoint.Endpoint>>
}

/** One connection of the server, driven by the server's `ServerDriver`. */
class Peer<A> implements DrivenPeer<A> {
  readonly cid: Uint8Array
  readonly engine: RudpEngine
  address: A
  driver!: Driver<RudpError>
  /** `ServerDriver.wake` for this peer (its endpoint's sends and takes call it). */
  wake!: () => void
  heapIndex = -1
  deadline = 0
  queued = false
  ended = false
  scope: Scope.Closeable | undefined = undefined
  endpoint: Endpoint.Endpoint | undefined = undefined
  constructor(cid: Uint8Array, engine: RudpEngine, address: A) {
    this.cid = cid
    this.engine = engine
    this.address = address
  }
}

/** Datagrams per `recvmmsg` / `sendmmsg` of the server's own socket. */
const SERVER_BATCH = 64

const checkInt = (name: string, v: unknown, fallback: number, min: number, max: number): number | RudpError => {
  const x = v === undefined ? fallback : v
  if (typeof x !== "number" || !Number.isInteger(x) || x < min || x > max) {
    return rudpError("InvalidConfig", `${name} is an integer from ${min} to ${max}, not ${shown(v)}`)
  }
  return x
}

const options = (config: Config) =>
  Effect.gen(function*() {
    if (typeof config !== "object" || config === null) return yield* Effect.fail(rudpError("InvalidConfig", `config is an object, not ${shown(config)}`))
    const maxPeers = checkInt("maxPeers", config.maxPeers, 16384, 1, 1 << 20)
    if (typeof maxPeers !== "number") return yield* Effect.fail(maxPeers)
    const backlog = checkInt("backlog", config.backlog, 1024, 1, 1 << 20)
    if (typeof backlog !== "number") return yield* Effect.fail(backlog)
    if (config.drive !== undefined && config.drive !== "reactor") {
      return yield* Effect.fail(rudpError("InvalidConfig", `a server drives its peers: drive is "reactor", not ${shown(config.drive)}`))
    }
    const retry = config.retry === undefined ? "always" : config.retry
    if (retry !== "always" && retry !== "never") return yield* Effect.fail(rudpError("InvalidConfig", `retry is "always" or "never", not ${shown(retry)}`))
    const duration = config.tokenLifetime === undefined ? Option.some(Duration.seconds(10)) : Duration.fromInput(config.tokenLifetime)
    const lifetime = Option.isSome(duration) ? Duration.toMillis(duration.value) : Number.NaN
    if (!(lifetime >= 1000 && lifetime <= 86_400_000)) {
      return yield* Effect.fail(rudpError("InvalidConfig", `tokenLifetime is a duration from 1 second to 1 day, not ${shown(config.tokenLifetime)}`))
    }
    // Peers publish no metrics of their own (10,000 series); the server publishes its totals.
    const peerConfig: Endpoint.Config = { drive: "reactor", ...config, role: "server", cidLength: SERVER_CID_LENGTH, metrics: undefined }
    const engineConfig = yield* Endpoint.engineConfig(peerConfig)
    return { maxPeers, backlog, retry, lifetime, peerConfig, engineConfig, metrics: config.metrics }
  }).pipe(Effect.catchDefect((d) => Effect.fail(rudpError("InvalidConfig", d instanceof Error ? d.message : String(d)))))

/**
 * A server on our UDP socket bound to `address` (or on `socket`, which the
 * caller owns), for the Scope's lifetime.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  address: SocketAddress.Input | UdpSocket.UdpSocket,
  config: Config = {}
): Effect.Effect<EndpointServer, RudpError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const o = yield* options(config)
    const socket = UdpSocket.isUdpSocket(address) ? address : yield* Effect.mapError(
      UdpSocket.bind(address as SocketAddress.Input, {
        recvBufferSize: 8 * 1024 * 1024,
        sendBufferSize: 8 * 1024 * 1024,
        batch: { size: SERVER_BATCH, bufferSize: Math.max(2048, o.engineConfig.maxMtu) }
      }),
      (e: IoError) => transport(e)
    )
    const t = yield* transportOfUdpSocket(socket, UdpSocket.isUdpSocket(address) ? BATCH : SERVER_BATCH)
    return yield* serve(t, o)
  })

/**
 * A server on any Effect `DatagramSocket` — `MemoryDatagram.make` on a
 * `SimNet`, our `Udp.make` — for the Scope's lifetime.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromDatagramSocket = (socket: DatagramSocket.DatagramSocket, config: Config = {}): Effect.Effect<EndpointServer, RudpError, Scope.Scope> =>
  Effect.gen(function*() {
    const o = yield* options(config)
    const t = yield* transportOfDatagramSocket(socket, { queue: 64 * 1024 })
    return yield* serve(t, o)
  })

type Options = Effect.Success<ReturnType<typeof options>>

const serve = <A>(t: ServerTransport<A>, o: Options): Effect.Effect<EndpointServer, RudpError, Scope.Scope> =>
  Effect.gen(function*() {
    // The server's own Scope, closed by one finalizer of the caller's in a set order (below): peers and
    // handlers made later must not be closed before the receiving fiber that feeds them.
    const serverScope = yield* Scope.fork(yield* Effect.scope, "sequential")
    const clock = yield* Clock.Clock
    const now = clockMillis(clock)
    const context = yield* Effect.context<never>()
    const runFork = Effect.runForkWith(context)
    const cfg: EngineConfig = o.engineConfig
    const listener = new Listener<Peer<A>>({
      maxPeers: o.maxPeers,
      retry: o.retry,
      tokenKey: randomBytes(32),
      tokenLifetime: o.lifetime,
      minInitial: Math.min(1200, cfg.mtu),
      random: cfg.random
    })
    const backlog = yield* Queue.bounded<Endpoint.Endpoint, RudpError>(o.backlog)
    const live = new Set<Peer<A>>()
    const peerOf = new Map<Endpoint.Endpoint, Peer<A>>()
    let peersMade = 0, peersEnded = 0, backlogDrops = 0, migrations = 0
    let datagramsIn = 0, datagramsOut = 0
    /** Losses and retransmissions of peers that ended (the metrics' running totals keep them). */
    let endedLost = 0, endedResent = 0
    let failure: RudpError | undefined = undefined

    // --- the driver of every peer ------------------------------------------------------------
    const dispatcher = yield* Effect.withFiber((fiber) => Effect.succeed(fiber.currentDispatcher))
    const alarm = new Alarm(clock, (effect) => runFork(effect), now)
    const driver = new ServerDriver<A>(t, now, alarm, (task) => dispatcher.scheduleTask(task, 0))

    /** One peer's datagram I/O: its output goes into the driver's batch; its input is routed to it directly. */
    const udpOf = (peer: Peer<A>): FastUdpLike<RudpError> => {
      const send = (payloads: ReadonlyArray<Uint8Array>, count: number): RudpError | undefined => {
        datagramsOut += count
        return driver.send(payloads, count, peer.address)
      }
      const one: Array<Uint8Array> = [new Uint8Array(0)]
      return {
        [FastPathId]: {
          sendMany: send,
          recvMany: () => 0,
          stats: () => ({ sendDropped: 0, truncated: 0, refused: 0 }),
          // The server's socket is not connected: no route to ask; its peers discover the path by probing alone.
          maxDatagram: cfg.maxMtu,
          pathLimit: () => undefined
        },
        send: (payload) =>
          Effect.suspend(() => {
            one[0] = payload
            const e = send(one, 1)
            return e === undefined ? Effect.void : Effect.fail(e)
          }),
        tryRecv: () => Effect.succeed(undefined),
        readable: Effect.never
      }
    }

    const endPeer = (peer: Peer<A>): void => {
      if (peer.ended) return
      peer.ended = true
      live.delete(peer)
      endedLost += peer.engine.stats.packetsLost
      endedResent += peer.engine.stats.retransmissions
      if (peer.endpoint !== undefined) peerOf.delete(peer.endpoint)
      driver.remove(peer)
      listener.remove(peer.cid, peer)
      peersEnded++
      const scope = peer.scope
      // The peer's fibers end with its Scope; closed from a fiber of its own (this may run inside one).
      if (scope !== undefined && scope.state._tag !== "Closed") runFork(Scope.close(scope, Exit.void))
    }

    /** Makes the endpoint of a connection whose engine took its first Initial. */
    const open = (peer: Peer<A>): Effect.Effect<void> =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(serverScope, "sequential")
        peer.scope = scope
        // However the peer's Scope closes (its handler ended, the accepting Scope closed), the peer leaves the table.
        yield* Scope.addFinalizer(scope, Effect.sync(() => endPeer(peer)))
        const hosted = { driver: peer.driver, wake: peer.wake }
        const exit = yield* Effect.exit(Scope.provide(Endpoint.makeWith(peer.driver.udp, o.peerConfig, () => peer.engine, undefined, hosted), scope))
        if (Exit.isFailure(exit)) {
          endPeer(peer)
          return
        }
        peer.endpoint = exit.value
        peerOf.set(exit.value, peer)
        if (peer.engine.isClosed) return endPeer(peer)
        if (!Queue.offerUnsafe(backlog, exit.value)) {
          backlogDrops++
          peer.engine.abort(now())
          yield* exit.value.abort
          endPeer(peer)
        }
      })

    // --- routing ----------------------------------------------------------------------------
    const made: Array<Peer<A>> = []
    const answers: Array<Uint8Array> = [new Uint8Array(0)]
    const onDatagram = (bytes: Uint8Array, from: A): void => {
      datagramsIn++
      const r = listener.route(now(), bytes, from, t.keyOf)
      let peer: Peer<A>
      if (r.kind === "drop") return
      if (r.kind === "peer") peer = r.peer
      else {
        const engine = new RudpEngine(now(), cfg, { localCid: r.cid, addressValidated: r.validated })
        peer = new Peer(r.cid, engine, from)
        const p = peer
        peer.driver = new Driver(engine, udpOf(peer), now)
        peer.driver.onClosed = () => endPeer(p)
        peer.wake = () => driver.wake(p)
        listener.add(r.cid, peer, r.odcid)
        live.add(peer)
        peersMade++
        made.push(peer)
      }
      if (peer.ended) return
      const engine = peer.engine
      const before = engine.packetsAccepted
      peer.driver.receive(bytes)
      // A packet the connection accepted from another address: the peer moved (the id routed it).
      if (engine.packetsAccepted > before && from !== peer.address && !t.same(from, peer.address)) {
        peer.address = from
        migrations++
      }
      driver.touch(peer)
    }
    const routing: Routing<A> = {
      onDatagram,
      afterReceive: () => {
        for (let a = listener.pollTransmit(); a !== undefined; a = listener.pollTransmit()) {
          answers[0] = a.bytes
          datagramsOut++
          const e = driver.send(answers, 1, a.to as A)
          if (e !== undefined) driver.failure ??= e
        }
      },
      afterTurn: () => {
        if (made.length === 0) return undefined
        const opened = made.splice(0, made.length)
        return Effect.forEach(opened, open, { discard: true })
      }
    }
    const onFailure = (cause: Cause.Cause<RudpError>) =>
      Effect.sync(() => {
        if (failure !== undefined || Cause.hasInterruptsOnly(cause)) return
        const e = Cause.findErrorOption(cause)
        failure = Option.isSome(e) ? e.value : rudpError("Transport", Cause.pretty(cause))
        // a waiting accept or run learns of it (peers already queued are still taken first)
        Queue.failCauseUnsafe(backlog, Cause.fail(failure))
      })
    const watcher = yield* Effect.forkIn(Effect.catchCause(driver.watch, onFailure), serverScope)
    const runner = yield* Effect.forkIn(Effect.catchCause(driver.run(routing), onFailure), serverScope)

    // Closing the server: every peer closes at once, in parallel (gracefully after success: what a peer
    // sent or received meanwhile still flows, the receiving fiber runs until they are done), then the
    // receiving fiber and the rest of the server's Scope; the socket after it.
    // An accept or run still waiting (from outside the server's Scope) then fails with Closed.
    yield* Effect.addFinalizer((exit) =>
      Effect.andThen(
        Effect.forEach([...live], (p) => p.scope === undefined ? Effect.void : Scope.close(p.scope, exit), { concurrency: "unbounded", discard: true }),
        Effect.andThen(Fiber.interruptAll([runner, watcher]), Scope.close(serverScope, exit))
      ).pipe(Effect.ensuring(Effect.sync(() => {
        failure ??= rudpError("Closed", "the endpoint server was closed")
        Queue.failCauseUnsafe(backlog, Cause.fail(failure))
      })))
    )

    if (o.metrics !== undefined) {
      yield* RudpMetrics.publish(o.metrics, () => {
        let lost = endedLost, resent = endedResent
        for (const p of live) {
          lost += p.engine.stats.packetsLost
          resent += p.engine.stats.retransmissions
        }
        const l = listener.stats
        return {
          gauges: [[RudpMetrics.peers, live.size]],
          counters: [
            [RudpMetrics.datagramsInTotal, datagramsIn],
            [RudpMetrics.datagramsOutTotal, datagramsOut],
            [RudpMetrics.retriesTotal, l.retriesSent],
            [RudpMetrics.refusalsTotal, l.refusals],
            [RudpMetrics.lossesTotal, lost],
            [RudpMetrics.resendsTotal, resent]
          ],
          drops: { ...l.dropped, backlog: backlogDrops }
        }
      })
    }

    const failed = Effect.suspend(() => failure === undefined ? Effect.void : Effect.fail(failure))

    const accept: Effect.Effect<Endpoint.Endpoint, RudpError, Scope.Scope> = Effect.gen(function*() {
      yield* failed
      const ep = yield* Queue.take(backlog)
      // The caller's Scope closes the peer (gracefully after success).
      yield* Effect.addFinalizer((exit) => Effect.suspend(() => {
        const scope = peerOf.get(ep)?.scope
        return scope === undefined ? Effect.void : Scope.close(scope, exit)
      }))
      return ep
    })

    const server: EndpointServer = {
      [TypeId]: TypeId,
      localAddress: t.localAddress,
      accept,
      run: <E, R>(handler: (peer: Endpoint.Endpoint) => Effect.Effect<void, E, R | Scope.Scope>) =>
        Effect.forever(
          Effect.flatMap(Effect.andThen(failed, Queue.take(backlog)), (ep) => {
            const scope = peerOf.get(ep)?.scope
            if (scope === undefined) return Effect.void
            return Effect.asVoid(Effect.forkIn(
              Effect.exit(Scope.provide(handler(ep), scope)).pipe(Effect.flatMap((exit) => Scope.close(scope, Exit.isSuccess(exit) ? Exit.void : exit))),
              serverScope
            ))
          })
        ) as Effect.Effect<never, RudpError, R>,
      stats: Effect.sync(() => {
        const c = t.counters()
        return {
          peers: live.size,
          peersMade,
          peersEnded,
          backlogDrops,
          migrations,
          datagramsIn,
          datagramsOut,
          sendDropped: c.sendDropped,
          gsoSends: c.gsoSends,
          truncated: c.truncated,
          listener: structuredClone(listener.stats)
        }
      }),
      peers: Effect.sync(() => [...live].flatMap((p) => p.endpoint === undefined ? [] : [p.endpoint]))
    }
    return server
  })

/**
 * The address type of a transport (for docs: `SocketAddress` on our socket, `InetAddress` on a DatagramSocket).
 *
 * @since 0.2.0
 * @category models
 */
export type PeerAddress = SocketAddress.SocketAddress | NetAddress.InetAddress
