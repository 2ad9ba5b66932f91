/**
 * Datagram transports on a `SimNet`: Effect's own `DatagramSocket` service
 * (built with `DatagramSocket.makeFromBackingSocket`, so reader exclusivity,
 * the receive queue, sticky errors and the writer latch are Effect's code,
 * exactly as for a real UDP socket), and a connected `UdpLike` for
 * reliable-UDP endpoints.
 *
 * Addresses are `NetAddress.InetAddress` values on virtual hosts (10.0.0.x):
 * a socket binds `host` (a name such as `"server"`, or an address such as
 * `"10.0.0.5"`; default `"local"`) and receives at every address of that host,
 * 127.0.0.1 included. Between two hosts, datagrams meet the conditions of the
 * link between them; a host talking to itself uses an ideal loopback. On an
 * ideal network (`SimNet.layer()`, no conditions) a datagram arrives during
 * the `write` that sends it: nothing needs time to pass.
 *
 * A user's test swaps one layer:
 *
 * ```ts
 * const TestEnv = MemoryDatagram.layer({ host: "client", peer: "server:53" }).pipe(
 *   Layer.provideMerge(SimNet.layer({ seed: 7, latency: "5 millis", loss: 0.1 }))
 * )
 * ```
 *
 * Multicast is not simulated: `joinMulticast` fails with
 * `DatagramSocketUnsupportedError`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import * as DatagramSocket from "effect/socket/DatagramSocket"
import * as check from "../internal/check.ts"
import { endpointProblem, type EndpointInput, resolveEndpoint } from "./internal/address.ts"
import * as Datagram from "./internal/datagram.ts"
import { checkedWriter } from "./internal/errors.ts"
import { SimNet } from "./SimNet.ts"

/**
 * `true` for a value with the shape of a `UdpLike`. The interface is
 * structural on purpose (no brand): a test's mock is a plain object.
 *
 * @since 0.1.0
 * @category guards
 */
export const isUdpLike = (u: unknown): u is UdpLike =>
  typeof u === "object" && u !== null && ["send", "recv", "tryRecv", "readable", "dropped"].every(
    (key) => key in u
  )

/**
 * Connected datagram I/O, the shape a reliable-UDP endpoint drives (the rudp
 * crate's `UdpLike`, with mio's readiness split):
 *
 * - `send(payload)` hands one datagram to the network and succeeds at once:
 *   like UDP, a datagram the network loses is lost silently. It fails only
 *   for a payload over 65,507 bytes (`MessageTooLarge`) or a closed endpoint.
 * - `recv(buffer)` waits for the next datagram, copies it into `buffer` and
 *   returns its length. A datagram longer than `buffer` is dropped whole and
 *   counted in `dropped()` — never delivered cut (size the buffer to the
 *   largest datagram the protocol sends).
 * - `tryRecv(buffer)` is `recv` without waiting: `undefined` when nothing is
 *   queued (would block).
 * - `readable` waits until a datagram is queued, without taking it.
 * - `dropped()` counts datagrams refused because the receive queue was full,
 *   and datagrams longer than the buffer given to `recv`/`tryRecv`.
 *
 * Only datagrams from the peer are received. After the endpoint's scope
 * closes, every operation fails with `DatagramSocketClosedError`, a
 * suspended `recv` or `readable` included.
 *
 * @since 0.1.0
 * @category models
 */
export interface UdpLike {
  readonly localAddress: NetAddress.InetAddress
  readonly peerAddress: NetAddress.InetAddress
  readonly send: (payload: Uint8Array) => Effect.Effect<void, DatagramSocket.DatagramSocketError>
  readonly recv: (buffer: Uint8Array) => Effect.Effect<number, DatagramSocket.DatagramSocketError>
  readonly tryRecv: (buffer: Uint8Array) => Effect.Effect<number | undefined, DatagramSocket.DatagramSocketError>
  readonly readable: Effect.Effect<void, DatagramSocket.DatagramSocketError>
  readonly dropped: () => number
}

/**
 * Where a `DatagramSocket` binds and sends. An address is `"host:port"`
 * (a host name or address), `{ host, port }` or an `InetAddress`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The host to bind on; default `"local"`. */
  readonly host?: string | undefined
  /** The port; default 0 (an ephemeral port, 49152 and up). */
  readonly port?: number | undefined
  /** Default destination of writes without an address; replies from anyone are received. */
  readonly peer?: EndpointInput | undefined
  /** Connected: the default destination, explicit addresses are refused, only datagrams from it are received. */
  readonly connect?: EndpointInput | undefined
  readonly receiveBuffer?: DatagramSocket.ReceiveBufferOptions | undefined
  readonly onError?: ((error: DatagramSocket.DatagramSocketError) => void) | undefined
}

const unsupported = Effect.fail(
  new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketUnsupportedError({
      capability: "multicast",
      runtime: "effect-mio/testing SimNet"
    })
  })
)

/**
 * A `DatagramSocket` on the `SimNet` in context. Each reader acquisition
 * binds the port (failing with `AddressInUse` when taken); closing the
 * reader's scope unbinds it. A bad option fails here with an open error whose
 * cause is an `IoError` of kind `InvalidInput`, as `Udp.make` reports it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<DatagramSocket.DatagramSocket, DatagramSocket.DatagramSocketError, SimNet> =>
  Effect.suspend(() => {
    const bad = checkOptions(options)
    return bad === undefined ? makeChecked(options) : Effect.fail(Datagram.invalidOption(bad))
  })

/** The first bad option, or `undefined`: checked before anything is bound. */
const checkOptions = (o: Options): string | undefined =>
  check.requiredObject("options", o) ?? check.first(
    o.host === undefined ? undefined : Datagram.portProblem("host", o.host, "port", 0),
    check.integer("port", o.port, 0, 65535),
    o.peer === undefined ? undefined : endpointProblem("peer", o.peer),
    o.connect === undefined ? undefined : endpointProblem("connect", o.connect),
    check.object("receiveBuffer", o.receiveBuffer) ?? check.first(
      check.integer("receiveBuffer.capacity", o.receiveBuffer?.capacity, 1, Number.MAX_SAFE_INTEGER),
      check.oneOf("receiveBuffer.strategy", o.receiveBuffer?.strategy, ["dropping", "sliding"])
    ),
    check.func("onError", o.onError)
  )

const makeChecked = (options: Options): Effect.Effect<DatagramSocket.DatagramSocket, never, SimNet> =>
  SimNet.use((net) =>
    DatagramSocket.makeFromBackingSocket(
      (events) =>
        Effect.suspend(() =>
          net.withNetworkUnsafe((network) => {
            let closed = false
            const binding: Datagram.Binding = {
              host: network.host(options.host ?? "local"),
              port: options.port ?? 0,
              connected: undefined,
              accept: () => closed ? "closed" : undefined,
              deliver: (payload, ip, port) => events.onPacket(payload, ip, port)
            }
            const peer = options.connect ?? options.peer
            const destination = peer === undefined
              ? undefined
              : Datagram.normalizePeer(binding, resolveEndpoint(network, peer))
            if (!Datagram.bind(network, binding, binding.port)) {
              return Effect.fail(Datagram.addressInUse(binding.host.ip, binding.port))
            }
            if (options.connect !== undefined) binding.connected = destination
            const sendOne = (payload: Uint8Array, to: DatagramSocket.BackingAddress | undefined) => {
              const target = to === undefined ? destination : { ip: to.host, port: to.port }
              if (payload.length > Datagram.maxDatagram) return Datagram.tooLarge(payload.length, target)
              if (target !== undefined) {
                net.withNetworkUnsafe((n) => Datagram.send(n, binding, target, payload))
              }
              return undefined
            }
            const handle: DatagramSocket.BackingSocket = {
              address: { host: binding.host.ip, port: binding.port },
              peer: destination === undefined ? undefined : { host: destination.ip, port: destination.port },
              connected: options.connect !== undefined,
              send: (payload, to, done) => done(sendOne(payload, to)),
              sendMany: (payloads, destinations, done) => {
                for (let i = 0; i < payloads.length; i++) {
                  const error = sendOne(payloads[i]!, destinations[i])
                  if (error !== undefined) return done(error, i)
                }
                done()
              },
              joinMulticast: () => unsupported,
              close: () => {
                closed = true
                net.withNetworkUnsafe((n) => Datagram.unbind(n, binding))
              }
            }
            return Effect.succeed(handle)
          })
        ),
      { receiveBuffer: options.receiveBuffer, onError: options.onError }
    ).pipe(Effect.map((socket) =>
      // A malformed datagram from an untyped caller fails the write, as with Udp.make, not the fiber.
      DatagramSocket.make({ reader: socket.reader, writer: Effect.map(socket.writer, checkedWriter) })
    )))

/**
 * A `DatagramSocket` layer on the `SimNet` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<DatagramSocket.DatagramSocket, DatagramSocket.DatagramSocketError, SimNet> =>
  Layer.effect(DatagramSocket.DatagramSocket)(make(options))

/**
 * A connected `UdpLike` on `host` (default `"local"`), talking to `peer`,
 * closed with the scope. `capacity` bounds the receive queue (default 1024
 * datagrams).
 *
 * @since 0.1.0
 * @category constructors
 */
export const udpLike = (options: {
  readonly peer: EndpointInput
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly capacity?: number | undefined
}): Effect.Effect<UdpLike, DatagramSocket.DatagramSocketError, SimNet | Scope.Scope> =>
  Effect.gen(function*() {
    const net = yield* SimNet
    const bad = check.requiredObject("options", options) ?? endpointProblem("peer", options.peer)
    if (bad !== undefined) return yield* Effect.fail(Datagram.invalidOption(bad))
    const port = yield* Datagram.openPort(net, options.host ?? "local", options.port ?? 0, options.capacity ?? 1024)
    const peer = net.withNetworkUnsafe((network) => resolveEndpoint(network, options.peer))
    return Datagram.udpLike(net, port, peer)
  })
