/**
 * What the DCCP driver needs of a transport: send one DCCP packet to a peer, and
 * a receive loop that hands each arriving DCCP packet (header onwards) to the
 * driver with the peer it came from and the local address it arrived at — the
 * two addresses the checksum's pseudo-header needs.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type { IoError } from "../../IoError.ts"
import type * as SocketAddress from "../../net/SocketAddress.ts"

/**
 * A remote endpoint: its IP address bytes, and for DCCP-UDP its UDP port.
 * `key` tells endpoints apart (the engine's `transportKey`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Peer {
  readonly ip: Uint8Array
  readonly udpPort: number
  readonly key: string
  readonly address: SocketAddress.SocketAddress
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Transport {
  readonly kind: "udp" | "raw"
  /** How the engine treats checksums and MPS (RFC 6773 or native). */
  readonly encapsulation: "udp" | "ip"
  readonly family: "ipv4" | "ipv6"
  /** The socket's own address (for DCCP-UDP: IP and UDP port). */
  readonly localAddress: SocketAddress.SocketAddress
  /** Sends one DCCP packet; `false` when the socket could not take it now (counted). */
  readonly send: (bytes: Uint8Array, peer: Peer) => boolean
  /**
   * Receives forever, handing each DCCP packet (a view valid during the call) to
   * `onPacket` with its peer and the local IP it was sent to, and ICMP reports
   * for the socket's peer (port or host unreachable) to `onUnreachable`.
   */
  readonly receive: (
    onPacket: (bytes: Uint8Array, peer: Peer, localIp: Uint8Array) => void,
    onUnreachable: (error: IoError) => void
  ) => Effect.Effect<never, IoError>
  /** Datagrams the socket could not send, and packets that were not DCCP. */
  readonly stats: () => { readonly sendFailures: number; readonly malformed: number }
}

/**
 * Caches `Peer` values by their key, so that a steady flow allocates none.
 *
 * @internal
 */
export class PeerCache {
  #last: Peer | undefined = undefined
  readonly #peers = new Map<string, Peer>()

  get(key: string, make: () => Peer): Peer {
    if (this.#last !== undefined && this.#last.key === key) return this.#last
    let p = this.#peers.get(key)
    if (p === undefined) {
      p = make()
      if (this.#peers.size > 4096) this.#peers.clear()
      this.#peers.set(key, p)
    }
    this.#last = p
    return p
  }
}

/** `"ipv4"` or `"ipv6"` for an address's family. @internal */
export const familyOf = (a: SocketAddress.SocketAddress): "ipv4" | "ipv6" | undefined =>
  a._tag === "InetAddressV4" ? "ipv4" : a._tag === "InetAddressV6" ? "ipv6" : undefined
