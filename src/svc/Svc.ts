/**
 * A typed service: links' `Svc`, an acceptor and a pool of connections.
 * `Svc.bind` listens (or serves a `SocketServer` you give it), accepts up to
 * `maxConnections` connections, runs the protocol's handshake on each, and
 * gives the application one inbox of typed messages from all of them.
 *
 * ```ts
 * const svc = yield* Svc.bind({
 *   address: "127.0.0.1:0",                   // or server: any effect/socket SocketServer
 *   codec, framer: Framer.lengthPrefixed({ width: 2 }),
 *   maxConnections: 100, protocol, callback: Callback.counter(), name: "orders"
 * })
 * const { from, message } = yield* svc.recv
 * yield* svc.send(from, reply)
 * ```
 *
 * - Transport: `address` listens with effect-mio's TCP (an IP address, or a host name: its first address) or Unix
 *   (a path, `@name`) server on the `Reactor` in context, or on a spinning
 *   reactor of its own with `wait: "spin"`; `server` takes any `effect/socket`
 *   `SocketServer` (Effect's `NodeSocketServer`, `MemorySocket.listen`).
 * - Connections: each gets an `Acceptor` id, a clean protocol state, and a
 *   fiber that reads it into the shared inbox (`inbox` messages at most,
 *   default 1024: a full inbox stops the readers, so the peers' writes wait).
 *   A connection over `maxConnections` (default 128) is refused — closed at
 *   once, counted, logged — like links' pool; so is one whose `onConnect`
 *   fails. `connections` gives the current ids and a stream of changes.
 * - Ordering: the messages of one connection arrive in order; messages of
 *   different connections interleave as they arrive.
 * - Closing: when the Scope closes, every connection is closed (running
 *   `onDisconnect` on the healthy ones: an End of Session), then the listener,
 *   and `recv` fails with `Closed`.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as NetAddress from "effect/net/NetAddress"
import type * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { Callback } from "../clt/Callback.ts"
import * as ConId from "../clt/ConId.ts"
import { Connection } from "../clt/internal/Connection.ts"
import * as transport from "../clt/internal/transport.ts"
import * as MessagingError from "../clt/MessagingError.ts"
import { serviceProblem, timeoutProblem } from "../clt/internal/options.ts"
import type { Protocol } from "../clt/Protocol.ts"
import type * as Codec from "../framing/Codec.ts"
import type * as Framer from "../framing/Framer.ts"
import * as observe from "../internal/observe.ts"
import { IoError } from "../IoError.ts"
import * as Resolver from "../net/Resolver.ts"
import * as SocketAddress from "../net/SocketAddress.ts"
import * as ReactorModule from "../reactor/Reactor.ts"
import { Reactor } from "../reactor/Reactor.ts"
import * as Tcp from "../socket/Tcp.ts"
import * as Unix from "../socket/Unix.ts"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Svc"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.2.0
 * @category guards
 */
export const isSvc = (u: unknown): u is Svc<unknown, unknown> => typeof u === "object" && u !== null && TypeId in u

/**
 * A message and the connection it came from.
 *
 * @since 0.2.0
 * @category models
 */
export interface Received<out R> {
  readonly from: ConId.ConId
  readonly message: R
}

/**
 * Counters of a service since it was bound.
 *
 * @since 0.2.0
 * @category models
 */
export interface Stats {
  /** Connections open now. */
  readonly active: number
  /** Connections whose handshake succeeded. */
  readonly accepted: number
  /** Connections refused for `maxConnections`. */
  readonly refused: number
  /** Connections whose `onConnect` failed. */
  readonly rejected: number
}

/**
 * A bound service.
 *
 * @since 0.2.0
 * @category models
 */
export interface Svc<in S, out R> {
  readonly [TypeId]: TypeId
  readonly name: string
  /** Where it listens. */
  readonly address: NetAddress.SocketAddress
  /** Sends to one connection (`NotConnected` if it has gone, or `disconnect` was called for it). */
  readonly send: (to: ConId.ConId, message: S) => Effect.Effect<void, MessagingError.MessagingError>
  /** Sends messages to one connection as one write. */
  readonly sendAll: (to: ConId.ConId, messages: Iterable<S>) => Effect.Effect<void, MessagingError.MessagingError>
  /** Sends to every connection; the number that took it (failed connections are closed). */
  readonly broadcast: (message: S) => Effect.Effect<number>
  /** The next message from any connection; fails with `Closed` once the service is closed. */
  readonly recv: Effect.Effect<Received<R>, MessagingError.MessagingError>
  readonly recvTimeout: (timeout: Duration.Input) => Effect.Effect<Option.Option<Received<R>>, MessagingError.MessagingError>
  /** The messages of every connection, ending when the service closes. */
  readonly messages: Stream.Stream<Received<R>>
  readonly connections: {
    /** The open connections (handshake done), oldest first. */
    readonly current: Effect.Effect<ReadonlyArray<ConId.ConId>>
    /** The current set, then every change to it. */
    readonly changes: Stream.Stream<ReadonlyArray<ConId.ConId>>
  }
  /** Transport open, handshake done and the protocol's `isConnected`; `false` for an unknown id. */
  readonly isConnected: (id: ConId.ConId) => Effect.Effect<boolean>
  /** Closes one connection from this side (running `onDisconnect`). */
  readonly disconnect: (id: ConId.ConId) => Effect.Effect<void>
  readonly stats: Effect.Effect<Stats>
}

/**
 * @since 0.2.0
 * @category models
 */
export interface CommonOptions<S, R> {
  readonly codec: Codec.Codec<S, R>
  readonly framer: Framer.Framer
  /** Connections served at once; more are refused (default 128). */
  readonly maxConnections?: number | undefined
  readonly protocol?: Protocol<S, R, any, any> | undefined
  readonly callback?: Callback<S, R> | undefined
  /** For connection ids and logs (default `"svc"`). */
  readonly name?: string | undefined
  /** Messages held for `recv` before the readers stop (default 1024). */
  readonly inbox?: number | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface AddressOptions<S, R> extends CommonOptions<S, R> {
  /** `"host:port"` (TCP), a path or `"@name"` (Unix), or an address value. */
  readonly address: SocketAddress.Input
  /** `"park"` (default: the `Reactor` in context) or `"spin"` (a spinning reactor of its own). */
  readonly wait?: "park" | "spin" | undefined
  /** The listen backlog (default 128). */
  readonly backlog?: number | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface ServerOptions<S, R> extends CommonOptions<S, R> {
  /** Any `effect/socket` `SocketServer`, listening already. */
  readonly server: SocketServer.SocketServer["Service"]
}

/**
 * Connections refused, with attributes `svc` (the service's name) and
 * `reason`: `max_connections`, or `handshake` (its `onConnect` failed), in
 * the snake case of every effect-mio reason (docs/observability.md).
 *
 * @since 0.2.0
 * @category metrics
 */
export const refusedTotal: Metric.Counter<number> = Metric.counter("effect_mio_svc_refused_total", {
  description: "Connections a Svc refused, by service and reason",
  incremental: true
})
const refusals = refusedTotal

const spinReactor: Effect.Effect<Reactor, IoError, Scope.Scope> = Effect.map(
  Layer.build(ReactorModule.layerSpin),
  (context) => Context.get(context, Reactor)
)

const listen = (
  options: AddressOptions<unknown, unknown>
): Effect.Effect<SocketServer.SocketServer["Service"], MessagingError.MessagingError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const name = options.name ?? "svc"
    // a host name listens on its first address
    const address = yield* Effect.mapError(
      Resolver.resolveFirst(options.address, "listen"),
      (e) => MessagingError.make("ConnectFailed", name, e.message, e)
    )
    const reactor = options.wait === "spin" ? yield* Effect.orDie(spinReactor) : yield* Reactor
    const listenOptions = { backlog: options.backlog ?? 128 }
    const server = SocketAddress.isInet(address) ? Tcp.listen(address, listenOptions) : Unix.listen(address, listenOptions)
    return yield* server.pipe(
      Effect.provideService(Reactor, reactor),
      Effect.mapError((e) => MessagingError.make("ConnectFailed", name, e.message, e))
    )
  })

/**
 * Listens (or takes a server) and serves until the Scope closes.
 *
 * @since 0.2.0
 * @category constructors
 */
export const bind: {
  <S, R>(options: ServerOptions<S, R>): Effect.Effect<Svc<S, R>, MessagingError.MessagingError, Scope.Scope>
  <S, R>(options: AddressOptions<S, R>): Effect.Effect<Svc<S, R>, MessagingError.MessagingError, Reactor | Scope.Scope>
} = <S, R>(options: ServerOptions<S, R> | AddressOptions<S, R>): Effect.Effect<Svc<S, R>, MessagingError.MessagingError, any> =>
  Effect.gen(function*() {
    const problem = serviceProblem(options)
    if (problem !== undefined) {
      const name = (options as { name?: unknown } | null | undefined)?.name
      return yield* MessagingError.make("InvalidInput", typeof name === "string" ? name : "svc", problem)
    }
    const name = options.name ?? "svc"
    const ours = !("server" in options)
    const server = "server" in options ? options.server : yield* listen(options as AddressOptions<unknown, unknown>)
    const maxConnections = options.maxConnections ?? 128
    const clock = yield* Clock.Clock
    const inbox = yield* Queue.bounded<Received<R>, Cause.Done>(options.inbox ?? 1024)
    yield* Effect.addFinalizer(() => Queue.end(inbox))
    const open = new Map<ConId.ConId, Connection<S, R>>()
    const ids = yield* SubscriptionRef.make<ReadonlyArray<ConId.ConId>>([])
    const counts = { active: 0, accepted: 0, refused: 0, rejected: 0 }
    const refusedMetric = Metric.update(Metric.withAttributes(refusals, { svc: name, reason: "max_connections" }), 1)
    const rejectedMetric = Metric.update(Metric.withAttributes(refusals, { svc: name, reason: "handshake" }), 1)

    const serve = (socket: Socket.Socket) =>
      Effect.scoped(Effect.gen(function*() {
        if (counts.active >= maxConnections) {
          counts.refused++
          yield* refusedMetric
          // open the connection and close it at once (a server may keep a socket nobody opened)
          yield* Effect.scoped(Effect.ignore(socket.reader))
          return yield* Effect.logWarning(`${name}: refused a connection: ${counts.active} of maxConnections ${maxConnections} in use`)
        }
        counts.active++
        yield* Effect.addFinalizer(() => Effect.sync(() => counts.active--))
        const addresses = yield* transport.acceptedAddresses
        const id = ConId.acceptor(name, addresses.local ?? NetAddress.formatSocketAddress(server.address), addresses.peer)
        const opened = yield* Effect.exit(transport.open(socket, { ...addresses, ownsWrites: ours }))
        if (Exit.isFailure(opened)) return yield* Effect.logDebug(`${id}: the connection closed before it opened`, opened.cause)
        const conn = new Connection<S, R>({
          id,
          codec: options.codec,
          framer: options.framer,
          protocol: options.protocol,
          callback: options.callback,
          clock
        }, opened.value)
        const scope = yield* Effect.scope
        yield* Effect.addFinalizer(() => conn.beforeClose)
        const handshake = yield* Effect.exit(conn.handshake)
        if (Exit.isFailure(handshake)) {
          counts.rejected++
          yield* rejectedMetric
          return yield* Effect.logWarning(`${id}: refused: the handshake failed`, Cause.squash(handshake.cause))
        }
        counts.accepted++
        open.set(id, conn)
        yield* SubscriptionRef.update(ids, (xs) => [...xs, id])
        yield* Effect.addFinalizer(() =>
          Effect.andThen(
            Effect.sync(() => open.delete(id)),
            SubscriptionRef.update(ids, (xs) => xs.filter((x) => x !== id))
          )
        )
        yield* Effect.forkIn(conn.keepAlive, scope)
        // What one read brings goes into the inbox at once when there is room, and a fiber waiting
        // in `recv` is resumed at once (not on the scheduler's next turn); a full inbox makes the
        // reader wait.
        const pump = Effect.forever(
          Effect.flatMap(conn.recvBatch, (messages) => {
            const rest = Queue.offerAllUnsafe(inbox, messages.map((message): Received<R> => ({ from: id, message })))
            Queue.flushUnsafe(inbox)
            return rest.length === 0 ? Effect.void : Effect.asVoid(Queue.offerAll(inbox, rest))
          }),
          { disableYield: true }
        )
        yield* Effect.raceFirst(Effect.ignore(pump), Effect.exit(Deferred.await(conn.done)))
        const ended = yield* Effect.exit(Deferred.await(conn.done))
        if (Exit.isFailure(ended)) yield* Effect.logDebug(`${id}: ended`, Cause.squash(ended.cause))
      }))

    const traced = observe.span("Svc.accept", "server", () => ({ "effect_mio.svc": name }))
    yield* Effect.forkScoped(server.run((socket) => traced(serve(socket))))

    const notConnected = (to: ConId.ConId) => Effect.fail(MessagingError.make("NotConnected", to, `no open connection ${to} on ${name}`))
    const closed = MessagingError.make("Closed", name, `${name} is closed`)
    const recv = Effect.catchIf(Queue.take(inbox), Cause.isDone, () => Effect.fail(closed)) as Effect.Effect<
      Received<R>,
      MessagingError.MessagingError
    >
    return {
      [TypeId]: TypeId,
      name,
      address: server.address,
      send: (to, message) =>
        Effect.suspend(() => {
          const c = open.get(to)
          return c === undefined || !c.isOpen() ? notConnected(to) : c.send(message)
        }),
      sendAll: (to, messages) =>
        Effect.suspend(() => {
          const c = open.get(to)
          return c === undefined || !c.isOpen() ? notConnected(to) : c.sendAll(messages)
        }),
      broadcast: (message) =>
        Effect.map(
          Effect.forEach([...open.values()].filter((c) => c.isOpen()), (c) => Effect.exit(c.send(message))),
          (exits) => exits.filter(Exit.isSuccess).length
        ),
      recv,
      recvTimeout: (timeout) => {
        const problem = timeoutProblem(timeout)
        return problem === undefined ? Effect.timeoutOption(recv, timeout) : Effect.fail(MessagingError.make("InvalidInput", name, problem))
      },
      messages: Stream.fromQueue(inbox),
      connections: {
        current: SubscriptionRef.get(ids),
        changes: SubscriptionRef.changes(ids)
      },
      isConnected: (id) => Effect.sync(() => open.get(id)?.isConnected() ?? false),
      disconnect: (id) => Effect.suspend(() => open.get(id)?.close ?? Effect.void),
      stats: Effect.sync(() => ({ ...counts }))
    } satisfies Svc<S, R>
  })
