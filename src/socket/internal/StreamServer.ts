/**
 * The `effect/socket` `SocketServer` over a listening stream socket (TCP or Unix),
 * driven by the reactor: `run` accepts until `WouldBlock`, parks on the
 * listener's readiness, and starts one handler fiber per connection. Connections
 * wait in the kernel's backlog until `run` starts; interrupting `run` interrupts
 * every handler it started and closes their connections.
 *
 * Per connection the server builds the stream, its registration (joining the
 * epoll set only when a fiber first waits on it), a `Connection`, the `Socket`
 * and the handler's fiber — started at once, inside the accept loop's turn,
 * with the run's context plus the raw stream service. No Scope, closure chain
 * or wrapper fiber of its own: the handler's own Effect is the fiber's, and one
 * observer on its exit closes the connection, forgets the fiber (`run` keeps a
 * set of the live ones to interrupt when it ends) and logs a failure that is
 * not an interruption. The accept span wraps the handler only when a tracer
 * other than the native one is installed (decided once per `run`).
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as NetAddress from "effect/net/NetAddress"
import * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import * as observe from "../../internal/observe.ts"
import { IoError } from "../../IoError.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import type { IoSource } from "../../poll/IoSource.ts"
import { READ } from "../../reactor/internal/driver.ts"
import * as Reactor from "../../reactor/Reactor.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import * as errors from "./errors.ts"
import * as metrics from "./metrics.ts"
import * as StreamSocket from "./StreamSocket.ts"

/** What the server needs of a listener. @internal */
export interface Listener<S extends StreamSocket.StreamIo & metrics.Counted> {
  accept(): readonly [S, SocketAddress.SocketAddress] | WouldBlock | IoError
  localAddr(): SocketAddress.SocketAddress | IoError
}

/** How a server treats its connections. @internal */
export interface ServerOptions<S extends StreamSocket.StreamIo & metrics.Counted> {
  /** The `SocketServer.address` form of the listener's address. */
  readonly toAddress: (local: SocketAddress.SocketAddress) => NetAddress.SocketAddress
  /** Prepares an accepted stream (socket options), or `undefined` when there is nothing to do; an error closes it. */
  readonly prepare?: ((stream: S) => IoError | undefined) | undefined
  /** The service handlers find the raw stream under. */
  readonly service: Context.Service<S, S>
  readonly reader?: StreamSocket.ReaderOptions | undefined
  /** For metrics and spans. */
  readonly transport: "tcp" | "unix"
}

/**
 * Registers the listener `bind` opens with the reactor and serves it, until
 * the Scope closes.
 *
 * @internal
 */
export const listen = <S extends StreamSocket.StreamIo & metrics.Counted, L extends Listener<S> & IoSource>(
  bind: Effect.Effect<L, IoError, Scope.Scope>,
  options: ServerOptions<S>
): Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, Reactor.Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor.Reactor
    const listener = yield* Effect.mapError(bind, errors.serverOpenError)
    const registration = yield* Effect.mapError(reactor.register(listener), errors.serverOpenError)
    const local = listener.localAddr()
    if (local instanceof IoError) return yield* Effect.fail(errors.serverOpenError(local))
    const accepted = metrics.streamGroup(yield* Effect.context<never>(), options.transport).accept
    return make(listener, registration, reactor, local, accepted, options)
  })

/** A handler's failure is logged (an interruption is not: it is how `run` ends). */
const logUnhandled = (cause: Cause.Cause<unknown>): Effect.Effect<void> => Effect.logError("Unhandled error in SocketServer", cause)

/** The handler's Effect for `socket`; a handler that throws fails its fiber with the defect (as `Effect.suspend` would). */
const handlerEffect = <A, E, R>(handler: (socket: Socket.Socket) => Effect.Effect<A, E, R>, socket: Socket.Socket): Effect.Effect<A, E, R> => {
  try {
    return handler(socket)
  } catch (defect) {
    return Effect.die(defect)
  }
}

const make = <S extends StreamSocket.StreamIo & metrics.Counted>(
  listener: Listener<S>,
  registration: Reactor.Registration,
  reactor: Reactor.Reactor,
  local: SocketAddress.SocketAddress,
  accepted: observe.Tally<metrics.Counted>,
  options: ServerOptions<S>
): SocketServer.SocketServer["Service"] => {
  const address: NetAddress.SocketAddress = options.toAddress(local)
  const listenerIo = Reactor.scheduledIo(registration)
  const acceptOne = registration.readIo(() => listener.accept())
  // A span per accepted connection, made only when a tracer other than the native one is installed.
  const traced = (peer: SocketAddress.SocketAddress) =>
    observe.span(`${options.transport === "tcp" ? "Tcp" : "Unix"}.accept`, "server", () => ({
      "network.transport": options.transport,
      ...observe.addressAttributes("network.peer", SocketAddress.format(peer)),
      ...observe.addressAttributes("network.local", SocketAddress.format(local))
    }))

  const run = <R, E, _>(handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>): Effect.Effect<never, SocketServer.SocketServerError, R> =>
    Effect.gen(function*() {
      const context = Context.omit(Scope.Scope)(yield* Effect.context<R>()) as Context.Context<R>
      // The handler fibers running now: interrupted when `run` ends.
      const live = new Set<Fiber.Fiber<unknown, unknown>>()
      // Whether to wrap each handler in an accept span, decided once: the handlers run in `run`'s context.
      const tracing = yield* observe.tracing

      /** Starts the handler of one accepted connection; its exit closes the connection. */
      const serve = (stream: S, peer: SocketAddress.SocketAddress): void => {
        const e = options.prepare?.(stream)
        if (e !== undefined) {
          stream.close()
          Effect.runForkWith(context)(Effect.logDebug("effect-mio: could not prepare an accepted connection", e))
          return
        }
        const reg = Reactor.registerUnscoped(reactor, stream, true)
        if (reg instanceof IoError) {
          stream.close()
          Effect.runForkWith(context)(Effect.logDebug("effect-mio: could not register an accepted connection", reg))
          return
        }
        const conn = new StreamSocket.Connection(stream, reg, peer)
        // The stream counts in the metrics while its connection lives.
        accepted.add(stream)
        const socket = StreamSocket.accepted(conn, options.reader)
        const effect = handlerEffect(handler, socket)
        const fiber = Effect.runForkWith(Context.add(context, options.service, stream))(tracing ? traced(peer)(effect) : effect)
        // The fiber's exit closes the connection and logs a failure other than an interruption.
        const end = (exit: Exit.Exit<unknown, unknown>) => {
          live.delete(fiber)
          accepted.end(stream)
          conn.close()
          if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) Effect.runForkWith(context)(logUnhandled(exit.cause))
        }
        const exit = fiber.pollUnsafe()
        if (exit !== undefined) end(exit)
        else {
          live.add(fiber)
          fiber.addObserver(end)
        }
      }

      /** Accepts every pending connection (a batch per readiness event), then waits for the next. */
      const acceptAll: Effect.Effect<never, SocketServer.SocketServerError> = listenerIo === undefined
        ? Effect.forever(Effect.flatMap(Effect.mapError(acceptOne, errors.serverError), ([stream, peer]) => Effect.sync(() => serve(stream, peer))), {
          disableYield: true
        })
        : Effect.suspend(function loop(): Effect.Effect<never, SocketServer.SocketServerError> {
          for (;;) {
            if (listenerIo.closed !== undefined) return Effect.fail(errors.serverError(listenerIo.closed))
            const a = listener.accept()
            if (a === WouldBlock) {
              listenerIo.clear(READ)
              return Effect.flatMap(Effect.mapError(listenerIo.awaitRead, errors.serverError), () => Effect.suspend(loop))
            }
            if (a instanceof IoError) return Effect.fail(errors.serverError(a))
            serve(a[0], a[1])
          }
        })
      return yield* acceptAll.pipe(Effect.ensuring(Effect.suspend(() => Fiber.interruptAll(Array.from(live)))))
    }) as Effect.Effect<never, SocketServer.SocketServerError, R>

  return SocketServer.SocketServer.of({ address, run })
}
