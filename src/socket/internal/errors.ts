/**
 * `IoError` → Effect's own socket error reasons, where they fit.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import * as DatagramSocket from "effect/socket/DatagramSocket"
import * as Socket from "effect/socket/Socket"
import * as SocketServer from "effect/socket/SocketServer"
import type { IoError } from "../../IoError.ts"
import * as SocketAddress from "../../net/SocketAddress.ts"

/** @internal */
export const openError = (cause: IoError): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketOpenError({ kind: cause.kind === "TimedOut" ? "Timeout" : "Unknown", cause }) })

/** @internal */
export const readError = (cause: IoError): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketReadError({ cause }) })

/** @internal */
export const writeError = (cause: IoError): Socket.SocketError =>
  new Socket.SocketError({ reason: new Socket.SocketWriteError({ cause }) })

/** @internal */
export const closeError = (code: number, closeReason?: string): Socket.SocketError =>
  new Socket.SocketError({
    reason: new Socket.SocketCloseError(closeReason === undefined ? { code } : { code, closeReason })
  })

/** @internal */
export const serverOpenError = (cause: IoError): SocketServer.SocketServerError =>
  new SocketServer.SocketServerError({ reason: new SocketServer.SocketServerOpenError({ cause }) })

/** @internal */
export const serverError = (cause: IoError): SocketServer.SocketServerError =>
  new SocketServer.SocketServerError({ reason: new SocketServer.SocketServerUnknownError({ cause }) })

/** @internal */
export const datagramOpenError = (cause: IoError): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketOpenError({
      kind: cause.kind === "AddressInUse" || cause.kind === "AddressNotAvailable" || cause.kind === "PermissionDenied"
        ? cause.kind
        : "Unknown",
      cause
    })
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
  new DatagramSocket.DatagramSocketError({ reason: new DatagramSocket.DatagramSocketReadError({ kind: datagramIoKind(cause), cause }) })

/** @internal */
export const datagramWriteError = (cause: IoError, address?: SocketAddress.SocketAddress): DatagramSocket.DatagramSocketError =>
  new DatagramSocket.DatagramSocketError({
    reason: new DatagramSocket.DatagramSocketWriteError({
      kind: datagramIoKind(cause),
      cause,
      ...(address !== undefined && SocketAddress.isInet(address) ? { address } : {})
    })
  })
