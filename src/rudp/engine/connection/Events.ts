/**
 * What a connection tells its driver and its peer about how it ends: the CLOSE
 * codes on the wire, the reasons a connection ended, the events the engine
 * emits, and what `send` answers.
 *
 * @since 0.2.0
 */
/**
 * Close codes carried by CLOSE frames.
 *
 * @since 0.2.0
 * @category constants
 */
export const CloseCode = {
  /** A graceful close: everything outstanding was delivered. */
  graceful: 0,
  /** A graceful close that ran out of time (`closeTimeout`) with data outstanding. */
  lingerTimeout: 1,
  /** The application aborted. */
  aborted: 2,
  /** The peer's parameters or version are unacceptable. */
  incompatible: 3,
  /** A server refused the connection (in a Retry packet: it is full). */
  refused: 4,
  /** The peer's HELLO failed authentication (a wrong key). */
  unauthenticated: 5
} as const

/**
 * Why a connection ended.
 *
 * @since 0.2.0
 * @category models
 */
export type CloseReason =
  /** This end closed gracefully: every Delivery message it sent was acknowledged. */
  | { readonly kind: "local" }
  /** The peer closed (its code and reason; code 0 is graceful). */
  | { readonly kind: "peer"; readonly code: number; readonly reason: string }
  /** No packet from the peer for the idle timeout (during the handshake or after). */
  | { readonly kind: "timeout"; readonly phase: "handshake" | "idle" }
  /** A graceful close ran out of time; `abandoned` Delivery messages were not acknowledged. */
  | { readonly kind: "linger-timeout"; readonly abandoned: number }
  /** `abort()` was called. */
  | { readonly kind: "aborted" }
  /** No common version, or unacceptable parameters. */
  | { readonly kind: "incompatible"; readonly detail: string }
  /** The server refused the connection (it has `maxPeers` peers); `detail` is its reason. */
  | { readonly kind: "refused"; readonly detail: string }
  /** Encryption: the peer's HELLO was not authenticated by the shared secret (a wrong key). */
  | { readonly kind: "unauthenticated"; readonly detail: string }

/**
 * What the engine tells its driver.
 *
 * @since 0.2.0
 * @category models
 */
export type EngineEvent =
  /** The handshake is done: both ends have each other's parameters. */
  | { readonly type: "connected" }
  /** `send` refused a message for a full queue earlier; there is room for it now. */
  | { readonly type: "writable" }
  /** A message queued before the handshake was longer than the peer accepts: dropped. */
  | { readonly type: "dropped"; readonly id: number; readonly reason: "too-large" }
  /** The peer closed; messages already received can still be read. */
  | { readonly type: "peer-closing"; readonly code: number; readonly reason: string }
  /** The connection is over; emitted once, last. */
  | { readonly type: "closed"; readonly reason: CloseReason }

/**
 * What `send` did: the message's id (a running number, all tiers), or why it
 * was refused — `"blocked"` (the send queue is full: wait for `writable`),
 * `"too-large"` (over the maximum message size) or `"closed"`.
 *
 * @since 0.2.0
 * @category models
 */
export type SendResult = number | "blocked" | "too-large" | "closed"
