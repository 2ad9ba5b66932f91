/**
 * Native DCCP: IP protocol 33 through a raw socket, wire-compatible with kernel
 * DCCP stacks. Needs `CAP_NET_RAW` (a `PermissionDenied` error otherwise).
 *
 * A raw socket sees every protocol-33 packet reaching the host; the driver
 * keeps those for its own ports. IPv4 packets arrive with their IP header, which
 * is checked and stripped here (its destination is the local address of the
 * pseudo-header, so an IPv4 listener may bind the wildcard); IPv6 packets arrive
 * without one, so an IPv6 socket must be bound to a specific address.
 *
 * On a host whose kernel still has DCCP loaded, the kernel answers stray DCCP
 * packets with Reset(No Connection) and will tear down a user-space connection:
 * unload or blacklist the `dccp` module there.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import { IoError } from "../../IoError.ts"
import * as RawSocket from "../../net/RawSocket.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import * as UdpSocket from "../../net/UdpSocket.ts"
import { Reactor } from "../../reactor/Reactor.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import { AnswerRetries, drained, familyOf, type Peer, PeerByAddress, RECV_BATCH, type Transport } from "./Transport.ts"
import { addressesOf, ipBytes } from "./Udp.ts"

/**
 * IP protocol number of DCCP.
 *
 * @since 0.1.0
 * @category constants
 */
export const IPPROTO_DCCP = 33

/**
 * @since 0.1.0
 * @category models
 */
export interface RawTransportOptions {
  readonly family: "ipv4" | "ipv6"
  /** The local IP (`"10.0.0.1"`, `"fd00::1"`); required for IPv6 listeners. */
  readonly bind?: string | undefined
  /** A client's peer IP: the socket only receives from it. */
  readonly connect?: string | undefined
  readonly recvBufferSize?: number | undefined
  readonly sendBufferSize?: number | undefined
}

const bracket = (ip: string) => (ip.includes(":") ? `[${ip}]:0` : `${ip}:0`)

/**
 * The local IP the kernel would use to reach `remote` (a route lookup through a
 * connected UDP socket, no packet sent).
 *
 * @internal
 */
export const sourceAddressFor = (remote: string): Effect.Effect<string, IoError, Scope.Scope> =>
  Effect.scoped(Effect.gen(function*() {
    const probe = yield* UdpSocket.bind(remote.includes(":") ? "[::]:0" : "0.0.0.0:0")
    const e = probe.connect(bracket(remote).replace(/:0$/, ":9"))
    if (e !== undefined) return yield* Effect.fail(e)
    const local = probe.localAddr()
    if (local instanceof IoError) return yield* Effect.fail(local)
    return SocketAddress.isInet(local) ? NetAddress.formatIp(local.address) : ""
  }))

/**
 * A native DCCP transport on its own raw socket, for the Scope's lifetime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: RawTransportOptions): Effect.Effect<Transport, IoError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor
    const v6 = options.family === "ipv6"
    const bind = options.bind ?? (options.connect !== undefined ? yield* sourceAddressFor(options.connect) : undefined)
    if (v6 && bind === undefined) {
      return yield* Effect.fail(new IoError({ kind: "InvalidInput", errno: 0, syscall: "bind", detail: "an IPv6 raw DCCP socket needs a specific local address" }))
    }
    const raw = yield* RawSocket.open({
      family: options.family,
      protocol: IPPROTO_DCCP,
      // A shorter batch than RECV_BATCH means the socket is empty (`drained`).
      batch: { size: RECV_BATCH },
      ...(bind === undefined ? {} : { bind: bracket(bind) }),
      ...(options.connect === undefined ? {} : { connect: bracket(options.connect) }),
      ...(options.recvBufferSize === undefined ? {} : { recvBufferSize: options.recvBufferSize }),
      ...(options.sendBufferSize === undefined ? {} : { sendBufferSize: options.sendBufferSize })
    })
    const local = raw.localAddr()
    if (local instanceof IoError) return yield* Effect.fail(local)
    const boundIp = ipBytes(local)
    const registration = yield* reactor.register(raw)
    let sendFailures = 0, malformed = 0
    const peers = new PeerByAddress()
    const makePeer = (a: SocketAddress.SocketAddress): Peer => ({
      ip: ipBytes(a),
      udpPort: 0,
      key: SocketAddress.isInet(a) ? NetAddress.formatIp(a.address) : "",
      address: a
    })
    const peerOf = (a: SocketAddress.SocketAddress): Peer => peers.get(a, makePeer)
    // IPv4 packets name their destination in the header; keep one buffer per distinct address.
    const destinations = new Map<number, Uint8Array>()
    const destinationOf = (ip: Uint8Array, offset: number): Uint8Array => {
      const key = ((ip[offset]! << 24) | (ip[offset + 1]! << 16) | (ip[offset + 2]! << 8) | ip[offset + 3]!) >>> 0
      let d = destinations.get(key)
      if (d === undefined) {
        d = ip.slice(offset, offset + 4)
        if (destinations.size > 1024) destinations.clear()
        destinations.set(key, d)
      }
      return d
    }
    const onIpv4 = (packet: Uint8Array, peer: Peer, onPacket: (bytes: Uint8Array, peer: Peer, localIp: Uint8Array) => void) => {
      // RFC 791 header: version 4, IHL ≥ 5 words, protocol 33, total length within the packet.
      if (packet.length < 20 || packet[0]! >> 4 !== 4) return void malformed++
      const ihl = (packet[0]! & 0x0f) * 4
      const total = (packet[2]! << 8) | packet[3]!
      if (ihl < 20 || packet[9] !== IPPROTO_DCCP || total < ihl || total > packet.length) return void malformed++
      onPacket(packet.subarray(ihl, total), peer, destinationOf(packet, 16))
    }
    return {
      kind: "raw",
      encapsulation: "ip",
      family: options.family,
      localAddress: local,
      send: (bytes, peer) => {
        const r = raw.sendTo(bytes, peer.address)
        if (typeof r === "number") return true
        sendFailures++
        return false
      },
      sendArea: () => raw.sendArea(),
      sendPacked: (offsets, lengths, peers, count) => {
        const r = raw.sendPacked(offsets, lengths, addressesOf(peers, count), count)
        const sent = typeof r === "number" ? r : 0
        sendFailures += count - sent
        return sent
      },
      // ICMP for raw sockets is not reported per flow: the engine's timers decide.
      receive: (onPacket, _onUnreachable, onBatchEnd) => {
        const retries = new AnswerRetries()
        return Effect.forever(
          registration.readIo(() => {
            const batch = raw.recvBatch(RECV_BATCH)
            if (batch === WouldBlock) retries.empty()
            if (batch === WouldBlock || batch instanceof IoError) return batch
            retries.found()
            for (const d of batch) {
              if (d.truncated) {
                malformed++
                continue
              }
              const peer = peerOf(d.address)
              if (v6) onPacket(d.payload, peer, boundIp)
              else onIpv4(d.payload, peer, onPacket)
            }
            return drained(batch.length, retries.retry(onBatchEnd?.() === true))
          }),
          { disableYield: true }
        )
      },
      peerFor: (key) => {
        const a = SocketAddress.parse(key.includes(":") ? `[${key}]:0` : `${key}:0`)
        return a instanceof IoError || familyOf(a) !== options.family ? undefined : peerOf(a)
      },
      stats: () => ({ sendFailures, malformed })
    } satisfies Transport
  })
