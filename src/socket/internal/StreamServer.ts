/**
 * The `effect/socket` `SocketServer` over a listening stream socket (TCP or Unix),
 * driven by the reactor: `run` accepts until `WouldBlock`, parks on the
 * listener's readiness, and forks one handler fiber per connection. Connections
 * wait in the kernel's backlog until `run` starts; interrupting `run` closes
 * every connection it accepted.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as NetAddress from "effect/net/NetAddress"
import * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import * as observe from "../../internal/observe.ts"
import { IoError } from "../../IoError.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import type { IoSource } from "../../poll/IoSource.ts"
import { Reactor, type Reactor as ReactorService, type Registration } from "../../reactor/Reactor.ts"
import type { WouldBlock } from "../../WouldBlock.ts"
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
  /** Prepares an accepted stream (socket options); an error closes it. */
  readonly prepare: (stream: S) => IoError | undefined
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
): Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor
    const listener = yield* Effect.mapError(bind, errors.serverOpenError)
    const registration = yield* Effect.mapError(reactor.register(listener), errors.serverOpenError)
    const local = listener.localAddr()
    if (local instanceof IoError) return yield* Effect.fail(errors.serverOpenError(local))
    const accepted = metrics.streamGroup(yield* Effect.context<never>(), options.transport).accept
    return make(listener, registration, reactor, local, accepted, options)
  })

const make = <S extends StreamSocket.StreamIo & metrics.Counted>(
  listener: Listener<S>,
  registration: Registration,
  reactor: ReactorService,
  local: SocketAddress.SocketAddress,
  accepted: observe.Tally<metrics.Counted>,
  options: ServerOptions<S>
): SocketServer.SocketServer["Service"] => {
  const address = options.toAddress(local)
  const acceptOne = registration.readIo(() => listener.accept())
  const traced = (peer: SocketAddress.SocketAddress) =>
    observe.span(`${options.transport === "tcp" ? "Tcp" : "Unix"}.accept`, "server", () => ({
      "network.transport": options.transport,
      ...observe.addressAttributes("network.peer", SocketAddress.format(peer)),
      ...observe.addressAttributes("network.local", SocketAddress.format(local))
    }))

  const run = <R, E, _>(handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>): Effect.Effect<never, SocketServer.SocketServerError, R> =>
    Effect.gen(function*() {
      const runScope = yield* Scope.make()
      const context = yield* Effect.context<R>()
      const serve = (stream: S, peer: SocketAddress.SocketAddress) =>
        Effect.gen(function*() {
          const e = options.prepare(stream)
          if (e !== undefined) {
            stream.close()
            return yield* Effect.logDebug("effect-mio: could not prepare an accepted connection", e)
          }
          const connScope = yield* Scope.fork(runScope)
          // The stream belongs to the connection's Scope from here on (and to the metrics while it lives).
          accepted.add(stream)
          yield* Scope.addFinalizer(connScope, Effect.sync(() => {
            accepted.end(stream)
            stream.close()
          }))
          const reg = yield* Scope.provide(reactor.register(stream), connScope).pipe(
            Effect.tapError(() => Scope.close(connScope, Exit.void))
          )
          const conn = new StreamSocket.Connection(stream, reg, peer)
          yield* Scope.addFinalizer(connScope, Effect.sync(() => conn.close()))
          let attached = false
          const socket = StreamSocket.make(
            Effect.suspend(() => {
              if (attached || !conn.isOpen) {
                return Effect.fail(errors.openError(new IoError({ kind: "Closed", errno: 0, syscall: "accept4", detail: "an accepted connection cannot be opened twice" })))
              }
              attached = true
              return Effect.succeed(conn)
            }),
            { ...options.reader, reconnects: false, initial: conn }
          )
          const handle = handler(socket).pipe(
            Effect.provideService(options.service, stream),
            traced(peer),
            Effect.provideContext(context),
            Effect.catchCause((cause) => Effect.logError("Unhandled error in SocketServer", cause)),
            Effect.ensuring(Scope.close(connScope, Exit.void))
          )
          // Start the handler now rather than on the scheduler's next turn.
          yield* Effect.forkIn(handle, connScope, { startImmediately: true })
        })
      return yield* Effect.forever(
        Effect.flatMap(Effect.mapError(acceptOne, errors.serverError), ([stream, peer]) => serve(stream, peer)),
        { disableYield: true }
      ).pipe(Effect.ensuring(Scope.close(runScope, Exit.void)))
    }) as Effect.Effect<never, SocketServer.SocketServerError, R>

  return SocketServer.SocketServer.of({ address, run })
}
