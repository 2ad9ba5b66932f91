/**
 * Unix stream sockets at the fiber level, as Effect's `effect/socket` interfaces:
 * `connect` gives a `Socket`, `listen` a `SocketServer`, for filesystem paths and
 * Linux abstract names (`"@name"`).
 *
 * `SocketServer.address` is a `NetAddress.UnixPathAddress`; for an abstract name
 * its `path` starts with a NUL byte, as Node writes abstract names.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import * as check from "../internal/check.ts"
import * as observe from "../internal/observe.ts"
import { IoError, make as ioError } from "../IoError.ts"
import * as SocketAddress from "../net/SocketAddress.ts"
import * as UnixListener from "../net/UnixListener.ts"
import * as UnixStream from "../net/UnixStream.ts"
import { Reactor } from "../reactor/Reactor.ts"
import type * as Handler from "./Handler.ts"
import * as errors from "./internal/errors.ts"
import * as HandlerServer from "./internal/HandlerServer.ts"
import * as metrics from "./internal/metrics.ts"
import * as StreamServer from "./internal/StreamServer.ts"
import * as StreamSocket from "./internal/StreamSocket.ts"

/**
 * The raw `UnixStream` of the connection a `SocketServer` handler serves.
 *
 * @since 0.1.0
 * @category services
 */
export const UnixConnection: Context.Service<UnixStream.UnixStream, UnixStream.UnixStream> = Context.Service<
  UnixStream.UnixStream
>("effect-mio/Unix/UnixConnection")

/**
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions extends StreamSocket.ClientOptions {
  readonly openTimeout?: Duration.Input | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListenOptions extends UnixListener.ListenOptions, StreamSocket.ReaderOptions {}

/** The `NetAddress` form of a Unix address (abstract names get Node's NUL prefix). */
const toNetAddress = (a: SocketAddress.SocketAddress): NetAddress.UnixPathAddress => {
  switch (a._tag) {
    case "UnixPathAddress":
      return a
    case "UnixAbstractAddress":
      return NetAddress.unixPathAddress(`\0${a.name}`)
    default:
      return NetAddress.unixPathAddress("")
  }
}

/**
 * A Unix stream client `Socket`; each reader acquisition connects anew. A bad
 * address or option fails here with `SocketOpenError` (cause: `IoError` kind
 * `InvalidInput`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (
  address: SocketAddress.Input,
  options?: ConnectOptions
): Effect.Effect<Socket.Socket, Socket.SocketError, Reactor> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor
    const parsed = SocketAddress.classify(address, "connect")
    if (parsed instanceof IoError) return yield* Effect.fail(errors.openError(parsed))
    const bad = !(parsed instanceof SocketAddress.HostName) && SocketAddress.isUnix(parsed)
      ? StreamSocket.checkClientOptions(options)
      : `${check.show(address)} is not a Unix socket path or @abstract name`
    if (bad !== undefined) return yield* Effect.fail(errors.openError(ioError("InvalidInput", "connect", bad)))
    const shown = SocketAddress.format(parsed as SocketAddress.SocketAddress)
    const dial: Effect.Effect<StreamSocket.Connection, IoError, Scope.Scope> = Effect.gen(function*() {
      const counted = yield* metrics.streamGroupHere("unix")
      const stream = yield* Effect.tapError(UnixStream.connect(parsed), (e) =>
        Effect.sync(() => {
          if (e.kind === "ConnectionRefused") counted.refused++
        }))
      const registration = yield* reactor.register(stream)
      yield* observe.joinScoped(counted.connect, stream)
      return new StreamSocket.Connection(stream, registration, shown)
    }).pipe(observe.span("Unix.connect", "client", () => ({ "network.transport": "unix", "server.address": shown })))
    return StreamSocket.client(dial, options)
  })

/**
 * A Unix stream `SocketServer` on a path or abstract name until the Scope closes
 * (a path it bound is unlinked then).
 *
 * @since 0.1.0
 * @category constructors
 */
export const listen: (
  address: SocketAddress.Input,
  options?: ListenOptions
) => Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, Reactor | Scope.Scope> = Effect.fn(
  "Unix.listen"
)(function*(address: SocketAddress.Input, options?: ListenOptions) {
  const bad = check.object("options", options) ?? StreamSocket.checkReaderOptions(options)
  if (bad !== undefined) return yield* Effect.fail(errors.serverOpenError(ioError("InvalidInput", "listen", bad)))
  const server = yield* StreamServer.listen(UnixListener.bind(address, options), {
    toAddress: toNetAddress,
    service: UnixConnection,
    reader: options,
    transport: "unix"
  })
  const path = (server.address as NetAddress.UnixPathAddress).path
  yield* Effect.annotateCurrentSpan({ "network.transport": "unix", "server.address": path.startsWith("\0") ? `@${path.slice(1)}` : path })
  return server
})

/**
 * Options of `serve`: the listener's and the handler server's.
 *
 * @since 0.2.0
 * @category models
 */
export interface ServeOptions extends UnixListener.ListenOptions, Handler.ServeOptions {}

/**
 * Serves `handler` on a path or abstract name until the Scope closes (a path it
 * bound is unlinked then): the fiber-less server of `Tcp.serve`, for Unix
 * stream sockets. A bad option or handler fails with `SocketServerOpenError`
 * (cause: `IoError` kind `InvalidInput`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const serve = <State, E = never, R = never>(
  address: SocketAddress.Input,
  handler: Handler.Handler<State, E, R, UnixStream.UnixStream>,
  options?: ServeOptions
): Effect.Effect<Handler.Server, SocketServer.SocketServerError, Reactor | Scope.Scope | R> =>
  Effect.suspend(() => {
    const bad = HandlerServer.checkHandler(handler) ?? HandlerServer.checkServeOptions(options)
    if (bad !== undefined) return Effect.fail(errors.serverOpenError(ioError("InvalidInput", "serve", bad)))
    return HandlerServer.serve(UnixListener.bind(address, options), handler, options, { transport: "unix" })
  })

/**
 * `listen` as a Layer of Effect's `SocketServer` service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = (
  address: SocketAddress.Input,
  options?: ListenOptions
): Layer.Layer<SocketServer.SocketServer, SocketServer.SocketServerError, Reactor> =>
  Layer.effect(SocketServer.SocketServer, listen(address, options))

/**
 * `connect` as a Layer of Effect's `Socket` service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSocket = (
  address: SocketAddress.Input,
  options?: ConnectOptions
): Layer.Layer<Socket.Socket, Socket.SocketError, Reactor> => Layer.effect(Socket.Socket, connect(address, options))
