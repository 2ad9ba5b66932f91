/**
 * What a socket carried over its life: bytes and datagrams each way, counted
 * where they move (one addition per call that moved something). Nothing reads
 * them on the data path; effect-mio's metrics read them when a snapshot is
 * taken (docs/observability.md).
 *
 * Internal module: not part of the public API (not exported from the package index).
 */

/** @internal */
export class Traffic {
  /** Payload bytes received (stream bytes read, datagram bytes received). */
  bytesReceived = 0
  /** Payload bytes sent. */
  bytesSent = 0
  /** Datagrams received (datagram sockets only). */
  datagramsReceived = 0
  /** Datagrams sent (datagram sockets only). */
  datagramsSent = 0
}
