/**
 * UDP at the fiber level, as Effect's `effect/socket` `DatagramSocket`, built on
 * `DatagramSocket.makeFromBackingSocket`: Effect's core owns the receive queue,
 * its overflow strategy, reader exclusivity and error stickiness; this module
 * supplies the native socket, driven by the `Reactor`:
 *
 * - receiving drains the socket with `recvmmsg` batches (copying each datagram
 *   out of the batch buffer, since Effect lets consumers keep payloads) and
 *   parks on readiness only when the socket is empty. Every datagram arrives
 *   whole: the batch slots hold any UDP datagram, and with `maxDatagramSize`
 *   set a longer one is dropped and counted (`stats`, `onError`), never cut;
 * - a send goes out at once when the socket buffer has room; when it is full the
 *   send waits, in order, for writability; `writeAll` is `sendmmsg`;
 * - ICMP reports on a connected socket (`ConnectionRefused`, unreachable) are
 *   passed to the `onError` option and do not end the reader.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Layer from "effect/Layer"
import * as NetAddress from "effect/net/NetAddress"
import * as DatagramSocket from "effect/socket/DatagramSocket"
import { IoError, make as ioError } from "../IoError.ts"
import type { BatchOptions } from "../net/internal/Batch.ts"
import * as SocketAddress from "../net/SocketAddress.ts"
import * as UdpSocket from "../net/UdpSocket.ts"
import { Reactor } from "../reactor/Reactor.ts"
import { WouldBlock } from "../WouldBlock.ts"
import * as errors from "./internal/errors.ts"

/**
 * Options of `make`, after `NodeDatagramSocket.Options` where they overlap.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Local address (default `0.0.0.0:0`, or `[::]:0` with `family: "ipv6"`). */
  readonly bind?: SocketAddress.Input | undefined
  readonly family?: "ipv4" | "ipv6" | undefined
  readonly reuseAddress?: boolean | undefined
  readonly reusePort?: boolean | undefined
  readonly ipv6Only?: boolean | undefined
  readonly kernelReceiveBufferSize?: number | undefined
  readonly kernelSendBufferSize?: number | undefined
  readonly broadcast?: boolean | undefined
  readonly ttl?: number | undefined
  readonly multicast?: {
    readonly interface?: UdpSocket.MulticastInterface | undefined
    readonly loopback?: boolean | undefined
    readonly ttl?: number | undefined
  } | undefined
  /** Default destination for writes without an address (no filtering). */
  readonly peer?: SocketAddress.Input | undefined
  /** `connect(2)` to this address: the kernel filters other sources and reports ICMP errors. */
  readonly connect?: SocketAddress.Input | undefined
  readonly receiveBuffer?: DatagramSocket.ReceiveBufferOptions | undefined
  readonly onError?: ((error: DatagramSocket.DatagramSocketError) => void) | undefined
  /** Sizes of the `recvmmsg`/`sendmmsg` buffers (`bufferSize` is set by `maxDatagramSize`). */
  readonly batch?: Omit<BatchOptions, "bufferSize"> | undefined
  /**
   * The largest datagram accepted, in bytes (1 to 65535; default: any). A longer
   * one is dropped whole, counted in `stats().droppedOversize` and reported to
   * `onError` (kind `MessageTooLarge`); it is never delivered cut.
   */
  readonly maxDatagramSize?: number | undefined
}

/**
 * What a UDP `DatagramSocket` counts over its life (all reader acquisitions).
 *
 * @since 0.2.0
 * @category models
 */
export interface Stats {
  /** Datagrams handed to the reader. */
  readonly received: number
  /** Datagrams longer than `maxDatagramSize`, dropped whole. */
  readonly droppedOversize: number
}

/**
 * Effect's `DatagramSocket`, with the counters of this implementation.
 *
 * @since 0.2.0
 * @category models
 */
export interface UdpDatagramSocket extends DatagramSocket.DatagramSocket {
  readonly stats: () => Stats
}

/** A send waiting for writability. */
interface Pending {
  readonly payloads: ReadonlyArray<Uint8Array>
  readonly destinations: ReadonlyArray<DatagramSocket.BackingAddress | undefined>
  from: number
  readonly done: (error?: DatagramSocket.DatagramSocketError, index?: number) => void
}

const closedError = () => new DatagramSocket.DatagramSocketError({ reason: new DatagramSocket.DatagramSocketClosedError() })

const backingAddress = (a: SocketAddress.SocketAddress): DatagramSocket.BackingAddress =>
  SocketAddress.isInet(a) ? { host: NetAddress.formatHost(a), port: a.port } : { host: SocketAddress.format(a), port: 0 }

const inputOf = (d: DatagramSocket.BackingAddress): string =>
  d.host.includes(":") ? `[${d.host}]:${d.port}` : `${d.host}:${d.port}`

const ambient = (e: IoError): boolean =>
  e.kind === "ConnectionRefused" || e.kind === "HostUnreachable" || e.kind === "NetworkUnreachable"

const invalid = (option: string, value: unknown, expected: string): DatagramSocket.DatagramSocketError =>
  errors.datagramOpenError(ioError("InvalidInput", "socket", `Udp.make: ${option} is ${expected}, not ${describe(value)}`))

const describe = (value: unknown): string => typeof value === "string" ? JSON.stringify(value) : String(value)

/** The options `make` checks before it builds anything: the first bad one, or nothing. */
const checkOptions = (options: Options | undefined): DatagramSocket.DatagramSocketError | undefined => {
  if (options === undefined) return undefined
  const max = options.maxDatagramSize
  if (max !== undefined && !(Number.isInteger(max) && max >= 1 && max <= 65535)) {
    return invalid("maxDatagramSize", max, "an integer from 1 to 65535")
  }
  const capacity = options.receiveBuffer?.capacity
  if (capacity !== undefined && !(Number.isSafeInteger(capacity) && capacity >= 1)) {
    return invalid("receiveBuffer.capacity", capacity, "a positive integer")
  }
  const strategy = options.receiveBuffer?.strategy
  if (strategy !== undefined && strategy !== "dropping" && strategy !== "sliding") {
    return invalid("receiveBuffer.strategy", strategy, `"dropping" or "sliding"`)
  }
  const family = options.family
  if (family !== undefined && family !== "ipv4" && family !== "ipv6") return invalid("family", family, `"ipv4" or "ipv6"`)
  return undefined
}

/**
 * A `DatagramSocket` whose reader acquisition binds a UDP socket for the
 * acquisition's Scope. Invalid options fail with an open error whose cause
 * has kind `InvalidInput` and names the option.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<UdpDatagramSocket, DatagramSocket.DatagramSocketError, Reactor> =>
  Effect.suspend(() => {
    const bad = checkOptions(options)
    return bad === undefined ? makeChecked(options) : Effect.fail(bad)
  })

const makeChecked = (options: Options | undefined): Effect.Effect<UdpDatagramSocket, never, Reactor> => {
  const counts = { received: 0, droppedOversize: 0 }
  const slot = options?.maxDatagramSize
  const batch: BatchOptions | undefined = slot === undefined ? options?.batch : { ...options?.batch, bufferSize: slot }
  return Reactor.use((reactor) =>
    DatagramSocket.makeFromBackingSocket(
      (events) =>
        Effect.gen(function*() {
          const bindTo = options?.bind ?? (options?.family === "ipv6" ? "[::]:0" : "0.0.0.0:0")
          const udp = yield* Effect.mapError(
            UdpSocket.bind(bindTo, {
              reuseAddr: options?.reuseAddress,
              reusePort: options?.reusePort,
              onlyV6: options?.ipv6Only,
              broadcast: options?.broadcast,
              recvBufferSize: options?.kernelReceiveBufferSize,
              sendBufferSize: options?.kernelSendBufferSize,
              ttl: options?.ttl,
              batch
            }),
            errors.datagramOpenError
          )
          const setup = configure(udp, options)
          if (setup !== undefined) return yield* Effect.fail(errors.datagramOpenError(setup))
          const registration = yield* Effect.mapError(reactor.register(udp), errors.datagramOpenError)
          const local = udp.localAddr()
          if (local instanceof IoError) return yield* Effect.fail(errors.datagramOpenError(local))
          const peer = options?.connect ?? options?.peer
          const peerAddress = peer === undefined ? undefined : SocketAddress.parse(peer)
          if (peerAddress instanceof IoError) return yield* Effect.fail(errors.datagramOpenError(peerAddress))

          // --- receive: drain with recvmmsg, park when empty --------------------------
          let lastAddress: SocketAddress.SocketAddress | undefined
          let lastBacking: DatagramSocket.BackingAddress = { host: "", port: 0 }
          const receive = registration.readIo(() => {
            const r = udp.recvBatch()
            if (r === WouldBlock || r instanceof IoError) return r
            for (const d of r) {
              if (d.truncated) {
                counts.droppedOversize++
                events.onError(errors.datagramReadError(ioError(
                  "MessageTooLarge",
                  "recvmmsg",
                  `a ${d.size}-byte datagram exceeds maxDatagramSize ${slot}; dropped`,
                  SocketAddress.format(d.address)
                )))
                continue
              }
              if (d.address !== lastAddress) {
                lastAddress = d.address
                lastBacking = backingAddress(d.address)
              }
              counts.received++
              events.onPacket(d.payload.slice(), lastBacking.host, lastBacking.port)
            }
            // Keep draining while batches come back full; yield to the caller otherwise.
            return r.length
          })
          const receiveLoop: Effect.Effect<void> = Effect.matchEffect(receive, {
            onSuccess: () => receiveLoop,
            onFailure: (e) => {
              if (e.kind === "Closed") return Effect.void
              if (ambient(e)) {
                events.onError(errors.datagramReadError(e))
                return receiveLoop
              }
              events.onReadError(errors.datagramReadError(e))
              return Effect.void
            }
          })
          yield* Effect.forkScoped(receiveLoop)

          // --- send: at once when possible, else in order after writability ----------
          const queue: Array<Pending> = []
          const hasPending = Latch.makeUnsafe(false)
          let lastDestination: DatagramSocket.BackingAddress | undefined
          let lastTarget: SocketAddress.Input = ""
          const targetOf = (d: DatagramSocket.BackingAddress): SocketAddress.Input => {
            if (d !== lastDestination) {
              lastDestination = d
              lastTarget = inputOf(d)
            }
            return lastTarget
          }
          /** Sends what it can of `p`: the datagrams sent, `WouldBlock`, or an error at `p.from`. */
          const attempt = (p: Pending): number | WouldBlock | IoError => {
            if (p.payloads.length - p.from === 1) {
              const d = p.destinations[p.from]
              const r = d === undefined ? udp.send(p.payloads[p.from]!) : udp.sendTo(p.payloads[p.from]!, targetOf(d))
              return typeof r === "number" ? 1 : r
            }
            const batch: Array<UdpSocket.OutgoingDatagram> = []
            for (let i = p.from; i < p.payloads.length; i++) {
              const d = p.destinations[i]
              batch.push(d === undefined ? { payload: p.payloads[i]! } : { payload: p.payloads[i]!, address: targetOf(d) })
            }
            return udp.sendBatch(batch)
          }
          /** Advances `p`; `true` when it is finished (sent or failed). */
          const progress = (p: Pending, r: number | WouldBlock | IoError): boolean => {
            if (r === WouldBlock) return false
            if (r instanceof IoError) {
              const d = p.destinations[p.from]
              p.done(
                errors.datagramWriteError(r, d === undefined ? undefined : (SocketAddress.parse(inputOf(d)) as SocketAddress.SocketAddress)),
                p.payloads.length > 1 ? p.from : undefined
              )
              return true
            }
            p.from += r
            if (p.from < p.payloads.length) return false
            p.done()
            return true
          }
          const submit = (p: Pending) => {
            if (udp.isClosed) return p.done(closedError())
            if (queue.length === 0 && progress(p, attempt(p))) return
            queue.push(p)
            hasPending.openUnsafe()
          }
          const pump: Effect.Effect<never> = Effect.forever(
            Effect.flatMap(hasPending.await, () =>
              Effect.matchEffect(
                registration.writeIo(() => {
                  while (queue.length > 0) {
                    const p = queue[0]!
                    const r = attempt(p)
                    if (!progress(p, r)) return r === WouldBlock ? WouldBlock : 0
                    queue.shift()
                  }
                  hasPending.closeUnsafe()
                  return 0
                }),
                {
                  onSuccess: () => Effect.void,
                  onFailure: () =>
                    Effect.sync(() => {
                      for (const p of queue.splice(0)) p.done(closedError())
                      hasPending.closeUnsafe()
                    })
                }
              )
            )
          )
          yield* Effect.forkScoped(pump)

          const connected = options?.connect !== undefined
          const backing: DatagramSocket.BackingSocket = {
            address: backingAddress(local),
            connected,
            ...(peerAddress !== undefined && !connected ? { peer: backingAddress(peerAddress) } : {}),
            send: (payload, destination, done) => submit({ payloads: [payload], destinations: [destination], from: 0, done }),
            sendMany: (payloads, destinations, done) => submit({ payloads, destinations, from: 0, done }),
            joinMulticast: (o) =>
              Effect.suspend(() => {
                if (o.source !== undefined) {
                  return Effect.fail(
                    new DatagramSocket.DatagramSocketError({
                      reason: new DatagramSocket.DatagramSocketUnsupportedError({ capability: "source-specific multicast", runtime: "effect-mio" })
                    })
                  )
                }
                const group = NetAddress.formatIp(o.group)
                const iface = o.interface === undefined
                  ? undefined
                  : typeof o.interface === "number"
                  ? o.interface
                  : NetAddress.formatIp(o.interface as NetAddress.IpAddress)
                const e = udp.joinMulticast(group, iface)
                if (e !== undefined) return Effect.fail(errors.datagramOpenError(e))
                return Effect.succeed(() => Effect.sync(() => void udp.leaveMulticast(group, iface)))
              }),
            close: () => {
              registration.deregister()
              udp.close()
              for (const p of queue.splice(0)) p.done(closedError())
            }
          }
          return backing
        }),
      {
        ...(options?.receiveBuffer === undefined ? {} : { receiveBuffer: options.receiveBuffer }),
        ...(options?.onError === undefined ? {} : { onError: options.onError })
      }
    ).pipe(Effect.map((socket): UdpDatagramSocket => Object.assign(socket, { stats: (): Stats => ({ ...counts }) }))))
}

/** Applies the options that follow `bind`. */
const configure = (udp: UdpSocket.UdpSocket, options: Options | undefined): IoError | undefined => {
  const m = options?.multicast
  if (m?.interface !== undefined) {
    const e = udp.setMulticastInterface(m.interface)
    if (e) return e
  }
  if (m?.loopback !== undefined) {
    const e = udp.setMulticastLoop(m.loopback)
    if (e) return e
  }
  if (m?.ttl !== undefined) {
    const e = udp.setMulticastTtl(m.ttl)
    if (e) return e
  }
  if (options?.connect !== undefined) return udp.connect(options.connect)
  return undefined
}

/**
 * `make` as a Layer of Effect's `DatagramSocket` service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<DatagramSocket.DatagramSocket, DatagramSocket.DatagramSocketError, Reactor> =>
  Layer.effect(DatagramSocket.DatagramSocket, make(options))
