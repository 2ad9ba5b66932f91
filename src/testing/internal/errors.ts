/**
 * The simulated sockets' errors, built as the real adapters build theirs
 * (`src/socket/internal/errors.ts`): Effect's reasons with an `IoError` cause,
 * and a message that says the phase and the cause (`Open failed: connect
 * ECONNREFUSED 10.0.0.2:80 (Connection refused)`), so a test that swaps the
 * real layers for the simulated ones reads the same errors.
 *
 * Internal module: not part of the public API.
 */
import * as IoError from "../../IoError.ts"

export { checkedWriter } from "../../socket/internal/checkedWriter.ts"
export { datagramOpenError, datagramWriteError, openError, serverOpenError, writeError } from "../../socket/internal/errors.ts"

/** An error as the kernel would report it on a real socket: `errno`, the call and the address. @internal */
export const simulated = (errno: number, syscall: string, address?: string, detail?: string): IoError.IoError =>
  new IoError.IoError({
    kind: IoError.kindOfErrno(errno),
    errno,
    syscall,
    ...(address === undefined ? {} : { address }),
    ...(detail === undefined ? {} : { detail })
  })
