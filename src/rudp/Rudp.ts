/**
 * Reliable UDP's guarantee tiers as Stream combinators: a Stream of payloads
 * goes out through an `Endpoint` with a tier (`delivery`, `order`, `none`, or
 * `send` with any), as one set per element (`set`), or into a Sink; received
 * messages come back as `endpoint.messages`. `fromDatagrams` puts the protocol
 * over any datagram duplex given as Effect values — Effect's own
 * `DatagramSocket` (ours, `MemoryDatagram`'s), or a pair of functions — so the
 * tiers compose with other Stream stages and the same pipeline runs over a real
 * socket and over `SimNet`:
 *
 * ```ts
 * const sent = Stream.fromIterable(events).pipe(
 *   Stream.map(encode),            // a codec stage before
 *   Rudp.delivery(endpoint),       // reliable, ordered
 *   Stream.runCount
 * )
 * const received = endpoint.messages.pipe(Stream.map(decode), Stream.filter(isInteresting))
 * ```
 *
 * The combinators are dual: data-last for `pipe` (`Rudp.delivery(endpoint)`),
 * data-first too (`Rudp.delivery(stream, endpoint)`).
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import { dual } from "effect/Function"
import type * as NetAddress from "effect/net/NetAddress"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import * as Stream from "effect/Stream"
import type { Config, Endpoint } from "./Endpoint.ts"
import { make as makeEndpoint } from "./Endpoint.ts"
import type { Guarantee } from "./Guarantee.ts"
import { make as rudpError, type RudpError } from "./RudpError.ts"
import type { UdpLike } from "./UdpLike.ts"

/**
 * What `send` and its tiers emit per message: its id, tier and size, and an
 * Effect that waits until the peer acknowledged it (at once for None/Order,
 * which are never acknowledged one by one).
 *
 * @since 0.2.0
 * @category models
 */
export interface Receipt {
  readonly id: number
  readonly guarantee: Guarantee
  readonly bytes: number
  readonly acknowledged: Effect.Effect<void, RudpError>
}

/**
 * One member of a set.
 *
 * @since 0.2.0
 * @category models
 */
export interface Outgoing {
  readonly guarantee: Guarantee
  readonly payload: Uint8Array
}

const receipt = (endpoint: Endpoint, id: number, guarantee: Guarantee, bytes: number): Receipt => ({
  id,
  guarantee,
  bytes,
  acknowledged: guarantee === "Delivery" ? endpoint.acknowledged(id) : Effect.void
})

const sendArray = (endpoint: Endpoint, guarantee: Guarantee) =>
(payloads: ReadonlyArray<Uint8Array>): Effect.Effect<Array<Receipt>, RudpError> =>
  Effect.forEach(payloads, (p) => Effect.map(endpoint.sendPayload(guarantee, p), (id) => receipt(endpoint, id, guarantee, p.length)))

/**
 * Sends every payload of `self` through `endpoint` with `guarantee`, waiting
 * while the endpoint's send queue is full (backpressure); emits a `Receipt`
 * per message.
 *
 * @since 0.2.0
 * @category combinators
 */
export const send: {
  (endpoint: Endpoint, guarantee: Guarantee): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Receipt, E | RudpError, R>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, endpoint: Endpoint, guarantee: Guarantee): Stream.Stream<Receipt, E | RudpError, R>
} = dual(
  3,
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, endpoint: Endpoint, guarantee: Guarantee): Stream.Stream<Receipt, E | RudpError, R> =>
    Stream.mapArrayEffect(self, (chunk) => Effect.map(sendArray(endpoint, guarantee)(chunk), (r) => r as unknown as readonly [Receipt, ...Array<Receipt>]))
)

/**
 * `send` with `Guarantee.Delivery`: exactly once, in order (reliable ordered).
 *
 * @since 0.2.0
 * @category combinators
 */
export const delivery: {
  (endpoint: Endpoint): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Receipt, E | RudpError, R>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, endpoint: Endpoint): Stream.Stream<Receipt, E | RudpError, R>
} = dual(2, <E, R>(self: Stream.Stream<Uint8Array, E, R>, endpoint: Endpoint) => send(self, endpoint, "Delivery"))

/**
 * `send` with `Guarantee.Order`: at most once, never after a later message
 * (unreliable sequenced).
 *
 * @since 0.2.0
 * @category combinators
 */
export const order: {
  (endpoint: Endpoint): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Receipt, E | RudpError, R>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, endpoint: Endpoint): Stream.Stream<Receipt, E | RudpError, R>
} = dual(2, <E, R>(self: Stream.Stream<Uint8Array, E, R>, endpoint: Endpoint) => send(self, endpoint, "Order"))

/**
 * `send` with `Guarantee.None`: at most once, in any order.
 *
 * @since 0.2.0
 * @category combinators
 */
export const none: {
  (endpoint: Endpoint): <E, R>(self: Stream.Stream<Uint8Array, E, R>) => Stream.Stream<Receipt, E | RudpError, R>
  <E, R>(self: Stream.Stream<Uint8Array, E, R>, endpoint: Endpoint): Stream.Stream<Receipt, E | RudpError, R>
} = dual(2, <E, R>(self: Stream.Stream<Uint8Array, E, R>, endpoint: Endpoint) => send(self, endpoint, "None"))

/**
 * Sends each element of `self` — an array of messages, each with its own
 * guarantee — as one set: the peer may deliver a set's members in any order
 * among themselves; sets stay in order. Emits the receipts of each set.
 *
 * @since 0.2.0
 * @category combinators
 */
export const set: {
  (endpoint: Endpoint): <E, R>(self: Stream.Stream<ReadonlyArray<Outgoing>, E, R>) => Stream.Stream<ReadonlyArray<Receipt>, E | RudpError, R>
  <E, R>(self: Stream.Stream<ReadonlyArray<Outgoing>, E, R>, endpoint: Endpoint): Stream.Stream<ReadonlyArray<Receipt>, E | RudpError, R>
} = dual(
  2,
  <E, R>(self: Stream.Stream<ReadonlyArray<Outgoing>, E, R>, endpoint: Endpoint): Stream.Stream<ReadonlyArray<Receipt>, E | RudpError, R> =>
    Stream.mapEffect(self, (members) =>
      endpoint.asSet((s) =>
        Effect.forEach(members, (m) => Effect.map(s.sendPayload(m.guarantee, m.payload), (id) => receipt(endpoint, id, m.guarantee, m.payload.length)))
      ))
)

/**
 * A Sink that sends what it receives through `endpoint` with `guarantee`.
 *
 * @since 0.2.0
 * @category sinks
 */
export const sink = (endpoint: Endpoint, guarantee: Guarantee): Sink.Sink<void, Uint8Array, never, RudpError> =>
  Sink.forEachArray((chunk: ReadonlyArray<Uint8Array>) => sendArray(endpoint, guarantee)(chunk))

/**
 * The messages an endpoint receives (`endpoint.messages`), as a function for
 * pipelines.
 *
 * @since 0.2.0
 * @category constructors
 */
export const messages = (endpoint: Endpoint): Stream.Stream<Uint8Array, RudpError> => endpoint.messages

/**
 * A datagram duplex given as Effect values: how to send one datagram to the
 * peer, and the stream of the peer's datagrams.
 *
 * @since 0.2.0
 * @category models
 */
export interface Datagrams<E> {
  readonly send: (payload: Uint8Array) => Effect.Effect<void, E>
  readonly receive: Stream.Stream<Uint8Array, E>
}

/**
 * A `UdpLike` over a datagram duplex: a fiber in the Scope feeds the received
 * stream into a bounded queue (overflow is dropped, as a socket buffer would).
 *
 * @since 0.2.0
 * @category constructors
 */
export const udpLike = <E>(
  duplex: Datagrams<E>,
  options?: { readonly capacity?: number | undefined }
): Effect.Effect<UdpLike<E | RudpError>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.dropping<Uint8Array, E | RudpError>(options?.capacity ?? 4096)
    // The stream's end (or failure) ends the transport: later receives fail.
    yield* Effect.forkScoped(
      Stream.runForEach(duplex.receive, (d) => Queue.offer(queue, d)).pipe(
        Effect.matchCauseEffect({
          onFailure: (cause) => Queue.failCause(queue, cause),
          onSuccess: () => Queue.fail(queue, rudpError("Transport", "the stream of received datagrams ended"))
        })
      )
    )
    return {
      send: duplex.send,
      tryRecv: (buffer) =>
        Effect.map(Queue.poll(queue), (d) => {
          if (d._tag === "None") return undefined
          const n = Math.min(d.value.length, buffer.length)
          buffer.set(n === d.value.length ? d.value : d.value.subarray(0, n))
          return n
        }),
      readable: Effect.asVoid(Queue.peek(queue))
    } satisfies UdpLike<E | RudpError>
  })

/**
 * Reliable UDP over a datagram duplex given as Effect values: an `Endpoint`
 * (reactor-driven unless `config.drive` says otherwise) whose tiers compose
 * with other Stream stages. Transport errors surface as `RudpError` kind
 * `Transport`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromDatagrams = <E>(duplex: Datagrams<E>, config?: Config): Effect.Effect<Endpoint, RudpError, Scope.Scope> =>
  Effect.flatMap(udpLike(duplex), (udp) => makeEndpoint(udp, { drive: "reactor", ...config }))

/**
 * The duplex of a `DatagramSocket` (Effect's interface: ours from `Udp.make`,
 * or `MemoryDatagram.make` on a `SimNet`) talking to one peer; datagrams from
 * other addresses are ignored. The socket's reader is acquired (and its port
 * bound) now, so `localAddress` is known before the peer is: pass the peer's
 * address to `connect`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const datagramSocket = (
  socket: DatagramSocket.DatagramSocket
): Effect.Effect<
  {
    readonly localAddress: NetAddress.InetAddress
    readonly connect: (peer: NetAddress.InetAddress) => Datagrams<DatagramSocket.DatagramSocketError>
  },
  DatagramSocket.DatagramSocketError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const reader = yield* socket.reader
    const writer = yield* socket.writer
    return { localAddress: reader.address, connect: (peer) => duplexOf(reader, writer, peer) }
  })

const duplexOf = (
  reader: DatagramSocket.Reader,
  writer: DatagramSocket.Writer,
  peer: NetAddress.InetAddress
): Datagrams<DatagramSocket.DatagramSocketError> => {
    const samePeer = (a: NetAddress.InetAddress) => Equal.equals(a, peer)
    return {
      send: (payload) => writer.write({ payload, address: peer }),
      receive: Stream.fromEffectRepeat(reader.pull).pipe(
        Stream.flatMap((batch) => Stream.fromIterable(batch)),
        Stream.filter((d) => samePeer(d.address)),
        Stream.map((d) => d.payload)
      )
    }
}
