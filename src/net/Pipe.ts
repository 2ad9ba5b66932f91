/**
 * A Unix pipe with mio's contract (`mio::unix::pipe`): both ends non-blocking and
 * close-on-exec (`pipe2(O_NONBLOCK | O_CLOEXEC)`), both `Source`s. Closing the
 * `Sender` makes the `Receiver` report `isReadClosed`; closing the `Receiver`
 * makes the `Sender` report `isWriteClosed` (and writes fail with `BrokenPipe`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as check from "../internal/check.ts"
import * as IoError from "../IoError.ts"
import { isOk } from "../sys/call.ts"
import * as fd from "../sys/fd.ts"
import { IoSource } from "../poll/IoSource.ts"
import type { WouldBlock } from "../WouldBlock.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-mio/Pipe"

abstract class PipeEnd extends IoSource {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId

  /**
   * Puts the end in blocking or non-blocking mode (for handing it to a child
   * process that expects blocking I/O).
   *
   * @since 0.1.0
   */
  setNonblocking(nonblocking: boolean): IoError.IoError | undefined {
    if (this.fd < 0) return IoError.closed("fcntl")
    const bad = check.requiredBoolean("nonblocking", nonblocking)
    if (bad !== undefined) return IoError.make("InvalidInput", "fcntl", bad)
    const r = fd.setNonblocking(this.fd, nonblocking)
    return isOk(r) ? undefined : IoError.fromFailure(r, "fcntl")
  }
}

/**
 * The write end.
 *
 * @since 0.1.0
 * @category models
 */
export class Sender extends PipeEnd {
  /** Writes from `buf`: bytes written, `WouldBlock` when the pipe is full. @since 0.1.0 */
  write(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysWrite(buf)
  }
  /** Writes from the buffers in order (one `writev`). @since 0.1.0 */
  writev(bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError.IoError {
    return this.sysWritev(bufs)
  }
}

/**
 * The read end.
 *
 * @since 0.1.0
 * @category models
 */
export class Receiver extends PipeEnd {
  /** Reads into `buf`: bytes read (0 at end of stream) or `WouldBlock`. @since 0.1.0 */
  read(buf: Uint8Array): number | WouldBlock | IoError.IoError {
    return this.sysRead(buf)
  }
  /** Reads into the buffers in order (one `readv`). @since 0.1.0 */
  readv(bufs: ReadonlyArray<Uint8Array>): number | WouldBlock | IoError.IoError {
    return this.sysReadv(bufs)
  }
}

/**
 * Opens a pipe; both ends close with the Scope (or earlier with `close()`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (): Effect.Effect<readonly [Sender, Receiver], IoError.IoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const r = fd.pipe()
      if ("errno" in r) return Effect.fail(IoError.fromErrno(r))
      return Effect.succeed([new Sender(r[1]), new Receiver(r[0])] as const)
    }),
    ([sender, receiver]) =>
      Effect.sync(() => {
        sender.close()
        receiver.close()
      })
  )
