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
import { WouldBlock } from "../../WouldBlock.ts"

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
   * Where the driver builds a batch of packets for `sendPacked` (the socket's
   * native send area: nothing is copied). Asked for again for every batch.
   */
  readonly sendArea: () => Uint8Array
  /**
   * Sends `count` (at most `SEND_BATCH`) packets built in `sendArea()` with one
   * `sendmmsg`: packet i is `lengths[i]` bytes at `offsets[i]`, for `peers[i]`.
   * Returns how many the socket took; the others are counted as send failures.
   */
  readonly sendPacked: (offsets: ArrayLike<number>, lengths: ArrayLike<number>, peers: ReadonlyArray<Peer>, count: number) => number
  /**
   * Receives forever, handing each DCCP packet (a view valid during the call) to
   * `onPacket` with its peer and the local IP it was sent to, and ICMP reports
   * for the socket's peer (port or host unreachable) to `onUnreachable`;
   * `onBatchEnd` after each batch of packets (one `recvmmsg`), answering
   * whether handling the batch sent packets (the loop then reads again at
   * once: see `drained`).
   */
  readonly receive: (
    onPacket: (bytes: Uint8Array, peer: Peer, localIp: Uint8Array) => void,
    onUnreachable: (error: IoError) => void,
    onBatchEnd?: () => boolean
  ) => Effect.Effect<never, IoError>
  /**
   * The peer a `Peer.key` of this transport names (the listener keeps keys, not
   * peers, for connections it has not announced yet); `undefined` for a key
   * this transport did not make.
   */
  readonly peerFor: (key: string) => Peer | undefined
  /** Datagrams the socket could not send, and packets that were not DCCP. */
  readonly stats: () => { readonly sendFailures: number; readonly malformed: number }
}

/**
 * Caches `Peer` values by the address object the socket's decoder returned
 * (the decoder returns the same object while the source stays the same), so
 * that a steady flow allocates none. At most 4096 entries: a flood from many
 * sources costs a bounded cache, not memory per source.
 *
 * @internal
 */
export class PeerByAddress {
  #lastAddress: SocketAddress.SocketAddress | undefined = undefined
  #lastPeer: Peer | undefined = undefined
  readonly #peers = new Map<SocketAddress.SocketAddress, Peer>()

  get(address: SocketAddress.SocketAddress, make: (address: SocketAddress.SocketAddress) => Peer): Peer {
    if (address === this.#lastAddress) return this.#lastPeer!
    let p = this.#peers.get(address)
    if (p === undefined) {
      p = make(address)
      if (this.#peers.size >= 4096) this.#peers.clear()
      this.#peers.set(address, p)
    }
    this.#lastAddress = address
    this.#lastPeer = p
    return p
  }
}

/** `"ipv4"` or `"ipv6"` for an address's family. @internal */
export const familyOf = (a: SocketAddress.SocketAddress): "ipv4" | "ipv6" | undefined =>
  a._tag === "InetAddressV4" ? "ipv4" : a._tag === "InetAddressV6" ? "ipv6" : undefined

/** Datagrams per `recvmmsg` of a DCCP transport (its socket's batch size). @internal */
export const RECV_BATCH = 32

/** Packets per `sendPacked` (the same batch slots as receiving). @internal */
export const SEND_BATCH = RECV_BATCH

/**
 * What a receive loop's operation answers after handling a batch of `received`
 * datagrams. A batch shorter than `RECV_BATCH` emptied the socket, and a
 * datagram that arrives later raises a new edge-triggered event, so answering
 * `WouldBlock` parks the loop until then instead of paying for one more
 * `recvmmsg` that would find nothing (tokio clears readiness after a short read
 * the same way). A full batch is followed by another try at once: datagrams may
 * still be queued, and no new event would come for them.
 *
 * So is a batch whose handling sent packets (`answered`, see `AnswerRetries`):
 * a peer on the same host often answers them while `sendto` runs (the kernel
 * switches to it on the same core), and taking that answer at once saves the
 * loop parking, an `epoll_wait` and a fiber resumption.
 *
 * @internal
 */
export const drained = (received: number, answered = false): number | WouldBlock =>
  received < RECV_BATCH && !answered ? WouldBlock : received

/**
 * Decides whether a receive loop reads again at once after a batch whose
 * handling sent packets (`drained`'s `answered`), and keeps that bounded and
 * worth its cost:
 *
 * - at most `MAX` such tries in a row, then the loop waits for readiness, so
 *   a peer answering at once forever does not keep it from Node's event loop
 *   (nothing is missed by waiting: a datagram that arrives after the last
 *   `recvmmsg` raises a readiness event);
 * - a try that finds the socket empty costs one `recvmmsg` (~1 µs); one that
 *   finds the answer saves the park, an `epoll_wait` and a fiber resumption
 *   (several µs). So the tries earn credit: a hit adds `HIT`, a miss takes
 *   one, and without credit the loop only probes every `PROBE`th answered
 *   batch. A peer on the same host (answers within our `sendto` some 40 % of
 *   the time) or a stream of data keeps the tries on; a remote peer, whose
 *   answer never comes that fast, turns them off at the cost of a probe now
 *   and then.
 *
 * @internal
 */
export class AnswerRetries {
  static readonly MAX = 8
  static readonly HIT = 3
  static readonly CREDIT = 32
  static readonly PROBE = 32
  #streak = 0
  #credit = AnswerRetries.CREDIT / 2
  #skipped = 0
  /** The last batch was followed by a try: the next read tells whether it found anything. */
  #trying = false

  /** After a batch: whether to try again at once, given that its handling sent packets (`sent`). */
  retry(sent: boolean): boolean {
    this.#trying = false
    if (!sent || this.#streak >= AnswerRetries.MAX) {
      this.#streak = 0
      return false
    }
    if (this.#credit <= 0 && ++this.#skipped % AnswerRetries.PROBE !== 0) return false
    this.#streak++
    this.#trying = true
    return true
  }

  /** A read found datagrams. */
  found(): void {
    if (this.#trying) this.#credit = Math.min(AnswerRetries.CREDIT, this.#credit + AnswerRetries.HIT)
    this.#trying = false
  }

  /** A read found the socket empty: the next batch starts a new streak. */
  empty(): void {
    if (this.#trying) this.#credit = Math.max(0, this.#credit - 1)
    this.#trying = false
    this.#streak = 0
  }
}
