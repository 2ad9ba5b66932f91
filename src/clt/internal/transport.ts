/**
 * Transports of a connection: effect-mio's own TCP and Unix streams dialed here
 * (so the connection knows both addresses, and the encode buffers may be
 * reused), any `effect/socket` `Socket`, and an accepted `Socket` whose
 * addresses come from the services the server provides to its handlers.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Socket from "effect/socket/Socket"
import { IoError } from "../../IoError.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import * as TcpStream from "../../net/TcpStream.ts"
import * as UnixStream from "../../net/UnixStream.ts"
import type { Reactor } from "../../reactor/Reactor.ts"
import * as StreamSocket from "../../socket/internal/StreamSocket.ts"
import * as Tcp from "../../socket/Tcp.ts"
import * as Unix from "../../socket/Unix.ts"
import type { Transport } from "./Connection.ts"

const formatOf = (a: SocketAddress.SocketAddress | IoError): string | undefined =>
  a instanceof IoError ? undefined : SocketAddress.format(a)

/**
 * Dials `address` (TCP for an IP address, Unix for a path or `@name`) on
 * `reactor`; the stream belongs to the Scope.
 *
 * @internal
 */
export const dial = (
  address: SocketAddress.SocketAddress,
  reactor: Reactor,
  options?: StreamSocket.ReaderOptions
): Effect.Effect<Transport, IoError | Socket.SocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const stream: StreamSocket.StreamIo & {
      localAddr(): SocketAddress.SocketAddress | IoError
      peerAddr(): SocketAddress.SocketAddress | IoError
    } = SocketAddress.isInet(address)
      ? yield* TcpStream.connect(address, { nodelay: true })
      : yield* UnixStream.connect(address)
    const registration = yield* reactor.register(stream)
    if (stream instanceof TcpStream.TcpStream) yield* registration.writeIo(Tcp.completeConnect(stream))
    const conn = new StreamSocket.Connection(stream, registration)
    const socket = StreamSocket.make(Effect.succeed(conn), { ...options, reconnects: false, initial: conn })
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    return {
      pull: reader.pull,
      writer,
      local: formatOf(stream.localAddr()),
      peer: formatOf(stream.peerAddr()) ?? SocketAddress.format(address),
      ownsWrites: true
    }
  })

/**
 * Opens `socket` (acquiring its reader dials a client socket).
 *
 * @internal
 */
export const open = (
  socket: Socket.Socket,
  addresses: { readonly local?: string | undefined; readonly peer?: string | undefined; readonly ownsWrites?: boolean | undefined }
): Effect.Effect<Transport, Socket.SocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    return {
      pull: reader.pull,
      writer,
      local: addresses.local,
      peer: addresses.peer,
      ownsWrites: addresses.ownsWrites ?? false
    }
  })

/**
 * Node's `net.Socket` as `@effect/platform-node`'s `NodeSocketServer` provides
 * it to handlers (looked up by its key: effect-mio does not depend on that
 * package).
 */
interface NodeNetSocket {
  readonly localAddress?: string | undefined
  readonly localPort?: number | undefined
  readonly remoteAddress?: string | undefined
  readonly remotePort?: number | undefined
}
const NodeNetSocket = Context.Service<NodeNetSocket>("@effect/platform-node/NodeSocket/NetSocket")

const nodeAddress = (host: string | undefined, port: number | undefined): string | undefined =>
  host === undefined ? undefined : `${host.includes(":") ? `[${host}]` : host}:${port ?? 0}`

/**
 * The local and peer addresses of an accepted connection, from the service
 * its server provides to handlers: effect-mio's `Tcp.TcpConnection` and
 * `Unix.UnixConnection`, or the Node socket of Effect's `NodeSocketServer`.
 *
 * @internal
 */
export const acceptedAddresses: Effect.Effect<{ readonly local: string | undefined; readonly peer: string | undefined }> = Effect
  .gen(function*() {
    const tcp = yield* Effect.serviceOption(Tcp.TcpConnection)
    if (tcp._tag === "Some") return { local: formatOf(tcp.value.localAddr()), peer: formatOf(tcp.value.peerAddr()) }
    const unix = yield* Effect.serviceOption(Unix.UnixConnection)
    if (unix._tag === "Some") return { local: formatOf(unix.value.localAddr()), peer: formatOf(unix.value.peerAddr()) }
    const node = yield* Effect.serviceOption(NodeNetSocket)
    if (node._tag === "Some") {
      return {
        local: nodeAddress(node.value.localAddress, node.value.localPort),
        peer: nodeAddress(node.value.remoteAddress, node.value.remotePort)
      }
    }
    return { local: undefined, peer: undefined }
  })
