/**
 * A typed client connection: links' `Clt`. `Clt.connect` dials (or opens a
 * `Socket` you give it), runs the protocol's handshake, and returns a
 * connection that sends and receives typed messages — framing, partial reads,
 * encoding, hooks, callbacks and heartbeats handled.
 *
 * ```ts
 * const clt = yield* Clt.connect({
 *   address: "127.0.0.1:7000",               // or socket: any effect/socket Socket
 *   codec: Codec.binary(Order.schema, Order),
 *   framer: Framer.lengthPrefixed({ width: 2 }),
 *   timeout: "5 seconds", retry: Schedule.spaced("100 millis"),
 *   protocol, callback: Callback.logger(), name: "orders"
 * })
 * yield* clt.send(order)
 * const reply = yield* clt.recv
 * const [sender, recver] = clt.split         // for two fibers
 * ```
 *
 * - Transport: `address` dials effect-mio's own TCP (an IP address, or a host name looked up at each attempt) or Unix
 *   stream (a path, `@name`) on the `Reactor` in context — or, with
 *   `wait: "spin"`, on a spinning reactor of its own (`Reactor.layerSpin`:
 *   links' busy-wait mode, lowest latency for a core). `socket` takes any
 *   `effect/socket` `Socket`: Effect's `NodeSocket`, `MemorySocket` in tests.
 * - Connect: each attempt is bounded by what is left of `timeout` (default 5
 *   seconds); failed attempts are retried on the `retry` schedule (default: no
 *   retry). Then the protocol's `onConnect`; if it fails, so does `connect`.
 * - Receiving: by default the fiber that calls `recv` reads the socket (links'
 *   model: no extra fiber, no hand-off). With `receive: "background"` — and
 *   always when the protocol has `sendReply` or a heartbeat `timeout` — a fiber
 *   reads continuously into a bounded inbox (`inbox`, default 1024 messages; a
 *   full inbox stops reading, so the peer's writes wait), and `recv` takes
 *   from it. Without that fiber the connection learns of the peer's close
 *   when it next reads.
 * - Sending: one `write` per `send`; `sendAll` encodes a batch into one write.
 *   Messages are encoded into a buffer the connection reuses.
 * - Ordering: messages are received in the order the peer sent them; each
 *   `send` is written whole before the next, in call order.
 * - Ending: the peer's orderly close ends `messages` and makes `recv` fail with
 *   `Closed` once the messages already received are taken; bad bytes, a dead
 *   peer and transport errors end the connection with that error. Closing
 *   the Scope (or `close`) runs `onDisconnect` and releases the socket.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import * as Stream from "effect/Stream"
import type * as Codec from "../framing/Codec.ts"
import type * as Framer from "../framing/Framer.ts"
import * as observe from "../internal/observe.ts"
import { IoError } from "../IoError.ts"
import * as Resolver from "../net/Resolver.ts"
import * as SocketAddress from "../net/SocketAddress.ts"
import { Reactor } from "../reactor/Reactor.ts"
import * as ReactorModule from "../reactor/Reactor.ts"
import type { Callback } from "./Callback.ts"
import * as ConId from "./ConId.ts"
import { Connection, type Transport } from "./internal/Connection.ts"
import { clientProblem, timeoutProblem } from "./internal/options.ts"
import * as transport from "./internal/transport.ts"
import * as MessagingError from "./MessagingError.ts"
import type { Protocol } from "./Protocol.ts"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Clt"

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.2.0
 * @category guards
 */
export const isClt = (u: unknown): u is Clt<unknown, unknown> => typeof u === "object" && u !== null && TypeId in u

/**
 * The sending half.
 *
 * @since 0.2.0
 * @category models
 */
export interface CltSender<in S> {
  readonly id: ConId.ConId
  /** Sends one message: `onSend`, one write, `onSent`, the callback. */
  readonly send: (message: S) => Effect.Effect<void, MessagingError.MessagingError>
  /** Sends messages as one write (hooks and callbacks per message). */
  readonly sendAll: (messages: Iterable<S>) => Effect.Effect<void, MessagingError.MessagingError>
  /** Transport open, handshake done, and the protocol's `isConnected`. */
  readonly isConnected: Effect.Effect<boolean>
}

/**
 * The receiving half.
 *
 * @since 0.2.0
 * @category models
 */
export interface CltRecver<out R> {
  readonly id: ConId.ConId
  /** The next message; fails with `Closed` after the last one, or with what ended the connection. */
  readonly recv: Effect.Effect<R, MessagingError.MessagingError>
  /** The next message within `timeout`, or none. */
  readonly recvTimeout: (timeout: Duration.Input) => Effect.Effect<Option.Option<R>, MessagingError.MessagingError>
  /** The messages, ending when the peer closes; failing with what else ended the connection. */
  readonly messages: Stream.Stream<R, MessagingError.MessagingError>
  readonly isConnected: Effect.Effect<boolean>
}

/**
 * A connected client.
 *
 * @since 0.2.0
 * @category models
 */
export interface Clt<in S, out R> extends CltSender<S>, CltRecver<R> {
  readonly [TypeId]: TypeId
  readonly id: ConId.ConId
  readonly isConnected: Effect.Effect<boolean>
  /** The two halves, usable from different fibers (links' `into_split`). */
  readonly split: readonly [CltSender<S>, CltRecver<R>]
  /** Closes from this side: `onDisconnect`, then the socket. */
  readonly close: Effect.Effect<void>
  /** Waits until the connection has ended and its socket is released; fails with what ended it, unless orderly. */
  readonly closed: Effect.Effect<void, MessagingError.MessagingError>
}

/**
 * Options common to both transports.
 *
 * @since 0.2.0
 * @category models
 */
export interface CommonOptions<S, R> {
  readonly codec: Codec.Codec<S, R>
  readonly framer: Framer.Framer
  /** Deadline of connecting, retries included (default 5 seconds). */
  readonly timeout?: Duration.Input | undefined
  /** When to try again after a failed attempt (default: never). */
  readonly retry?: Schedule.Schedule<unknown, MessagingError.MessagingError> | undefined
  readonly protocol?: Protocol<S, R, any, any> | undefined
  readonly callback?: Callback<S, R> | undefined
  /** For the connection id (default `"clt"`). */
  readonly name?: string | undefined
  /** Who reads the socket (default `"onDemand"`: the fiber calling `recv`). */
  readonly receive?: "onDemand" | "background" | undefined
  /** Messages the background receiver holds before it stops reading (default 1024). */
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
}

/**
 * @since 0.2.0
 * @category models
 */
export interface SocketOptions<S, R> extends CommonOptions<S, R> {
  /** Any `effect/socket` `Socket`; acquiring its reader connects. */
  readonly socket: Socket.Socket
  /** The peer's name in the connection id (the socket does not tell). */
  readonly peer?: string | undefined
}

/** The name for an error about options that may be wrong themselves. */
const shownName = (options: unknown): string => {
  const name = (options as { name?: unknown } | null | undefined)?.name
  return typeof name === "string" ? name : "clt"
}

const DEFAULT_TIMEOUT = Duration.seconds(5)

const shownAddress = (input: SocketAddress.Input): string | undefined => {
  const a = SocketAddress.classify(input, "connect")
  return a instanceof IoError ? undefined : a instanceof SocketAddress.HostName ? a.toString() : SocketAddress.format(a)
}

/** A spinning reactor for this Scope (links' busy-wait mode). */
const spinReactor: Effect.Effect<Reactor, IoError, Scope.Scope> = Effect.flatMap(
  Layer.build(ReactorModule.layerSpin),
  (context) => Effect.succeed(Context.get(context, Reactor))
)

/**
 * Connects and handshakes; the connection lives until the Scope closes or it
 * ends.
 *
 * @since 0.2.0
 * @category constructors
 */
export const connect: {
  <S, R>(options: SocketOptions<S, R>): Effect.Effect<Clt<S, R>, MessagingError.MessagingError, Scope.Scope>
  <S, R>(options: AddressOptions<S, R>): Effect.Effect<Clt<S, R>, MessagingError.MessagingError, Reactor | Scope.Scope>
} = <S, R>(options: SocketOptions<S, R> | AddressOptions<S, R>): Effect.Effect<Clt<S, R>, MessagingError.MessagingError, any> =>
  Effect.gen(function*() {
    const problem = clientProblem(options)
    if (problem !== undefined) return yield* MessagingError.make("InvalidInput", ConId.initiator(shownName(options)), problem)
    const name = options.name ?? "clt"
    const parent = yield* Effect.scope
    const clock = yield* Clock.Clock
    const pending = ConId.initiator(name)
    let acquire: Effect.Effect<Transport, unknown, Scope.Scope>
    if ("socket" in options) {
      acquire = transport.open(options.socket, { peer: options.peer })
    } else {
      const address = SocketAddress.classify(options.address, "connect")
      if (address instanceof IoError) return yield* MessagingError.make("ConnectFailed", pending, address.message, address)
      const reactor = options.wait === "spin" ? yield* spinReactor.pipe(Effect.orDie, Scope.provide(parent)) : yield* Reactor
      // a host name is looked up at each attempt, and its addresses dialed in order until one connects
      acquire = address instanceof SocketAddress.HostName
        ? Effect.flatMap(Resolver.resolve(options.address, "connect"), (all) => Resolver.firstThatWorksScoped(all, (a) => transport.dial(a, reactor)))
        : transport.dial(address, reactor)
    }
    const attempt = Effect.gen(function*() {
      const scope = yield* Scope.fork(parent, "sequential")
      const t = yield* acquire.pipe(
        Scope.provide(scope),
        Effect.onExit((exit) => (Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void)),
        Effect.mapError((e) => MessagingError.make("ConnectFailed", pending, e instanceof Error ? e.message : String(e), e))
      )
      return { t, scope }
    })
    const timeout = options.timeout ?? DEFAULT_TIMEOUT
    const { scope, t } = yield* (options.retry === undefined ? attempt : Effect.retry(attempt, options.retry)).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.fail(MessagingError.make("TimedOut", pending, `not connected within ${Duration.format(Duration.fromInputUnsafe(timeout))}`))
      })
    )
    const conn = new Connection<S, R>({
      id: ConId.initiator(name, t.local, t.peer),
      codec: options.codec,
      framer: options.framer,
      protocol: options.protocol,
      callback: options.callback,
      clock
    }, t)
    yield* Scope.addFinalizer(scope, conn.beforeClose)
    yield* conn.handshake.pipe(Effect.onError(() => Scope.close(scope, Exit.void)))

    const background = options.receive === "background" || options.protocol?.sendReply !== undefined ||
      options.protocol?.heartbeat?.timeout !== undefined
    const inbox = background ? yield* Queue.bounded<R, MessagingError.MessagingError | Cause.Done>(options.inbox ?? 1024) : undefined
    const released = Deferred.makeUnsafe<void, MessagingError.MessagingError>()

    yield* Effect.forkIn(conn.keepAlive, scope)
    const pump = inbox === undefined ? Effect.never : Effect.forever(
      Effect.flatMap(conn.recvBatch, (messages) => {
        const rest = Queue.offerAllUnsafe(inbox, messages)
        Queue.flushUnsafe(inbox)
        return rest.length === 0 ? Effect.void : Effect.asVoid(Queue.offerAll(inbox, rest))
      }),
      { disableYield: true }
    )
    // Ends the connection's Scope once the connection ends (or the parent Scope closes).
    const supervise = Effect.raceFirst(Effect.ignore(pump), Effect.exit(Deferred.await(conn.done))).pipe(
      Effect.ensuring(Effect.suspend(() => {
        conn.end("local") // no-op when it has ended already
        return Effect.andThen(
          Scope.close(scope, Exit.void),
          Effect.gen(function*() {
            const result = yield* Effect.exit(Deferred.await(conn.done))
            if (inbox !== undefined) {
              if (Exit.isFailure(result)) yield* Queue.failCause(inbox, result.cause)
              else yield* Queue.end(inbox)
            }
            yield* Deferred.done(released, result)
          })
        )
      }))
    )
    yield* Effect.forkIn(supervise, parent, { startImmediately: true })
    return makeClt(conn, inbox, released)
  }).pipe(observe.span("Clt.connect", "client", () => ({
    "effect_mio.clt": shownName(options),
    ...(typeof options === "object" && options !== null && "address" in options ? observe.addressAttributes("server", shownAddress(options.address)) : {})
  })))

const makeClt = <S, R>(
  conn: Connection<S, R>,
  inbox: Queue.Queue<R, MessagingError.MessagingError | Cause.Done> | undefined,
  released: Deferred.Deferred<void, MessagingError.MessagingError>
): Clt<S, R> => {
  const closed = Effect.suspend(() => Effect.fail(conn.closedError()))
  const recv: Effect.Effect<R, MessagingError.MessagingError> = inbox === undefined
    ? conn.recvDirect
    : Effect.catchIf(Queue.take(inbox), Cause.isDone, () => closed) as Effect.Effect<R, MessagingError.MessagingError>
  const messages: Stream.Stream<R, MessagingError.MessagingError> = inbox === undefined
    ? Stream.fromPull(Effect.succeed(
      Effect.catchIf(conn.recvBatch, (e) => e.kind === "Closed", () => Cause.done()) as Effect.Effect<
        readonly [R, ...Array<R>],
        MessagingError.MessagingError | Cause.Done
      >
    ))
    : Stream.fromQueue(inbox)
  const isConnected = Effect.sync(() => conn.isConnected())
  const recvTimeout = (timeout: Duration.Input) => {
    const problem = timeoutProblem(timeout)
    return problem === undefined ? Effect.timeoutOption(recv, timeout) : Effect.fail(MessagingError.make("InvalidInput", conn.id, problem))
  }
  const sender: CltSender<S> = { id: conn.id, send: conn.send, sendAll: conn.sendAll, isConnected }
  const recver: CltRecver<R> = { id: conn.id, recv, recvTimeout, messages, isConnected }
  return {
    [TypeId]: TypeId,
    id: conn.id,
    send: conn.send,
    sendAll: conn.sendAll,
    recv,
    recvTimeout,
    messages,
    isConnected,
    split: [sender, recver],
    close: Effect.andThen(conn.close, Effect.exit(Deferred.await(released))),
    closed: Deferred.await(released)
  }
}
