/**
 * The one error of `Clt`, `Svc` and the hooks' connection handle. `kind` says
 * what happened, `connection` names the connection (links' id form), and
 * `cause` holds the underlying `FrameError`, `CodecError`, `SocketError` or a
 * protocol hook's failure.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * - `ConnectFailed`: dialing failed (after the retries, within the timeout).
 * - `TimedOut`: the connect timeout passed, or the peer was silent past the
 *   heartbeat timeout (a dead peer).
 * - `HandshakeFailed`: the protocol's `onConnect` failed (a `Svc` refuses the
 *   connection; `Clt.connect` fails with it).
 * - `Closed`: the connection is closed (the peer ended it, or this side did);
 *   any operation afterwards.
 * - `NotConnected`: `Svc.send` to a connection it does not have.
 * - `Frame`, `Decode`, `Encode`: bad bytes or a message that cannot be sent
 *   (`cause` is the `FrameError` or `CodecError`). Bad input ends the connection.
 * - `Transport`: the socket failed (a reset, a write error).
 * - `Protocol`: a protocol hook failed.
 * - `InvalidInput`: an option of `Clt.connect` or `Svc.bind` is out of range
 *   or of the wrong type (the detail names it and shows the value); nothing
 *   was opened.
 *
 * @since 0.2.0
 * @category models
 */
export const MessagingErrorKind = Schema.Literals([
  "ConnectFailed",
  "TimedOut",
  "HandshakeFailed",
  "Closed",
  "NotConnected",
  "Frame",
  "Decode",
  "Encode",
  "Transport",
  "Protocol",
  "InvalidInput"
])

/**
 * @since 0.2.0
 * @category models
 */
export type MessagingErrorKind = typeof MessagingErrorKind.Type

/**
 * @since 0.2.0
 * @category errors
 */
export class MessagingError extends Schema.TaggedError<MessagingError>()("MessagingError", {
  kind: MessagingErrorKind,
  connection: Schema.String,
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return `${this.connection}: ${this.kind}: ${this.detail}`
  }
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const make = (kind: MessagingErrorKind, connection: { toString(): string }, detail: string, cause?: unknown): MessagingError =>
  new MessagingError({ kind, connection: connection.toString(), detail, ...(cause === undefined ? {} : { cause }) })

/**
 * @since 0.2.0
 * @category guards
 */
export const isMessagingError = (u: unknown): u is MessagingError => u instanceof MessagingError
