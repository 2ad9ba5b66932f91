/**
 * The error of the `Dccp` API. `kind` says what happened; a Reset from the peer
 * carries its `resetCode` (RFC 4340 §5.6), an I/O failure its `IoError` cause
 * (whose errno name, syscall and address the message repeats), and an error of
 * a connection the peer's `address`. The message reads, for instance,
 * `ConnectionRefused (Reset code 3): no DCCP listener on the port (Reset: No
 * Connection) [127.0.0.1:5001]`.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { IoError } from "../IoError.ts"

/**
 * @since 0.1.0
 * @category models
 */
export const DccpErrorKind = Schema.Literals([
  /** Nothing listens on the port: Reset(No Connection, 3) during the handshake. */
  "ConnectionRefused",
  /** The server does not offer the service code: Reset(Bad Service Code, 8). */
  "BadServiceCode",
  /** The peer reset the connection; see `resetCode`. */
  "Reset",
  /** This endpoint reset the peer for a protocol violation (option or Mandatory errors). */
  "ProtocolError",
  /** Retransmissions were exhausted (Request, Response or Close), or `connectTimeout` passed. */
  "TimedOut",
  /** The connection was aborted locally. */
  "Aborted",
  /** The connection is closed (an operation after close, or the end of `recv`). */
  "Closed",
  /** A datagram longer than the connection's maximum packet size (MPS). */
  "MessageTooLarge",
  /** Raw IP needs `CAP_NET_RAW`. */
  "PermissionDenied",
  /** The transport or option is not available here (kernel DCCP on Linux ≥ 6.16, CCID 3). */
  "Unsupported",
  /** A bad address, service code or option value. */
  "InvalidInput",
  /** The socket layer failed; see `cause`. */
  "Io"
])

/**
 * @since 0.1.0
 * @category models
 */
export type DccpErrorKind = typeof DccpErrorKind.Type

/**
 * @since 0.1.0
 * @category errors
 */
export class DccpError extends Schema.TaggedError<DccpError>()("DccpError", {
  kind: DccpErrorKind,
  detail: Schema.String,
  resetCode: Schema.optional(Schema.Number),
  /** The peer of the connection the error belongs to (`"10.0.0.2:5001"`), when there is one. */
  address: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    const code = this.resetCode === undefined ? "" : ` (Reset code ${this.resetCode})`
    const where = this.address === undefined || this.detail.includes(this.address) ? "" : ` [${this.address}]`
    return `${this.kind}${code}: ${this.detail}${where}`
  }
}

/**
 * `e` as the error of the connection with `address` (kept when it names one
 * already).
 *
 * @since 0.2.0
 * @category constructors
 */
export const withAddress = (e: DccpError, address: string): DccpError =>
  e.address !== undefined
    ? e
    : new DccpError({
      kind: e.kind,
      detail: e.detail,
      address,
      ...(e.resetCode === undefined ? {} : { resetCode: e.resetCode }),
      ...(e.cause === undefined ? {} : { cause: e.cause })
    })

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (kind: DccpErrorKind, detail: string, resetCode?: number): DccpError =>
  new DccpError(resetCode === undefined ? { kind, detail } : { kind, detail, resetCode })

/**
 * An I/O failure of the transport, keeping `PermissionDenied`/`InvalidInput`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromIo = (cause: IoError): DccpError =>
  new DccpError({
    kind: cause.kind === "PermissionDenied" ? "PermissionDenied" : cause.kind === "InvalidInput" ? "InvalidInput" : cause.kind === "Unsupported" ? "Unsupported" : "Io",
    detail: cause.message,
    cause
  })

/** RFC 4340 §5.6 reset codes, by number. */
const resetNames: ReadonlyArray<string> = [
  "Unspecified", "Closed", "Aborted", "No Connection", "Packet Error", "Option Error",
  "Mandatory Error", "Connection Refused", "Bad Service Code", "Too Busy", "Bad Init Cookie",
  "Aggression Penalty"
]

/**
 * The name of a Reset code (`"Bad Service Code"` for 8).
 *
 * @since 0.1.0
 * @category formatting
 */
export const resetName = (code: number): string => resetNames[code] ?? (code >= 128 ? `CCID-specific ${code}` : `Reserved ${code}`)
