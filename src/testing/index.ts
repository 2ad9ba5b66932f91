/**
 * `effect-mio/testing`: a seeded, deterministic simulated network and
 * in-memory transports, to prove protocols and applications under loss,
 * delay, duplication and reordering without sockets.
 *
 * - `SimNet` — the network as an Effect service on the `Clock` (the
 *   `TestClock` in tests): `pair`, `drive`, `advance`, faults, trace.
 * - `MemoryDatagram` — `DatagramSocket` and the connected `UdpLike` on it.
 * - `MemorySocket` — `Socket` and `SocketServer` on it.
 * - `Network` — the synchronous core, for sans-IO engines in a plain loop.
 * - `Impairment` — the pure per-link conditions model (shared with the lossy
 *   UDP relay).
 * - `Trace`, `Prng` — the event record and the seeded generator.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Impairment from "./Impairment.ts"

/**
 * @since 0.1.0
 */
export * as MemoryDatagram from "./MemoryDatagram.ts"

/**
 * @since 0.1.0
 */
export * as MemorySocket from "./MemorySocket.ts"

/**
 * @since 0.1.0
 */
export * as Network from "./Network.ts"

/**
 * @since 0.1.0
 */
export * as Prng from "./Prng.ts"

/**
 * A lossy UDP relay over real sockets, with SimNet's impairment model.
 *
 * @since 0.1.0
 */
export * as Relay from "./Relay.ts"

/**
 * @since 0.1.0
 */
export * as SimNet from "./SimNet.ts"

/**
 * @since 0.1.0
 */
export * as Trace from "./Trace.ts"
