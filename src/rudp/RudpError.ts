/**
 * The one error of the reliable-UDP API. `kind` says what happened; the
 * datagram transport's own failure is the `cause` of kind `Transport`.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"
import type { CloseReason } from "./engine/Connection.ts"

/**
 * @since 0.2.0
 * @category models
 */
export const RudpErrorKind = Schema.Literals([
  /** A message longer than the connection's maximum message size (`size` and `limit` say how long). */
  "MessageTooLarge",
  /** This endpoint was closed: an operation after `close`, or the end of `take` after a local close. */
  "Closed",
  /** The peer closed the connection (`code` 0 is a graceful close). */
  "PeerClosed",
  /** The peer was silent for the idle timeout. */
  "PeerTimedOut",
  /** The handshake did not complete within the idle timeout. */
  "HandshakeTimedOut",
  /** A graceful close ran out of time with messages unacknowledged. */
  "CloseTimedOut",
  /** The connection was aborted locally. */
  "Aborted",
  /** No common protocol version, or parameters this end cannot accept. */
  "Incompatible",
  /** `asSet` began while written bytes were not sent (configuration `newSetUnsent: "fail"`). */
  "WrittenNotSent",
  /** A configuration value is out of range. */
  "InvalidConfig",
  /** An argument of a call is of the wrong type or out of range (a guarantee, a payload, a message id); nothing was sent. */
  "InvalidInput",
  /** The datagram transport failed; see `cause`. */
  "Transport",
  /** The server refused the connection (it has `maxPeers` peers). */
  "Refused",
  /** Encryption: the peer's HELLO was not authenticated by the shared secret, or the peer could not authenticate ours (a wrong key). */
  "AuthenticationFailed"
])

/**
 * @since 0.2.0
 * @category models
 */
export type RudpErrorKind = typeof RudpErrorKind.Type

/**
 * @since 0.2.0
 * @category errors
 */
export class RudpError extends Schema.TaggedError<RudpError>()("RudpError", {
  kind: RudpErrorKind,
  detail: Schema.String,
  /** The CLOSE code of `PeerClosed`. */
  code: Schema.optional(Schema.Number),
  /** Sizes of `MessageTooLarge`. */
  size: Schema.optional(Schema.Number),
  limit: Schema.optional(Schema.Number),
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return `${this.kind}: ${this.detail}`
  }
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const make = (kind: RudpErrorKind, detail: string): RudpError => new RudpError({ kind, detail })

/**
 * A message of `size` bytes over `limit`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const messageTooLarge = (size: number, limit: number): RudpError =>
  new RudpError({ kind: "MessageTooLarge", detail: `a message of ${size} bytes is over the limit of ${limit} bytes`, size, limit })

/**
 * The transport failed with `cause`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const transport = (cause: unknown): RudpError =>
  new RudpError({
    kind: "Transport",
    detail: cause instanceof Error ? cause.message : String(cause),
    cause
  })

/**
 * The error a connection's end means for its users.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromCloseReason = (reason: CloseReason): RudpError => {
  switch (reason.kind) {
    case "local":
      return make("Closed", "the endpoint was closed")
    case "peer":
      if (reason.code === 5) return make("AuthenticationFailed", "the peer could not authenticate this end (a wrong key)")
      return new RudpError({
        kind: "PeerClosed",
        detail: reason.code === 0 ? "the peer closed the connection" : `the peer closed the connection (code ${reason.code}: ${reason.reason})`,
        code: reason.code
      })
    case "timeout":
      return reason.phase === "handshake"
        ? make("HandshakeTimedOut", "the peer did not answer the handshake within the idle timeout")
        : make("PeerTimedOut", "nothing was heard from the peer for the idle timeout")
    case "linger-timeout":
      return make("CloseTimedOut", `the close ran out of time with ${reason.abandoned} messages unacknowledged`)
    case "aborted":
      return make("Aborted", "the connection was aborted")
    case "incompatible":
      return make("Incompatible", reason.detail)
    case "unauthenticated":
      return make("AuthenticationFailed", reason.detail)
    case "refused":
      return make("Refused", `the server refused the connection: ${reason.detail}`)
  }
}
