/**
 * The one syscall gate. A libc call returns a number; when it is negative the
 * gate reads errno once, at once, and classifies it:
 * - `EINTR`: the call is retried;
 * - `EAGAIN`/`EWOULDBLOCK`: the `WouldBlock` sentinel (a symbol, no allocation);
 * - anything else: an `Errno` value (a plain object, no stack capture).
 *
 * Nothing here throws or knows about Effect; the floors above turn an `Errno`
 * into a typed `IoError`.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import { EAGAIN, EINTR } from "./constants.ts"
import { errnoName } from "./errno.ts"
import { libc } from "./libc.ts"

/**
 * Returned instead of an error when a non-blocking operation would block. It is
 * a single shared symbol: returning it allocates nothing.
 *
 * @since 0.1.0
 * @category symbols
 */
export const WouldBlock: unique symbol = Symbol.for("effect-mio/WouldBlock")

/**
 * @since 0.1.0
 * @category symbols
 */
export type WouldBlock = typeof WouldBlock

/**
 * A failed syscall: the errno it set and the syscall's name.
 *
 * @since 0.1.0
 * @category models
 */
export class Errno {
  readonly errno: number
  readonly syscall: string
  constructor(errno: number, syscall: string) {
    this.errno = errno
    this.syscall = syscall
  }
  get code(): string {
    return errnoName(this.errno)
  }
}

/** @internal */
export type SysResult = number | WouldBlock | Errno

/** `true` when a gate result is a success value. @internal */
export const isOk = (r: SysResult): r is number => typeof r === "number"

/**
 * Runs `op` (one libc call) through the gate. `op` is called again on `EINTR`.
 * Hot paths call `gate` with a call they already made (see `check`) to avoid
 * the closure.
 *
 * @internal
 */
export const call = (syscall: string, op: () => number): SysResult => {
  for (;;) {
    const r = op()
    if (r >= 0) return r
    const e = libc().errno()
    if (e === EINTR) continue
    return e === EAGAIN ? WouldBlock : new Errno(e, syscall)
  }
}

/**
 * Classifies the result of a call that has already returned a negative value:
 * reads errno now. Returns `undefined` for `EINTR`, so a caller's loop retries.
 *
 * @internal
 */
export const failure = (syscall: string): WouldBlock | Errno | undefined => {
  const e = libc().errno()
  if (e === EINTR) return undefined
  return e === EAGAIN ? WouldBlock : new Errno(e, syscall)
}
