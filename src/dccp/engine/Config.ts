/**
 * Connection configuration, the path a connection runs over, and the
 * Maximum Packet Size computation (RFC 4340 §14).
 *
 * @since 0.1.0
 */
import type { CcidRegistry } from "./Ccid.ts"
import { ccid2 } from "./Ccid2.ts"
import { ccid3 } from "./Ccid3.ts"
import type { PseudoHeader } from "./Checksum.ts"
import type { RandomSource } from "./Random.ts"
import type { QueuePolicy } from "./SendQueue.ts"

/**
 * The addresses and ports of one connection, as the driver sees them. The
 * addresses feed the checksum pseudo-header (RFC 4340 §9.1): for native DCCP
 * they are the IP addresses; for DCCP over UDP (RFC 6773) the UDP leg's.
 *
 * @since 0.1.0
 * @category models
 */
export interface Path {
  readonly family: "ipv4" | "ipv6"
  readonly localAddress: Uint8Array
  readonly remoteAddress: Uint8Array
  readonly localPort: number
  readonly remotePort: number
  /**
   * Opaque to the engine: what the driver needs to tell lower-layer endpoints
   * apart, e.g. the peer's UDP port for RFC 6773 (several peers behind one
   * address may use the same DCCP port). Part of a listener's flow key and
   * handed back with every packet to send.
   */
  readonly transportKey?: string | undefined
}

/**
 * How DCCP packets travel:
 * - `"ip"`: native DCCP, IP protocol 33 (RFC 4340). Checksums are verified
 *   and partial checksum coverage may be negotiated.
 * - `"udp"`: DCCP-UDP (RFC 6773). The DCCP checksum is still filled in the
 *   RFC 4340 way over the UDP leg's addresses with full coverage (tshark then
 *   shows it Good), but it is not verified on receipt — the UDP checksum
 *   protects the datagram — and partial coverage is never used. The UDP
 *   header costs 8 bytes of MPS.
 *
 * @since 0.1.0
 * @category models
 */
export type Encapsulation = "ip" | "udp"

/**
 * The pseudo-header of packets sent on `path`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const outgoingPseudoHeader = (path: Path): PseudoHeader => ({
  family: path.family,
  source: path.localAddress,
  destination: path.remoteAddress
})

/**
 * The pseudo-header of packets received on `path`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const incomingPseudoHeader = (path: Path): PseudoHeader => ({
  family: path.family,
  source: path.remoteAddress,
  destination: path.localAddress
})

/**
 * Option bytes kept free on every full-size data packet, as in Linux's
 * `dccp_sync_mss` (roundup(5 + 6 + 10 + 6 + 6 + 6, 4)): room for an Ack
 * Vector, Timestamp Echo, NDP Count, Data Checksum and a Confirm.
 *
 * @since 0.1.0
 * @category constants
 */
export const OPTIONS_HEADROOM = 40

/**
 * The largest DCCP packet (header, options and data) a path MTU allows.
 *
 * @since 0.1.0
 * @category utils
 */
export const maxPacketBytes = (pathMtu: number, family: "ipv4" | "ipv6", encapsulation: Encapsulation): number =>
  pathMtu - (family === "ipv4" ? 20 : 40) - (encapsulation === "udp" ? 8 : 0)

/**
 * The Maximum Packet Size: the largest application payload (RFC 4340 §14),
 * the path MTU less the IP header, the UDP header for RFC 6773, a DataAck's
 * 24-byte header and `OPTIONS_HEADROOM`, rounded down to 4 bytes like Linux.
 *
 * @since 0.1.0
 * @category utils
 */
export const maxPayloadSize = (pathMtu: number, family: "ipv4" | "ipv6", encapsulation: Encapsulation): number => {
  const mps = maxPacketBytes(pathMtu, family, encapsulation) - 24 - OPTIONS_HEADROOM
  return Math.max(0, mps - (mps % 4))
}

/**
 * Retransmission schedule of one kind of control packet: the first timeout,
 * the backoff ceiling, and how many retransmissions before giving up.
 *
 * @since 0.1.0
 * @category models
 */
export interface RetransmitSchedule {
  readonly initialMs: number
  readonly maxMs: number
  readonly retries: number
}

/**
 * Everything a connection can be configured with.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectionConfig {
  /** The only source of randomness: initial sequence numbers (RFC 4340 §7.2). */
  readonly random: RandomSource
  readonly encapsulation: Encapsulation
  /** Path MTU in bytes, from the driver; `setPathMtu` updates it. */
  readonly pathMtu: number
  /** CCID preference list for both half-connections (RFC 4340 §10). */
  readonly ccids: ReadonlyArray<number>
  /** CCID preference list for our half-connection (we send data), when it differs from `ccids`. */
  readonly txCcids?: ReadonlyArray<number> | undefined
  /** CCID preference list for the peer's half-connection (we receive data), when it differs from `ccids`. */
  readonly rxCcids?: ReadonlyArray<number> | undefined
  /** The CCIDs this endpoint implements. */
  readonly ccidRegistry: CcidRegistry
  /** Sequence Window/us proposed at connection start (§7.5.2); 100 is the default value. */
  readonly sequenceWindow: number
  /** Send NDP Count options (§7.7.2). */
  readonly sendNdpCount: boolean
  /** Partial checksum coverage for our data packets, 0 = full (§9.2). Ignored over UDP. */
  readonly sendCsCov: number
  /** Minimum Checksum Coverage we accept, 0 = full only (§9.2.1). Ignored over UDP. */
  readonly minimumChecksumCoverage: number
  /** Ask the peer for Data Checksum options on its data (§9.3.1). */
  readonly checkDataChecksum: boolean
  /** Declare this endpoint ECN incapable as a receiver (§12.1). */
  readonly ecnIncapable: boolean
  /** Send queue capacity in datagrams (Linux `tx_qlen`). */
  readonly txQueueLength: number
  readonly queuePolicy: QueuePolicy
  /** Undelivered data events kept before data is dropped (Data Dropped code 2, §11.7). */
  readonly receiveBufferPackets: number
  /** Request retransmission (§8.1.1). */
  readonly request: RetransmitSchedule
  /** PARTOPEN Ack retransmission (§8.1.5). */
  readonly partOpen: RetransmitSchedule
  /** CloseReq and Close retransmission (§8.3). */
  readonly close: RetransmitSchedule
  /** How long a server waits in RESPOND for the handshake Ack. */
  readonly respondTimeoutMs: number
  /** TIMEWAIT duration: 2 MSL in the RFC, 60 s in Linux (§8.3). */
  readonly timewaitMs: number
  /** Minimum interval between Syncs sent for sequence-invalid packets (§7.5.4). */
  readonly syncRateLimitMs: number
  /** How long `close()` lets queued data drain before sending Close. */
  readonly lingerMs: number
  /** A server's `close()` sends Close and holds TIMEWAIT itself (Linux DCCP_SOCKOPT_SERVER_TIMEWAIT). */
  readonly serverTimewait: boolean
  /** Transmissions of an unconfirmed Change before giving up (§6.6.3). */
  readonly maxChangeTransmissions: number
  /** Receive history kept for Ack Vectors, in packets. */
  readonly maxAckHistory: number
}

/**
 * Defaults: Linux 6.1's values where it has one (tx_qlen 5, sequence window
 * 100, TIMEWAIT 60 s, request_retries 6, retries2 15), RFC 4340's otherwise.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultConfig: Omit<ConnectionConfig, "random"> = {
  encapsulation: "ip",
  pathMtu: 1500,
  ccids: [2],
  ccidRegistry: new Map([[2, ccid2()], [3, ccid3()]]),
  sequenceWindow: 100,
  sendNdpCount: false,
  sendCsCov: 0,
  minimumChecksumCoverage: 0,
  checkDataChecksum: false,
  ecnIncapable: true,
  txQueueLength: 5,
  queuePolicy: "simple",
  receiveBufferPackets: 1024,
  request: { initialMs: 1_000, maxMs: 64_000, retries: 6 },
  partOpen: { initialMs: 200, maxMs: 64_000, retries: 10 },
  close: { initialMs: 1_000, maxMs: 64_000, retries: 15 },
  respondTimeoutMs: 30_000,
  timewaitMs: 60_000,
  syncRateLimitMs: 125,
  lingerMs: 2_000,
  serverTimewait: false,
  maxChangeTransmissions: 16,
  maxAckHistory: 16_384
}

/**
 * A full configuration from the defaults and the caller's overrides.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeConfig = (overrides: Partial<ConnectionConfig> & Pick<ConnectionConfig, "random">): ConnectionConfig => ({
  ...defaultConfig,
  ...overrides
})
