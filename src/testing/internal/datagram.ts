/**
 * Datagram ports on a simulated network: bindings, routing, and the
 * connected `UdpLike` endpoint.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as DatagramSocket from "effect/socket/DatagramSocket"
import type * as MemoryDatagram from "../MemoryDatagram.ts"
import type * as Network from "../Network.ts"
import type * as SimNet from "../SimNet.ts"
import * as Trace from "../Trace.ts"
import * as check from "../../internal/check.ts"
import * as IoError from "../../IoError.ts"
import * as C from "../../sys/constants.ts"
import * as errors from "./errors.ts"
import { hostProblem } from "../Network.ts"
import { type Endpoint, inet, invalidInput } from "./address.ts"

/** The largest UDP payload over IPv4. @internal */
export const maxDatagram = 65507

/** @internal */
export interface Binding {
  readonly host: Network.Host
  port: number
  /** Only datagrams from this address are accepted (a connected socket). */
  connected: Endpoint | undefined
  /** A reason to refuse an arriving datagram (`closed`, `rcvbuf`), or `undefined`. */
  readonly accept: () => string | undefined
  readonly deliver: (payload: Uint8Array, fromIp: string, fromPort: number) => void
}

/** Claims `port` (0: ephemeral) on `host` for `binding`; `false` if the port is taken. @internal */
export const bind = (network: Network.Network, binding: Binding, port: number): boolean => {
  const assigned = network.bind("udp", binding.host.name, port, binding)
  if (assigned === undefined) return false
  binding.port = assigned
  return true
}

/** @internal */
export const unbind = (network: Network.Network, binding: Binding): void =>
  network.unbind("udp", binding.host.name, binding.port, binding)

/** Loopback addresses of a connection are the host's own. @internal */
export const normalizePeer = (binding: Binding, peer: Endpoint): Endpoint =>
  peer.ip.startsWith("127.") || peer.ip === "::1" ? { ip: binding.host.ip, port: peer.port } : peer

/**
 * Sends a datagram from `from` to `ip:port` through the link between the two
 * hosts; at arrival it goes to whatever is bound there then.
 *
 * @internal
 */
export const send = (network: Network.Network, from: Binding, to: Endpoint, payload: Uint8Array): void => {
  const destination = network.route(from.host, to.ip)
  if (destination === undefined) {
    network.trace.record({
      at: network.now(),
      kind: "drop",
      link: `${from.host.name}->${to.ip}`,
      id: 0,
      size: payload.length,
      hash: Trace.hash(payload),
      detail: "unreachable"
    })
    return
  }
  let target: Binding | undefined
  network.transmit(from.host.name, destination.name, payload, {
    accept: () => {
      const bound = network.bound("udp", destination.name, to.port) as Binding | undefined
      if (bound === undefined) return "unbound"
      const peer = bound.connected
      if (peer !== undefined && (peer.ip !== from.host.ip || peer.port !== from.port)) return "filtered"
      target = bound
      return bound.accept()
    },
    deliver: (bytes) => target!.deliver(bytes, from.host.ip, from.port)
  })
}

/** @internal */
export const closedError = (): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({ reason: new DatagramSocket.DatagramSocketClosedError({}) })

/** @internal */
export const tooLarge = (size: number, to?: Endpoint): DatagramSocket.DatagramSocketError =>
  errors.datagramWriteError(
    IoError.make("MessageTooLarge", "sendto", `a datagram carries at most ${maxDatagram} bytes, not ${size}`),
    // with the destination in the reason, Effect's core keeps it (and its message) as it is
    to === undefined ? undefined : inet(to.ip, to.port)
  )

/** A bad option of a simulated datagram socket: an open error with an `InvalidInput` cause. @internal */
export const invalidOption = (problem: string): DatagramSocket.DatagramSocketError =>
  errors.datagramOpenError(invalidInput("bind", problem))

/** Why `host`, `port` or `capacity` of a port to open is not usable, or `undefined`. @internal */
export const portProblem = (hostOption: string, host: unknown, portOption: string, port: unknown, capacity?: unknown): string | undefined => {
  const h = hostProblem(host)
  return check.first(
    h === undefined ? undefined : `${hostOption}: ${h}`,
    check.requiredInteger(portOption, port, 0, 65535),
    check.integer("capacity", capacity, 1, Number.MAX_SAFE_INTEGER)
  )
}

/** @internal */
export const addressInUse = (ip: string, port: number): DatagramSocket.DatagramSocketError =>
  errors.datagramOpenError(errors.simulated(C.EADDRINUSE, "bind", `${ip}:${port}`))

/** @internal */
export interface Port {
  readonly binding: Binding
  readonly inbox: Queue.Queue<Uint8Array, DatagramSocket.DatagramSocketError>
  dropped: number
  closed: boolean
}

/**
 * Binds a port with a bounded receive queue, released with the scope (a
 * suspended receive then fails with `DatagramSocketClosedError`).
 *
 * @internal
 */
export const openPort = (
  net: SimNet.SimNet,
  host: string,
  port: number,
  capacity: number
): Effect.Effect<Port, DatagramSocket.DatagramSocketError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const bad = portProblem("host", host, "port", port, capacity)
      if (bad !== undefined) return yield* Effect.fail(invalidOption(bad))
      const inbox = yield* Queue.dropping<Uint8Array, DatagramSocket.DatagramSocketError>(capacity)
      return yield* Effect.suspend(() =>
        net.withNetworkUnsafe((network) => {
          const state: Port = {
            binding: {
              host: network.host(host),
              port,
              connected: undefined,
              accept: () => {
                if (state.closed) return "closed"
                if (Queue.isFullUnsafe(inbox)) {
                  state.dropped++
                  return "rcvbuf"
                }
                return undefined
              },
              deliver: (payload) => {
                Queue.offerUnsafe(inbox, payload)
              }
            },
            inbox,
            dropped: 0,
            closed: false
          }
          return bind(network, state.binding, port)
            ? Effect.succeed(state)
            : Effect.fail(addressInUse(state.binding.host.ip, port))
        })
      )
    }),
    (state) =>
      Effect.sync(() => {
        state.closed = true
        net.withNetworkUnsafe((network) => unbind(network, state.binding))
        Queue.failCauseUnsafe(state.inbox, Cause.fail(closedError()))
      })
  )

/** Copies `payload` into `buffer`; `undefined` when it does not fit (the caller drops it whole). */
const copyInto = (payload: Uint8Array, buffer: Uint8Array): number | undefined => {
  if (payload.length > buffer.length) return undefined
  buffer.set(payload)
  return payload.length
}

/**
 * The connected `UdpLike` view of a port.
 *
 * @internal
 */
export const udpLike = (net: SimNet.SimNet, port: Port, peer: Endpoint): MemoryDatagram.UdpLike => {
  const binding = port.binding
  binding.connected = normalizePeer(binding, peer)
  const destination = binding.connected
  const closedOr = <A>(effect: Effect.Effect<A, DatagramSocket.DatagramSocketError>) =>
    Effect.suspend(() => port.closed ? Effect.fail(closedError()) : effect)
  return {
    localAddress: inet(binding.host.ip, binding.port),
    peerAddress: inet(destination.ip, destination.port),
    send: (payload) =>
      Effect.suspend(() => {
        if (port.closed) return Effect.fail(closedError())
        if (payload.length > maxDatagram) return Effect.fail(tooLarge(payload.length))
        net.withNetworkUnsafe((network) => send(network, binding, destination, payload))
        return Effect.void
      }),
    recv: (buffer) => {
      // A datagram longer than the buffer is dropped whole and counted, never cut.
      const next: Effect.Effect<number, DatagramSocket.DatagramSocketError> = Effect.flatMap(Queue.take(port.inbox), (payload) => {
        const n = copyInto(payload, buffer)
        if (n !== undefined) return Effect.succeed(n)
        port.dropped++
        return next
      })
      return closedOr(next)
    },
    tryRecv: (buffer) =>
      closedOr(Effect.sync(() => {
        for (;;) {
          const payload = Queue.takeUnsafe(port.inbox)
          if (payload === undefined || payload._tag !== "Success") return undefined
          const n = copyInto(payload.value, buffer)
          if (n !== undefined) return n
          port.dropped++
        }
      })),
    readable: closedOr(Effect.asVoid(Queue.peek(port.inbox))),
    dropped: () => port.dropped
  }
}
