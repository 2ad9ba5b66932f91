/**
 * TCP at the fiber level, as Effect's own `effect/socket` interfaces: `connect`
 * gives a `Socket`, `listen` a `SocketServer`, both driven by the `Reactor`.
 * Code written against `effect/socket` (`Socket.toChannel`, `readerString`,
 * `SocketServer.run`, RPC over sockets) runs on them unchanged.
 *
 * `TCP_NODELAY` is on by default (`nodelay: false` turns it off): these sockets
 * carry messages, and `writeAll` already coalesces a batch into one `writev`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import * as check from "../internal/check.ts"
import * as observe from "../internal/observe.ts"
import * as IoErrorModule from "../IoError.ts"
import { IoError, make as ioError } from "../IoError.ts"
import * as Resolver from "../net/Resolver.ts"
import * as SocketAddress from "../net/SocketAddress.ts"
import * as TcpListener from "../net/TcpListener.ts"
import * as TcpStream from "../net/TcpStream.ts"
import { WouldBlock } from "../WouldBlock.ts"
import { Reactor } from "../reactor/Reactor.ts"
import type * as Handler from "./Handler.ts"
import * as errors from "./internal/errors.ts"
import * as HandlerServer from "./internal/HandlerServer.ts"
import * as metrics from "./internal/metrics.ts"
import * as StreamServer from "./internal/StreamServer.ts"
import * as StreamSocket from "./internal/StreamSocket.ts"

/**
 * The raw `TcpStream` of the connection a `SocketServer` handler serves, for
 * socket options and addresses.
 *
 * @since 0.1.0
 * @category services
 */
export const TcpConnection: Context.Service<TcpStream.TcpStream, TcpStream.TcpStream> = Context.Service<TcpStream.TcpStream>(
  "effect-mio/Tcp/TcpConnection"
)

/**
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions extends TcpStream.ConnectOptions, StreamSocket.ClientOptions {
  /** Fail the reader's acquisition with `SocketOpenError` kind `Timeout` after this long. */
  readonly openTimeout?: Duration.Input | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListenOptions extends TcpListener.ListenOptions, StreamSocket.ReaderOptions {
  /** Options for every accepted connection (default: `nodelay: true`). */
  readonly connection?: Pick<TcpStream.ConnectOptions, "nodelay" | "keepalive" | "recvBufferSize" | "sendBufferSize" | "linger" | "tos" | "ttl"> | undefined
}

const withNodelay = <O extends { readonly nodelay?: boolean | undefined }>(o: O | undefined): O =>
  ({ ...o, nodelay: o?.nodelay ?? true }) as O

/**
 * Waits for a non-blocking connect to finish, by mio's recipe: writable, then
 * `takeError`, then `peerAddr` (`NotConnected` means not yet).
 *
 * @internal
 */
export const completeConnect = (stream: TcpStream.TcpStream) => (): true | WouldBlock | IoError => {
  const e = stream.takeError()
  if (e !== undefined) return e
  const peer = stream.peerAddr()
  if (peer instanceof IoError) return peer.kind === "NotConnected" ? WouldBlock : peer
  return true
}

/**
 * A TCP client `Socket`. Each acquisition of its `reader` dials `address` and
 * owns that connection until its Scope closes. A bad address or option fails
 * here, at once, with `SocketOpenError` whose cause is an `IoError` of kind
 * `InvalidInput` naming it.
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
    const bad = parsed instanceof SocketAddress.HostName || SocketAddress.isInet(parsed)
      ? StreamSocket.checkClientOptions(options) ?? TcpStream.checkConnectOptions(options)
      : `${check.show(address)} is not an IPv4 or IPv6 address`
    if (bad !== undefined) return yield* Effect.fail(errors.openError(ioError("InvalidInput", "connect", bad)))
    const opts = withNodelay(options)
    const dialOne = (to: SocketAddress.SocketAddress, counted: metrics.StreamGroup): Effect.Effect<StreamSocket.Connection, IoError, Scope.Scope> => {
      const at = SocketAddress.format(to)
      return Effect.gen(function*() {
        const stream = yield* TcpStream.connect(to, opts)
        const registration = yield* reactor.register(stream)
        // The kernel reports a failed connect later, through SO_ERROR: name the connect and its address.
        yield* Effect.mapError(registration.writeIo(completeConnect(stream)), (e) => {
          if (e.kind === "ConnectionRefused") counted.refused++
          return IoErrorModule.during(e, "connect", at)
        })
        yield* observe.joinScoped(counted.connect, stream)
        return new StreamSocket.Connection(stream, registration, at)
      })
    }
    const shown = parsed instanceof SocketAddress.HostName ? parsed.toString() : SocketAddress.format(parsed)
    // A host name is resolved at each dial, and its addresses tried in order.
    const dial = Effect.flatMap(metrics.streamGroupHere("tcp"), (counted) =>
      parsed instanceof SocketAddress.HostName
        ? Effect.flatMap(
          Resolver.resolve(address, "connect", { inet: true }),
          (addresses) => Resolver.firstThatWorksScoped(addresses, (to) => dialOne(to, counted))
        )
        : dialOne(parsed, counted)).pipe(
        observe.span("Tcp.connect", "client", () => ({ "network.transport": "tcp", ...observe.addressAttributes("server", shown) }))
      )
    return StreamSocket.client(dial, options, shown)
  })

/**
 * The listener of `listen` and `serve`, and how they prepare an accepted
 * stream: TCP_NODELAY goes on the listener, which every accepted stream
 * inherits (Linux); the other connection options, if any, are set per
 * connection.
 */
const listenerWithConnectionOptions = (
  address: SocketAddress.Input,
  options: TcpListener.ListenOptions & { readonly connection?: ListenOptions["connection"] } | undefined
): {
  readonly bind: Effect.Effect<TcpListener.TcpListener, IoError, Scope.Scope>
  readonly prepare: ((stream: TcpStream.TcpStream) => IoError | undefined) | undefined
} => {
  const { nodelay, ...perConnection } = withNodelay(options?.connection)
  const bind = nodelay
    ? Effect.tap(TcpListener.bind(address, options), (listener) => {
      const e = listener.setNodelay(true)
      return e === undefined ? Effect.void : Effect.fail(e)
    })
    : TcpListener.bind(address, options)
  return {
    bind,
    prepare: Object.keys(perConnection).length === 0 ? undefined : (stream) => TcpStream.applyOptions(stream, perConnection)
  }
}

/**
 * A TCP `SocketServer` listening on `address` until the Scope closes. A bad
 * option — `connection.*` included, which every accepted stream gets — fails
 * with `SocketServerOpenError` (cause: `IoError` kind `InvalidInput`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const listen: (
  address: SocketAddress.Input,
  options?: ListenOptions
) => Effect.Effect<SocketServer.SocketServer["Service"], SocketServer.SocketServerError, Reactor | Scope.Scope> = Effect.fn(
  "Tcp.listen"
)(function*(address: SocketAddress.Input, options?: ListenOptions) {
  const bad = check.object("options", options) ?? StreamSocket.checkReaderOptions(options) ??
    TcpStream.checkConnectOptions(options?.connection, "connection.")
  if (bad !== undefined) return yield* Effect.fail(errors.serverOpenError(ioError("InvalidInput", "listen", bad)))
  const { bind, prepare } = listenerWithConnectionOptions(address, options)
  const server = yield* StreamServer.listen(bind, {
    toAddress: (local) => local as NetAddress.InetAddress,
    prepare,
    service: TcpConnection,
    reader: options,
    transport: "tcp"
  })
  yield* Effect.annotateCurrentSpan({
    "network.transport": "tcp",
    ...observe.addressAttributes("server", SocketAddress.format(server.address as SocketAddress.SocketAddress))
  })
  return server
})

/**
 * Options of `serve`: the listener's, the handler server's, and the socket
 * options every accepted connection gets.
 *
 * @since 0.2.0
 * @category models
 */
export interface ServeOptions extends TcpListener.ListenOptions, Handler.ServeOptions {
  /** Options for every accepted connection (default: `nodelay: true`). */
  readonly connection?: ListenOptions["connection"]
}

/**
 * Serves `handler` on `address` until the Scope closes: a fiber-less server
 * whose per-connection callbacks run on readiness, inside the reactor's turn
 * (see the `Handler` module). For many connections at a low cost each — no
 * fiber, `Queue` or read buffer per idle connection; use `listen` for Effect's
 * `SocketServer` interface. Closing the Scope stops accepting, closes every
 * connection (`ServerClosed`) and interrupts the Effects still running.
 *
 * A bad option or handler fails with `SocketServerOpenError` (cause: `IoError`
 * kind `InvalidInput` naming it).
 *
 * @example
 * ```ts
 * // An echo server.
 * const server = yield* Tcp.serve("127.0.0.1:7000", { data: (conn, _, bytes) => void conn.write(bytes) })
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const serve = <State, E = never, R = never>(
  address: SocketAddress.Input,
  handler: Handler.Handler<State, E, R, TcpStream.TcpStream>,
  options?: ServeOptions
): Effect.Effect<Handler.Server, SocketServer.SocketServerError, Reactor | Scope.Scope | R> =>
  Effect.suspend(() => {
    const bad = HandlerServer.checkHandler(handler) ?? HandlerServer.checkServeOptions(options) ??
      TcpStream.checkConnectOptions(options?.connection, "connection.")
    if (bad !== undefined) return Effect.fail(errors.serverOpenError(ioError("InvalidInput", "serve", bad)))
    const { bind, prepare } = listenerWithConnectionOptions(address, options)
    return HandlerServer.serve(bind, handler, options, { prepare, transport: "tcp" })
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
