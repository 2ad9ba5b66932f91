/**
 * UDP at the fiber level, as Effect's `effect/socket` `DatagramSocket`, built on
 * `DatagramSocket.makeFromBackingSocket`: Effect's core owns reader exclusivity
 * and acquisition, the writer and destination formatting; this module supplies
 * the native socket, driven by the `Reactor`, and serves the reader's `pull`
 * and receive buffer itself (`./internal/DatagramReceiver.ts`, with Effect's
 * contract: capacity and overflow strategy, `dropped`, sticky read errors):
 *
 * - receiving takes `recvmmsg` batches (copying each datagram out of the batch
 *   buffer, since Effect lets consumers keep payloads): a `pull` with nothing
 *   buffered takes a batch from the socket itself while it is readable, a
 *   waiting `pull` gets the next batch whole, and a background fiber drains
 *   the socket into the receive buffer while nobody pulls. Every datagram
 *   arrives whole: the batch slots hold any UDP datagram, and with
 *   `maxDatagramSize` set a longer one is dropped and counted (`stats`,
 *   `onError`), never cut;
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
import * as check from "../internal/check.ts"
import * as observe from "../internal/observe.ts"
import * as IoErrorModule from "../IoError.ts"
import { IoError, make as ioError } from "../IoError.ts"
import { type BatchOptions, checkBatchOptions } from "../net/internal/Batch.ts"
import * as Resolver from "../net/Resolver.ts"
import * as SocketAddress from "../net/SocketAddress.ts"
import * as UdpSocket from "../net/UdpSocket.ts"
import { Reactor, scheduledIo } from "../reactor/Reactor.ts"
import { WouldBlock } from "../WouldBlock.ts"
import { backingAddress, DatagramReceiver, oversizeError } from "./internal/DatagramReceiver.ts"
import { checkedWriter } from "./internal/checkedWriter.ts"
import * as errors from "./internal/errors.ts"
import * as metrics from "./internal/metrics.ts"

/**
 * Options of `make`, after `NodeDatagramSocket.Options` where they overlap.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Local address (default: the wildcard of the socket's family, port 0). Any
   * address form, or `NodeDatagramSocket`'s `{ address?, port? }` with the
   * wildcard and port 0 for what is left out.
   */
  readonly bind?: SocketAddress.Input | BindAddress | undefined
  /**
   * The socket's family. Without it: the family of an IP literal in `bind`,
   * else that of the remote (`connect` or `peer`), else IPv4 — as
   * `NodeDatagramSocket` chooses.
   */
  readonly family?: "ipv4" | "ipv6" | undefined
  readonly reuseAddress?: boolean | undefined
  readonly reusePort?: boolean | undefined
  readonly ipv6Only?: boolean | undefined
  readonly kernelReceiveBufferSize?: number | undefined
  readonly kernelSendBufferSize?: number | undefined
  readonly broadcast?: boolean | undefined
  readonly ttl?: number | undefined
  readonly multicast?: {
    /** For IPv4: an interface's address (a `NetAddress` value or a string), index or name; for IPv6: an index or name. */
    readonly interface?: UdpSocket.MulticastInterface | undefined
    readonly loopback?: boolean | undefined
    readonly ttl?: number | undefined
  } | undefined
  /**
   * Default destination for writes without an address (no filtering). A host
   * name is resolved at each reader acquisition (an IPv4 address preferred
   * unless the family is fixed).
   */
  readonly peer?: SocketAddress.Input | undefined
  /**
   * `connect(2)` to this address: the kernel filters other sources and reports
   * ICMP errors. A host name is resolved as for `peer`.
   */
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
 * `NodeDatagramSocket`'s bind option: an address (IP literal, `NetAddress` IP
 * address or host name) and a port, either of which may be left out.
 *
 * @since 0.2.0
 * @category models
 */
export interface BindAddress {
  readonly address?: string | NetAddress.IpAddress | undefined
  readonly port?: number | undefined
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

const inputOf = (d: DatagramSocket.BackingAddress): string =>
  d.host.includes(":") ? `[${d.host}]:${d.port}` : `${d.host}:${d.port}`

const ambient = (e: IoError): boolean =>
  e.kind === "ConnectionRefused" || e.kind === "HostUnreachable" || e.kind === "NetworkUnreachable"

const invalid = (problem: string): DatagramSocket.DatagramSocketError =>
  errors.datagramOpenError(ioError("InvalidInput", "socket", `Udp.make: ${problem}`))

/** An address option, parsed: the problem names the option and the value. */
const addressProblem = (name: string, input: unknown): string | undefined => {
  if (input === undefined) return undefined
  const a = SocketAddress.classify(bindInput(input) as SocketAddress.Input, name)
  return a instanceof IoError || !(a instanceof SocketAddress.HostName || SocketAddress.isInet(a))
    ? `${name} is an IPv4 or IPv6 address or a host name and port, not ${check.show(input)}`
    : undefined
}

/**
 * `bind` with `NodeDatagramSocket`'s holes filled: a missing address is the
 * wildcard of `family` (default IPv4), a missing port 0. Other forms as given.
 */
const bindInput = (bind: unknown, family?: "IPv4" | "IPv6"): unknown => {
  if (typeof bind !== "object" || bind === null || "_tag" in bind || "host" in bind || "path" in bind) return bind
  const o = bind as BindAddress
  if (o.address !== undefined && o.port !== undefined) return bind
  return { address: o.address ?? (family === "IPv6" ? "::" : "0.0.0.0"), port: o.port ?? 0 }
}

/** The family an IP literal (or `NetAddress` value) in `bind` fixes, if any. */
const literalFamily = (bind: unknown): "IPv4" | "IPv6" | undefined => {
  if (bind === undefined) return undefined
  const holes = typeof bind === "object" && bind !== null && !("_tag" in bind) && (bind as BindAddress).address === undefined &&
    !("host" in bind) && !("path" in bind)
  if (holes) return undefined
  const a = SocketAddress.classify(bindInput(bind) as SocketAddress.Input, "bind")
  return a instanceof IoError || a instanceof SocketAddress.HostName ? undefined : Resolver.familyOf(a)
}

/**
 * The local and remote addresses of one reader acquisition: host names
 * resolved, the family chosen as `NodeDatagramSocket` does — the explicit
 * `family`, else an IP literal's in `bind`, else the remote's, else the bound
 * name's, else IPv4 — and an IPv4 address preferred where it is free.
 */
const endpoints = (options: Options | undefined) =>
  Effect.gen(function*() {
    const fixed = options?.family === "ipv6" ? "IPv6" : options?.family === "ipv4" ? "IPv4" : literalFamily(options?.bind)
    const remoteInput = options?.connect ?? options?.peer
    const remote = remoteInput === undefined
      ? undefined
      : preferIpv4(yield* Resolver.resolve(remoteInput, options?.connect !== undefined ? "connect" : "peer", { family: fixed, inet: true }))
    const family = fixed ?? (remote === undefined ? undefined : Resolver.familyOf(remote))
    const bound = options?.bind === undefined
      ? (family === "IPv6" ? NetAddress.inetAddressUnsafe(NetAddress.ipv6Unspecified, 0) : NetAddress.inetAddressUnsafe(NetAddress.ipv4Unspecified, 0))
      : preferIpv4(yield* Resolver.resolve(bindInput(options.bind, family) as SocketAddress.Input, "bind", { family, inet: true }))
    return { bound, remote }
  })

const preferIpv4 = (addresses: ReadonlyArray<SocketAddress.SocketAddress>): SocketAddress.SocketAddress =>
  addresses.find((a) => a._tag === "InetAddressV4") ?? addresses[0]!

/** The options `make` checks before it builds anything: the first bad one, or nothing. */
const checkOptions = (options: Options | undefined): DatagramSocket.DatagramSocketError | undefined => {
  const o = options
  const bad = check.object("options", o) ?? check.first(
    addressProblem("bind", o?.bind),
    addressProblem("peer", o?.peer),
    addressProblem("connect", o?.connect),
    check.oneOf("family", o?.family, ["ipv4", "ipv6"]),
    check.boolean("reuseAddress", o?.reuseAddress),
    check.boolean("reusePort", o?.reusePort),
    check.boolean("ipv6Only", o?.ipv6Only),
    check.boolean("broadcast", o?.broadcast),
    check.integer("kernelReceiveBufferSize", o?.kernelReceiveBufferSize, 1, 2 ** 31 - 1),
    check.integer("kernelSendBufferSize", o?.kernelSendBufferSize, 1, 2 ** 31 - 1),
    check.integer("ttl", o?.ttl, 1, 255),
    check.object("multicast", o?.multicast) ?? check.first(
      multicastInterfaceProblem("multicast.interface", o?.multicast?.interface),
      check.boolean("multicast.loopback", o?.multicast?.loopback),
      check.integer("multicast.ttl", o?.multicast?.ttl, 0, 255)
    ),
    check.object("receiveBuffer", o?.receiveBuffer) ?? check.first(
      check.integer("receiveBuffer.capacity", o?.receiveBuffer?.capacity, 1, Number.MAX_SAFE_INTEGER),
      check.oneOf("receiveBuffer.strategy", o?.receiveBuffer?.strategy, ["dropping", "sliding"])
    ),
    check.func("onError", o?.onError),
    checkBatchOptions(o?.batch),
    check.integer("maxDatagramSize", o?.maxDatagramSize, 1, 65535)
  )
  return bad === undefined ? undefined : invalid(bad)
}

/** A multicast interface option: an index, a name, or an IPv4 address (a string or a `NetAddress` value). */
const multicastInterfaceProblem = (name: string, iface: unknown): string | undefined =>
  iface === undefined ||
    (typeof iface === "number" && Number.isInteger(iface) && iface >= 0 && iface <= 0x7fffffff) ||
    (typeof iface === "string" && iface.length > 0) ||
    NetAddress.isIpv4Address(iface)
    ? undefined
    : `${name} is an interface index, name ("eth0") or IPv4 address ("192.168.1.5" or a NetAddress Ipv4Address), not ${check.show(iface)}`

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
  /** The metrics' view of the socket the current reader opened. */
  let counted: metrics.UdpSocketCounts | undefined
  /** The receiver of the socket the current reader opened (readers are exclusive: one at a time). */
  let receiver$: DatagramReceiver | undefined
  const slot = options?.maxDatagramSize
  const batch: BatchOptions | undefined = slot === undefined ? options?.batch : { ...options?.batch, bufferSize: slot }
  const receiveBuffer = { capacity: options?.receiveBuffer?.capacity ?? 1024, sliding: options?.receiveBuffer?.strategy === "sliding" }
  /** The acquired reader, its `pull` and receive buffer served by its socket's `DatagramReceiver`. */
  const batched = (reader: DatagramSocket.Reader): DatagramSocket.Reader => {
    const receiver = receiver$
    if (receiver === undefined) return reader
    const dropped = () => receiver.dropped()
    if (counted !== undefined) counted.receiveBufferDropped = dropped
    return {
      pull: receiver.pull,
      get address() {
        return reader.address
      },
      dropped,
      joinMulticast: reader.joinMulticast
    }
  }
  return Reactor.use((reactor) =>
    DatagramSocket.makeFromBackingSocket(
      (events) =>
        Effect.gen(function*() {
          const { bound, remote } = yield* Effect.mapError(endpoints(options), errors.datagramOpenError)
          const udp = yield* Effect.mapError(
            UdpSocket.bind(bound, {
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
          const setup = configure(udp, options, remote)
          if (setup !== undefined) return yield* Effect.fail(errors.datagramOpenError(setup))
          const registration = yield* Effect.mapError(reactor.register(udp), errors.datagramOpenError)
          const local = udp.localAddr()
          if (local instanceof IoError) return yield* Effect.fail(errors.datagramOpenError(local))
          const oversizeBefore = counts.droppedOversize
          counted = metrics.udpCounts(udp, () => counts.droppedOversize - oversizeBefore)
          yield* observe.joinScoped(metrics.udpGroup(yield* Effect.context<never>()), counted)
          const peerAddress = remote

          // --- receive: recvmmsg batches to the reader's pulls, or its buffer (DatagramReceiver) -------
          // ICMP reports on a connected socket are about its peer: name it.
          const remoteName = options?.connect !== undefined && remote !== undefined ? SocketAddress.format(remote) : undefined
          const named = (failure: IoError): IoError =>
            remoteName === undefined || failure.address !== undefined ? failure : IoErrorModule.during(failure, failure.syscall, remoteName)
          const receiver = new DatagramReceiver(udp, scheduledIo(registration), events, {
            oversize: (d) => {
              counts.droppedOversize++
              events.onError(oversizeError(d, slot))
            },
            received: (n) => {
              counts.received += n
            },
            readFailed: (failure) => {
              const e = named(failure)
              if (ambient(e)) events.onError(errors.datagramReadError(e))
              else receiver.fail(errors.datagramReadError(e))
            }
          }, receiveBuffer)
          receiver$ = receiver
          // Keep draining while batches come back full; yield to the caller otherwise.
          const receive = registration.readIo(() => receiver.receive())
          const receiveLoop: Effect.Effect<void> = Effect.matchEffect(receive, {
            onSuccess: () => receiveLoop,
            onFailure: (failure) => {
              if (failure.kind === "Closed") return Effect.void
              const e = named(failure)
              if (ambient(e)) {
                events.onError(errors.datagramReadError(e))
                return receiveLoop
              }
              receiver.fail(errors.datagramReadError(e))
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
              const to = d === undefined ? peerAddress : (SocketAddress.parse(inputOf(d)) as SocketAddress.SocketAddress)
              const named = r.address === undefined && to !== undefined ? IoErrorModule.during(r, r.syscall, SocketAddress.format(to)) : r
              p.done(errors.datagramWriteError(named, d === undefined ? undefined : to), p.payloads.length > 1 ? p.from : undefined)
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
                // Untyped callers: the group and interface must be Effect's NetAddress values (or an index).
                if (!NetAddress.isIpAddress(o.group)) {
                  return Effect.fail(errors.datagramOpenError(ioError(
                    "InvalidInput",
                    "setsockopt",
                    `group is a NetAddress IpAddress of a multicast group, not ${check.show(o.group)}`
                  )))
                }
                const i: unknown = o.interface
                if (!(i === undefined || typeof i === "number" || NetAddress.isIpAddress(i))) {
                  return Effect.fail(errors.datagramOpenError(ioError(
                    "InvalidInput",
                    "setsockopt",
                    `interface is an interface index or a NetAddress IpAddress, not ${check.show(i)}`
                  )))
                }
                const group = NetAddress.formatIp(o.group)
                const iface = i === undefined || typeof i === "number" ? i : NetAddress.formatIp(i)
                const e = udp.joinMulticast(group, iface)
                if (e !== undefined) return Effect.fail(errors.datagramOpenError(e))
                return Effect.succeed(() => Effect.sync(() => void udp.leaveMulticast(group, iface)))
              }),
            close: () => {
              receiver.close()
              registration.deregister()
              udp.close()
              for (const p of queue.splice(0)) p.done(closedError())
            }
          }
          return backing
        }).pipe(observe.span("Udp.bind", "internal", () => ({ "network.transport": "udp" }))),
      {
        ...(options?.receiveBuffer === undefined ? {} : { receiveBuffer: options.receiveBuffer }),
        ...(options?.onError === undefined ? {} : { onError: options.onError })
      }
    ).pipe(Effect.map((socket): UdpDatagramSocket =>
      Object.assign(DatagramSocket.make({ reader: Effect.map(socket.reader, batched), writer: Effect.map(socket.writer, checkedWriter) }), {
        stats: (): Stats => ({ ...counts })
      })
    )))
}

/** Applies the options that follow `bind`. */
const configure = (
  udp: UdpSocket.UdpSocket,
  options: Options | undefined,
  remote: SocketAddress.SocketAddress | undefined
): IoError | undefined => {
  const m = options?.multicast
  if (m?.interface !== undefined) {
    const e = udp.setMulticastInterface(m.interface)
    if (e) return naming("multicast.interface", e)
  }
  if (m?.loopback !== undefined) {
    const e = udp.setMulticastLoop(m.loopback)
    if (e) return naming("multicast.loopback", e)
  }
  if (m?.ttl !== undefined) {
    const e = udp.setMulticastTtl(m.ttl)
    if (e) return naming("multicast.ttl", e)
  }
  if (options?.connect !== undefined && remote !== undefined) return udp.connect(remote)
  return undefined
}

/** `e` with the option that caused it in front of its detail. */
const naming = (option: string, e: IoError): IoError =>
  new IoError({
    kind: e.kind,
    errno: e.errno,
    syscall: e.syscall,
    ...(e.address === undefined ? {} : { address: e.address }),
    detail: e.detail === undefined ? option : `${option}: ${e.detail}`
  })

/**
 * `make` as a Layer of Effect's `DatagramSocket` service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<DatagramSocket.DatagramSocket, DatagramSocket.DatagramSocketError, Reactor> =>
  Layer.effect(DatagramSocket.DatagramSocket, make(options))
