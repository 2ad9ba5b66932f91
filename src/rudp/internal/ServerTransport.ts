/**
 * The unconnected datagram I/O of an endpoint server: receive batches with
 * their source addresses, send to any address, synchronously (the server's
 * routing loop and every peer's driver run without an Effect per datagram).
 * Two kinds: our `UdpSocket` (`recvmmsg` / `sendmmsg`, UDP GSO for runs of
 * equal-size datagrams to one peer), and any Effect `DatagramSocket` (ours,
 * `MemoryDatagram` on a `SimNet`), pumped by two fibers.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import { IoError } from "../../IoError.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import type * as UdpSocket from "../../net/UdpSocket.ts"
import { Reactor } from "../../reactor/Reactor.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import { make as rudpError, type RudpError, transport } from "../RudpError.ts"
import { Deque } from "../engine/Deque.ts"
import { BATCH } from "../UdpLike.ts"
import { Signal } from "./Driver.ts"
import { sendAll } from "./SendBatch.ts"

/** @internal */
export interface ServerTransport<A> {
  readonly localAddress: string
  /**
   * Hands queued datagrams (each a view valid during the call) to `on`, at
   * least `max` when that many are queued (it stops after the batch that
   * reaches `max`); returns how many, or the error. Fewer than `max`: the
   * transport is drained.
   */
  readonly recvMany: (on: (bytes: Uint8Array, from: A) => void, max: number) => number | RudpError
  /** Waits until datagrams may be queued (spurious wake-ups allowed). */
  readonly readable: Effect.Effect<void, RudpError>
  /** Sends `payloads[0, count)` to `to` now (the payloads may be reused once it returns). */
  readonly sendTo: (payloads: ReadonlyArray<Uint8Array>, count: number, to: A) => RudpError | undefined
  /** Sends `payloads[i]` to `to[i]` for i in [0, count) now, in as few system calls as it can. */
  readonly sendEach: (payloads: ReadonlyArray<Uint8Array>, to: ReadonlyArray<A>, count: number) => RudpError | undefined
  /** The address as text (for tokens). */
  readonly keyOf: (a: A) => string
  readonly same: (a: A, b: A) => boolean
  readonly counters: () => { readonly sendDropped: number; readonly gsoSends: number; readonly truncated: number }
}

/** Equal inet addresses, without `Equal.equals` (it hashes both) or formatting: a check per datagram. */
const sameInet = (a: NetAddress.InetAddress, b: NetAddress.InetAddress): boolean =>
  a === b ||
  (a.port === b.port && a._tag === b._tag && (a.address === b.address || a.address[Equal.symbol](b.address)) &&
    (a._tag === "InetAddressV4" || a.scopeId === (b as NetAddress.InetAddressV6).scopeId))

const isInet = (a: SocketAddress.SocketAddress): a is NetAddress.InetAddress => a._tag === "InetAddressV4" || a._tag === "InetAddressV6"

/**
 * Our UDP socket, driven by the reactor in context.
 *
 * @internal
 */
export const fromUdpSocket = (
  socket: UdpSocket.UdpSocket,
  batchSize: number = BATCH
): Effect.Effect<ServerTransport<SocketAddress.SocketAddress>, RudpError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor
    const registration = yield* Effect.mapError(reactor.register(socket), transport)
    // Don't Fragment: a path MTU probe too large for the path is lost, never fragmented (best effort).
    socket.setPathMtuDiscovery("probe")
    const local = socket.localAddr()
    if (local instanceof IoError) return yield* Effect.fail(transport(local))
    let sendDropped = 0, gsoSends = 0, truncated = 0
    const outgoing: Array<{ payload: Uint8Array; address: SocketAddress.SocketAddress }> = []
    let gsoBuffer = new Uint8Array(0)
    const sendBatch = (n: number): RudpError | undefined => {
      const r = sendAll(socket, outgoing, n)
      if (typeof r === "number") {
        sendDropped += r
        return undefined
      }
      // An ICMP error for an earlier datagram to some peer: that peer's timers decide.
      if (r.kind === "ConnectionRefused" || r.kind === "HostUnreachable" || r.kind === "NetworkUnreachable") return undefined
      return transport(r)
    }
    /** Equal-size datagrams (the last may be shorter) to one peer go out as one GSO send. */
    const gso = (payloads: ReadonlyArray<Uint8Array>, count: number, to: SocketAddress.SocketAddress): RudpError | undefined | "no" => {
      const size = payloads[0]!.length
      let total = 0
      for (let i = 0; i < count; i++) {
        const len = payloads[i]!.length
        if (len > size || (len < size && i !== count - 1)) return "no"
        total += len
      }
      if (gsoBuffer.length < total) gsoBuffer = new Uint8Array(Math.max(total, 64 * 1024))
      let at = 0
      for (let i = 0; i < count; i++) {
        gsoBuffer.set(payloads[i]!, at)
        at += payloads[i]!.length
      }
      const r = socket.sendSegments(gsoBuffer.subarray(0, total), size, to)
      if (typeof r === "number") {
        gsoSends++
        if (r < count) sendDropped += count - r
        return undefined
      }
      if (r === WouldBlock || r.kind === "MessageTooLarge") {
        sendDropped += count
        return undefined
      }
      if (r.kind === "ConnectionRefused" || r.kind === "HostUnreachable" || r.kind === "NetworkUnreachable") return undefined
      return transport(r)
    }
    const self: ServerTransport<SocketAddress.SocketAddress> = {
      localAddress: SocketAddress.format(local),
      recvMany: (on, max) => {
        let total = 0
        for (;;) {
          const batch = socket.recvBatch(batchSize)
          if (batch === WouldBlock) return total
          if (batch instanceof IoError) {
            if (batch.kind === "ConnectionRefused" || batch.kind === "HostUnreachable" || batch.kind === "NetworkUnreachable") continue
            return transport(batch)
          }
          for (let i = 0; i < batch.length; i++) {
            const d = batch[i]!
            if (d.truncated) truncated++
            else on(d.payload, d.address)
          }
          total += batch.length
          if (batch.length < batchSize || total >= max) return total
        }
      },
      readable: Effect.mapError(registration.readable, transport),
      sendTo: (payloads, count, to) => {
        if (count >= 4) {
          const r = gso(payloads, count, to)
          if (r !== "no") return r
        }
        let at = 0
        while (at < count) {
          const n = Math.min(batchSize, count - at)
          while (outgoing.length < n) outgoing.push({ payload: payloads[0]!, address: to })
          for (let i = 0; i < n; i++) {
            const o = outgoing[i]!
            o.payload = payloads[at + i]!
            o.address = to
          }
          const e = sendBatch(n)
          if (e !== undefined) return e
          at += n
        }
        return undefined
      },
      sendEach: (payloads, to, count) => {
        let at = 0
        while (at < count) {
          const n = Math.min(batchSize, count - at)
          while (outgoing.length < n) outgoing.push({ payload: payloads[0]!, address: to[0]! })
          for (let i = 0; i < n; i++) {
            const o = outgoing[i]!
            o.payload = payloads[at + i]!
            o.address = to[at + i]!
          }
          const e = sendBatch(n)
          if (e !== undefined) return e
          at += n
        }
        return undefined
      },
      keyOf: (a) => SocketAddress.format(a),
      same: (a, b) => a === b || (isInet(a) && isInet(b) ? sameInet(a, b) : a._tag === b._tag && SocketAddress.format(a) === SocketAddress.format(b)),
      counters: () => ({ sendDropped, gsoSends, truncated })
    }
    return self
  })

/**
 * Any Effect `DatagramSocket` (`MemoryDatagram.make` on a `SimNet`, our
 * `Udp.make`): one fiber pulls batches into a bounded queue, another writes
 * what the peers sent (copied: the peers reuse their buffers).
 *
 * @internal
 */
export const fromDatagramSocket = (
  socket: DatagramSocket.DatagramSocket,
  options: { readonly queue: number }
): Effect.Effect<ServerTransport<NetAddress.InetAddress>, RudpError, Scope.Scope> =>
  Effect.gen(function*() {
    const reader = yield* Effect.mapError(socket.reader, transport)
    const writer = yield* socket.writer
    const inbound = new Deque<DatagramSocket.Datagram>(256)
    const outbound: Array<DatagramSocket.OutgoingDatagram> = []
    const arrived = new Signal()
    const toWrite = new Signal()
    let failure: RudpError | undefined = undefined
    let dropped = 0
    yield* Effect.forkScoped(Effect.forever(
      Effect.flatMap(reader.pull, (batch) =>
        Effect.sync(() => {
          for (const d of batch) {
            if (inbound.length >= options.queue) dropped++
            else inbound.push(d)
          }
          arrived.notify()
        })),
      { disableYield: true }
    ).pipe(Effect.catchCause((cause) => Effect.sync(() => {
      failure = rudpError("Transport", `the datagram socket failed: ${String(cause)}`)
      arrived.notify()
    }))))
    yield* Effect.forkScoped(Effect.forever(
      Effect.suspend(() => {
        if (outbound.length === 0) return toWrite.wait
        const batch = outbound.splice(0, outbound.length) as [DatagramSocket.OutgoingDatagram, ...Array<DatagramSocket.OutgoingDatagram>]
        return Effect.ignore(writer.writeAll(batch))
      }),
      { disableYield: true }
    ))
    const self: ServerTransport<NetAddress.InetAddress> = {
      localAddress: NetAddress.formatInet(reader.address),
      recvMany: (on, max) => {
        if (failure !== undefined) return failure
        let n = 0
        for (let d = inbound.shift(); d !== undefined; d = inbound.shift()) {
          on(d.payload, d.address)
          if (++n >= max) break
        }
        return n
      },
      readable: Effect.suspend(() => inbound.length > 0 || failure !== undefined ? Effect.void : arrived.wait),
      sendTo: (payloads, count, to) => {
        for (let i = 0; i < count; i++) outbound.push({ payload: payloads[i]!.slice(), address: to })
        toWrite.notify()
        return undefined
      },
      sendEach: (payloads, to, count) => {
        for (let i = 0; i < count; i++) outbound.push({ payload: payloads[i]!.slice(), address: to[i]! })
        toWrite.notify()
        return undefined
      },
      keyOf: (a) => NetAddress.formatInet(a),
      same: sameInet,
      counters: () => ({ sendDropped: dropped, gsoSends: 0, truncated: 0 })
    }
    return self
  })
