/**
 * DCCP-UDP (RFC 6773): each DCCP packet is the payload of one UDP datagram, with
 * its generic header, ports and checksum unchanged. One UDP socket carries any
 * number of DCCP connections, told apart by the peer's address and UDP port and
 * by the DCCP ports. Unprivileged.
 *
 * The DCCP checksum is filled over the UDP leg's addresses (the engine does it),
 * so the local IP must be known: a client learns it from its connected socket;
 * a server bound to a wildcard address uses the all-zero address, which only
 * affects how a capture shows the inner checksum (receivers rely on the UDP
 * checksum, RFC 6773 §3).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as NetAddress from "effect/net/NetAddress"
import type * as Scope from "effect/Scope"
import { IoError } from "../../IoError.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"
import * as UdpSocket from "../../net/UdpSocket.ts"
import { Reactor } from "../../reactor/Reactor.ts"
import { WouldBlock } from "../../WouldBlock.ts"
import { AnswerRetries, drained, familyOf, type Peer, PeerByAddress, RECV_BATCH, SEND_BATCH, type Transport } from "./Transport.ts"

/**
 * @since 0.1.0
 * @category models
 */
export interface UdpTransportOptions {
  /** Local address (default: the wildcard of `connect`'s family, port 0). */
  readonly bind?: SocketAddress.Input | undefined
  /** A client's server: the socket is connected to it (and learns its local IP). */
  readonly connect?: SocketAddress.Input | undefined
  readonly recvBufferSize?: number | undefined
  readonly sendBufferSize?: number | undefined
}

/** The IP bytes of an internet address. @internal */
export const ipBytes = (a: SocketAddress.SocketAddress): Uint8Array =>
  a._tag === "InetAddressV4"
    ? Uint8Array.from(NetAddress.ipv4ToOctets(a.address))
    : a._tag === "InetAddressV6"
    ? Uint8Array.from(NetAddress.ipv6ToOctets(a.address))
    : new Uint8Array(4)

/** A connected socket's batch names no addresses. */
const NO_ADDRESSES: ReadonlyArray<undefined> = new Array(SEND_BATCH).fill(undefined)

/** The addresses of a batch's peers, in one array reused by every batch. @internal */
export const addressesOf = (() => {
  const out: Array<SocketAddress.SocketAddress> = []
  return (peers: ReadonlyArray<Peer>, count: number): ReadonlyArray<SocketAddress.SocketAddress> => {
    for (let i = 0; i < count; i++) out[i] = peers[i]!.address
    out.length = count
    return out
  }
})()

/**
 * A DCCP-UDP transport on its own UDP socket, for the Scope's lifetime.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: UdpTransportOptions): Effect.Effect<Transport, IoError, Reactor | Scope.Scope> =>
  Effect.gen(function*() {
    const reactor = yield* Reactor
    const remote = options.connect === undefined ? undefined : SocketAddress.parse(options.connect, "connect")
    if (remote instanceof IoError) return yield* Effect.fail(remote)
    const bindTo = options.bind ?? (remote?._tag === "InetAddressV6" ? "[::]:0" : "0.0.0.0:0")
    // The batch size is RECV_BATCH, so that a shorter batch means the socket is empty (`drained`).
    const udp = yield* UdpSocket.bind(bindTo, {
      recvBufferSize: options.recvBufferSize,
      sendBufferSize: options.sendBufferSize,
      batch: { size: RECV_BATCH }
    })
    if (remote !== undefined) {
      const e = udp.connect(remote)
      if (e !== undefined) return yield* Effect.fail(e)
    }
    const local = udp.localAddr()
    if (local instanceof IoError) return yield* Effect.fail(local)
    const family = familyOf(local)
    if (family === undefined) return yield* Effect.fail(new IoError({ kind: "InvalidInput", errno: 0, syscall: "bind", detail: "DCCP-UDP needs an IP address" }))
    const localIp = ipBytes(local)
    const registration = yield* reactor.register(udp)
    const connected = remote !== undefined
    let sendFailures = 0, truncated = 0
    const peers = new PeerByAddress()
    const makePeer = (a: SocketAddress.SocketAddress): Peer => ({
      ip: ipBytes(a),
      udpPort: "port" in a ? a.port : 0,
      key: SocketAddress.format(a),
      address: a
    })
    const peerOf = (a: SocketAddress.SocketAddress): Peer => peers.get(a, makePeer)
    return {
      kind: "udp",
      encapsulation: "udp",
      family,
      localAddress: local,
      send: (bytes, peer) => {
        const r = connected ? udp.send(bytes) : udp.sendTo(bytes, peer.address)
        if (typeof r === "number") return true
        sendFailures++
        return false
      },
      sendArea: () => udp.sendArea(),
      sendPacked: (offsets, lengths, peers, count) => {
        const addresses = connected ? NO_ADDRESSES : addressesOf(peers, count)
        const r = udp.sendPacked(offsets, lengths, addresses, count)
        const sent = typeof r === "number" ? r : 0
        sendFailures += count - sent
        return sent
      },
      receive: (onPacket, onUnreachable, onBatchEnd) => {
        const retries = new AnswerRetries()
        return Effect.forever(
          registration.readIo(() => {
            const batch = udp.recvBatch(RECV_BATCH)
            if (batch === WouldBlock) {
              retries.empty()
              return WouldBlock
            }
            if (batch instanceof IoError) {
              // An ICMP report on the connected socket (nobody at the server's UDP
              // port, no route): RFC 6773 maps it to the DCCP connections behind it.
              if (batch.kind === "ConnectionRefused" || batch.kind === "HostUnreachable" || batch.kind === "NetworkUnreachable") {
                onUnreachable(batch)
                return 0
              }
              return batch
            }
            retries.found()
            for (const d of batch) {
              // The batch slots hold any UDP datagram; a cut one is never handed on.
              if (d.truncated) truncated++
              else onPacket(d.payload, peerOf(d.address), localIp)
            }
            return drained(batch.length, retries.retry(onBatchEnd?.() === true))
          }),
          { disableYield: true }
        )
      },
      peerFor: (key) => {
        const a = SocketAddress.parse(key)
        return a instanceof IoError || familyOf(a) !== family ? undefined : peerOf(a)
      },
      stats: () => ({ sendFailures, malformed: truncated })
    } satisfies Transport
  })
