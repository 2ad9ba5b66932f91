/**
 * The one error type of effect-mio's I/O floors (readiness, sockets, reactor).
 *
 * An `IoError` carries a `kind` to match on (the same vocabulary as Rust's
 * `std::io::ErrorKind`, which mio users know), the `errno` and `syscall` it came
 * from when the kernel reported it, and the `address` involved when there was one.
 * Errors found before reaching the kernel (a malformed address, an option out of
 * range, an operation on a closed socket) have `errno` 0 and a `detail`.
 *
 * At the readiness level, non-blocking operations return an `IoError` as a value
 * (`n | WouldBlock | IoError`); it is yieldable, so `return yield* err` fails the
 * surrounding Effect with it.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import * as C from "./sys/constants.ts"
import { type Errno, WouldBlock } from "./sys/call.ts"
import { errnoMessage, errnoName } from "./sys/errno.ts"
import { libc } from "./sys/libc.ts"

/**
 * What went wrong, independent of the errno that reported it.
 *
 * @since 0.1.0
 * @category models
 */
export const IoErrorKind = Schema.Literals([
  "NotFound",
  "PermissionDenied",
  "ConnectionRefused",
  "ConnectionReset",
  "ConnectionAborted",
  "NotConnected",
  "AlreadyConnected",
  "InProgress",
  "AddressInUse",
  "AddressNotAvailable",
  "HostUnreachable",
  "NetworkUnreachable",
  "NetworkDown",
  "BrokenPipe",
  "AlreadyExists",
  "InvalidInput",
  "MessageTooLarge",
  "TimedOut",
  "Interrupted",
  "Unsupported",
  "OutOfMemory",
  "TooManyOpenFiles",
  "ResourceBusy",
  "Closed",
  "Other"
])

/**
 * @since 0.1.0
 * @category models
 */
export type IoErrorKind = typeof IoErrorKind.Type

/**
 * The typed error of every I/O operation.
 *
 * @since 0.1.0
 * @category errors
 */
export class IoError extends Schema.TaggedError<IoError>()("IoError", {
  kind: IoErrorKind,
  errno: Schema.Number,
  syscall: Schema.String,
  address: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String),
  /** What reported the error, when it was not the kernel (a `Dns.DnsError` for a failed lookup). */
  cause: Schema.optional(Schema.Defect())
}) {
  /**
   * The errno's symbolic name (`"ECONNREFUSED"`), or `undefined` when the error
   * did not come from the kernel.
   *
   * @since 0.1.0
   */
  get code(): string | undefined {
    return this.errno === 0 ? undefined : errnoName(this.errno)
  }

  /**
   * For an error from the kernel, as Node writes it, with the C library's text:
   * `connect ECONNREFUSED 127.0.0.1:1 (Connection refused)`; for one found
   * before the kernel, what was wrong: `bind: port 70000 is out of range [x]`.
   */
  override get message(): string {
    if (this.errno === 0) {
      return `${this.syscall}: ${this.detail ?? this.kind}${this.address === undefined ? "" : ` [${this.address}]`}`
    }
    const where = this.address === undefined ? "" : ` ${this.address}`
    const extra = this.detail === undefined ? "" : `: ${this.detail}`
    return `${this.syscall} ${this.code}${where} (${errnoMessage(this.errno, libc().strerror)})${extra}`
  }

  /**
   * `true` for any `IoError` (a guard for the `n | WouldBlock | IoError` results).
   *
   * @since 0.1.0
   */
  static is(u: unknown): u is IoError {
    return u instanceof IoError
  }
}

/**
 * The kind for an errno, after Rust's `std::sys::decode_error_kind` on Linux.
 *
 * @since 0.1.0
 * @category constructors
 */
export const kindOfErrno = (errno: number): IoErrorKind => {
  switch (errno) {
    case C.ENOENT:
      return "NotFound"
    case C.EPERM:
    case C.EACCES:
      return "PermissionDenied"
    case C.ECONNREFUSED:
      return "ConnectionRefused"
    case C.ECONNRESET:
    case C.ENETRESET:
      return "ConnectionReset"
    case C.ECONNABORTED:
      return "ConnectionAborted"
    case C.ENOTCONN:
    case C.EDESTADDRREQ:
      return "NotConnected"
    case C.EISCONN:
      return "AlreadyConnected"
    case C.EINPROGRESS:
    case C.EALREADY:
      return "InProgress"
    case C.EADDRINUSE:
      return "AddressInUse"
    case C.EADDRNOTAVAIL:
      return "AddressNotAvailable"
    case C.EHOSTUNREACH:
    case C.EHOSTDOWN:
      return "HostUnreachable"
    case C.ENETUNREACH:
      return "NetworkUnreachable"
    case C.ENETDOWN:
      return "NetworkDown"
    case C.EPIPE:
    case C.ESHUTDOWN:
      return "BrokenPipe"
    case C.EEXIST:
      return "AlreadyExists"
    case C.EINVAL:
    case C.ENAMETOOLONG:
    case C.EAFNOSUPPORT:
    case C.ENOTSOCK:
    case C.EPROTOTYPE:
    case C.ENOPROTOOPT:
    case C.EFAULT:
      return "InvalidInput"
    case C.EMSGSIZE:
      return "MessageTooLarge"
    case C.ETIMEDOUT:
      return "TimedOut"
    case C.EINTR:
      return "Interrupted"
    case C.EOPNOTSUPP:
    case C.EPROTONOSUPPORT:
    case C.ESOCKTNOSUPPORT:
    case C.EPFNOSUPPORT:
    case C.ENOSYS:
      return "Unsupported"
    case C.ENOMEM:
    case C.ENOBUFS:
      return "OutOfMemory"
    case C.EMFILE:
    case C.ENFILE:
      return "TooManyOpenFiles"
    case C.EBUSY:
      return "ResourceBusy"
    case C.EBADF:
      return "Closed"
    default:
      return "Other"
  }
}

/**
 * An `IoError` from a failed syscall.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromErrno = (e: Errno, address?: string): IoError =>
  new IoError({
    kind: kindOfErrno(e.errno),
    errno: e.errno,
    syscall: e.syscall,
    ...(address === undefined ? {} : { address })
  })

/**
 * An `IoError` from a gate failure where blocking is not expected either
 * (`EAGAIN` from a call that should never return it becomes kind `Other`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFailure = (e: Errno | WouldBlock, syscall: string, address?: string): IoError =>
  e === WouldBlock
    ? new IoError({ kind: "Other", errno: C.EAGAIN, syscall, ...(address === undefined ? {} : { address }) })
    : fromErrno(e, address)

/**
 * An `IoError` found before reaching the kernel.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (kind: IoErrorKind, syscall: string, detail: string, address?: string): IoError =>
  new IoError({ kind, errno: 0, syscall, detail, ...(address === undefined ? {} : { address }) })

/**
 * `e` as the failure of `syscall` on `address`: an error the kernel reported
 * later (a connect's `SO_ERROR`) gets the operation and the address it
 * belongs to, for a message such as `connect ECONNREFUSED 127.0.0.1:1`. An
 * address it has already is kept.
 *
 * @since 0.2.0
 * @category constructors
 */
export const during = (e: IoError, syscall: string, address: string | undefined): IoError =>
  e.address !== undefined && e.syscall === syscall
    ? e
    : new IoError({
      kind: e.kind,
      errno: e.errno,
      syscall,
      ...(e.address !== undefined ? { address: e.address } : address !== undefined ? { address } : {}),
      ...(e.detail === undefined ? {} : { detail: e.detail }),
      ...(e.cause === undefined ? {} : { cause: e.cause })
    })

/**
 * The error of an operation on a source that was already closed.
 *
 * @since 0.1.0
 * @category constructors
 */
export const closed = (syscall: string): IoError => make("Closed", syscall, "the source is closed")
