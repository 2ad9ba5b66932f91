/**
 * `IoError` → Effect's own socket error reasons, where they fit — each with a
 * message that says what happened: the phase, then the `IoError`'s errno name,
 * syscall, address and text (`Open failed: connect ECONNREFUSED 127.0.0.1:1
 * (Connection refused)`). Effect's reasons carry a fixed message (`An error
 * occurred during Open`, or an empty one); the wrappers (`SocketError`,
 * `DatagramSocketError`, `SocketServerError`) take theirs from the reason, so
 * `message` and `Cause.pretty` show ours. Everything else — tags, `kind`,
 * `cause` — is Effect's, so `Effect.catchReason` works as with Node's adapters.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as DatagramSocket from "effect/socket/DatagramSocket"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import { IoError } from "../../IoError.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"

/** `reason`, whose message now says what failed and why. Must run before the reason is wrapped. */
const saying = <R extends object>(reason: R, what: string, cause: IoError): R => {
  Object.defineProperty(reason, "message", {
    value: `${what}: ${cause.message}`,
    enumerable: false,
    writable: true,
    configurable: true
  })
  return reason
}

/** @internal */
export const openError = (cause: IoError): Socket.SocketError => {
  const timeout = cause.kind === "TimedOut"
  return new Socket.SocketError({
    reason: saying(new Socket.SocketOpenError({ kind: timeout ? "Timeout" : "Unknown", cause }), timeout ? "Open timed out" : "Open failed", cause)
  })
}

/** @internal */
export const readError = (cause: IoError): Socket.SocketError =>
  new Socket.SocketError({ reason: saying(new Socket.SocketReadError({ cause }), "Read failed", cause) })

/** @internal */
export const writeError = (cause: IoError): Socket.SocketError =>
  new Socket.SocketError({ reason: saying(new Socket.SocketWriteError({ cause }), "Write failed", cause) })

/** @internal */
export const closeError = (code: number, closeReason?: string): Socket.SocketError =>
  new Socket.SocketError({
    reason: new Socket.SocketCloseError(closeReason === undefined ? { code } : { code, closeReason })
  })

/**
 * A failed TLS upgrade. The cause is an `IoError` (a bad option, a closed
 * connection) or node:tls's own error, kept as it is so code matching on
 * `cause.code` works as with `NodeSocket`; the message says why, with that code
 * (`Upgrade failed: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`).
 *
 * @internal
 */
export const upgradeError = (cause: unknown): Socket.SocketError => {
  const reason = new Socket.SocketUpgradeError({ cause })
  if (cause instanceof Error) {
    const code = (cause as { readonly code?: unknown }).code
    const named = typeof code === "string" && !(cause instanceof IoError) && !cause.message.includes(code)
    Object.defineProperty(reason, "message", {
      value: `Upgrade failed: ${cause.message}${named ? ` (${code})` : ""}`,
      enumerable: false,
      writable: true,
      configurable: true
    })
  }
  return new Socket.SocketError({ reason })
}

/** @internal */
export const serverOpenError = (cause: IoError): SocketServer.SocketServerError =>
  new SocketServer.SocketServerError({ reason: saying(new SocketServer.SocketServerOpenError({ cause }), "Open failed", cause) })

/** @internal */
export const serverError = (cause: IoError): SocketServer.SocketServerError =>
  new SocketServer.SocketServerError({ reason: saying(new SocketServer.SocketServerUnknownError({ cause }), "Accept failed", cause) })

/** @internal */
export const datagramOpenError = (cause: IoError): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({
    reason: saying(
      new DatagramSocket.DatagramSocketOpenError({
        kind: cause.kind === "AddressInUse" || cause.kind === "AddressNotAvailable" || cause.kind === "PermissionDenied"
          ? cause.kind
          : "Unknown",
        cause
      }),
      "Open failed",
      cause
    )
  })

/** @internal */
export const datagramIoKind = (cause: IoError): DatagramSocket.IoErrorKind => {
  switch (cause.kind) {
    case "MessageTooLarge":
    case "ConnectionRefused":
    case "PermissionDenied":
      return cause.kind
    case "HostUnreachable":
    case "NetworkUnreachable":
    case "NetworkDown":
      return "Unreachable"
    default:
      return "Unknown"
  }
}

/** @internal */
export const datagramReadError = (cause: IoError): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({
    reason: saying(new DatagramSocket.DatagramSocketReadError({ kind: datagramIoKind(cause), cause }), "Read failed", cause)
  })

/** @internal */
export const datagramWriteError = (cause: IoError, address?: SocketAddress.SocketAddress): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({
    reason: saying(
      new DatagramSocket.DatagramSocketWriteError({
        kind: datagramIoKind(cause),
        cause,
        ...(address !== undefined && SocketAddress.isInet(address) ? { address } : {})
      }),
      "Write failed",
      cause
    )
  })
