/**
 * errno names and messages. Names come from Node's own table (`os.constants.errno`),
 * messages from the C library's `strerror`, so they match what `perror` prints.
 *
 * Internal module: not part of the public API (not exported from the package index).
 */
import { constants } from "node:os"

let names: Map<number, string> | undefined

/**
 * The Linux errnos Node's table leaves out (libuv names only the portable
 * ones), with the C library's names. Their numbers come from
 * `asm-generic/errno.h`, shared by x86-64 and arm64; `native/probe.c` checks
 * every name against glibc's `strerrorname_np`.
 */
const linuxOnly: ReadonlyArray<readonly [number, string]> = [
  [15, "ENOTBLK"], [44, "ECHRNG"], [45, "EL2NSYNC"], [46, "EL3HLT"], [47, "EL3RST"], [48, "ELNRNG"],
  [49, "EUNATCH"], [50, "ENOCSI"], [51, "EL2HLT"], [52, "EBADE"], [53, "EBADR"], [54, "EXFULL"],
  [55, "ENOANO"], [56, "EBADRQC"], [57, "EBADSLT"], [59, "EBFONT"], [64, "ENONET"], [65, "ENOPKG"],
  [66, "EREMOTE"], [68, "EADV"], [69, "ESRMNT"], [70, "ECOMM"], [73, "EDOTDOT"], [76, "ENOTUNIQ"],
  [77, "EBADFD"], [78, "EREMCHG"], [79, "ELIBACC"], [80, "ELIBBAD"], [81, "ELIBSCN"], [82, "ELIBMAX"],
  [83, "ELIBEXEC"], [85, "ERESTART"], [86, "ESTRPIPE"], [87, "EUSERS"], [94, "ESOCKTNOSUPPORT"],
  [96, "EPFNOSUPPORT"], [108, "ESHUTDOWN"], [109, "ETOOMANYREFS"], [112, "EHOSTDOWN"], [117, "EUCLEAN"],
  [118, "ENOTNAM"], [119, "ENAVAIL"], [120, "EISNAM"], [121, "EREMOTEIO"], [123, "ENOMEDIUM"],
  [124, "EMEDIUMTYPE"], [126, "ENOKEY"], [127, "EKEYEXPIRED"], [128, "EKEYREVOKED"], [129, "EKEYREJECTED"],
  [130, "EOWNERDEAD"], [131, "ENOTRECOVERABLE"], [132, "ERFKILL"], [133, "EHWPOISON"]
]

/**
 * Aliases (one number, two names) where Node lists the alias first: Linux
 * defines `ENOTSUP` as `EOPNOTSUPP`, which is the name `perror` prints.
 */
const canonical: ReadonlyArray<readonly [number, string]> = [[95, "EOPNOTSUPP"]]

/** `"ECONNREFUSED"` for 111, `"E<n>"` for a number the platform does not name. @internal */
export const errnoName = (errno: number): string => {
  if (names === undefined) {
    names = new Map(canonical)
    for (const [name, value] of Object.entries(constants.errno)) {
      // EWOULDBLOCK aliases EAGAIN and EDEADLOCK aliases EDEADLK; keep the canonical names.
      if (!names.has(value)) names.set(value, name)
    }
    for (const [value, name] of linuxOnly) if (!names.has(value)) names.set(value, name)
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
