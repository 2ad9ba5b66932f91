/**
 * errno names and messages. Names come from Node's own table (`os.constants.errno`),
 * messages from the C library's `strerror`, so they match what `perror` prints.
 *
 * @internal
 */
import { constants } from "node:os"

let names: Map<number, string> | undefined

/** `"ECONNREFUSED"` for 111, `"E<n>"` for a number the platform does not name. @internal */
export const errnoName = (errno: number): string => {
  if (names === undefined) {
    names = new Map()
    for (const [name, value] of Object.entries(constants.errno)) {
      // EWOULDBLOCK aliases EAGAIN and EDEADLOCK aliases EDEADLK; keep the canonical names.
      if (!names.has(value)) names.set(value, name)
    }
  }
  return names.get(errno) ?? `E${errno}`
}

const messages = new Map<number, string>()

/** The C library's text for `errno` (`strerror`). @internal */
export const errnoMessage = (errno: number, strerror: (errno: number) => string): string => {
  let m = messages.get(errno)
  if (m === undefined) {
    m = strerror(errno)
    messages.set(errno, m)
  }
  return m
}
